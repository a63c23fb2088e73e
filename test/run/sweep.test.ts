/**
 * The payload sweep: options and scenario keys; byte figures that equal
 * independently encoded messages (the proxy's request body count included);
 * a real (tiny) sweep through runBench with schema-valid records and the sweep
 * table and summary in report.md; the summary's crossing point computed from
 * the data. No speed assertions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { autocannonDriver } from '../../bench/drivers/autocannon.ts';
import { grpcEngine } from '../../bench/drivers/grpc-engine.ts';
import { UsageError } from '../../bench/options/options.ts';
import { makeValues, type ValueShape } from '../../bench/scenario/payloads.ts';
import { hasSweep, renderSweepMarkdown, renderSweepTable, sweepRows } from '../../bench/report/sweep.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { buildPayload, buildScenarios } from '../../bench/scenario/matrix.ts';
import { summarizeSweep } from '../../bench/report/sweep-summary.ts';
import { holdsFromSize } from '../../bench/report/crossing.ts';
import { measureWireBytes } from '../../bench/wire/measure.ts';
import { assertSchemaValid, benchOptions, quietProgress, runBenchWithReports, tempDir } from '../helpers/bench.ts';
import { startServers, type Servers } from '../helpers/servers.ts';

const resolve = (...args: string[]) => benchOptions(args);

/** protobuf `Numbers { repeated double values = 1; }`, packed: 1 tag byte + varint length + 8 bytes a value. */
function protobufNumbersBytes(count: number): number {
  const payload = 8 * count;
  let varint = 1;
  for (let n = payload; n >= 0x80; n = Math.floor(n / 128)) varint++;
  return 1 + varint + payload;
}
const jsonBytes = (values: number[]): number => Buffer.byteLength(JSON.stringify({ values }));

describe('sweep options and scenario keys', () => {
  test('--sweep payload: sum at 1..10,000 values x every shape at 16 in flight; full adds 100,000', () => {
    const o = resolve('--sweep', 'payload');
    assert.deepEqual(o.ops, ['sum']);
    assert.deepEqual(o.sizes, [1, 10, 100, 1_000, 10_000]);
    assert.deepEqual(o.shapes, ['int', 'money', 'double']);
    assert.deepEqual(o.sumConcurrency, [16]);
    assert.equal(o.sweep, 'payload');
    assert.deepEqual(resolve('--sweep', 'payload', '--profile', 'full').sizes, [1, 10, 100, 1_000, 10_000, 100_000]);
    const keys = buildScenarios(o).map((s) => s.key);
    assert.equal(keys.length, 15);
    assert.ok(keys.includes('sum-1000-int/c16') && keys.includes('sum-1000-money/c16') && keys.includes('sum-1000/c16'), keys.join(' '));
  });

  test('--compression none,gzip is a dimension; keys name gzip; shape and compression are on each scenario', () => {
    const o = resolve('--ops', 'add,sum', '--sizes', '10', '--shape', 'int', '--concurrency', '16', '--compression', 'none,gzip');
    const scenarios = buildScenarios(o);
    assert.deepEqual(scenarios.map((s) => s.key), ['add/c16', 'add-gzip/c16', 'sum-10-int/c16', 'sum-10-int-gzip/c16']);
    assert.deepEqual(scenarios.map((s) => [s.valueShape, s.compression]), [[null, 'none'], [null, 'gzip'], ['int', 'none'], ['int', 'gzip']]);
    // The default profile's keys stay as they were for doubles without compression.
    assert.ok(buildScenarios(resolve()).some((s) => s.key === 'sum-10/c16'));
  });

  test('bad sweep flags name the flag', () => {
    assert.throws(() => resolve('--sweep', 'sizes'), (e: Error) => e instanceof UsageError && /--sweep: unknown value "sizes"; allowed: payload/.test(e.message));
    assert.throws(() => resolve('--sweep', 'payload', '--ops', 'add'), (e: Error) => e instanceof UsageError && /sum only/.test(e.message));
    assert.throws(() => resolve('--compression', 'br'), (e: Error) => e instanceof UsageError && /--compression: unknown value "br"; allowed: none, gzip/.test(e.message));
  });

  test('payload bodies equal independently encoded messages for every size and shape', () => {
    for (const shape of ['int', 'money', 'double'] as ValueShape[]) {
      for (const size of [1, 10, 100, 1_000, 10_000, 100_000]) {
        const payload = buildPayload('sum', size, shape);
        assert.equal(payload.protobuf.length, protobufNumbersBytes(size), `${shape} ${size} protobuf`);
        assert.equal(payload.json.length, jsonBytes(makeValues(size, shape)), `${shape} ${size} json`);
      }
    }
  });
});

