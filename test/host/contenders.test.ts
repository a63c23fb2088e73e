/**
 * npm run bench -- --contenders: every contender of the registry measured end
 * to end (in-process runBench, real child servers), a deliberately wrong one
 * reported and not measured, docs/contenders.md's example contender registered
 * and benched, an HTTP/1.1 and an h2 contender through h2load, the h2 engine's
 * plain-HTTP mode against rest-h2, and the flag's usage rules. No speed
 * assertions: the example runs beside grpc-js, so it is alone in its 2x2 cell.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTENDERS, getContender, registerContender } from '../../servers/contenders/index.ts';
import type { RunningServer } from '../../servers/server-options.ts';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { findH2load } from '../../bench/drivers/h2load.ts';
import { grpcEngine } from '../../bench/drivers/grpc-engine.ts';
import { UsageError, resolveBenchOptions } from '../../bench/options/options.ts';
import { createProgress } from '../../bench/run/progress.ts';
import { buildFactorial, renderFactorial } from '../../bench/report/factorial.ts';
import { type BenchOutcome } from '../../bench/run/runner.ts';
import type { RunRecord } from '../../bench/results/record.ts';
import { buildPayload } from '../../bench/scenario/matrix.ts';
import { contenderCall } from '../../bench/host/contenders.ts';
import type { LoadOptions } from '../../bench/types.ts';
import { contender as offByOne } from '../helpers/off-by-one-contender.ts';
import { contender as example } from '../fixtures/example-contender.ts';
import { assertSchemaValid, runBenchWithReports, tempDir } from '../helpers/bench.ts';

registerContender(offByOne, fileURLToPath(new URL('../helpers/off-by-one-contender.ts', import.meta.url)));
registerContender(example, fileURLToPath(new URL('../fixtures/example-contender.ts', import.meta.url)));

/** A tiny --contenders run in process: 0.3 s, no warm-up, 100 wire calls, no connection-cost pass. */
function benchContenders(contenders: string, extra: string[] = []): Promise<BenchOutcome> {
  const options = resolveBenchOptions(
    ['--contenders', contenders, '--ops', 'add', '--concurrency', '8', '--duration', '0.3', '--warmup', '0', '--wire-calls', '100', '--connection-calls', '0', '--out', tempDir(), '--progress', 'none', ...extra],
    driverCatalog(),
    { canPin: false },
  );
  return runBenchWithReports(options, { progress: createProgress({ mode: 'none', totalPlannedS: 1 }) });
}

function runOf(outcome: BenchOutcome, name: string): RunRecord {
  const runs = outcome.results.runs.filter((run) => run.contender?.name === name);
  assert.equal(runs.length, 1, `${name}: ${outcome.notes.join('\n')}`);
  return runs[0]!;
}

