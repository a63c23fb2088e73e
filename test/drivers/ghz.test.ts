/**
 * The ghz driver. The ghz binary is not on this machine (not packaged by
 * Debian), so the report parser is tested on real measurements instead:
 * - grpc-engine runs against the real grpc-js calculator server, its result is
 *   rendered as ghz's JSON report by toGhzReport (which has no per-call
 *   details), and the parser must give back the counts, statuses and
 *   percentiles (the summary path);
 * - real grpc-js client calls, each timed, are written as ghz's `details`
 *   (ns latency, Go status name, error text, as ghz's reporter writes them),
 *   and the parser must rebuild exactly the histogram of those latencies.
 * The argument builder is checked against ghz's documented flags; the
 * spawning (sh wrapper, CPU, report file, exit codes) with a stand-in script
 * that hands back a report from a real grpc-engine run (plumbing only, not a
 * measurement of ghz); the real-binary tests skip with one line when ghz is
 * not on PATH.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  countDelimited,
  findGhz,
  GHZ_MISSING_MESSAGE,
  ghzDriver,
  parseGhzReport,
  planGhz,
  statusFromGhz,
  transportOutcome,
  type GhzJsonReport,
  type GhzResult,
} from '../../bench/drivers/ghz.ts';
import { toGhzReport } from '../../bench/drivers/ghz-report.ts';
import { createLatencyHistogram } from '../../bench/results/histogram.ts';
import { grpcEngine } from '../../bench/drivers/grpc-engine.ts';
import type { CallPayload, LoadOptions, LoadResult, Target } from '../../bench/types.ts';
import type { Operation } from '../../servers/calculator.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { encodeRequest, loadCalculatorService, messageTypes, METHOD_NAMES, PROTO_PATH } from '../../servers/proto.ts';
import type { RunningServer } from '../../servers/server-options.ts';

const GHZ = findGhz();
const skipReal = GHZ === null ? 'ghz not on PATH (install from https://ghz.sh; not packaged by Debian)' : false;

function payloadOf(operation: Operation, input: object): CallPayload {
  return {
    operation,
    payloadValues: operation === 'sum' ? (input as { values: number[] }).values.length : null,
    input,
    json: Buffer.from(JSON.stringify(input)),
    protobuf: encodeRequest(operation, input),
  };
}
const ADD = payloadOf('add', { a: 20, b: 10 });
const DIVIDE_BY_ZERO = payloadOf('divide', { a: 1, b: 0 });
const GRPC_TARGET: Target = { protocol: 'grpc', host: '127.0.0.1', port: 50051 };

function options(extra: Partial<LoadOptions> = {}): LoadOptions {
  return { target: GRPC_TARGET, payload: ADD, concurrency: 8, connections: 2, durationS: 1, timeoutMs: 5_000, ...extra };
}

/** Flags from ghz's options reference (www/docs/options.md) that this driver may use. */
const DOCUMENTED_FLAGS = new Set([
  '--proto', '--call', '--insecure', '--skipTLS', '--binary-file', '-B', '-c', '--concurrency', '--connections',
  '-n', '--total', '-z', '--duration', '--duration-stop', '-t', '--timeout', '-m', '--metadata', '-e',
  '--enable-compression', '--format', '-O', '--output', '-o',
]);

