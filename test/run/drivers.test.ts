/**
 * The drivers end to end in `npm run bench` (bench/cli/bench.ts as a user runs it):
 * --driver h2load (neutral mode), --driver clients (client libraries), --rate
 * (open loop for both protocols, REST on http1-engine), the refusals that exit 2
 * before any load (--rate with h2load or autocannon, h2load not installed), and
 * the client-bound classification. Runs are tiny: the figures are not asserted,
 * only that they exist, carry the right drivers and fit results/schema.json.
 */
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, symlinkSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import { findH2load } from '../../bench/drivers/h2load.ts';
import { UsageError, resolveBenchOptions } from '../../bench/options/options.ts';
import { canPin } from '../../bench/host/pinning.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { renderCsv } from '../../bench/report/csv.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { renderTable } from '../../bench/report/table.ts';
import { CLIENT_BOUND_PERCENT, isClientBound, SERVER_BUSY_PERCENT } from '../../bench/results/client-bound.ts';
import { assertSchemaValid, runBenchCli, tempDir } from '../helpers/bench.ts';

/** One scenario, short runs (no warm-up: the figures are not asserted), a small byte-counting pass, no connection-cost pass. */
const TINY = ['--ops', 'add', '--concurrency', '4', '--duration', '0.3', '--warmup', '0', '--wire-calls', '100', '--connection-calls', '0', '--progress', 'plain'];

interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
  results: ResultsFile;
  dir: string;
}

