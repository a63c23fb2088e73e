/**
 * SYNTHETIC results (bench/compare/synthetic.ts, "synthetic fixture (not measured)")
 * made to exercise every section of the report: call rows and stream rows.
 */
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import type { ConnectionCostRecord, ContenderInfo, NetworkRecord, ResultsFile, RunRecord } from '../../bench/results/record.ts';

function network(name: string, rttMs: number, lossPercent: number): NetworkRecord {
  const direction = { packets: 1000, forwarded: 1000, lossDrops: 0, queueDrops: 0, deviceDrops: 0, dropPercent: 0, lateUsP50: 10, lateUsP99: 50 };
  return {
    name,
    rttMs,
    jitterMs: 0,
    upMbit: null,
    downMbit: null,
    lossPercent,
    measured: { rttMs, rttMinMs: rttMs, rttMaxMs: rttMs, upMbit: 900, downMbit: 900, up: direction, down: direction, serverRetransmits: 0, emulatorCpuPercent: 5, realtime: false, lowLatencyIdle: false },
  };
}

const cost = (handshakeMs: number): ConnectionCostRecord => ({
  enabled: false,
  version: null,
  calls: 50,
  newConnectionCallMs: handshakeMs + 0.2,
  keptAliveCallMs: 0.2,
  handshakeMs,
  handshakeBytes: { request: 90, response: 60 },
});

/** A stream row (unit 'message') of `transport`, cloned from a call row of the same file. */
function streamRow(base: RunRecord, transport: 'grpc' | 'websocket', rps: number, trial = 1): RunRecord {
  return {
    ...base,
    scenario: 'running-sum/s8',
    protocol: transport === 'grpc' ? 'grpc' : 'rest',
    operation: 'running-sum',
    unit: 'message',
    transport,
    messagesPerStream: 1000,
    firstMessageMs: base.latencyMs,
    gapMs: null,
    payloadValues: null,
    concurrency: 8,
    connections: transport === 'grpc' ? 1 : 8,
    trial,
    requests: rps,
    rps,
    tls: null,
    network: null,
    segments: undefined,
  };
}

/**
 * Every section but Contenders (which takes the Comparison's place): two network
 * conditions, a payload sweep, a capacity search, a proxy with replicas,
 * connection cost, a merged folder's segments, stream rows, a failed run, errors.
 */