describe('wire counts through the proxy equal the encoded bodies', () => {
  let servers: Servers;
  before(async () => {
    servers = await startServers();
  });
  after(() => servers.close());

  for (const shape of ['int', 'money', 'double'] as ValueShape[]) {
    test(`${shape}: request body bytes per call from the proxy = 1 tag + varint + 8n (protobuf) and JSON.stringify length`, async () => {
      for (const size of [1, 100, 10_000]) {
        const payload = buildPayload('sum', size, shape);
        const base = { payload, concurrency: 4, connections: 1, timeoutMs: 10_000 };
        const g = await measureWireBytes(grpcEngine, { ...base, target: { protocol: 'grpc', host: servers.grpc.host, port: servers.grpcPort } }, 20);
        const r = await measureWireBytes(autocannonDriver, { ...base, connections: 4, target: { protocol: 'rest', url: servers.restUrl } }, 20);
        assert.equal(g.errors, 0);
        assert.equal(r.errors, 0);
        assert.equal(g.counts.request.messages, 20);
        assert.equal(r.counts.request.messages, 20);
        assert.equal(g.counts.request.bodyBytes / 20, protobufNumbersBytes(size), `gRPC ${shape} ${size}`);
        assert.equal(r.counts.request.bodyBytes / 20, jsonBytes(makeValues(size, shape)), `REST ${shape} ${size}`);
        // Headers and framing are the rest of what the proxy saw.
        assert.equal(g.counts.request.headerBytes + g.counts.request.bodyBytes, g.counts.request.totalBytes);
        assert.equal(r.counts.request.headerBytes + r.counts.request.bodyBytes, r.counts.request.totalBytes);
      }
    });
  }
});