async function bench(args: string[]): Promise<BenchRun> {
  const out = tempDir('callbench-drivers-');
  const run = await runBenchCli([...TINY, ...args, '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  const dir = path.join(out, readlinkSync(path.join(out, 'latest')));
  const results = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as unknown;
  assertSchemaValid(results);
  return { ...run, results, dir };
}

function byProtocol(results: ResultsFile): Record<'grpc' | 'rest', RunRecord> {
  const grpc = results.runs.find((r) => r.protocol === 'grpc');
  const rest = results.runs.find((r) => r.protocol === 'rest');
  assert.ok(grpc && rest, 'one run per protocol');
  return { grpc, rest };
}

function assertMeasured(run: RunRecord): void {
  const what = `${run.scenario} ${run.protocol} ${run.driver}`;
  assert.equal(run.status, 'completed', `${what}: ${run.failure}`);
  assert.ok(run.requests > 0 && run.rps > 0, `${what}: no calls`);
  assert.equal(run.errors, 0, `${what}: errors ${JSON.stringify(run.statusCounts)}`);
  assert.ok(run.latencyMs !== null && run.latencyMs.p50 > 0, `${what}: no latency`);
}

/** `--driver clients`, run once: its checks below and the client-bound re-classification reuse the same run. */
let clientsRun: Promise<BenchRun> | undefined;
const benchClients = (): Promise<BenchRun> => (clientsRun ??= bench(['--driver', 'clients']));

const h2loadMissing = findH2load() === null ? 'h2load not installed (apt-get install nghttp2-client)' : false;

describe('npm run bench with each driver mode', { concurrency: false }, () => {
  test('--driver h2load: both protocols by h2load, its CPU, proxy bytes plus its own, the grpc-status note', { skip: h2loadMissing }, async () => {
    const run = await bench(['--driver', 'h2load']);
    const { grpc, rest } = byProtocol(run.results);
    for (const r of [grpc, rest]) {
      assertMeasured(r);
      assert.equal(r.driver, 'h2load');
      assert.equal(r.rate, null);
      assert.equal(r.client.cpuOf, 'driver-process', 'client CPU is the h2load process');
      // The same proxy pass as every driver, and h2load's own received-side count next to it.
      assert.equal(r.wire.countedBy, 'counting-proxy');
      assert.ok(r.wire.requestBytesPerCall! > 0 && r.wire.responseBytesPerCall! > 0);
      assert.equal(r.wire.driverReport?.countedBy, 'h2load');
      assert.equal(r.wire.driverReport?.requestBytesPerCall, null, 'h2load counts received bytes only');
      assert.ok(r.wire.driverReport!.responseBytesPerCall! > 0);
    }
    assert.ok(grpc.wire.driverReport!.headerSpaceSavingsPercent! > 0, 'HPACK saving on gRPC');
    assert.equal(rest.wire.driverReport!.headerSpaceSavingsPercent, 0, 'no HPACK on HTTP/1.1');
    assert.equal(grpc.statusChecked, 'http-status-only');
    assert.equal(rest.statusChecked, undefined);
    assert.ok(grpc.notes?.some((note) => /h2load does not read grpc-status/.test(note)), String(grpc.notes));
    // Pinned runs put h2load on the generator's CPU (taskset prefix); the pinning is recorded either way.
    assert.ok('pinning' in run.results.environment);

    assert.match(run.stdout, /^drivers: h2load \(.*\) for gRPC and REST -- neutral mode/m);
    assert.match(run.stdout, /^load: closed loop/m);
    assert.match(run.stdout, /^note: h2load does not read grpc-status/m);
    const md = readFileSync(path.join(run.dir, 'report.md'), 'utf8');
    assert.match(md, /\| h2load\/h2load \|$/m, 'markdown comparison names the drivers');
    assert.match(md, /Note: h2load does not read grpc-status/);
    const csv = readFileSync(path.join(run.dir, 'results.csv'), 'utf8').trim().split('\r\n');
    const head = csv[0]!.split(',');
    assert.ok(head.includes('driver') && head.includes('status_checked') && head.includes('client_cpu_of'));
    for (const line of csv.slice(1)) assert.match(line, /^add\/c4,(grpc|rest),h2load,/);
  });

  test("--driver clients: grpc-js-client and undici-client, labelled as what an application's client pays", async () => {
    const run = await benchClients();
    const { grpc, rest } = byProtocol(run.results);
    assertMeasured(grpc);
    assertMeasured(rest);
    assert.equal(grpc.driver, 'grpc-js-client');
    assert.equal(rest.driver, 'undici-client');
    for (const r of [grpc, rest]) {
      assert.equal(r.client.cpuOf, 'runner');
      assert.equal(r.wire.countedBy, 'counting-proxy');
      assert.equal(r.wire.driverReport, undefined);
      assert.equal(r.statusChecked, undefined);
    }
    assert.match(run.stdout, /^drivers: gRPC grpc-js-client .*, REST undici-client .* -- client-library mode: what an application's client pays$/m);
    const md = readFileSync(path.join(run.dir, 'report.md'), 'utf8');
    assert.match(md, /client-library mode: what an application's client pays/);
    assert.match(md, /\| grpc-js-client\/undici-client \|$/m);
  });

  test('--rate 200: open loop for both protocols, REST on http1-engine (and the report says why)', async () => {
    const run = await bench(['--rate', '200']);
    const { grpc, rest } = byProtocol(run.results);
    assertMeasured(grpc);
    assertMeasured(rest);
    assert.equal(grpc.driver, 'grpc-engine');
    assert.equal(rest.driver, 'http1-engine');
    assert.equal(grpc.rate, 200);
    assert.equal(rest.rate, 200);
    assert.equal(run.results.environment.options.rate, 200);
    assert.ok(rest.notes?.some((note) => /http1-engine, not autocannon/.test(note)), String(rest.notes));
    assert.match(run.stdout, /^load: open loop 200\/s per protocol/m);
    assert.match(run.stdout, /^note: open loop \(--rate\): REST driven by http1-engine, not autocannon/m);
    assert.match(readFileSync(path.join(run.dir, 'report.md'), 'utf8'), /Load: open loop 200\/s/);
    const csv = readFileSync(path.join(run.dir, 'results.csv'), 'utf8').trim().split('\r\n');
    const rateColumn = csv[0]!.split(',').indexOf('rate');
    for (const line of csv.slice(1)) assert.equal(line.split(',')[rateColumn], '200');
  });

  test('--rate with client libraries keeps them (they have an open loop)', async () => {
    const run = await bench(['--rate', '100', '--driver', 'clients', '--protocols', 'rest', '--wire-calls', '0']);
    const rest = run.results.runs[0]!;
    assertMeasured(rest);
    assert.equal(rest.driver, 'undici-client');
    assert.equal(rest.rate, 100);
    assert.equal(rest.notes, undefined, 'REST driver chosen by the user: no note about the default');
  });
});

describe('refusals: one line, exit 2, nothing started', () => {
  test('--rate with --driver h2load', async () => {
    const out = tempDir();
    const run = await runBenchCli(['--profile', 'quick', '--rate', '200', '--driver', 'h2load', '--out', out]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim().split('\n').filter((line) => !line.startsWith('npm warn')).length, 1, run.stderr);
    assert.match(run.stderr, /^error: --rate: driver h2load cannot run an open loop .*; use grpc-engine, http1-engine/m);
    assert.equal(run.stdout, '');
    assert.ok(!existsSync(path.join(out, 'latest')), 'no run folder');
  });

  test('--rate with --driver rest=autocannon', () => {
    // The same resolver call bench/cli/bench.ts makes (a UsageError there is `error: <message>`, exit 2); the
    // spawned refusal above proves that path end to end.
    assert.throws(
      () => resolveBenchOptions(['--profile', 'quick', '--rate', '50', '--driver', 'rest=autocannon', '--out', tempDir()], driverCatalog(), {
        canPin: canPin(),
        openLoopDrivers: openLoopDriverNames(),
      }),
      (e: unknown) => e instanceof UsageError && !e.message.includes('\n') && /--rate: driver autocannon cannot run an open loop/.test(e.message),
    );
  });

  test('--driver h2load without h2load on PATH: how to install it, exit 2', async () => {
    // A PATH holding only node: no h2load (and no taskset, so no pinning either).
    const bin = tempDir('callbench-path-');
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const out = tempDir();
    const run = await runBenchCli(['--profile', 'quick', '--driver', 'h2load', '--out', out], { PATH: bin });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^error: --driver h2load: h2load is not installed .*install it with: apt-get install nghttp2-client$/m);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.ok(!existsSync(path.join(out, 'latest')), 'no run folder');
  });

  test('options: --rate is checked against the open-loop drivers; clients alias; bad rates', () => {
    const resolve = (...args: string[]) =>
      resolveBenchOptions(args, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() });
    assert.deepEqual(resolve('--driver', 'clients').drivers, { grpc: 'grpc-js-client', rest: 'undici-client' });
    assert.deepEqual(resolve('--driver', 'h2load').drivers, { grpc: 'h2load', rest: 'h2load' });
    assert.deepEqual(resolve('--driver', 'http1-engine').drivers, { grpc: 'grpc-engine', rest: 'http1-engine' });
    assert.deepEqual(resolve('--driver', 'rest=undici-client,grpc=grpc-js-client').drivers, { grpc: 'grpc-js-client', rest: 'undici-client' });
    const paced = resolve('--rate', '250');
    assert.equal(paced.rate, 250);
    assert.deepEqual(paced.drivers, { grpc: 'grpc-engine', rest: 'http1-engine' });
    assert.equal(paced.driverNotes.length, 1);
    assert.equal(resolve().rate, null);
    assert.deepEqual(resolve().drivers, { grpc: 'grpc-engine', rest: 'autocannon' });
    // gRPC only: h2load's lack of an open loop does not matter for REST, but it does for gRPC.
    assert.throws(() => resolve('--rate', '10', '--driver', 'grpc=h2load', '--protocols', 'grpc'), UsageError);
    assert.equal(resolve('--rate', '10', '--driver', 'rest=h2load', '--protocols', 'grpc').rate, 10);
    for (const bad of ['0', '-5', 'fast', '']) {
      assert.throws(() => resolve(`--rate=${bad}`), /--rate must be a number of calls per second above 0/);
    }
  });
});

describe('client-bound rows', () => {
  test('classification at the thresholds', () => {
    assert.equal(isClientBound(CLIENT_BOUND_PERCENT, SERVER_BUSY_PERCENT - 1), true);
    assert.equal(isClientBound(CLIENT_BOUND_PERCENT - 0.1, 10), false);
    assert.equal(isClientBound(99, SERVER_BUSY_PERCENT), false, 'a busy server: the server is (also) the limit');
    assert.equal(isClientBound(95, null), true, 'external server: only the client is known');
  });

  test('a real run re-classified as if its generator had used a full core is flagged in table, markdown and csv', async () => {
    // A real measured grpc-js-client row (cpuPercent and server CPU as measured), then the same row
    // with its generator at 100% of a core: isClientBound decides, the printers flag it.
    const run = await benchClients();
    const measured = run.results.runs.find((r) => r.protocol === 'grpc')!;
    assert.equal(measured.driver, 'grpc-js-client');
    assertMeasured(measured);
    assert.ok(measured.client.cpuPercent > 0 && measured.client.cpuUsPerCall! > 0, 'generator CPU measured');
    assert.equal(typeof measured.client.bound, 'boolean');
    const forced: RunRecord = {
      ...measured,
      server: { ...measured.server, cpuMsPer1kCalls: ((SERVER_BUSY_PERCENT / 2) * 10 * 1000) / measured.rps },
      client: { ...measured.client, cpuPercent: 100, bound: isClientBound(100, SERVER_BUSY_PERCENT / 2) },
    };
    assert.equal(forced.client.bound, true);
    const results: ResultsFile = { ...run.results, runs: [forced] };
    assertSchemaValid(results);
    assert.match(renderTable(results), /^add\/c4 .*gRPC client-bound/m);
    assert.match(renderMarkdown(results), /\*\*gRPC client-bound\*\*/);
    const csv = renderCsv(results).trim().split('\r\n');
    assert.equal(csv[1]!.split(',')[csv[0]!.split(',').indexOf('client_bound')], 'true');
  });
});