describe('planGhz: ghz arguments from LoadOptions', () => {
  test('requests mode: proto, call, h2c, binary file, workers, connections, total, timeout, JSON report', () => {
    const plan = planGhz(options({ requests: 500, concurrency: 16, connections: 4 }), '/tmp/x/request.bin', '/tmp/x/report.json');
    assert.deepEqual(plan.args, [
      '--proto', PROTO_PATH,
      '--call', 'calculator.v1.Calculator.Add',
      '--insecure',
      '--binary-file', '/tmp/x/request.bin',
      '-c', '16',
      '--connections', '4',
      '-n', '500',
      '-t', '5000ms',
      '--format', 'json',
      '--output', '/tmp/x/report.json',
      '127.0.0.1:50051',
    ]);
    assert.ok(PROTO_PATH.endsWith('proto/calculator.proto'));
    // --binary would make ghz read the message from stdin: only the file is given.
    assert.ok(!plan.args.includes('--binary') && !plan.args.includes('-b'));
    for (const arg of plan.args) if (arg.startsWith('-')) assert.ok(DOCUMENTED_FLAGS.has(arg), `undocumented flag ${arg}`);
  });

  test('duration mode: -z in ms and --duration-stop wait, no -n', () => {
    const { args } = planGhz(options({ durationS: 1.5 }), 'b', 'o');
    assert.deepEqual(args.slice(args.indexOf('-z'), args.indexOf('-z') + 4), ['-z', '1500ms', '--duration-stop', 'wait']);
    assert.ok(!args.includes('-n'));
  });

  test('each operation calls its method; TLS skips verification; IPv6 host in brackets', () => {
    for (const operation of Object.keys(METHOD_NAMES) as Operation[]) {
      const { args } = planGhz(options({ payload: payloadOf(operation, operation === 'sum' ? { values: [1, 2] } : { a: 1, b: 2 }) }), 'b', 'o');
      assert.equal(args[args.indexOf('--call') + 1], `calculator.v1.Calculator.${METHOD_NAMES[operation]}`);
    }
    const { args } = planGhz(options({ target: { protocol: 'grpc', host: '::1', port: 8443, tls: true } }), 'b', 'o');
    assert.ok(args.includes('--skipTLS') && !args.includes('--insecure'));
    assert.equal(args[args.length - 1], '[::1]:8443');
  });

  test('ghz limits: -c at most -n, --connections at most -c', () => {
    const few = planGhz(options({ requests: 3, concurrency: 16, connections: 8 }), 'b', 'o');
    assert.equal(few.concurrency, 3);
    assert.equal(few.connections, 3);
    const many = planGhz(options({ concurrency: 2, connections: 8 }), 'b', 'o');
    assert.deepEqual([many.concurrency, many.connections], [2, 2]);
  });

  test('metadata as -m JSON; a "{{" (ghz template) is refused; gzip payload adds -e', () => {
    const { args } = planGhz(options({ metadata: { 'x-run': 'r1', authorization: 'Bearer t' } }), 'b', 'o');
    assert.deepEqual(JSON.parse(args[args.indexOf('-m') + 1]!), { 'x-run': 'r1', authorization: 'Bearer t' });
    assert.throws(() => planGhz(options({ metadata: { x: '{{.RequestNumber}}' } }), 'b', 'o'), /template/);
    const gz = { ...ADD, compressed: { encoding: 'gzip' as const, json: Buffer.alloc(0), protobuf: new Uint8Array() } };
    assert.ok(planGhz(options({ payload: gz }), 'b', 'o').args.includes('-e'));
    assert.ok(!planGhz(options(), 'b', 'o').args.includes('-e'));
  });

  test('refuses an open loop (coordinated omission) and REST', () => {
    assert.throws(() => planGhz(options({ rate: 1000 }), 'b', 'o'), /open loop.*coordinated omission.*grpc-engine/s);
    assert.throws(() => planGhz(options({ target: { protocol: 'rest', url: 'http://127.0.0.1:3000' } }), 'b', 'o'), /gRPC only/);
  });

  test('the binary file is one count-prefixed message that decodes back to the request', () => {
    const { binary } = planGhz(options(), 'b', 'o');
    assert.equal(binary[0], ADD.protobuf.length);
    assert.deepEqual(messageTypes().Operands.toObject(messageTypes().Operands.decodeDelimited(binary)), { a: 20, b: 10 });
    // 300 doubles: a length past 127 takes a two-byte varint.
    const sum = payloadOf('sum', { values: Array.from({ length: 300 }, (_, i) => i + 0.5) });
    const framed = countDelimited(sum.protobuf);
    assert.equal(framed.length, sum.protobuf.length + 2);
    const decoded = messageTypes().Numbers.toObject(messageTypes().Numbers.decodeDelimited(framed)) as { values: number[] };
    assert.equal(decoded.values.length, 300);
    assert.equal(decoded.values[299], 299.5);
    assert.deepEqual([...countDelimited(new Uint8Array())], [0]);
  });
});