describe('a tiny real sweep through runBench', () => {
  test('records valueShape and compression, exact body bytes, schema-valid; report.md has the sweep table and summary', async () => {
    const out = tempDir();
    const outcome = await runBenchWithReports(
      resolve('--sweep', 'payload', '--sizes', '1,1000', '--shape', 'int,double', '--duration', '0.3', '--warmup', '0', '--wire-calls', '50', '--out', out),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const file = JSON.parse(readFileSync(path.join(outcome.dir!, 'results.json'), 'utf8')) as unknown;
    assertSchemaValid(file);
    assert.equal(file.runs.length, 8);
    for (const run of file.runs) {
      assert.equal(run.compression, 'none');
      assert.ok(run.valueShape === 'int' || run.valueShape === 'double');
      const values = makeValues(run.payloadValues!, run.valueShape!);
      const expected = run.protocol === 'grpc' ? protobufNumbersBytes(values.length) : jsonBytes(values);
      assert.equal(run.body.requestBytes, expected, run.scenario);
      // Wire bytes = body + headers/framing, each way.
      assert.ok(run.wire.requestBytesPerCall! > run.body.requestBytes, run.scenario);
      assert.ok(Math.abs(run.wire.requestBytesPerCall! - run.wire.requestHeaderBytesPerCall! - run.body.requestBytes) < 1, run.scenario);
    }
    assert.deepEqual([...new Set(file.runs.map((r) => r.scenario))], ['sum-1-int/c16', 'sum-1/c16', 'sum-1000-int/c16', 'sum-1000/c16']);
    const md = readFileSync(path.join(outcome.dir!, 'report.md'), 'utf8');
    assert.match(md, /## Payload sweep \(Sum\)/);
    // The int crossing, computed here from the recorded body sizes, is the one the summary names.
    const int = file.runs.filter((r) => r.valueShape === 'int' && r.protocol === 'grpc').map((g) => ({
      n: g.payloadValues!,
      g: g.body.requestBytes,
      r: file.runs.find((r) => r.protocol === 'rest' && r.scenario === g.scenario)!.body.requestBytes,
    }));
    const jsonFrom = holdsFromSize(int, (p) => p.n, (p) => p.r < p.g);
    assert.ok(jsonFrom !== null);
    assert.match(md, new RegExp(`the JSON body is smaller than the protobuf body from ${jsonFrom.toLocaleString('en-US')} int values on`));
    const csv = readFileSync(path.join(outcome.dir!, 'results.csv'), 'utf8');
    assert.match(csv.split('\r\n')[0]!, /,value_shape,compression(,|$)/);
  });
});

// ---- renderer and summary on synthetic records ---------------------------------------

function record(protocol: 'grpc' | 'rest', values: number, shape: 'int' | 'money' | 'double', compression: 'none' | 'gzip', f: { body: number; hdr: number; resp?: number; rps?: number; cpu?: number }): RunRecord {
  const resp = f.resp ?? 40;
  return {
    scenario: `sum-${values}-${shape}${compression === 'gzip' ? '-gzip' : ''}/c16`, protocol, driver: protocol === 'grpc' ? 'grpc-engine' : 'autocannon',
    operation: 'sum', payloadValues: values, valueShape: shape, compression, concurrency: 16, connections: protocol === 'grpc' ? 1 : 16, rate: null, trial: 1,
    durationS: 1, status: 'completed', failure: null, requests: 1000, errors: 0, statusCounts: { OK: 1000 }, rps: f.rps ?? 1000,
    latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1, stdev: 1 },
    wire: { requestBytesPerCall: f.body + f.hdr, responseBytesPerCall: resp, requestHeaderBytesPerCall: f.hdr, responseHeaderBytesPerCall: resp - 10, countedBy: 'counting-proxy' },
    body: { requestBytes: f.body, responseBytes: 10 },
    server: { cpuMsPer1kCalls: f.cpu ?? 100, peakRssMiB: 50 }, client: { cpuPercent: 50, cpuUsPerCall: 20, bound: false },
  };
}

function synthetic(runs: RunRecord[]): ResultsFile {
  return {
    schemaVersion: 1,
    environment: { date: '2026-01-01T00:00:00Z', node: 'v20', os: 'test', cpuModel: 'synthetic', cpuCount: 2, totalMemoryMiB: 1, packages: {}, gitCommit: null, options: {}, pinning: null },
    runs,
  };
}

describe('sweep table and generated summary', () => {
  // money-like: protobuf 8n+3 vs JSON ~7.5n+12: JSON smaller at small n... crossing chosen by the data below.
  const sizes = [1, 10, 100, 1_000, 10_000];
  const grpcBody = (n: number): number => protobufNumbersBytes(n);
  const restBody = (n: number): number => Math.round(7.9 * n + 12); // a little under 8 bytes a value, plus the wrapper
  const runs = sizes.flatMap((n) => [
    record('grpc', n, 'money', 'none', { body: grpcBody(n), hdr: 30 }),
    record('rest', n, 'money', 'none', { body: restBody(n), hdr: 125 }),
  ]);

  test('the crossing point in the summary is the one computed from the data', () => {
    const results = synthetic(runs);
    const pairs = sizes.map((n) => ({ n, g: grpcBody(n), r: restBody(n) }));
    const bodyFrom = holdsFromSize(pairs, (p) => p.n, (p) => p.r < p.g);
    const wireFrom = holdsFromSize(pairs, (p) => p.n, (p) => p.r + 125 < p.g + 30);
    assert.notEqual(bodyFrom, null);
    const text = summarizeSweep(results).join('\n');
    assert.match(text, new RegExp(`the JSON body is smaller than the protobuf body from ${bodyFrom!.toLocaleString('en-US')} money values on`));
    assert.match(text, new RegExp(`a REST request is smaller than a gRPC request from ${wireFrom!.toLocaleString('en-US')} money values on`));
    // The largest point's byte ratio, from the data.
    const g = grpcBody(10_000) + 30 + 40;
    const r = restBody(10_000) + 125 + 40;
    assert.match(text, new RegExp(`At 10,000 money values gRPC moves ${(g / r).toFixed(2)}× the bytes of REST per call`));
  });

  test('changing the data moves the crossing point in the text', () => {
    const shifted = sizes.flatMap((n) => [
      record('grpc', n, 'double', 'none', { body: grpcBody(n), hdr: 30 }),
      record('rest', n, 'double', 'none', { body: n >= 100 ? 17 * n : 4 * n, hdr: 125 }),
    ]);
    const text = summarizeSweep(synthetic(shifted)).join('\n');
    assert.match(text, /the JSON body is smaller than the protobuf body|the protobuf body is smaller than the JSON body from 100 double values on/i);
    assert.match(text, /The protobuf body is smaller than the JSON body from 100 double values on\./);
  });

  test('gzip sentences compare each compressed point with the uncompressed one', () => {
    const gz = [1, 10_000].flatMap((n) => [
      record('grpc', n, 'int', 'none', { body: grpcBody(n), hdr: 30, cpu: 100 }),
      record('rest', n, 'int', 'none', { body: 3 * n + 12, hdr: 125, cpu: 200 }),
      record('grpc', n, 'int', 'gzip', { body: n === 1 ? 40 : 15_000, hdr: 32, cpu: 150 }),
      record('rest', n, 'int', 'gzip', { body: n === 1 ? 37 : 11_000, hdr: 170, cpu: 260 }),
    ]);
    const text = summarizeSweep(synthetic(gz)).join('\n');
    assert.match(text, /With gzip, compression shrinks gRPC requests from 10,000 int values on and shrinks REST requests from 10,000 int values on \(below that/);
    assert.match(text, /gRPC body 80,004 → 15,000 bytes \(5\.33× smaller\), server CPU 100 → 150 ms per 1,000 calls/);
    assert.match(text, /Responses: gRPC response bodies were the same size with gzip accepted \(not compressed\)/);
  });

  test('the table has a row per size x shape with gRPC, REST and ratio columns; terminal and Markdown', () => {
    const results = synthetic(runs);
    assert.equal(hasSweep(results), true);
    assert.equal(sweepRows(results).length, sizes.length);
    const table = renderSweepTable(results);
    assert.match(table, /req wire B\/call \(hdr\+framing\)/);
    assert.match(table, /^10,000 +money +80\.0k +79\.0k +1\.01x/m);
    const md = renderSweepMarkdown(results);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ')).length, 2 + sizes.length);
    assert.match(md, /\| 1 \| money \| 10\.0 \| 20\.0 \| 0\.50x \|/);
    assert.equal(hasSweep(synthetic(runs.slice(0, 2))), false);
  });
});
