/**
 * The factorial report from fixture records: the ratios behind each
 * attribution sentence, the 2x2 cells (best + default server), and "—" with the
 * reason for a cell or ratio that was not measured. Pure functions, no I/O.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTENDERS } from '../../servers/contenders/index.ts';
import { contenderInfo } from '../../bench/host/contenders.ts';
import { NULL_WIRE } from '../../bench/wire/measure.ts';
import { attributionSentences, buildFactorial, languageSentences, renderFactorial, renderFactorialMarkdown } from '../../bench/report/factorial.ts';
import { SCHEMA_VERSION, type ContenderReport, type ResultsFile, type RunRecord } from '../../bench/results/record.ts';
import { assertSchemaValid } from '../helpers/bench.ts';

function run(name: string, rps: number, extra: Partial<RunRecord> = {}): RunRecord {
  const contender = CONTENDERS.find((c) => c.name === name)!;
  return {
    scenario: 'add/c16',
    protocol: contender.client.style === 'grpc' ? 'grpc' : 'rest',
    driver: contender.wire === 'h2' ? 'grpc-engine' : 'autocannon',
    contender: contenderInfo(contender),
    operation: 'add',
    payloadValues: null,
    concurrency: 16,
    connections: contender.wire === 'h2' ? 1 : 16,
    rate: null,
    trial: 1,
    durationS: 1,
    status: 'completed',
    failure: null,
    requests: rps,
    errors: 0,
    statusCounts: { [contender.client.style === 'grpc' ? 'OK' : '200']: rps },
    rps,
    latencyMs: { p50: 1, p90: 2, p99: 1_000_000 / rps, p999: 4, max: 5, mean: 1, stdev: 0.5 },
    wire: { ...NULL_WIRE, requestBytesPerCall: contender.encoding === 'json' ? 150 : 50, responseBytesPerCall: 100, countedBy: 'counting-proxy' },
    body: { requestBytes: 15, responseBytes: 12 },
    server: { cpuMsPer1kCalls: 30, peakRssMiB: 60 },
    client: { cpuPercent: 50, cpuUsPerCall: 10, bound: false },
    ...extra,
  };
}

function report(name: string, passed = true): ContenderReport {
  const contender = CONTENDERS.find((c) => c.name === name)!;
  return {
    ...contenderInfo(contender),
    measured: passed,
    conformance: { passed, cases: 30, failures: passed ? [] : [`${name}: add 20,10: expected value 30, got value 31`] },
    failure: null,
  };
}

function results(runs: RunRecord[], reports: ContenderReport[]): ResultsFile {
  const file: ResultsFile = {
    schemaVersion: SCHEMA_VERSION,
    environment: {
      date: '2026-11-25T10:00:00.000Z',
      node: 'v20.20.2',
      os: 'linux',
      cpuModel: 'fixture',
      cpuCount: 2,
      totalMemoryMiB: 4096,
      packages: {},
      gitCommit: null,
      options: { contenders: reports.map((r) => r.name) },
      pinning: null,
    },
    runs,
    contenders: reports,
  };
  assertSchemaValid(JSON.parse(JSON.stringify(file)));
  return file;
}

const FULL = {
  express: 5_000,
  fastify: 18_000,
  'node-http': 20_000,
  'rest-h2': 22_000,
  'fastify-h2': 21_000,
  'rest-protobuf-h1': 19_400,
  'connect-h1': 5_000,
  'grpc-js': 18_000,
  'connect-grpc': 3_000,
  'node-http2-grpc': 20_000,
} as const;

describe('factorial report', () => {
  test('attribution sentences carry the ratios they rest on', () => {
    const file = results(
      Object.entries(FULL).map(([name, rps]) => run(name, rps)),
      Object.keys(FULL).map((name) => report(name)),
    );
    const [scenario] = buildFactorial(file);
    const lines = attributionSentences(scenario!);
    assert.equal(lines[0], 'transport: rest-h2 / node-http = 1.10× (JSON, bare node (node:http2 vs node:http)); also fastify-h2 / fastify = 1.17×, connect-grpc / connect-h1 = 0.60×');
    assert.equal(lines[1], 'encoding: rest-protobuf-h1 / node-http = 0.97× (HTTP/1.1, bare node:http); also node-http2-grpc / rest-h2 = 0.91×');
    assert.match(lines[2]!, /^implementation: node-http \/ express = 4\.00× \(HTTP\/1\.1 JSON, bare node:http vs express\); also node-http \/ fastify = 1\.11×, node-http2-grpc \/ grpc-js = 1\.11×, node-http2-grpc \/ connect-grpc = 6\.67×, rest-h2 \/ fastify-h2 = 1\.05×$/);
    // The chain multiplies to the default pair's gap: 4.00 x 1.10 x 0.909 x 0.90 = 3.60.
    assert.equal(lines[3], 'default pair: grpc-js / express = 3.60× = 4.00× (implementation: node-http / express) × 1.10× (transport: rest-h2 / node-http) × 0.91× (encoding: node-http2-grpc / rest-h2) × 0.90× (implementation: grpc-js / node-http2-grpc)');
    const product = scenario!.chain.links.reduce((p, link) => p * link.value!, 1);
    assert.ok(Math.abs(product - scenario!.chain.total.value!) < 1e-9);
    assert.match(lines[4]!, /^share of the default pair's gap .*: implementation \d+%, transport \d+%, encoding -\d+%$/);
  });

  test('2x2 cells: best contender, and the default server where it is not the best', () => {
    const file = results(
      Object.entries(FULL).map(([name, rps]) => run(name, rps)),
      Object.keys(FULL).map((name) => report(name)),
    );
    const [scenario] = buildFactorial(file);
    const cell = (wire: string, encoding: string) => scenario!.cells.find((c) => c.wire === wire && c.encoding === encoding)!;
    assert.equal(cell('http1', 'json').best!.contender.name, 'node-http');
    assert.equal(cell('http1', 'json').defaultServer!.contender.name, 'express');
    assert.equal(cell('h2', 'json').best!.contender.name, 'rest-h2');
    assert.equal(cell('h2', 'json').defaultServer, null);
    assert.equal(cell('http1', 'protobuf').best!.contender.name, 'rest-protobuf-h1');
    assert.equal(cell('h2', 'protobuf').best!.contender.name, 'node-http2-grpc');
    assert.equal(cell('h2', 'protobuf').defaultServer!.contender.name, 'grpc-js');
    assert.equal(scenario!.contenders[0]!.contender.name, 'rest-h2', 'fastest first');
    const text = renderFactorial(file);
    assert.match(text, /^HTTP\/1\.1 +best: node-http 20\.0k calls\/s, p99 50\.0 ms, 250 B\/call +best: rest-protobuf-h1 19\.4k calls\/s, p99 51\.5 ms, 150 B\/call$/m);
    assert.match(text, /^ +default: express 5000 calls\/s, p99 200 ms, 250 B\/call$/m);
    assert.match(renderFactorialMarkdown(file), /^\| \*\*HTTP\/2\*\* \| best: rest-h2 22\.0k calls\/s.* \| best: node-http2-grpc 20\.0k calls\/s.*<br>default: grpc-js 18\.0k calls\/s/m);
  });

  test('missing cells and ratios are "—" with why, never guessed', () => {
    // Only the default pair ran, plus node-http; fastify-h2 failed conformance; rest-protobuf-h1's run failed.
    const file = results(
      [
        run('express', 5_000),
        run('node-http', 20_000),
        run('grpc-js', 18_000),
        run('rest-protobuf-h1', 0, { status: 'failed', failure: 'server exited', requests: 0, rps: 0, latencyMs: null }),
      ],
      [report('express'), report('node-http'), report('grpc-js'), report('rest-protobuf-h1'), report('fastify-h2', false)],
    );
    const [scenario] = buildFactorial(file);
    const h2json = scenario!.cells.find((c) => c.wire === 'h2' && c.encoding === 'json')!;
    assert.equal(h2json.best, null);
    assert.equal(h2json.missing, 'fastify-h2 failed conformance (1 of 30 cases)');
    const h1proto = scenario!.cells.find((c) => c.wire === 'http1' && c.encoding === 'protobuf')!;
    assert.equal(h1proto.missing, 'rest-protobuf-h1 run failed: server exited');
    const lines = attributionSentences(scenario!);
    assert.equal(lines[0], 'transport: rest-h2 / node-http = — (rest-h2 not in --contenders)');
    assert.equal(lines[1], 'encoding: rest-protobuf-h1 / node-http = — (rest-protobuf-h1 run failed: server exited)');
    assert.match(lines[2]!, /^implementation: node-http \/ express = 4\.00× /);
    assert.equal(lines[3], 'default pair: grpc-js / express = 3.60×; its split into factors: — (rest-h2 not in --contenders)');
    const text = renderFactorial(file);
    assert.match(text, /^HTTP\/2 +— \(fastify-h2 failed conformance \(1 of 30 cases\)\) +best: grpc-js 18\.0k/m);
    assert.match(text, /fastify-h2 \(HTTP\/2 JSON, fastify 5 \(http2\)\): NOT MEASURED — failed conformance, 1 of 30 cases: fastify-h2: add 20,10/);
    // A cell nobody was asked for says so.
    const noH2 = results([run('express', 5_000)], [report('express')]);
    assert.equal(buildFactorial(noH2)[0]!.cells.find((c) => c.wire === 'h2' && c.encoding === 'protobuf')!.missing, 'no HTTP/2 protobuf contender in --contenders');
  });

  test('with a Go contender: {Node, Go} x {gRPC, REST} and its ratios; without one, no such table', () => {
    const file = results(
      [run('express', 5_000), run('grpc-js', 10_000), run('grpc-go', 60_000), run('go-net-http', 40_000, { client: { cpuPercent: 99, cpuUsPerCall: 20, bound: true } })],
      [report('express'), report('grpc-js'), report('grpc-go'), report('go-net-http')],
    );
    const [scenario] = buildFactorial(file);
    const cell = (language: string, protocol: string) => scenario!.languages!.cells.find((c) => c.language === language && c.protocol === protocol)!;
    assert.equal(cell('node', 'grpc').best!.contender.name, 'grpc-js');
    assert.equal(cell('node', 'rest').best!.contender.name, 'express');
    assert.equal(cell('go', 'grpc').best!.contender.name, 'grpc-go');
    assert.equal(cell('go', 'rest').best!.contender.name, 'go-net-http');
    const lines = languageSentences(scenario!);
    assert.equal(lines[0], 'gRPC / REST: grpc-js / express = 2.00× (Node, the default pair); grpc-go / go-net-http = 1.50× (Go, grpc-go vs net/http)');
    assert.equal(lines[1], 'Go / Node: grpc-go / grpc-js = 6.00× (gRPC, grpc-go vs @grpc/grpc-js); go-net-http / express = 8.00× (REST, net/http vs express 5)');
    const text = renderFactorial(file);
    assert.match(text, /^Go +best: grpc-go 60\.0k calls\/s, p99 16\.7 ms, 150 B\/call +best: go-net-http 40\.0k calls\/s/m);
    assert.match(text, /^go-net-http +Go +HTTP\/1\.1 +JSON .* client-bound$/m);
    assert.match(text, /^grpc-js \* +Node +HTTP\/2 /m);
    assert.match(renderFactorialMarkdown(file), /^\| \*\*Go\*\* \| best: grpc-go 60\.0k calls\/s/m);
    // A Go contender that could not run still brings the table, with the reason in its cells.
    const unavailable = { ...report('grpc-go', false), measured: false, failure: 'unavailable: go is not installed', conformance: { passed: false, cases: 0, failures: [] } };
    const [withoutGo] = buildFactorial(results([run('express', 5_000), run('grpc-js', 10_000)], [report('express'), report('grpc-js'), unavailable]));
    assert.equal(withoutGo!.languages!.cells.find((c) => c.language === 'go' && c.protocol === 'grpc')!.missing, 'grpc-go unavailable: go is not installed');
    assert.equal(languageSentences(withoutGo!)[1], 'Go / Node: grpc-go / grpc-js = — (grpc-go unavailable: go is not installed)');
    const [nodeOnly] = buildFactorial(results([run('express', 5_000), run('grpc-js', 10_000)], [report('express'), report('grpc-js')]));
    assert.equal(nodeOnly!.languages, null);
    assert.doesNotMatch(renderFactorial(results([run('express', 5_000)], [report('express')])), /language x protocol/);
  });

  test('medians over trials; runs without a contender are ignored', () => {
    const file = results(
      [run('node-http', 10_000), run('node-http', 30_000, { trial: 2 }), run('node-http', 20_000, { trial: 3 }), run('express', 5_000), { ...run('express', 1), contender: null }],
      [report('node-http'), report('express')],
    );
    const [scenario] = buildFactorial(file);
    assert.equal(scenario!.contenders.find((c) => c.contender.name === 'node-http')!.rps, 20_000);
    assert.equal(scenario!.contenders.find((c) => c.contender.name === 'express')!.rps, 5_000);
  });
});
