/**
 * One measured run of one subject on one scenario: warm-up (once per subject
 * and scenario on the running servers), the measured run with server, client,
 * proxy and link figures read around it, and the byte-counting pass. Returns
 * the row; failures are rows too (status 'failed', the reason in one line).
 */
/**
 * The bench runner: starts the servers (each in its own process), runs every
 * scenario for each protocol in turn (warm-up, measured run, wire-sampling
 * pass), records each run, writes results.json after every run, and stops
 * the servers at the end, on failure and on Ctrl-C. It returns data; printing
 * and the report files are the CLI's job (bench/report/terminal.ts, write.ts).
 */
import os from 'node:os';
import { type BenchOptions } from '../options/options.ts';
import { type Pinning } from '../host/pinning.ts';
import { readCpuMs, readCpuMsPrecise, readPeakRssMiB, resetPeakRss, selfCpuUs, sumOverProcesses } from '../host/process-stats.ts';
import type { ProgressSink } from './progress.ts';
import { latencyPercentiles, summarizeLatency } from '../results/latency.ts';
import { encodeLatencyHistogram } from '../results/histogram.ts';
import { type DriverWireReport, type RunRecord, type WireBytesPerCall } from '../results/record.ts';
import { wireCallsFor, type Scenario } from '../scenario/matrix.ts';
import { streamEngine } from '../drivers/streams/driver.ts';
import { wireBody } from '../scenario/compression.ts';
import { DEFAULT_DRAIN_GRACE_MS, type CallPayload, type Driver, type LoadOptions, type LoadResult, type Protocol, type StreamTransport } from '../types.ts';
import { measureWireBytes, NULL_WIRE } from '../wire/measure.ts';
import { restBodyOf } from '../wire/http-call.ts';
import { isTlsTarget } from './connection-cost.ts';
import { isClientBound } from '../results/client-bound.ts';
import { StallWatchdog } from './stall-watchdog.ts';
import { sleepUntil, type RunSchedule } from './schedule.ts';
import { segmentRate } from '../scenario/segment.ts';
import { type NetworkCondition } from '../options/network.ts';
import { type EmulatedLink } from '../network/link.ts';
import { type LinkProbe } from '../network/probe.ts';
import { EMULATOR_BUSY_PERCENT, networkRecord, snapshotAttempt, snapshotLink } from '../network/record.ts';
import { WIRE_PASS_PLANNED_S } from './plan.ts';
import { type StepLoad } from './capacity.ts';
import { cpuMsPer1k, replicaRecords, snapshotReplicas } from '../host/replicas.ts';
import { round } from '../results/round.ts';
import type { ProtocolSetup } from './setups.ts';

/** A run that has not ended this long after its planned end is aborted. */
const RUN_OVERRUN_S = 15;
/** A measured run that started this much after its --start-at instant gets a note. */
const LATE_START_NOTE_MS = 50;
/**
 * Behind an emulated link the byte-counting pass and the connection-cost pass
 * take RTTs per call: at most this many calls each (bytes per call do not
 * depend on the path; a connection's cost in RTTs shows in a few calls, and
 * the median of 5 is not moved by one lost SYN's 1 s retransmission).
 */
const NETWORK_WIRE_CALLS = 100;
/**
 * A measured run behind a link lasts at least this many rounds of its calls
 * (roundTripOfCallsS). One is enough: the calls in flight at the end get
 * their whole deadline (drainGraceMs), so at least two rounds are counted,
 * and every driver ends its elapsed time at the last completed call, so the
 * drain adds no idle time. (Mobile sum-10000/c16 over REST: 16 x 182 KB at
 * 5 Mbit/s is a 4.7 s round; at two rounds a run took 12-13 s.)
 */
const MIN_ROUNDS = 1;
/** Values per stream of a stream scenario's warm-up (closed loop), as the stream bench always warmed up. */
const STREAM_WARMUP_MESSAGES = 1_000;
/** A stream scenario's byte-counting pass: this many streams of at most this many messages each. */
const WIRE_STREAMS = 2;
const WIRE_MESSAGES_PER_STREAM = 200;