describe('bench --contenders all (plus a wrong one)', () => {
  let outcome: BenchOutcome;
  before(async () => {
    outcome = await benchContenders('all,off-by-one');
  });

  // The Go contenders without Debian's Go packages are reported as unavailable, not measured.
  const available = CONTENDERS.filter((c) => (c.unavailable?.() ?? null) === null);

  test('every registry contender is measured: calls, no errors, its own row', () => {
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    for (const contender of available) {
      const run = runOf(outcome, contender.name);
      assert.equal(run!.status, 'completed', `${contender.name}: ${run!.failure}`);
      assert.ok(run!.requests > 0, `${contender.name}: no calls`);
      assert.equal(run!.errors, 0, `${contender.name}: ${JSON.stringify(run!.statusCounts)}`);
      assert.equal(run!.contender!.wire, contender.wire);
      assert.equal(run!.contender!.encoding, contender.encoding);
      assert.equal(run!.protocol, contender.client.style === 'grpc' ? 'grpc' : 'rest');
      // h2 contenders on our HTTP/2 engine (gRPC or plain-HTTP mode), HTTP/1.1 ones on autocannon.
      assert.equal(run!.driver, contender.wire === 'h2' ? 'grpc-engine' : 'autocannon', contender.name);
      // h2: one connection, streams multiplexed; HTTP/1.1: one connection per call in flight.
      assert.equal(run!.connections, contender.wire === 'h2' ? 1 : 8, contender.name);
      assert.ok((run!.wire.requestBytesPerCall ?? 0) > 0, `${contender.name}: bytes not counted`);
      // The body as sent: protobuf contenders send the smaller protobuf message.
      const payload = buildPayload('add', null, 'double');
      assert.equal(run!.body.requestBytes, contender.encoding === 'json' ? payload.json.length : contender.client.style === 'grpc' ? payload.protobuf.length : payload.protobuf.length);
    }
  });

  test('the wrong contender is reported with its failures and not measured', () => {
    assert.equal(outcome.results.runs.filter((run) => run.contender?.name === 'off-by-one').length, 0);
    const report = outcome.results.contenders!.find((c) => c.name === 'off-by-one')!;
    assert.equal(report.measured, false);
    assert.equal(report.conformance.passed, false);
    assert.ok(report.conformance.failures.includes('off-by-one: add 20,10: expected value 30, got value 31'), report.conformance.failures.join('\n'));
    assert.ok(outcome.notes.some((note) => note.startsWith('contender off-by-one not measured: failed conformance')), outcome.notes.join('\n'));
    assert.equal(outcome.results.contenders!.filter((c) => c.measured).length, available.length);
  });

  test('results.json follows the schema; the 2x2 table and sentences are printed and in report.md', () => {
    const dir = outcome.dir!;
    assertSchemaValid(JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')));
    const text = renderFactorial(outcome.results);
    assert.match(text, /add\/c8: 2x2/);
    assert.match(text, /^HTTP\/1\.1 +best: \S+ .*calls\/s, p99 .* ms, \d+ B\/call +best: /m);
    assert.match(text, /^HTTP\/2 +best: /m);
    assert.match(text, /default: express /);
    assert.match(text, /transport: rest-h2 \/ node-http = \d+\.\d+×/);
    assert.match(text, /encoding: rest-protobuf-h1 \/ node-http = \d+\.\d+×/);
    assert.match(text, /implementation: node-http \/ express = \d+\.\d+×/);
    assert.match(text, /default pair: grpc-js \/ express = \d+\.\d+× = /);
    assert.match(text, /off-by-one .*NOT MEASURED — failed conformance/);
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /## Contenders: transport × encoding × implementation/);
    assert.match(md, /\| \*\*HTTP\/2\*\* \| best: /);
    assert.doesNotMatch(md, /## Comparison/);
    const csv = readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\r\n');
    // The contender columns in this order; later additions (--network) come after them.
    assert.match(csv[0]!, /,contender,contender_wire,contender_encoding,contender_implementation(,|$)/);
    assert.ok(csv.some((line) => /,rest-h2,h2,json,node:http2(,|$)/.test(line)), csv.join('\n'));
  });
});

describe("docs/contenders.md's example contender, registered at run time", () => {
  let outcome: BenchOutcome;
  before(async () => {
    // grpc-js, not express, beside it: the example is then its cell's only contender, so the cell check does not race two HTTP/1.1 servers' speeds.
    outcome = await benchContenders(`${example.name},grpc-js`);
  });

  test('passes conformance and is measured: calls, no errors, bytes counted', () => {
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const report = outcome.results.contenders!.find((c) => c.name === example.name)!;
    assert.deepEqual(report.conformance.failures, []);
    assert.equal(report.measured, true);
    const run = runOf(outcome, example.name);
    assert.equal(run.status, 'completed', run.failure ?? '');
    assert.ok(run.rps > 0, 'no calls/s');
    assert.equal(run.errors, 0, JSON.stringify(run.statusCounts));
    assert.equal(run.driver, 'autocannon');
    assert.ok((run.wire.requestBytesPerCall ?? 0) > 0 && (run.wire.responseBytesPerCall ?? 0) > 0, 'bytes not counted');
  });

  test('is a row of the ranked table and fills the HTTP/1.1 JSON cell of the 2x2', () => {
    const text = renderFactorial(outcome.results);
    // The ranked table names each contender's language since the Go contenders (Node here).
    assert.match(text, /^my-node-http +Node +HTTP\/1\.1 +JSON +node:http \(defaults\) +autocannon +\S+ +\d+%/m, text);
    const [scenario] = buildFactorial(outcome.results);
    const cell = scenario!.cells.find((c) => c.wire === 'http1' && c.encoding === 'json')!;
    assert.equal(cell.best?.contender.name, example.name);
    assert.match(text, /^HTTP\/1\.1 +best: my-node-http \S+ calls\/s, p99 .* ms, \d+ B\/call/m, text);
    const grpcCell = scenario!.cells.find((c) => c.wire === 'h2' && c.encoding === 'protobuf')!;
    assert.equal(grpcCell.best?.contender.name, 'grpc-js');
  });
});

describe('bench --contenders --tls', () => {
  test('HTTP/1.1 and h2 contenders, Node and Go, pass conformance over TLS and are measured as TLS rows', async () => {
    // One of each kind: HTTP/1.1 (autocannon), REST over h2 and gRPC (grpc-engine over TLS), and grpc-go when Go is here.
    const names = ['express', 'rest-h2', 'grpc-js', ...((getContender('grpc-go').unavailable?.() ?? null) === null ? ['grpc-go'] : [])];
    const outcome = await benchContenders(names.join(','), ['--tls']);
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    for (const name of names) {
      const run = runOf(outcome, name);
      assert.equal(run.status, 'completed', `${name}: ${run.failure}`);
      assert.equal(run.place?.tls, true, name);
      assert.ok(run.requests > 0, `${name}: no calls`);
      assert.equal(run.errors, 0, `${name}: ${JSON.stringify(run.statusCounts)}`);
      assert.equal(outcome.results.contenders!.find((c) => c.name === name)!.conformance.passed, true, name);
    }
  });
});

const h2loadMissing = findH2load() === null ? 'h2load not installed (apt-get install nghttp2-client)' : false;

describe('bench --contenders --driver h2load (neutral mode)', { skip: h2loadMissing }, () => {
  test('an HTTP/1.1 and an h2 contender are both loaded by h2load and measured', async () => {
    const outcome = await benchContenders('node-http,rest-h2', ['--driver', 'h2load']);
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    for (const name of ['node-http', 'rest-h2']) {
      const run = runOf(outcome, name);
      assert.equal(run.status, 'completed', `${name}: ${run.failure}`);
      assert.equal(run.driver, 'h2load', name);
      assert.ok(run.rps > 0, `${name}: no calls/s`);
      assert.equal(run.errors, 0, `${name}: ${JSON.stringify(run.statusCounts)}`);
      assert.equal(run.connections, run.contender!.wire === 'h2' ? 1 : 8, name);
      assert.ok((run.wire.requestBytesPerCall ?? 0) > 0, `${name}: bytes not counted`);
    }
  });
});

describe('our HTTP/2 engine in plain-HTTP mode (JSON over h2c)', () => {
  let server: RunningServer;
  const contender = getContender('rest-h2');
  before(async () => {
    server = await contender.start({ host: '127.0.0.1', port: 0 });
  });
  after(() => server.close());

  const run = (overrides: Partial<LoadOptions>) =>
    grpcEngine.run({
      target: { protocol: 'rest', url: server.address, call: contenderCall(contender) },
      payload: buildPayload('add', null, 'double'),
      concurrency: 8,
      connections: 1,
      durationS: 0,
      requests: 300,
      timeoutMs: 5_000,
      ...overrides,
    });

  test('counts exact calls, success by :status 200', async () => {
    const result = await run({});
    assert.equal(result.calls, 300);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { '200': 300 });
    assert.equal(result.failure, undefined);
  });

  test('a 400 (body not JSON) is an error, keyed by its :status', async () => {
    const payload = { ...buildPayload('add', null, 'double'), json: Buffer.from('{"a":') };
    const result = await run({ payload, requests: 50 });
    assert.equal(result.calls, 50);
    assert.equal(result.errors, 50);
    assert.deepEqual(result.statusCounts, { '400': 50 });
  });

  test('the response body is handed over without gRPC framing', async () => {
    const bodies: string[] = [];
    await grpcEngine.run({
      target: { protocol: 'rest', url: server.address, call: contenderCall(contender) },
      payload: { ...buildPayload('add', null, 'double'), input: { a: 20, b: 10 }, json: Buffer.from('{"a":20,"b":10}') },
      concurrency: 1,
      connections: 1,
      durationS: 0,
      requests: 2,
      timeoutMs: 5_000,
      onResponseMessage: (message: Buffer) => bodies.push(message.toString()),
    } as LoadOptions);
    assert.deepEqual(bodies, ['{"value":30}', '{"value":30}']);
  });
});

describe('--contenders usage', () => {
  const resolve = (args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: false });
  test('all expands to the registry; default is no contenders', () => {
    assert.deepEqual(resolve(['--contenders', 'all']).contenders, CONTENDERS.map((c) => c.name));
    assert.equal(resolve([]).contenders, null);
    assert.deepEqual(resolve(['--contenders', 'fastify,grpc-js']).contenders, ['fastify', 'grpc-js']);
  });
  test('unknown names and clashing flags are usage errors', () => {
    assert.throws(() => resolve(['--contenders', 'nope']), (e: unknown) => e instanceof UsageError && /unknown contender "nope"/.test(e.message));
    assert.throws(() => resolve(['--contenders', 'all', '--protocols', 'grpc']), /drop --protocols/);
    assert.throws(() => resolve(['--contenders', 'all', '--rest-target', 'http://127.0.0.1:3000']), /drop --rest-target/);
    assert.throws(() => resolve(['--contenders', 'all', '--compression', 'gzip']), /drop --compression gzip/);
    // --tls composes with --contenders (every contender serves TLS): not refused.
    assert.equal(resolve(['--contenders', 'grpc-js,express', '--tls']).tls, true);
  });
});
