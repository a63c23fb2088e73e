/**
 * npm run bench -- --contenders: every contender of the registry measured end
 * to end (in-process runBench, real child servers), a deliberately wrong one
 * reported and not measured, the h2 engine's plain-HTTP mode against rest-h2,
 * and the flag's usage rules. No speed assertions.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTENDERS, getContender, registerContender } from '../servers/contenders/index.ts';
import type { RunningServer } from '../servers/server-options.ts';
import { driverCatalog } from '../bench/drivers/index.ts';
import { grpcEngine } from '../bench/drivers/grpc-engine.ts';
import { BenchUsageError, resolveBenchOptions } from '../bench/options.ts';
import { createProgress } from '../bench/progress.ts';
import { renderFactorial } from '../bench/report/factorial.ts';
import { runBench, type BenchOutcome } from '../bench/runner.ts';
import { buildPayload } from '../bench/scenarios.ts';
import { contenderCall } from '../bench/contenders.ts';
import type { LoadOptions } from '../bench/types.ts';
import { contender as offByOne } from './helpers/off-by-one-contender.ts';
import { assertSchemaValid, tempDir } from './helpers/bench.ts';

registerContender(offByOne, fileURLToPath(new URL('./helpers/off-by-one-contender.ts', import.meta.url)));

describe('bench --contenders all (plus a wrong one)', () => {
  let outcome: BenchOutcome;
  const out = tempDir();
  before(async () => {
    const options = resolveBenchOptions(
      ['--contenders', 'all,off-by-one', '--ops', 'add', '--concurrency', '8', '--duration', '0.3', '--warmup', '0', '--wire-calls', '100', '--connection-calls', '0', '--out', out, '--progress', 'none'],
      driverCatalog(),
      { canPin: false },
    );
    outcome = await runBench(options, { progress: createProgress({ mode: 'none', totalPlannedS: 1 }) });
  });

  test('every registry contender is measured: calls, no errors, its own row', () => {
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    for (const contender of CONTENDERS) {
      const runs = outcome.results.runs.filter((run) => run.contender?.name === contender.name);
      assert.equal(runs.length, 1, `${contender.name}: ${outcome.notes.join('\n')}`);
      const [run] = runs;
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
    assert.equal(outcome.results.contenders!.filter((c) => c.measured).length, CONTENDERS.length);
  });

  test('results.json follows the schema; the 2x2 table and sentences are printed and in report.md', () => {
    const dir = outcome.dir!;
    assertSchemaValid(JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')));
    const text = renderFactorial(outcome.results);
    assert.match(text, /add\/c8: 2x2/);
    assert.match(text, /^HTTP\/1\.1 +best: \S+ .*calls\/s, p99 .* ms, \d+ B\/call +best: /m);
    assert.match(text, /^HTTP\/2 +best: /m);
    assert.match(text, /design card: express /);
    assert.match(text, /transport: rest-h2 \/ node-http = \d+\.\d+×/);
    assert.match(text, /encoding: rest-protobuf-h1 \/ node-http = \d+\.\d+×/);
    assert.match(text, /implementation: node-http \/ express = \d+\.\d+×/);
    assert.match(text, /design card: grpc-js \/ express = \d+\.\d+× = /);
    assert.match(text, /off-by-one .*NOT MEASURED — failed conformance/);
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /## Contenders: transport × encoding × implementation/);
    assert.match(md, /\| \*\*HTTP\/2\*\* \| best: /);
    assert.doesNotMatch(md, /## Comparison/);
    const csv = readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\r\n');
    assert.match(csv[0]!, /,contender,contender_wire,contender_encoding,contender_implementation$/);
    assert.ok(csv.some((line) => /,rest-h2,h2,json,node:http2$/.test(line)), csv.join('\n'));
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
    assert.throws(() => resolve(['--contenders', 'nope']), (e: unknown) => e instanceof BenchUsageError && /unknown contender "nope"/.test(e.message));
    assert.throws(() => resolve(['--contenders', 'all', '--protocols', 'grpc']), /drop --protocols/);
    assert.throws(() => resolve(['--contenders', 'all', '--rest-target', 'http://127.0.0.1:3000']), /drop --rest-target/);
    assert.throws(() => resolve(['--contenders', 'all', '--compression', 'gzip']), /drop --compression gzip/);
    assert.throws(() => resolve(['--contenders', 'all', '--tls']), /drop --tls/);
  });
});