export interface RunOneInput {
  options: BenchOptions;
  scenario: Scenario;
  payload: CallPayload;
  setup: ProtocolSetup;
  /** A stream scenario's transport (the stream generator runs it); null for unary calls (the setup's driver). */
  transport: StreamTransport | null;
  /** Headers / gRPC metadata on every call (an API card's); null: none. */
  metadata: Readonly<Record<string, string>> | null;
  trial: number;
  /** Warm up before the measured run: the first run of this protocol and scenario on the running servers. */
  warmUp: boolean;
  label: string;
  progress: ProgressSink;
  signal: AbortSignal;
  wireCache: Map<string, { wire: WireBytesPerCall; responseBodyBytes: number | null }>;
  /** Drivers that run a child process (h2load) get it pinned to the generator's CPUs. */
  pinning: Pinning | null;
  /** A capacity search's step: its rate (null: closed loop), durations and whether bytes are counted, instead of the options'. */
  load?: Omit<StepLoad, 'label'>;
  /** The emulated link the run goes through and its probe; null on loopback. */
  network: { condition: NetworkCondition; link: EmulatedLink; probe: LinkProbe | null } | null;
  /** --start-at: when this run (number runIndex, 0-based) warms up and is measured; null: at once. */
  schedule: RunSchedule | null;
  runIndex: number;
}

/** Notes a reader of the row must see: what the driver could not check, how it was chosen. */
function runNotes(options: BenchOptions, protocol: Protocol, driver: string, result: LoadResult): string[] {
  const notes: string[] = [];
  if (protocol === 'grpc' && result.statusChecked === 'http-status-only') {
    notes.push(`${driver} does not read grpc-status; gRPC errors in trailers are not detected (a failed call counts as HTTP 200)`);
  }
  if (result.wireFromDriver && result.wireFromDriver.requestBytesPerCall === null) {
    notes.push(`${driver} counts received bytes only; wire figures are the counting proxy's, ${driver}'s own are in wire.driverReport`);
  }
  if (protocol === 'rest') notes.push(...options.driverNotes.filter((note) => note.includes(driver)));
  return notes;
}

