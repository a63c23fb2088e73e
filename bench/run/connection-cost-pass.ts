/**
 * The connection-cost pass, once per protocol and place before the scenarios:
 * new-connection against kept-alive calls, set-up ms and handshake bytes
 * (bench/run/connection-cost.ts measures one target).
 */
import type { BenchOptions } from '../options/options.ts';
import type { ProgressSink } from './progress.ts';
import type { CallPayload, Protocol } from '../types.ts';
import { emptyConnectionCost, measureConnectionCost, type ConnectionCost } from './connection-cost.ts';
import { CONNECTION_COST_PLANNED_S } from './plan.ts';
import type { ProtocolSetup } from './setups.ts';

/**
 * Behind an emulated link the byte-counting pass and the connection-cost pass
 * take RTTs per call: at most this many calls each (bytes per call do not
 * depend on the path; a connection's cost in RTTs shows in a few calls, and
 * the median of 5 is not moved by one lost SYN's 1 s retransmission).
 */
const NETWORK_CONNECTION_CALLS = 5;
const NETWORK_CONNECTION_WARMUP_CALLS = 2;

/**
 * The connection-cost pass (bench/run/connection-cost.ts), once per protocol before
 * the scenarios: new-connection vs kept-alive calls, handshake ms and bytes.
 * A failure here is noted, not fatal: the scenarios still run (and a server
 * that died fails them with its own reason).
 */
export async function runConnectionCostPasses(
  options: BenchOptions,
  setups: ProtocolSetup[],
  progress: ProgressSink,
  signal: AbortSignal,
  emulated: boolean,
  handshakeBytesCache: Map<string, ConnectionCost['handshakeBytes']>,
  /** What each timed call sends: the run's first unary scenario's request. */
  payload: CallPayload,
): Promise<Map<Protocol, ConnectionCost>> {
  const costs = new Map<Protocol, ConnectionCost>();
  const calls = emulated ? Math.min(options.connectionCalls, NETWORK_CONNECTION_CALLS) : options.connectionCalls;
  const stallS = options.stallTimeoutS;
  for (const setup of setups) {
    // Behind the bench's proxy: the pass is the direct path's (one per protocol, keyed by protocol).
    if (setup.replicas) continue;
    const empty = emptyConnectionCost(setup.target);
    costs.set(setup.protocol, empty);
    // Contenders (--contenders) have their own call shapes and conformance; the pass is the default pair's.
    // A run of stream scenarios only has no call for it to time.
    if (calls === 0 || signal.aborted || setup.contender) continue;
    const label = `connection cost ${setup.protocol}${empty.enabled ? ' (TLS)' : ''}`;
    progress.phase(`${label}: ${calls} new-connection vs ${calls} kept-alive calls`, CONNECTION_COST_PLANNED_S);
    // The bytes a new connection moves do not depend on the path: counted under the first condition only
    // (per protocol and TLS setting), as the wire pass's bytes per call are.
    const bytesKey = `${setup.protocol}${empty.enabled ? '/tls' : ''}`;
    const countedBytes = handshakeBytesCache.get(bytesKey);
    try {
      const cost = await measureConnectionCost(setup.target, payload, {
        calls,
        // A stopped server is noticed within the stall timeout here too.
        timeoutMs: stallS > 0 ? Math.min(options.timeoutMs, stallS * 1000) : options.timeoutMs,
        signal,
        countBytes: countedBytes === undefined,
        // Behind a link each warm-up call costs round trips; the JIT needs only a few.
        ...(emulated ? { warmupCalls: NETWORK_CONNECTION_WARMUP_CALLS } : {}),
      });
      if (countedBytes === undefined) handshakeBytesCache.set(bytesKey, cost.handshakeBytes);
      else cost.handshakeBytes = countedBytes;
      costs.set(setup.protocol, cost);
      const bytes = cost.handshakeBytes ? `, ${Math.round(cost.handshakeBytes.request)}/${Math.round(cost.handshakeBytes.response)} B up/down` : '';
      progress.log(
        `${label}${cost.version ? ` ${cost.version}` : ''}: new connection ${cost.newConnectionCallMs} ms/call, kept-alive ${cost.keptAliveCallMs} ms/call, ` +
          `set-up ${cost.handshakeMs} ms${bytes}`,
      );
    } catch (error) {
      if (!signal.aborted) progress.log(`${label}: not measured: ${(error as Error).message}`);
    } finally {
      progress.endPhase();
    }
  }
  return costs;
}
