/**
 * Faults during a bench, over real sockets and processes. For each: the runner
 * notices within a few seconds, records the failure with its reason, keeps and
 * writes every result already measured, stops its servers and exits non-zero.
 *
 * - a server that stops answering but keeps its connections open (SIGSTOP):
 *   the stall watchdog fails the run ("server stopped answering: ...");
 * - connections reset mid-call by a proxy: the run fails with its reason
 *   ('network error: N of M calls lost their connection'), figures and
 *   statusCounts['connection-error'] kept, exit 1, never a crash or a hang;
 * - the runner killed with SIGKILL at seeded random points: whatever
 *   results.json exists parses and validates against results/schema.json;
 * - Ctrl-C during the connection-cost pass and after the first scenario: exit
 *   130, the finished scenario kept in a schema-valid results.json, no server
 *   process left;
 * - every file of a run folder written by rename: none half-written, no
 *   temporary file left.
 * (A server killed mid-run: test/run/runner.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { RunRecord } from '../../bench/results/record.ts';
import { writeHtmlReport } from '../../bench/report/html.ts';
import type { ProgressSink } from '../../bench/run/progress.ts';
import type { ServerProcess } from '../../bench/host/server-process.ts';
import { assertSchemaValid, benchOptions, childPids, fakeServersPerSuite, isAlive, quietProgress, runBenchWithReports, spawnBench, tempDir, waitFor } from '../helpers/bench.ts';

const options = benchOptions;

function readResults(dir: string) {
  const file = JSON.parse(readFileSync(path.join(dir, 'results.json'), 'utf8')) as unknown;
  assertSchemaValid(file);
  return file;
}

describe('a server that stops answering but keeps its connections open (SIGSTOP)', () => {
  for (const protocol of ['rest', 'grpc'] as const) {
    test(`${protocol}: the stall watchdog fails the run within the stall timeout; earlier runs kept; servers stopped`, async () => {
      const out = tempDir();
      let stoppedAt = 0;
      let pids: number[] = [];
      let servers: ReadonlyMap<string, ServerProcess> | null = null;
      // The server is stopped the moment add/c8's measured run starts, so the whole 2.5 s run (over the
      // 1.5 s stall timeout) is left for the watchdog, however busy the machine.
      const stopAtMeasuring: ProgressSink = {
        ...quietProgress,
        phase(label) {
          if (stoppedAt > 0 || servers === null || !label.includes('add/c8') || !label.endsWith('measuring')) return;
          stoppedAt = Date.now();
          process.kill(servers.get(protocol)!.pid, 'SIGSTOP');
        },
      };
      const outcome = await runBenchWithReports(
        options([
          '--protocols', protocol, '--ops', 'add', '--concurrency', '4,8', '--duration', '2.5', '--warmup', '0',
          '--wire-calls', '0', '--connection-calls', '0', '--stall-timeout', '1.5', '--out', out,
        ]),
        {
          progress: stopAtMeasuring,
          onRunRecorded: (_record: RunRecord, running: ReadonlyMap<string, ServerProcess>) => {
            // Taken once, from add/c4's record: the servers that must all be gone at the end.
            if (servers !== null) return;
            servers = running;
            pids = [...running.values()].map((s) => s.pid);
          },
        },
      );
      const noticedMs = Date.now() - stoppedAt;
      try {
        assert.ok(stoppedAt > 0, 'the server was never stopped');
        assert.equal(outcome.exitCode, 1);
        assert.match(outcome.failure ?? '', /^server stopped answering: no call completed for 1\.5 s$/);
        // 1.5 s of silence, then the abort and an orderly stop of a stopped server (SIGTERM + SIGCONT).
        assert.ok(noticedMs < 6_000, `took ${noticedMs} ms to notice and stop`);
        const runs = outcome.results.runs;
        assert.deepEqual(runs.map((r) => `${r.scenario} ${r.status}`), ['add/c4 completed', 'add/c8 failed']);
        assert.ok(runs[0]!.requests > 0);
        const file = readResults(outcome.dir!);
        assert.equal(file.runs.length, 2);
        assert.match(file.runs[1]!.failure!, /server stopped answering/);
        assert.match(readFileSync(path.join(outcome.dir!, 'report.md'), 'utf8'), /## Failures[\s\S]*server stopped answering/);
        assert.ok(await waitFor(() => pids.every((pid) => !isAlive(pid)), 4_000), 'a server process is still running');
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone, as it should be
          }
        }
      }
    });
  }

  test('a --timeout shorter than the stall timeout: every call timing out fails the run the same way', async () => {
    // A REST server that accepts connections and never answers (autocannon's deadline is at least 1 s).
    const silent = net.createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    // The bench's reachability check and its pre-flight call (add 20,10) need one answer each; then it goes silent.
    silent.removeAllListeners('connection');
    let answeredHealth = false;
    let answeredPreflight = false;
    silent.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        if (!answeredHealth && text.startsWith('GET /healthz')) {
          answeredHealth = true;
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
        } else if (!answeredPreflight && text.startsWith('POST /v1/add') && text.endsWith('{"a":20,"b":10}')) {
          answeredPreflight = true;
          socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\nconnection: close\r\n\r\n{"value":30}');
        }
      });
    });
    try {
      const started = Date.now();
      const outcome = await runBenchWithReports(
        options([
          '--protocols', 'rest', '--rest-target', `http://127.0.0.1:${port}`, '--ops', 'add', '--concurrency', '2',
          '--duration', '2.5', '--warmup', '0', '--wire-calls', '0', '--connection-calls', '0', '--timeout', '1000', '--stall-timeout', '0', '--out', tempDir(),
        ]),
        { progress: quietProgress },
      );
      assert.equal(outcome.exitCode, 1);
      assert.match(outcome.failure ?? '', /^server stopped answering: all \d+ calls timed out \(1000 ms each\)$/);
      assert.ok(Date.now() - started < 10_000);
      readResults(outcome.dir!);
    } finally {
      silent.close();
    }
  });
});

/**
 * A TCP proxy that resets every connection (RST) each time `resetEveryBytes`
 * more bytes have gone upstream: connections die mid-call, deterministically
 * by traffic rather than by time; a health check (a few hundred bytes) passes.
 */