describe('ghz missing', () => {
  test('one clear line, and the driver says it is unavailable', async () => {
    const saved = process.env.PATH;
    let pending: Promise<unknown>;
    let unavailable: string | null | undefined;
    process.env.PATH = '/nonexistent-callbench-dir';
    try {
      unavailable = (ghzDriver as { unavailable?: () => string | null }).unavailable?.();
      pending = ghzDriver.run(options({ requests: 10 })); // looks the binary up before its first await
    } finally {
      process.env.PATH = saved;
    }
    await assert.rejects(pending, (error: Error) => {
      assert.equal(error.message, GHZ_MISSING_MESSAGE);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    assert.equal(
      GHZ_MISSING_MESSAGE,
      'ghz not found on PATH: install it from https://ghz.sh (a Go binary; not packaged by Debian) or use --driver grpc-engine / h2load',
    );
    assert.equal(unavailable, GHZ_MISSING_MESSAGE);
  });
});

describe('status names', () => {
  test("ghz's Go code names map to ours; client-side failures by their error text", () => {
    assert.equal(statusFromGhz('OK'), 'OK');
    assert.equal(statusFromGhz('InvalidArgument'), 'INVALID_ARGUMENT');
    assert.equal(statusFromGhz('Unavailable'), 'UNAVAILABLE');
    assert.equal(statusFromGhz('DeadlineExceeded'), 'DEADLINE_EXCEEDED');
    assert.equal(statusFromGhz('Canceled'), 'CANCELLED');
    assert.equal(statusFromGhz('ResourceExhausted'), 'RESOURCE_EXHAUSTED');
    assert.equal(statusFromGhz(''), 'UNKNOWN');
    assert.equal(statusFromGhz('Code(42)'), 'Code(42)');
    assert.equal(transportOutcome('rpc error: code = DeadlineExceeded desc = context deadline exceeded'), 'timeout');
    assert.equal(transportOutcome('rpc error: code = Unavailable desc = transport is closing'), 'connection-error');
    assert.equal(
      transportOutcome('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"'),
      'connection-error',
    );
    // The server's own statuses stay statuses.
    assert.equal(transportOutcome('rpc error: code = Unavailable desc = calculator is shutting down'), null);
    assert.equal(transportOutcome('rpc error: code = DeadlineExceeded desc = the server gave up'), null);
    assert.equal(transportOutcome('rpc error: code = InvalidArgument desc = division by zero'), null);
  });
});

describe('parsing a ghz report made from real measurements', () => {
  let server: RunningServer;
  let target: Target;
  before(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
    target = { protocol: 'grpc', host: '127.0.0.1', port: server.port };
  });
  after(async () => {
    await server.close(100);
  });

  const engine = async (extra: Partial<LoadOptions>): Promise<{ result: LoadResult; runOptions: LoadOptions; report: GhzJsonReport }> => {
    const runOptions = options({ target, ...extra });
    const result = await grpcEngine.run(runOptions);
    assert.equal(result.failure, undefined);
    const report = JSON.parse(JSON.stringify(toGhzReport(result, runOptions, { call: 'calculator.v1.Calculator.Add' }))) as GhzJsonReport;
    return { result, runOptions, report };
  };

  test('grpc-engine, 2,000 Add calls -> toGhzReport -> parser: counts, elapsed, percentiles', async () => {
    const { result, report } = await engine({ requests: 2_000 });
    assert.deepEqual(report.details, []); // toGhzReport keeps no per-call records: the summary path is tested
    const parsed = parseGhzReport(JSON.stringify(report));
    assert.equal(parsed.calls, 2_000);
    assert.equal(parsed.errors, 0);
    assert.deepEqual(parsed.statusCounts, { OK: 2_000 });
    assert.ok(Math.abs(parsed.elapsedS - result.elapsedS) < 1e-6, `${parsed.elapsedS} vs ${result.elapsedS}`);
    assert.equal(parsed.latencySource, 'percentiles');
    assert.equal(parsed.latencyUs.totalCount, 2_000);
    // p × 2,000 / 100 is a whole rank for every ghz percentile: each comes back to histogram precision.
    for (const p of [10, 25, 50, 75, 90, 95, 99]) {
      const original = result.latencyUs.getValueAtPercentile(p);
      const back = parsed.latencyUs.getValueAtPercentile(p);
      assert.ok(Math.abs(back - original) <= Math.max(1, original * 0.002), `p${p}: ${back} µs vs ${original} µs`);
    }
    assert.ok(Math.abs(parsed.latencyUs.minNonZeroValue - result.latencyUs.minNonZeroValue) <= Math.max(1, result.latencyUs.minNonZeroValue * 0.002));
    assert.ok(Math.abs(parsed.latencyUs.maxValue - result.latencyUs.maxValue) <= Math.max(1, result.latencyUs.maxValue * 0.002));
  });

  test('a second run of Divide by zero: every call INVALID_ARGUMENT, all errors', async () => {
    const { result, report } = await engine({ requests: 300, payload: DIVIDE_BY_ZERO });
    assert.deepEqual(result.statusCounts, { INVALID_ARGUMENT: 300 });
    assert.deepEqual(report.statusCodeDistribution, { InvalidArgument: 300 });
    const parsed = parseGhzReport(report);
    assert.deepEqual(parsed.statusCounts, { INVALID_ARGUMENT: 300 });
    assert.equal(parsed.errors, 300);
    assert.equal(parsed.calls, 300);
    assert.equal(parsed.latencyUs.totalCount, 300);
  });

  test('transport outcomes survive the round trip (statuses of the real run, relabelled)', async () => {
    const { result, runOptions } = await engine({ requests: 400 });
    const statusCounts = { OK: 300, INVALID_ARGUMENT: 40, timeout: 30, 'connection-error': 20, goaway: 6, 'stream-reset': 4 };
    const report = toGhzReport({ ...result, statusCounts, errors: 100 }, runOptions);
    assert.deepEqual(report.statusCodeDistribution, { OK: 300, InvalidArgument: 40, DeadlineExceeded: 30, Unavailable: 26, Internal: 4 });
    const parsed = parseGhzReport(JSON.stringify(report));
    assert.deepEqual(parsed.statusCounts, statusCounts);
    assert.equal(parsed.errors, 100);
  });

  test('without percentiles, the 11 histogram marks (coarser): every call counted, within fastest..slowest', async () => {
    const { result, report } = await engine({ requests: 1_000 });
    const parsed = parseGhzReport({ ...report, latencyDistribution: null });
    assert.equal(parsed.latencySource, 'histogram');
    assert.equal(parsed.latencyUs.totalCount, 1_000);
    const fastest = result.latencyUs.minNonZeroValue;
    const slowest = result.latencyUs.maxValue;
    const bucket = (slowest - fastest) / 10;
    assert.ok(parsed.latencyUs.minNonZeroValue >= fastest * 0.998 && parsed.latencyUs.maxValue <= slowest * 1.002);
    const p50 = result.latencyUs.getValueAtPercentile(50);
    const back = parsed.latencyUs.getValueAtPercentile(50);
    assert.ok(back >= p50 * 0.998 && back <= p50 + bucket + 1, `p50 ${back} µs vs ${p50} µs, bucket ${bucket} µs`);
  });

  test('per-call details (real grpc-js calls, timed one by one) are recorded exactly', async () => {
    const Calculator = loadCalculatorService();
    const client = new Calculator(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const GO_NAMES: Record<number, string> = { [grpc.status.OK]: 'OK', [grpc.status.INVALID_ARGUMENT]: 'InvalidArgument' };
    const details: NonNullable<GhzJsonReport['details']> = [];
    const statusCodeDistribution: Record<string, number> = {};
    const errorDistribution: Record<string, number> = {};
    const started = process.hrtime.bigint();
    try {
      const calls: Array<[string, object]> = [
        ...Array.from({ length: 200 }, (): [string, object] => ['Add', { a: 20, b: 10 }]),
        ...Array.from({ length: 40 }, (): [string, object] => ['Divide', { a: 1, b: 0 }]),
      ];
      for (const [method, input] of calls) {
        const t0 = process.hrtime.bigint();
        const error = await new Promise<grpc.ServiceError | null>((resolve) => {
          (client as unknown as Record<string, (i: object, cb: (e: grpc.ServiceError | null) => void) => void>)[method]!(input, (e) => resolve(e));
        });
        const latency = Number(process.hrtime.bigint() - t0);
        // As ghz's reporter records a call: Go status name, error text, latency in ns, end timestamp.
        const status = GO_NAMES[error?.code ?? grpc.status.OK]!;
        const text = error ? `rpc error: code = ${status} desc = ${error.details}` : '';
        details.push({ timestamp: new Date().toISOString(), latency, error: text, status });
        statusCodeDistribution[status] = (statusCodeDistribution[status] ?? 0) + 1;
        if (text) errorDistribution[text] = (errorDistribution[text] ?? 0) + 1;
      }
    } finally {
      client.close();
    }
    const report: GhzJsonReport = {
      count: details.length,
      total: Number(process.hrtime.bigint() - started),
      statusCodeDistribution,
      errorDistribution,
      latencyDistribution: null,
      histogram: null,
      details,
    };
    const parsed = parseGhzReport(JSON.stringify(report));
    assert.equal(parsed.latencySource, 'details');
    assert.deepEqual(parsed.statusCounts, { OK: 200, INVALID_ARGUMENT: 40 });
    assert.equal(parsed.errors, 40);
    const expected = createLatencyHistogram();
    for (const d of details) expected.recordValue(Math.max(1, Math.round(d.latency / 1000)));
    assert.equal(parsed.latencyUs.totalCount, 240);
    for (const p of [1, 10, 50, 90, 99, 100]) assert.equal(parsed.latencyUs.getValueAtPercentile(p), expected.getValueAtPercentile(p), `p${p}`);
    assert.equal(parsed.latencyUs.minNonZeroValue, expected.minNonZeroValue);
    // ghz keeps at most 1,000,000 details: fewer details than calls is said.
    assert.equal(parseGhzReport({ ...report, count: report.count + 10 }).latencySource, 'details-partial');
  });

  test('rejects what is not a ghz JSON report', () => {
    assert.throws(() => parseGhzReport('{"summary": 1}'), /not a ghz JSON report/);
    assert.throws(() => parseGhzReport('Summary:\n  Count: 200'), SyntaxError);
  });
});

describe('spawning, with a stand-in script in place of ghz (plumbing only)', () => {
  let server: RunningServer;
  let dir: string;
  let fake: string;
  before(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'callbench-ghz-test-'));
    fake = path.join(dir, 'ghz');
    // Copies the --binary-file out, then writes the prepared report to --output (or fails like ghz does).
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        'out=""; bin=""',
        'while [ $# -gt 0 ]; do case "$1" in --output) out="$2"; shift;; --binary-file) bin="$2"; shift;; esac; shift; done',
        'if [ -n "$FAKE_GHZ_FAIL" ]; then echo "Error: boom" >&2; exit 1; fi',
        'cp "$bin" "$FAKE_GHZ_BIN_COPY"',
        'cp "$FAKE_GHZ_REPORT" "$out"',
        '',
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
  });
  after(async () => {
    await server.close(100);
    rmSync(dir, { recursive: true, force: true });
    delete process.env.FAKE_GHZ_FAIL;
    delete process.env.FAKE_GHZ_REPORT;
    delete process.env.FAKE_GHZ_BIN_COPY;
  });

  test('runs under the CPU wrapper, passes the message file, reads the report', async () => {
    const target: Target = { protocol: 'grpc', host: '127.0.0.1', port: server.port };
    const engineOptions = options({ target, requests: 500 });
    const measured = await grpcEngine.run(engineOptions);
    const reportPath = path.join(dir, 'report.json');
    writeFileSync(reportPath, JSON.stringify(toGhzReport(measured, engineOptions)));
    process.env.FAKE_GHZ_REPORT = reportPath;
    process.env.FAKE_GHZ_BIN_COPY = path.join(dir, 'request.bin');
    const result = (await ghzDriver.run({ ...options({ target, requests: 500 }), ghzPath: fake } as LoadOptions)) as GhzResult;
    assert.equal(result.failure, undefined, result.failure);
    assert.equal(result.calls, 500);
    assert.deepEqual(result.statusCounts, { OK: 500 });
    assert.equal(result.latencyUs.totalCount, 500);
    assert.equal(result.latencySource, 'percentiles');
    assert.equal(result.command[0], fake);
    assert.equal(typeof result.clientCpuUs, 'number');
    assert.deepEqual(readFileSync(process.env.FAKE_GHZ_BIN_COPY), countDelimited(ADD.protobuf));
  });

  test('a failing ghz: its exit code and last stderr line, no calls', async () => {
    process.env.FAKE_GHZ_FAIL = '1';
    try {
      const result = (await ghzDriver.run({ ...options({ requests: 10 }), ghzPath: fake } as LoadOptions)) as GhzResult;
      assert.equal(result.failure, 'ghz exited with code 1: Error: boom');
      assert.equal(result.calls, 0);
      assert.equal(result.latencySource, 'none');
    } finally {
      delete process.env.FAKE_GHZ_FAIL;
    }
  });
});

