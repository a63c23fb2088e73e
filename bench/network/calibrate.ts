/**
 * Is the emulated link a bottleneck? The measurements of `npm run
 * bench:network-emulator` (bench/cli/network-emulator.ts), side by side in one
 * run, at rtt=0 (no delay, no rate, no loss):
 *
 *   - added delay: a TCP ping-pong through the link against the same ping-pong
 *     on loopback (median and p99 of each, and the difference);
 *   - the forwarder's own timing at rtt=2ms: how late packets leave against
 *     their due time (its counters);
 *   - packets/s it forwards each way during a bulk transfer each way, and its CPU;
 *   - add at 64 in flight, calls/s through the link against direct loopback,
 *     for gRPC (grpc-engine) and REST (autocannon), servers pinned to CPU 0 and
 *     this process to CPU 1, alternating, median of the rounds.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getDriver } from '../drivers/index.ts';
import { applyPinning, serverPinPrefix } from '../host/pinning.ts';
import { startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { parseNetworkCondition } from '../options/network.ts';
import { openLink, type EmulatedLink } from './link.ts';
import { bulkDown, bulkUp, median, pingPong, startProbeServer, type ProbeServer } from './probe.ts';
import { buildPayload } from '../scenario/matrix.ts';
import type { Protocol } from '../types.ts';
import { round } from '../results/round.ts';
const PING_ROUNDS = 500;
const BULK_WINDOW_MS = 1_500;
const CONCURRENCY = 64;
const DRIVERS: Record<Protocol, string> = { grpc: 'grpc-engine', rest: 'autocannon' };

interface Percentiles {
  p50: number;
  p99: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: median(sorted), p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! };
}


/** The probe server on loopback, in this namespace: the direct path to compare with. */
function startLoopbackProbe(): Promise<ProbeServer> {
  const script = fileURLToPath(new URL('../network/probe-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, '127.0.0.1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /probe listening on (\S+):(\d+)/.exec(out);
      if (match) resolve({ host: match[1]!, port: Number(match[2]), stop: () => child.stdin!.end() });
    });
    child.once('exit', (code) => reject(new Error(`loopback probe exited with code ${code}`)));
  });
}

async function addedDelay(link: EmulatedLink): Promise<{ loopbackMs: Percentiles; emulatedMs: Percentiles; addedMs: Percentiles }> {
  const direct = await startLoopbackProbe();
  const through = await startProbeServer(link);
  try {
    const a: number[] = [];
    const b: number[] = [];
    // Interleaved blocks, so both paths see the same machine.
    for (let block = 0; block < 4; block++) {
      a.push(...(await pingPong(direct.host, direct.port, PING_ROUNDS / 4)));
      b.push(...(await pingPong(through.host, through.port, PING_ROUNDS / 4)));
    }
    const loopbackMs = percentiles(a);
    const emulatedMs = percentiles(b);
    return { loopbackMs, emulatedMs, addedMs: { p50: emulatedMs.p50 - loopbackMs.p50, p99: emulatedMs.p99 - loopbackMs.p99 } };
  } finally {
    direct.stop();
    through.stop();
  }
}

interface BulkFigures {
  direction: 'up' | 'down';
  payloadMbit: number | null;
  packetsPerSecondUp: number;
  packetsPerSecondDown: number;
  forwarderCpuPercent: number | null;
  drops: number;
}

async function bulk(link: EmulatedLink, probe: ProbeServer, direction: 'up' | 'down'): Promise<BulkFigures> {
  const before = await link.counters();
  const cpu0 = link.forwarder.cpuMs();
  const t0 = performance.now();
  const payloadMbit = await (direction === 'up' ? bulkUp : bulkDown)(probe.host, probe.port, BULK_WINDOW_MS);
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = link.forwarder.cpuMs();
  const after = await link.counters();
  const drops = (['up', 'down'] as const).reduce(
    (sum, d) => sum + after[d].lossDrops - before[d].lossDrops + after[d].queueDrops - before[d].queueDrops + (after.deviceDrops[d] ?? 0) - (before.deviceDrops[d] ?? 0),
    0,
  );
  return {
    direction,
    payloadMbit: payloadMbit === null ? null : round(payloadMbit, 1),
    packetsPerSecondUp: Math.round((after.up.forwarded - before.up.forwarded) / seconds),
    packetsPerSecondDown: Math.round((after.down.forwarded - before.down.forwarded) / seconds),
    forwarderCpuPercent: cpu0 === null || cpu1 === null ? null : round(((cpu1 - cpu0) / (seconds * 1000)) * 100, 1),
    drops,
  };
}

async function forwarderTiming(link: EmulatedLink, probe: ProbeServer): Promise<{ rttMs: number; lateUs: Record<'up' | 'down', { p50: number; p99: number }> }> {
  await link.configure(parseNetworkCondition('rtt=2ms')!);
  await link.forwarder.resetCounters();
  const rtts = await pingPong(probe.host, probe.port, 200);
  await bulkDown(probe.host, probe.port, 1_000);
  const c = await link.counters();
  await link.configure(parseNetworkCondition('rtt=0ms')!);
  return {
    rttMs: round(median(rtts), 3),
    lateUs: { up: { p50: c.up.lateUsP50, p99: c.up.lateUsP99 }, down: { p50: c.down.lateUsP50, p99: c.down.lateUsP99 } },
  };
}