async function startResettingProxy(upstreamPort: number, resetEveryBytes: number) {
  const sockets = new Set<net.Socket>();
  let sinceReset = 0;
  let resets = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = (): void => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      sinceReset += chunk.length;
      if (sinceReset >= resetEveryBytes) {
        sinceReset = 0;
        resets += 1;
        for (const socket of [...sockets]) socket.resetAndDestroy();
        sockets.clear();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    resets: () => resets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('connections reset mid-call', () => {
  const fakes = fakeServersPerSuite(5);

  // A network error mid-call is one of the faults: a run whose calls lost their connection measured
  // a broken network, so it fails with its reason (its figures kept) and the bench exits 1, as for a dead server.
  // One protocol per bench: the first failed run ends the bench, and each proxy must see its protocol's traffic.
  for (const protocol of ['grpc', 'rest'] as const) {
    test(`${protocol}: the run fails with the count of calls that lost their connection; exit 1; results kept; no hang`, async () => {
      const upstream = protocol === 'grpc' ? fakes.grpc : fakes.rest;
      const proxy = await startResettingProxy(upstream.port, protocol === 'grpc' ? 3_000 : 6_000);
      try {
        const started = Date.now();
        const target = protocol === 'grpc' ? ['--grpc-target', `127.0.0.1:${proxy.port}`] : ['--rest-target', `http://127.0.0.1:${proxy.port}`];
        const outcome = await runBenchWithReports(
          options([
            '--protocols', protocol, ...target, '--ops', 'add', '--concurrency', '4', '--duration', '1.5', '--warmup', '0',
            '--wire-calls', '0', '--connection-calls', '0', '--timeout', '2000', '--out', tempDir(),
          ]),
          { progress: quietProgress },
        );
        assert.ok(Date.now() - started < 20_000, 'the bench hung');
        assert.ok(proxy.resets() > 0, 'the proxy never reset a connection');
        assert.equal(outcome.exitCode, 1, `failure: ${outcome.failure}`);
        assert.match(outcome.failure ?? '', /^network error: \d+ of \d+ calls lost their connection$/);
        const [run, ...more] = outcome.results.runs;
        assert.equal(more.length, 0);
        assert.equal(run!.status, 'failed');
        assert.equal(run!.failure, outcome.failure);
        assert.ok(run!.requests > 0 && (run!.statusCounts['connection-error'] ?? 0) > 0, JSON.stringify(run!.statusCounts));
        assert.equal(run!.errors, Object.entries(run!.statusCounts).filter(([k]) => k !== '200' && k !== 'OK').reduce((sum, [, v]) => sum + v, 0));
        const file = readResults(outcome.dir!);
        assert.equal(file.runs[0]!.failure, outcome.failure);
        assert.match(readFileSync(path.join(outcome.dir!, 'report.md'), 'utf8'), /## Failures[\s\S]*network error/);
      } finally {
        await proxy.close();
      }
    });
  }
});

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((file) => statSync(path.join(dir, file)).isFile()).sort();
}
const TEMPORARY = /(^|\/)\.[^/]+\.\d+\.tmp$/;

describe('the files of a run folder', () => {
  const fakes = fakeServersPerSuite();

  test('each is whole, none is a temporary file, and re-rendering the reports replaces each by a rename', async () => {
    const { rest, grpc } = fakes;
    const outcome = await runBenchWithReports(
      options([
        '--grpc-target', `${grpc.host}:${grpc.port}`, '--rest-target', `http://${rest.host}:${rest.port}`, '--ops', 'add',
        '--concurrency', '2', '--duration', '0.3', '--warmup', '0', '--wire-calls', '20', '--connection-calls', '0', '--out', tempDir(),
      ]),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const dir = outcome.dir!;
    const files = filesUnder(dir);
    assert.deepEqual(files.filter((file) => TEMPORARY.test(file)), [], 'temporary files left');
    assert.deepEqual(files, outcome.files.map((file) => path.relative(dir, file)).sort(), 'files not listed as written');
    const charts = files.filter((file) => file.startsWith('charts/'));
    assert.ok(charts.length > 0 && charts.every((file) => file.endsWith('.svg')), files.join(', '));

    const text = (file: string): string => readFileSync(path.join(dir, file), 'utf8');
    assert.equal(readResults(dir).runs.length, 2);
    assert.match(text('report.md'), /<!-- callbench:charts:end -->\n$/);
    assert.equal(text('results.csv').trimEnd().split('\n').length, 1 + 2, 'results.csv: a header and one row per run');
    assert.match(text('report.html'), /^<!doctype html>[\s\S]*<\/html>\n$/i);
    for (const chart of charts) assert.match(text(chart), /^<svg[\s\S]*<\/svg>\n$/, chart);

    // A file rewritten in place keeps its inode; one written to a temporary name and renamed over it gets a new one.
    const rerendered = ['report.html', 'report.md', ...charts];
    const before = new Map(rerendered.map((file) => [file, statSync(path.join(dir, file)).ino]));
    await writeHtmlReport(dir, readResults(dir));
    for (const file of rerendered) assert.notEqual(statSync(path.join(dir, file)).ino, before.get(file), `${file} was rewritten in place`);
    assert.deepEqual(filesUnder(dir), files, 'a re-render left temporary files or changed the file set');
  });
});

/** Deterministic "random" points: a seeded LCG, so a failure can be replayed. */
function seededPoints(seed: number, count: number, fromMs: number, toMs: number): number[] {
  let state = seed >>> 0;
  const points: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    points.push(Math.round(fromMs + (state / 2 ** 32) * (toMs - fromMs)));
  }
  return points;
}

// 0.8 s runs: with 0.4 s a quiet machine finished the whole bench in under 5.2 s, before the latest kill point.
const QUICK_RUN = ['--ops', 'add', '--concurrency', '4,8', '--duration', '0.8', '--warmup', '0.1', '--wire-calls', '50', '--connection-calls', '10', '--no-pin'];

describe('the runner interrupted at any point', () => {
  // Here start-up (node + tsx, servers) takes about 2.5 s and the whole quick run 6.5-8 s: the points land
  // in start-up, in the scenarios and near the end (report writing).
  const points = seededPoints(7, 3, 1_500, 5_500);
  for (const at of points) {
    test(`SIGKILL after ${at} ms: every results.json present is complete and schema-valid; servers exit`, async () => {
      const out = tempDir();
      const bench = spawnBench([...QUICK_RUN, '--out', out]);
      let servers: number[] = [];
      const deadline = Date.now() + at;
      while (Date.now() < deadline) {
        const found = childPids(bench.child.pid!, 'servers/serve.ts');
        if (found.length > servers.length) servers = found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      bench.child.kill('SIGKILL');
      const run = await bench.done;
      assert.equal(run.signal, 'SIGKILL', `the bench had already ended (code ${run.code}) before the kill at ${at} ms`);
      const folders = existsSync(out) ? readdirSync(out).filter((name) => /^\d{4}-/.test(name)) : [];
      for (const folder of folders) {
        const file = path.join(out, folder, 'results.json');
        if (!existsSync(file)) continue;
        const results = readResults(path.join(out, folder));
        for (const run of results.runs) assert.ok(run.status === 'completed' || run.status === 'failed');
      }
      assert.ok(await waitFor(() => servers.every((pid) => !isAlive(pid)), 5_000), `orphaned servers after a kill at ${at} ms`);
    });
  }

  test('Ctrl-C during the connection-cost pass: exit 130, a valid results.json if any, no server left', async () => {
    const out = tempDir();
    const bench = spawnBench([...QUICK_RUN, '--out', out]);
    assert.ok(await waitFor(() => /connection cost grpc/.test(bench.stderr()), 20_000), `never reached the connection-cost pass: ${bench.stderr()}`);
    const servers = childPids(bench.child.pid!, 'servers/serve.ts');
    bench.child.kill('SIGINT');
    const run = await bench.done;
    assert.equal(run.code, 130, run.stderr);
    if (existsSync(path.join(out, 'latest', 'results.json'))) {
      const results = readResults(path.join(out, 'latest'));
      const last = results.runs.at(-1);
      if (last) assert.ok(last.status === 'completed' || /interrupted/.test(last.failure ?? ''), JSON.stringify(last.failure));
    }
    assert.ok(await waitFor(() => servers.every((pid) => !isAlive(pid)), 4_000), 'a server outlived the runner');
  });

  test('Ctrl-C after the first scenario finished: exit 130; results.json keeps that scenario for both protocols; no server left', async () => {
    const out = tempDir();
    const bench = spawnBench([...QUICK_RUN, '--out', out]);
    // The runner prints a run's line after results.json holds it, and runs gRPC then REST: once add/c4 rest's line
    // is out, both add/c4 runs are on disk, and add/c8 (two more runs, each over a second) is still ahead.
    const firstScenarioDone = /^\[1\/2\] add\/c4 rest: \d+ calls\/s/m;
    assert.ok(await waitFor(() => firstScenarioDone.test(bench.stderr()), 30_000), `add/c4 never finished: ${bench.stderr()}`);
    const servers = childPids(bench.child.pid!, 'servers/serve.ts');
    bench.child.kill('SIGINT');
    const run = await bench.done;
    assert.equal(run.code, 130, run.stderr);
    const latest = path.join(out, 'latest');
    assert.ok(existsSync(path.join(latest, 'results.json')), `no results.json after Ctrl-C: ${run.stderr}`);
    const results = readResults(latest);
    const [grpcRun, restRun, ...rest] = results.runs;
    assert.deepEqual([grpcRun, restRun].map((r) => r && `${r.scenario} ${r.protocol} ${r.status}`), ['add/c4 grpc completed', 'add/c4 rest completed']);
    assert.ok(grpcRun!.requests > 0 && restRun!.requests > 0);
    // The run the signal cut (if it had begun) is recorded as interrupted; nothing starts after it.
    assert.ok(rest.length <= 1, JSON.stringify(rest.map((r) => r.scenario)));
    if (rest[0]) assert.deepEqual([rest[0].scenario, rest[0].status, rest[0].failure], ['add/c8', 'failed', 'interrupted (SIGINT)']);
    assert.deepEqual(filesUnder(latest).filter((file) => TEMPORARY.test(file)), [], 'temporary files left');
    assert.ok(await waitFor(() => servers.every((pid) => !isAlive(pid)), 4_000), 'a server outlived the runner');
  });
});