export function everySection(): ResultsFile {
  const results = syntheticResults({ trials: 2, concurrency: [16], sizes: [10, 1000], boundFrom: 16 });
  const calls = results.runs;
  const lossy = calls.map((run) => ({ ...run, network: network('lossy', 20, 1), rps: run.protocol === 'rest' ? run.rps * 3 : run.rps }));
  for (const run of calls) {
    run.network = network('loopback-ish', 0.1, 0);
    run.tls = cost(run.protocol === 'grpc' ? 0.3 : 0.1);
  }
  const add = calls.find((run) => run.scenario === 'add/c16' && run.protocol === 'grpc' && run.trial === 1)!;
  add.place = { tls: false, proxy: 'nginx', replicas: 2, balance: 'l7' };
  add.replicas = [
    { pid: 11, calls: Math.round(add.requests * 0.95), cpuMsPer1kCalls: 30 },
    { pid: 12, calls: add.requests - Math.round(add.requests * 0.95), cpuMsPer1kCalls: 31 },
  ];
  add.proxyCpuMsPer1kCalls = 12;
  const rest = calls.find((run) => run.scenario === 'add/c16' && run.protocol === 'rest' && run.trial === 2)!;
  rest.errors = 12;
  rest.statusCounts = { '200': rest.requests - 12, '503': 12 };
  const grpc2 = calls.find((run) => run.scenario === 'sum/n1000/c16' && run.protocol === 'grpc' && run.trial === 2)!;
  Object.assign(grpc2, { status: 'failed', failure: 'grpc server exited on SIGKILL' });
  const searched = calls.find((run) => run.scenario === 'sum/n10/c16' && run.trial === 1 && run.protocol === 'grpc')!;
  searched.capacity = {
    slo: 'p99<10ms,errors<0.1%',
    rps: 4280,
    range: { low: 4280, high: 4490 },
    latencyMs: { p99: 8.5 },
    errorsPercent: 0,
    serverCpuPercent: 95,
    rpsPerServerCore: 4280,
    loadGeneratorBound: false,
    notes: [],
    searchS: 30,
    steps: [
      { phase: 'search', rate: 4000, achievedRps: 4000, latencyMs: { p50: 2, p99: 7 }, errorsPercent: 0, serverCpuPercent: 90, clientCpuPercent: 40, clientBound: false, saturated: false, pass: true, misses: [], durationS: 2 },
      { phase: 'search', rate: 4490, achievedRps: 4400, latencyMs: { p50: 3, p99: 12 }, errorsPercent: 0, serverCpuPercent: 99, clientCpuPercent: 45, clientBound: false, saturated: false, pass: false, misses: ['p99 12 ms > 10 ms'], durationS: 2 },
    ],
  };
  const sample = calls[0]!;
  sample.segments = [
    { index: 1, host: 'gen-1', window: null, status: 'completed', requests: Math.floor(sample.requests / 2), rps: sample.rps / 2, p99Ms: 1.5, client: { cpuPercent: 40, cpuUsPerCall: 10, bound: false } },
    { index: 2, host: 'gen-2', window: null, status: 'completed', requests: Math.ceil(sample.requests / 2), rps: sample.rps / 2, p99Ms: 1.7, client: { cpuPercent: 42, cpuUsPerCall: 11, bound: false } },
  ];
  sample.skew = { startMs: 3, endMs: 4, percent: 0.2, flagged: false };
  results.merge = {
    segments: 2,
    inputs: [
      { segment: 1, dir: 'seg-1', host: 'gen-1', date: results.environment.date, gitCommit: null },
      { segment: 2, dir: 'seg-2', host: 'gen-2', date: results.environment.date, gitCommit: null },
    ],
  };
  const streams = [streamRow(add, 'grpc', 9000), streamRow(add, 'websocket', 12_000)];
  const failedStream = { ...streamRow(add, 'websocket', 0, 2), status: 'failed' as const, failure: 'stream ended early', errors: 1, firstError: 'stream ended early' };
  results.runs = [...calls, ...lossy, ...streams, failedStream];
  return results;
}

/** --contenders: the Contenders section in place of the Comparison. */
export function withContenders(): ResultsFile {
  const results = syntheticResults({ trials: 1, concurrency: [16], sizes: [] });
  const contenders: Array<[ContenderInfo, number]> = [
    [{ name: 'express', wire: 'http1', encoding: 'json', implementation: 'express 5', language: 'node', isDefault: true }, 5000],
    [{ name: 'grpc-js', wire: 'h2', encoding: 'protobuf', implementation: '@grpc/grpc-js', language: 'node', isDefault: true }, 10_000],
    [{ name: 'node-http', wire: 'http1', encoding: 'json', implementation: 'node:http', language: 'node' }, 20_000],
  ];
  results.runs = contenders.map(([contender, rps]) => {
    const base = results.runs.find((run) => run.protocol === (contender.wire === 'h2' ? 'grpc' : 'rest'))!;
    return { ...base, contender, rps, requests: rps };
  });
  results.contenders = contenders.map(([contender]) => ({ ...contender, measured: true, conformance: { passed: true, cases: 30, failures: [] }, failure: null }));
  return results;
}


/** A stream bench's file (bench:streams): stream rows only, one of them failed. */
export function streamsOnly(): ResultsFile {
  const results = everySection();
  return { ...results, merge: undefined, runs: results.runs.filter((run) => run.unit === 'message') };
}