export async function runOne(input: RunOneInput): Promise<RunRecord> {
  const { options, scenario, payload, setup, progress, signal, transport } = input;
  const connections = scenario.connections[setup.connectionsOf ?? setup.protocol];
  // A capacity step's rate (in emptyRecord), durations and byte pass; else the options'.
  const load = input.load ?? { rate: options.rate, durationS: options.durationS, warmupS: options.warmupS, countBytes: true };
  // A stream scenario runs on the stream generator; a capacity step holds its streams for the step's duration.
  const driver = transport === null ? setup.driver : streamEngine;
  const stream = transport === null || scenario.stream === null ? null : { transport, messagesPerStream: input.load ? null : scenario.stream.messagesPerStream };
  const base = {
    target: setup.target,
    payload,
    ...(stream ? { stream } : {}),
    ...(input.metadata ? { metadata: input.metadata } : {}),
    concurrency: scenario.concurrency,
    connections,
    timeoutMs: options.timeoutMs,
    // h2load runs as a child process: pin it where the runner (the generator) is pinned.
    ...(input.pinning ? { prefix: ['taskset', '-c', input.pinning.client] } : {}),
  };
  const record = emptyRecord(input, connections);
  // Open loop for the warm-up and the measured run (this segment's share of --rate); the byte-counting pass stays closed (bytes do not depend on pacing).
  const paced = record.rate !== null ? { rate: record.rate } : {};
  const failWith = (reason: string): RunRecord => ({ ...record, status: 'failed', failure: reason });
  // Behind a slow link one round of calls can take seconds (16 x 182 KB at 5 Mbit/s: 4.7 s): a run lasts
  // at least MIN_ROUNDS rounds, and a round is not a stall.
  const roundS = input.network ? roundTripOfCallsS(input.network.condition, scenario.concurrency, record.body.requestBytes) : 0;
  const durationS = Math.max(load.durationS, MIN_ROUNDS * roundS);
  const stallS = options.stallTimeoutS > 0 ? Math.max(options.stallTimeoutS, 2 * roundS + 1) : 0;
  if (signal.aborted) return failWith(reasonOf(signal));

  const { schedule } = input;
  if (schedule) await waitForSlot(input, schedule.warmupStartMs(input.runIndex), 'warm-up');
  if (signal.aborted) return failWith(reasonOf(signal));

  // Warm-up: same shape, not recorded, the first time the running servers see this scenario. Later trials, and
  // later network conditions on the same servers, follow at once: the servers' and the generator's code for it is
  // warm, and each measured run opens connections of its own. (In a network sweep warm-ups behind slow links,
  // cut after a grace, were 11% of its time.) A capacity search's steps share one input: each step warms up.
  if (load.warmupS > 0 && input.warmUp) {
    progress.phase(`${input.label} warm-up`, load.warmupS);
    const attempt = input.network ? await snapshotAttempt(input.network.link) : null;
    // Streams warm up closed loop on a fixed count per stream (a server stream takes no duration).
    const warmLoad = stream ? { requests: scenario.concurrency * STREAM_WARMUP_MESSAGES } : paced;
    const warm = await runWithWatchdog(driver, { ...base, ...warmLoad, durationS: load.warmupS }, load.warmupS, signal, (f) => progress.update(f), stallS);
    warm.latencyUs.destroy?.();
    progress.endPhase();
    if (signal.aborted) return failWith(reasonOf(signal));
    // A server that stopped answering during the warm-up is not measured.
    // Behind a link the record still says under which condition, with the link's counters over the warm-up.
    if (warm.stalled) {
      const network = input.network && attempt ? await networkRecord(input.network.condition, input.network.probe, input.network.link, attempt) : null;
      return { ...failWith(warm.failure!), network };
    }
  }

  const plannedStartMs = schedule?.measuredStartMs(input.runIndex) ?? null;
  if (plannedStartMs !== null) await waitForSlot(input, plannedStartMs, 'measured run');
  if (signal.aborted) return failWith(reasonOf(signal));

  // The measured run: nothing else on the wire, server CPU and runner CPU sampled around it.
  progress.phase(`${input.label} measuring`, durationS);
  const pids = setup.replicas ? setup.replicas.map((replica) => replica.pid) : setup.server ? [setup.server.pid] : (setup.externalPids ?? []);
  for (const pid of pids) resetPeakRss(pid);
  // Behind a proxy: each replica's calls and CPU, and the proxy's own CPU, over the same window.
  const replicas0 = setup.replicas ? await snapshotReplicas(setup.replicas) : null;
  const proxyCpu0 = setup.proxyPids ? sumOverProcesses(setup.proxyPids, readCpuMs) : null;
  // A stream run can cost its server less than one 10 ms /proc tick: its CPU is read in ns from every thread's schedstat.
  const readServerCpu = transport === null ? readCpuMs : (pid: number) => readCpuMsPrecise(pid) ?? readCpuMs(pid);
  const serverCpu0 = sumOverProcesses(pids, readServerCpu);
  const selfCpu0 = selfCpuUs();
  const linkBefore = input.network ? await snapshotLink(input.network.link) : null;
  const wall0 = process.hrtime.bigint();
  const wall0Ms = Date.now();
  // Behind a link a call can take seconds (a round of big bodies at 5 Mbit/s): calls in flight when the measured
  // run ends get their whole deadline, or a slow path would show up as timeouts the server never caused. The
  // warm-up's are not measured: they are cut after the drivers' default grace.
  const drain = input.network ? { drainGraceMs: options.timeoutMs } : {};
  const result = await runWithWatchdog(driver, { ...base, ...paced, ...drain, durationS }, durationS, signal, (f) => progress.update(f), stallS);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  // The driver's clock runs from its first call (connections up) to its last answer; the window ends when it returned.
  const endMs = Date.now();
  const selfCpuMs = (selfCpuUs() - selfCpu0) / 1000;
  const serverCpu1 = sumOverProcesses(pids, readServerCpu);
  const peakRssMiB = sumOverProcesses(pids, readPeakRssMiB);
  const proxyCpu1 = setup.proxyPids ? sumOverProcesses(setup.proxyPids, readCpuMs) : null;
  const replicas1 = setup.replicas ? await snapshotReplicas(setup.replicas) : null;
  const network = input.network && linkBefore ? await networkRecord(input.network.condition, input.network.probe, input.network.link, linkBefore) : null;
  progress.endPhase();

  const serverCpuMs = serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null;
  // A generator in its own process (h2load) reports its CPU; in-process drivers are the runner's CPU.
  const driverCpu = typeof result.clientCpuUs === 'number';
  const clientCpuMs = driverCpu ? result.clientCpuUs! / 1000 : selfCpuMs;
  const clientCpuPercent = wallMs > 0 ? (clientCpuMs / wallMs) * 100 : 0;
  const serverCpuPercent = serverCpuMs !== null && wallMs > 0 ? (serverCpuMs / wallMs) * 100 : null;
  const measured: RunRecord = {
    ...record,
    ...(result.unit === 'message'
      ? {
          firstMessageMs: result.firstMessageUs ? summarizeLatency(result.firstMessageUs) : null,
          gapMs: result.gapUs ? summarizeLatency(result.gapUs) : null,
          firstMessageHistogram: result.firstMessageUs ? encodeLatencyHistogram(result.firstMessageUs) : null,
          gapHistogram: result.gapUs ? encodeLatencyHistogram(result.gapUs) : null,
        }
      : {}),
    ...(result.retried !== undefined ? { retried: result.retried } : {}),
    ...(result.connectionsOpened !== undefined ? { connectionsOpened: result.connectionsOpened } : {}),
    ...(replicas0 && replicas1 ? { replicas: replicaRecords(replicas0, replicas1) } : {}),
    ...(setup.proxyPids ? { proxyCpuMsPer1kCalls: cpuMsPer1k(proxyCpu0, proxyCpu1, result.calls) } : {}),
    durationS: round(result.elapsedS, 3),
    requests: result.calls,
    errors: result.errors,
    statusCounts: result.statusCounts,
    rps: result.elapsedS > 0 ? round(result.calls / result.elapsedS, 1) : 0,
    latencyMs: summarizeLatency(result.latencyUs),
    latencyPercentilesMs: latencyPercentiles(result.latencyUs),
    server: {
      // /proc counts in clock ticks (10 ms): a run that used less than one is not measured (null), not 0.
      cpuMsPer1kCalls: serverCpuMs !== null && serverCpuMs > 0 && result.calls > 0 ? round((serverCpuMs / result.calls) * 1000, 2) : null,
      peakRssMiB: peakRssMiB === null ? null : round(peakRssMiB, 1),
    },
    client: {
      cpuPercent: round(clientCpuPercent, 1),
      cpuUsPerCall: result.calls > 0 ? round((clientCpuMs * 1000) / result.calls, 1) : null,
      bound: isClientBound(clientCpuPercent, serverCpuPercent),
      cpuOf: driverCpu ? 'driver-process' : 'runner',
    },
    network,
    latencyHistogram: encodeLatencyHistogram(result.latencyUs),
    window: { start: new Date(endMs - result.elapsedS * 1000).toISOString(), end: new Date(endMs).toISOString() },
  };
  if (result.statusChecked) measured.statusChecked = result.statusChecked;
  const notes = [...runNotes(options, setup.protocol, driver.name, result), ...(setup.externalNote ? [setup.externalNote] : [])];
  if (result.errors > 0 && result.firstError) {
    measured.firstError = result.firstError;
    notes.push(`first error: ${result.firstError}`);
  }
  const lateMs = plannedStartMs === null ? 0 : wall0Ms - plannedStartMs;
  if (lateMs > LATE_START_NOTE_MS) notes.push(`started ${Math.round(lateMs)} ms after its planned instant (--start-at ${options.startAt}, one run every ${schedule!.slotS} s)`);
  const emulatorCpu = network?.measured.emulatorCpuPercent ?? null;
  if (emulatorCpu !== null && emulatorCpu >= EMULATOR_BUSY_PERCENT) {
    notes.push(`emulator-bound: the network emulator used ${emulatorCpu}% of a core; the link, not the server, may have limited this run`);
  }
  if (notes.length > 0) measured.notes = notes;
  const driverWire = result.wireFromDriver ?? null;
  result.latencyUs.destroy?.();
  // The bench's own reason (server died, Ctrl-C) says more than a driver's "aborted".
  const failure = signal.aborted ? reasonOf(signal) : (result.failure ?? null);
  if (failure) return { ...measured, status: 'failed', failure };
  if (result.calls === 0) return { ...measured, status: 'failed', failure: 'no call completed' };
  // A call that lost its connection measured the network, not the server: the run fails with its reason, its figures kept.
  const lost = result.statusCounts['connection-error'] ?? 0;
  if (lost > 0) return { ...measured, status: 'failed', failure: `network error: ${lost} of ${result.calls} calls lost their connection` };

  // Wire sampling: same driver and shape, a fixed number of calls, through the counting proxy.
  // A TLS pass after a cleartext one (--sweep network) must not borrow its cleartext byte counts.
  const wireKey = `${scenario.key}/${setup.label ?? setup.protocol}${transport !== null ? `/${transport}` : ''}${options.tls ? '/tls' : ''}`;
  let sample = input.wireCache.get(wireKey);
  // TLS: the proxy would see only ciphertext (no header/body split); bytes per handshake are in the connection-cost pass.
  // Streams: two streams of up to 200 messages each, so a stream's set-up is spread over as many messages as before.
  const wanted = stream ? Math.min(options.wireCalls, WIRE_STREAMS * Math.min(scenario.stream!.messagesPerStream ?? WIRE_MESSAGES_PER_STREAM, WIRE_MESSAGES_PER_STREAM)) : wireCallsFor(options.wireCalls, payload);
  const calls = isTlsTarget(setup.target) || !load.countBytes ? 0 : Math.min(wanted, input.network ? NETWORK_WIRE_CALLS : Infinity);
  if (!sample && calls > 0) {
    progress.phase(`${input.label} counting bytes (${calls} ${stream ? 'messages' : 'calls'})`, WIRE_PASS_PLANNED_S);
    try {
      const stall = new StallWatchdog(stallS);
      // measureWireBytes passes onProgress on to the driver (its type omits it; the stall watchdog needs it).
      const shape = stream ? { concurrency: Math.min(WIRE_STREAMS, scenario.concurrency), connections: 1 } : {};
      const wireOptions = { ...base, ...shape, signal: AbortSignal.any([signal, stall.signal]), onProgress: (p: { calls: number }) => stall.progress(p.calls) };
      const wire = await measureWireBytes(driver, wireOptions as Parameters<typeof measureWireBytes>[1], calls).finally(() => stall.stop());
      if (wire.failure || signal.aborted || stall.stalled) {
        return { ...measured, status: 'failed', failure: signal.aborted ? reasonOf(signal) : (stall.reason ?? wire.failure!) };
      }
      sample = { wire: wire.wire, responseBodyBytes: wire.responseBodyBytes };
      input.wireCache.set(wireKey, sample);
    } finally {
      progress.endPhase();
    }
  }
  // Proxy counts when there was a pass (comparable across drivers); else the driver's own, if it counts any.
  const wire: WireBytesPerCall = sample?.wire ?? (driverWire ? { ...withoutSavings(driverWire) } : NULL_WIRE);
  return {
    ...measured,
    wire: driverWire ? { ...wire, driverReport: driverWire } : wire,
    body: {
      requestBytes: record.body.requestBytes,
      responseBytes: sample?.responseBodyBytes === null || sample === undefined ? 0 : round(sample.responseBodyBytes, 2),
    },
  };
}