describe('the real ghz binary against the real server', { skip: skipReal }, () => {
  let server: RunningServer;
  let target: Target;
  before(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
    target = { protocol: 'grpc', host: '127.0.0.1', port: server.port };
  });
  after(async () => {
    await server.close(100);
  });
  const run = (o: LoadOptions): Promise<GhzResult> => ghzDriver.run(o) as Promise<GhzResult>;

  test('requests: exact count, every call in the histogram, ghz CPU', async () => {
    const result = await run(options({ target, requests: 200 }));
    assert.equal(result.failure, undefined, result.failure);
    assert.equal(result.calls, 200);
    assert.deepEqual(result.statusCounts, { OK: 200 });
    assert.equal(result.latencySource, 'details');
    assert.equal(result.latencyUs.totalCount, 200);
    assert.equal(result.socketBytes, null);
    assert.equal(typeof result.clientCpuUs, 'number');
  });

  test('gRPC errors are seen (grpc-status), unlike h2load', async () => {
    const result = await run(options({ target, requests: 50, payload: DIVIDE_BY_ZERO }));
    assert.deepEqual(result.statusCounts, { INVALID_ARGUMENT: 50 });
    assert.equal(result.errors, 50);
  });

  test('duration mode', async () => {
    const result = await run(options({ target, durationS: 0.5 }));
    assert.equal(result.failure, undefined, result.failure);
    assert.ok(result.calls > 0 && result.elapsedS > 0.3 && result.elapsedS < 3, `${result.calls} calls in ${result.elapsedS} s`);
  });
});
