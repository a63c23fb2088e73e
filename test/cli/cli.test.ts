/**
 * `npm run bench` as a user runs it (node --import tsx bench/cli/bench.ts): a quick
 * profile end to end, bad input refused before any load, Ctrl-C and a killed
 * runner leaving no server process behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import { UsageError, resolveBenchOptions, USAGE } from '../../bench/options/options.ts';
import { canPin } from '../../bench/host/pinning.ts';
import { createProgress } from '../../bench/run/progress.ts';
import { BenchSetupError, runBench } from '../../bench/run/runner.ts';
import { assertSchemaValid, childPids, isAlive, runBenchCli, spawnBench, tempDir, waitFor } from '../helpers/bench.ts';

describe('bench CLI, quick profile end to end', () => {
  test('writes schema-valid results, report and csv for both protocols, and links latest', async () => {
    const out = tempDir();
    // The quick profile's scenarios and drivers, with runs cut to the minimum: nothing below reads a figure that
    // needs 1.5 s runs, a warm-up or the connection-cost pass. The quick profile at its real lengths (and its wall
    // time) is run by test/ci/workflow.test.ts ("bench:ci on a REAL quick run").
    const run = await runBenchCli(['--profile', 'quick', '--duration', '0.3', '--warmup', '0', '--wire-calls', '100', '--connection-calls', '0', '--out', out]);
    assert.equal(run.code, 0, run.stderr);

    const latest = path.join(out, 'latest');
    assert.ok(existsSync(latest), 'no latest link');
    const dir = path.join(out, readlinkSync(latest));
    const results = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as unknown;
    assertSchemaValid(results);
    const calls = results.runs.filter((r) => r.unit !== 'message');
    assert.deepEqual(
      calls.map((r) => `${r.scenario} ${r.protocol}`),
      ['add/c16 grpc', 'add/c16 rest', 'sum-1000/c16 grpc', 'sum-1000/c16 rest'],
    );
    for (const r of calls) {
      const what = `${r.scenario} ${r.protocol}`;
      assert.equal(r.status, 'completed', what);
      assert.ok(r.requests > 0 && r.rps > 0, `${what}: no throughput`);
      assert.ok(r.wire.requestBytesPerCall! > 0 && r.wire.responseBytesPerCall! > 0, `${what}: no byte counts`);
      assert.ok(r.wire.requestBytesPerCall! > r.body.requestBytes, `${what}: wire bytes must include headers`);
      assert.ok(r.body.requestBytes > 0 && r.body.responseBytes > 0, `${what}: body sizes`);
      assert.ok(r.server.cpuMsPer1kCalls! > 0 && r.server.peakRssMiB! > 0, `${what}: server figures`);
      assert.equal(r.driver, r.protocol === 'grpc' ? 'grpc-engine' : 'autocannon');
      assert.equal(r.connections, r.protocol === 'grpc' ? 1 : 16);
    }
    assert.equal(results.runs[0]!.body.requestBytes, 18, 'add as protobuf: two tagged doubles');
    assert.equal(results.environment.options.profile, 'quick');

    // The table: one row per scenario, both protocols side by side.
    assert.match(run.stdout, /^add\/c16\s+16\s+1\/16\s/m);
    assert.match(run.stdout, /^sum-1000\/c16\s+16\s+1\/16\s/m);
    assert.match(run.stdout, /gRPC\s+REST\s+g\/r/);
    // Every row of results.json, calls and stream rows: a header and 4 + 3 rows.
    const csv = readFileSync(path.join(dir, 'results.csv'), 'utf8').trim().split('\r\n');
    assert.equal(csv.length, 8);
    assert.match(readFileSync(path.join(dir, 'report.md'), 'utf8'), /\| `add\/c16` \| 1\/16 \|/);

    // A default run (no --ops) answers for streams too: running-sum on gRPC and each REST transport, in the table,
    // the "in short" lines and results.json's rows that count messages.
    const streams = results.runs.filter((r) => r.unit === 'message');
    assert.deepEqual(streams.map((r) => `${r.operation}/${r.transport}`), ['running-sum/grpc', 'running-sum/ndjson', 'running-sum/websocket']);
    for (const r of streams) assert.ok(r.errors === 0 && r.requests === 8 * 1_000 && r.rps > 0, `${r.transport}: ${r.notes?.join('; ')}`);
    assert.match(run.stdout, /^streams \(8 concurrent, 1000 values each/m);
    assert.match(run.stdout, /^running-sum\s+websocket\s+\d+/m);
    assert.match(run.stdout, /^  running-sum \(bidi stream\), 8 streams: .*NDJSON.*WebSocket.* messages\/s$/m);
    assert.match(run.stdout, /results in .*: results\.json, report\.md, /);
    const report = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(report, /^## Streams$/m);
    assert.match(report, /^\| running-sum \| WebSocket \| 8 \| 1000 \| \d+ \|/m);
    assert.match(report, /^- running-sum \(bidi stream\), 8 streams: /m);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2>Streams<\/h2>/);
    assert.match(html, /<tr><td class="l">running-sum<\/td><td class="l">WebSocket<\/td><td>8<\/td><td>\d+<\/td>/);
  });

  test('the stream scenario runs only in a plain default run, and --no-streams leaves it out', () => {
    const resolve = (...args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() });
    assert.equal(resolve().streamScenario, true);
    assert.equal(resolve('--profile', 'quick', '--concurrency', '1,64').streamScenario, true);
    for (const args of [['--no-streams'], ['--ops', 'add'], ['--protocols', 'grpc'], ['--tls'], ['--rate', '100'], ['--slo', 'p99<10ms'], ['--sweep', 'payload'], ['--contenders', 'all'], ['--grpc-target', '127.0.0.1:1']]) {
      assert.equal(resolve(...args).streamScenario, false, args.join(' '));
    }
  });
});

describe('bench CLI refuses bad input before any load', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown profile', ['--profile', 'huge'], /--profile: unknown value "huge"; allowed: quick, standard, full/],
    ['unknown operation', ['--ops', 'add,pow'], /--ops: unknown operation "pow"; allowed: add, subtract, multiply, divide, sum/],
    ['unknown protocol', ['--protocols', 'grpc,soap'], /--protocols: unknown value "soap"; allowed: grpc, rest/],
    ['malformed list', ['--concurrency', '1,,16'], /--concurrency must be a comma-separated list/],
    ['not a duration', ['--duration', 'ten'], /--duration must be a duration: 3 \(seconds\), 3s, 500ms, 1m or 1m30s, got "ten"/],
    ['unknown flag', ['--fast'], /Unknown option '--fast'/],
    ['bad target', ['--grpc-target', 'localhost'], /--grpc-target must be host:port/],
    ['unknown driver', ['--driver', 'wrk'], /--driver: unknown driver "wrk"/],
  ];
  // Two of them as a user runs it (a real spawn: exit 2, one line, nothing on stdout, nothing written); every
  // case through resolveBenchOptions with the CLI's own arguments, the code path that produces the message
  // bench/cli/bench.ts prints as `error: <message>` with exit 2 on a UsageError.
  const spawned = new Set(['unknown profile', 'unknown flag']);
  for (const [name, args, message] of cases) {
    test(`${name}: exit 2, one line${spawned.has(name) ? ' (spawned)' : ''}`, async () => {
      const out = tempDir();
      let thrown: unknown;
      try {
        resolveBenchOptions([...args, '--out', out], driverCatalog(), { canPin: canPin(), openLoopDrivers: openLoopDriverNames() });
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof UsageError, `not a usage error: ${String(thrown)}`);
      assert.notEqual(thrown.message, USAGE);
      assert.ok(!thrown.message.includes('\n'), `more than one line: ${thrown.message}`);
      assert.match(`error: ${thrown.message}`, message);
      if (!spawned.has(name)) return;
      const run = await runBenchCli([...args, '--out', out]);
      assert.equal(run.code, 2, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.equal(lines[0], `error: ${thrown.message}`);
      assert.match(lines[0]!, message);
      assert.equal(run.stdout, '');
      assert.ok(!existsSync(path.join(out, 'latest')), 'nothing may be written');
    });
  }

  test('unreachable target: exit 1, one line naming it', async () => {
    // In process, through the runner bench/cli/bench.ts calls: a BenchSetupError is printed as `error: <message>` with
    // its exit code (the spawned port-in-use case below proves that path end to end).
    const out = tempDir();
    const options = resolveBenchOptions(['--protocols', 'rest', '--rest-target', 'http://127.0.0.1:9', '--out', out, '--progress', 'none'], driverCatalog(), {
      canPin: canPin(),
      openLoopDrivers: openLoopDriverNames(),
    });
    await assert.rejects(
      runBench(options, { progress: createProgress({ mode: 'none', totalPlannedS: 1 }) }),
      (e: unknown) => e instanceof BenchSetupError && e.exitCode === 1 && e.message === 'REST target http://127.0.0.1:9 is unreachable: no TCP connection (connection refused)',
    );
    assert.deepEqual(readdirSync(out), [], 'nothing may be written, no empty run folder left');
  });

  test('port in use: exit 1, one line, no load', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const run = await runBenchCli(['--protocols', 'rest', '--rest-port', String(port), '--out', tempDir()]);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, new RegExp(`error: .*port ${port} .*already in use`));
    } finally {
      blocker.close();
    }
  });
});

describe('bench CLI stops cleanly', () => {
  /** Starts a bench and resolves once it is measuring, with its server pids. */
  async function startMeasuring(out: string) {
    // No connection-cost pass and a small byte-counting pass: measuring starts sooner; the signal lands in a 3 s run.
    const bench = spawnBench(['--ops', 'add', '--concurrency', '4,8', '--duration', '3', '--warmup', '0', '--wire-calls', '50', '--connection-calls', '0', '--out', out]);
    const measuring = await waitFor(() => /measuring/.test(bench.stderr()), 20_000);
    assert.ok(measuring, `never started measuring: ${bench.stderr()}`);
    const servers = childPids(bench.child.pid!, 'servers/serve.ts');
    assert.equal(servers.length, 2, `expected 2 server processes, found ${servers.join(', ')}`);
    return { bench, servers };
  }

  test('Ctrl-C (SIGINT): exit 130, results kept, servers stopped', async () => {
    const out = tempDir();
    const { bench, servers } = await startMeasuring(out);
    bench.child.kill('SIGINT');
    const run = await bench.done;
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /interrupted \(SIGINT\)/);
    const results = JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as unknown;
    assertSchemaValid(results);
    assert.equal(results.runs.at(-1)!.status, 'failed');
    assert.ok(await waitFor(() => servers.every((pid) => !isAlive(pid)), 3_000), 'a server outlived the runner');
  });

  test('runner killed with SIGKILL: its servers exit on their own', async () => {
    const out = tempDir();
    const { bench, servers } = await startMeasuring(out);
    bench.child.kill('SIGKILL');
    await bench.done;
    assert.ok(await waitFor(() => servers.every((pid) => !isAlive(pid)), 5_000), 'orphaned server processes');
  });
});