/** Runs a driver with the bench's abort signal plus a deadline well past the planned end. */
async function runWithWatchdog(
  driver: Driver,
  options: Omit<Parameters<Driver['run']>[0], 'signal' | 'onProgress'>,
  plannedS: number,
  benchSignal: AbortSignal,
  onFraction: (fraction: number) => void,
  stallTimeoutS = 0,
): Promise<LoadResult & { stalled?: boolean }> {
  const limitS = plannedS + options.timeoutMs / 1000 + RUN_OVERRUN_S;
  const watchdog = AbortSignal.timeout(Math.ceil(limitS * 1000));
  // No completed call for stallTimeoutS: the server stopped answering (it may keep its connections open).
  const stall = new StallWatchdog(stallTimeoutS);
  const signal = AbortSignal.any([benchSignal, watchdog, stall.signal]);
  let result: LoadResult & { stalled?: boolean };
  try {
    result = await driver.run({
      ...options,
      signal,
      onProgress: ({ calls, elapsedS }) => {
        stall.progress(calls);
        onFraction(plannedS > 0 ? elapsedS / plannedS : 1);
      },
    });
  } finally {
    stall.stop();
  }
  if (stall.stalled && !benchSignal.aborted) {
    result.failure = stall.reason!;
    result.stalled = true;
  } else if (watchdog.aborted && !benchSignal.aborted && !result.failure) {
    result.failure = `run did not end within ${Math.round(limitS)} s`;
  } else if (!result.failure && result.calls > 0 && result.statusCounts.timeout === result.calls && couldReachDeadline(options)) {
    // Every call ran into its deadline (a --timeout shorter than the stall timeout): the same fault, seen by the driver.
    result.failure = `server stopped answering: all ${result.calls} calls timed out (${options.timeoutMs} ms each)`;
    result.stalled = true;
  }
  return result;
}