async function callsPerSecond(protocol: Protocol, server: ServerProcess, durationS: number): Promise<number> {
  const driver = getDriver(DRIVERS[protocol], protocol);
  const base = { target: server.target, payload: buildPayload('add', null, 'double'), concurrency: CONCURRENCY, connections: protocol === 'grpc' ? 1 : CONCURRENCY, timeoutMs: 10_000 };
  const warm = await driver.run({ ...base, durationS: 1 });
  warm.latencyUs.destroy?.();
  const result = await driver.run({ ...base, durationS });
  result.latencyUs.destroy?.();
  return result.elapsedS > 0 ? result.calls / result.elapsedS : 0;
}

export interface CalibrationOptions {
  rounds: number;
  durationS: number;
  pin: boolean;
  log: (line: string) => void;
}

/** Runs every measurement; returns the report (emulator.json) and its lines for the terminal. */
export async function calibrateEmulator(options: CalibrationOptions): Promise<{ report: Record<string, unknown>; summary: string[] }> {
  const { pinning, note } = applyPinning(options.pin);
  if (note) options.log(`note: ${note}`);
  const started = new Date();
  const link = await openLink(parseNetworkCondition('rtt=0ms')!);
  const servers: ServerProcess[] = [];
  try {
    options.log('ping-pong: loopback vs through the link...');
    const delay = await addedDelay(link);
    const probe = await startProbeServer(link);
    options.log('bulk transfers through the link...');
    const bulkFigures = [await bulk(link, probe, 'up'), await bulk(link, probe, 'down')];
    options.log('forwarder timing at rtt=2ms...');
    const timing = await forwarderTiming(link, probe);
    probe.stop();

    const prefix = serverPinPrefix(pinning);
    const calls: Record<Protocol, { loopback: number[]; emulated: number[] }> = { grpc: { loopback: [], emulated: [] }, rest: { loopback: [], emulated: [] } };
    for (const protocol of ['grpc', 'rest'] as const) {
      const direct = await startServerProcess({ protocol, prefix });
      const through = await startServerProcess({ protocol, prefix: [...link.prefix, ...prefix], host: link.serverAddress });
      servers.push(direct, through);
      for (let r = 0; r < options.rounds; r++) {
        // Alternate which path goes first.
        const order = r % 2 === 0 ? (['loopback', 'emulated'] as const) : (['emulated', 'loopback'] as const);
        for (const path of order) {
          options.log(`add/c${CONCURRENCY} ${protocol} ${path} round ${r + 1}/${options.rounds}...`);
          calls[protocol][path].push(await callsPerSecond(protocol, path === 'loopback' ? direct : through, options.durationS));
        }
      }
      await Promise.all([direct.stop(), through.stop()]);
    }
    const addC64 = Object.fromEntries(
      (['grpc', 'rest'] as const).map((protocol) => {
        const loopback = median(calls[protocol].loopback);
        const emulated = median(calls[protocol].emulated);
        return [protocol, { loopbackCallsPerS: Math.round(loopback), emulatedCallsPerS: Math.round(emulated), ratio: round(emulated / loopback, 2), rounds: calls[protocol] }];
      }),
    ) as Record<Protocol, { loopbackCallsPerS: number; emulatedCallsPerS: number; ratio: number; rounds: { loopback: number[]; emulated: number[] } }>;

    const report = {
      date: started.toISOString(),
      pinning,
      realtime: (await link.counters()).realtime,
      pingPong: {
        rounds: PING_ROUNDS,
        loopbackMs: { p50: round(delay.loopbackMs.p50, 3), p99: round(delay.loopbackMs.p99, 3) },
        emulatedMs: { p50: round(delay.emulatedMs.p50, 3), p99: round(delay.emulatedMs.p99, 3) },
        addedMs: { p50: round(delay.addedMs.p50, 3), p99: round(delay.addedMs.p99, 3) },
      },
      forwarderLatenessAtRtt2ms: timing,
      bulk: bulkFigures,
      addC64,
    };
    const summary = [
      `network emulator at rtt=0 (forwarder ${report.realtime ? 'real-time priority' : 'normal priority'}${pinning ? `, servers on CPU ${pinning.server}, bench on CPU ${pinning.client}` : ''})`,
      `ping-pong ${PING_ROUNDS} rounds: loopback p50 ${report.pingPong.loopbackMs.p50} ms p99 ${report.pingPong.loopbackMs.p99} ms; through the link p50 ${report.pingPong.emulatedMs.p50} ms p99 ${report.pingPong.emulatedMs.p99} ms; added p50 ${report.pingPong.addedMs.p50} ms, p99 ${report.pingPong.addedMs.p99} ms`,
      `forwarder at rtt=2ms: ping-pong median ${timing.rttMs} ms; packets left late by p50 ${timing.lateUs.up.p50}/${timing.lateUs.down.p50} us, p99 ${timing.lateUs.up.p99}/${timing.lateUs.down.p99} us (up/down)`,
      ...bulkFigures.map(
        (b) =>
          `bulk ${b.direction}: ${b.payloadMbit} Mbit/s payload, ${b.packetsPerSecondUp} packets/s up + ${b.packetsPerSecondDown} down, forwarder CPU ${b.forwarderCpuPercent}%, ${b.drops} drops`,
      ),
      ...(['grpc', 'rest'] as const).map(
        (p) => `add/c${CONCURRENCY} ${p} (${DRIVERS[p]}): loopback ${addC64[p].loopbackCallsPerS} calls/s, through the link ${addC64[p].emulatedCallsPerS} calls/s: ${addC64[p].ratio}x (target >= 0.8x)`,
      ),
    ];
    return { report, summary };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await link.close();
  }
}