/**
 * Whether a call of this run could reach its deadline: calls still in flight
 * when the drain grace ends are counted as timeouts too, and behind a slow link
 * a short warm-up's calls all are (16 uploads of 182 KB at 5 Mbit/s take 4.7 s,
 * the warm-up 0.25 s and 1 s of grace); that is the path, not a server that stopped.
 */
function couldReachDeadline(options: Pick<LoadOptions, 'durationS' | 'timeoutMs' | 'drainGraceMs'>): boolean {
  return options.durationS * 1000 + (options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS) >= options.timeoutMs;
}

function emptyRecord(input: RunOneInput, connections: number): RunRecord {
  const { scenario, payload, setup } = input;
  const { method } = payload;
  return {
    scenario: scenario.key,
    protocol: setup.protocol,
    driver: input.transport === null ? setup.driver.name : streamEngine.name,
    ...(setup.contender ? { contender: setup.contender } : {}),
    operation: scenario.operation,
    method: { api: method.api, name: method.name, kind: method.kind, grpcPath: method.grpcPath, restVerb: method.rest.verb, restPathTemplate: method.rest.pathTemplate },
    ...(input.transport !== null
      ? { unit: 'message' as const, transport: input.transport, messagesPerStream: input.load ? null : (scenario.stream?.messagesPerStream ?? null) }
      : {}),
    place: setup.place ?? { tls: input.options.tls, proxy: null, replicas: null, balance: null },
    payloadValues: scenario.payloadValues,
    valueShape: scenario.valueShape,
    compression: scenario.compression,
    concurrency: scenario.concurrency,
    connections,
    rate: input.load ? input.load.rate : segmentRate(input.options.rate, input.options.segment),
    network: null,
    trial: input.trial,
    durationS: 0,
    status: 'completed',
    failure: null,
    requests: 0,
    errors: 0,
    statusCounts: {},
    rps: 0,
    latencyMs: null,
    wire: NULL_WIRE,
    // The body as sent: the gzip bytes in a compressed run.
    body: {
      requestBytes: payload.pool
        ? // A card's pool: the mean request of the requests sent round robin.
          round(payload.pool.reduce((sum, request) => sum + (setup.protocol === 'grpc' ? request.protobuf.length : request.json.length), 0) / payload.pool.length, 2)
        : (setup.target.protocol === 'rest' && setup.target.call ? restBodyOf(setup.target.call, payload) : wireBody(payload, input.transport === 'grpc' ? 'grpc' : setup.protocol)).length,
      responseBytes: 0,
    },
    server: { cpuMsPer1kCalls: null, peakRssMiB: null },
    client: { cpuPercent: 0, cpuUsPerCall: null, bound: false },
    latencyHistogram: null,
    window: null,
    host: os.hostname(),
    segment: input.options.segment,
  };
}

/** Waits for a --start-at instant, shown as a phase of the progress line. */
async function waitForSlot(input: RunOneInput, epochMs: number, what: string): Promise<void> {
  const waitS = (epochMs - Date.now()) / 1000;
  if (waitS <= 0) return;
  input.progress.phase(`${input.label} waiting ${waitS.toFixed(1)} s for its ${what} (--start-at)`, waitS);
  try {
    await sleepUntil(epochMs, input.signal);
  } finally {
    input.progress.endPhase();
  }
}

function withoutSavings(report: DriverWireReport): WireBytesPerCall {
  const { headerSpaceSavingsPercent: _savings, ...wire } = report;
  return wire;
}

export function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
}

/** Seconds one round of `concurrency` calls takes on the link: the RTT plus the requests serialized at the upload rate. */
function roundTripOfCallsS(condition: NetworkCondition, concurrency: number, requestBytes: number): number {
  const serializationS = condition.upMbit === null ? 0 : (concurrency * requestBytes * 8) / (condition.upMbit * 1e6);
  return condition.rttMs / 1000 + serializationS;
}
