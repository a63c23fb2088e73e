/**
 * Faults during a bench, over real sockets and processes. For each: the runner
 * notices within a few seconds, records the failure with its reason, keeps and
 * writes every result already measured, stops its servers and exits non-zero.
 *
 * - a server that stops answering but keeps its connections open (SIGSTOP):
 *   the stall watchdog fails the run ("server stopped answering: ...");
 * - connections reset mid-call by a proxy: errors recorded by status
 *   ('connection-error'), never a crash or a hang;
 * - the runner killed with SIGKILL at seeded random points: whatever
 *   results.json exists parses and validates against results/schema.json;
 * - Ctrl-C during the connection-cost pass and during a run: exit 130, valid
 *   results, no server process left.
 * (A server killed mid-run: test/bench-runner.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { driverCatalog } from '../bench/drivers/index.ts';
import { resolveBenchOptions } from '../bench/options.ts';
import type { ProgressSink } from '../bench/progress.ts';
import type { RunRecord } from '../bench/results/record.ts';
import { runBench } from '../bench/runner.ts';
import type { ServerProcess } from '../bench/server-process.ts';
import {
  assertSchemaValid,
  childPids,
  isAlive,
  spawnBench,
  startFakeGrpcServer,
  startFakeRestServer,
  tempDir,
  waitFor,
  type FakeServer,
} from './helpers/bench.ts';

const quiet: ProgressSink = { phase() {}, update() {}, endPhase() {}, log() {}, close() {} };
const options = (args: string[]) => resolveBenchOptions([...args, '--no-pin', '--progress', 'none'], driverCatalog());

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
      const outcome = await runBench(
        options([
          '--protocols', protocol, '--ops', 'add', '--concurrency', '4,8', '--duration', '2', '--warmup', '0',
          '--wire-calls', '0', '--connection-calls', '0', '--stall-timeout', '1.5', '--out', out,
        ]),
        {
          progress: quiet,
          onRunRecorded: (record: RunRecord, servers: ReadonlyMap<string, ServerProcess>) => {
            if (record.scenario !== 'add/c4') return;
            const server = servers.get(protocol)!;
            pids = [...servers.values()].map((s) => s.pid);
            // Lands in add/c8's measured run (no warm-up, 2 s).
            setTimeout(() => {
              stoppedAt = Date.now();
              process.kill(server.pid, 'SIGSTOP');
            }, 300);
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
    // The bench's reachability check needs one answer: answer /healthz once, then go silent.
    silent.removeAllListeners('connection');
    let answeredHealth = false;
    silent.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) => {
        if (!answeredHealth && chunk.toString('latin1').startsWith('GET /healthz')) {
          answeredHealth = true;
          socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
        }
      });
    });
    try {
      const started = Date.now();
      const outcome = await runBench(
        options([
          '--protocols', 'rest', '--rest-target', `http://127.0.0.1:${port}`, '--ops', 'add', '--concurrency', '2',
          '--duration', '2.5', '--warmup', '0', '--wire-calls', '0', '--connection-calls', '0', '--timeout', '1000', '--stall-timeout', '0', '--out', tempDir(),
        ]),
        { progress: quiet },
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
  let rest: FakeServer;
  let grpc: FakeServer;
  before(async () => {
    rest = await startFakeRestServer(5);
    grpc = await startFakeGrpcServer(5);
  });
  after(async () => {
    await rest.close();
    await grpc.close();
  });

  test('recorded as connection errors (or a failed run with its reason), never a crash or a hang', async () => {
    const restProxy = await startResettingProxy(rest.port, 6_000);
    const grpcProxy = await startResettingProxy(grpc.port, 3_000);
    try {
      const started = Date.now();
      const outcome = await runBench(
        options([
          '--grpc-target', `127.0.0.1:${grpcProxy.port}`, '--rest-target', `http://127.0.0.1:${restProxy.port}`,
          '--ops', 'add', '--concurrency', '4', '--duration', '1.5', '--warmup', '0', '--wire-calls', '0', '--connection-calls', '0',
          '--timeout', '2000', '--out', tempDir(),
        ]),
        { progress: quiet },
      );
      assert.ok(Date.now() - started < 20_000, 'the bench hung');
      assert.ok(restProxy.resets() > 0 && grpcProxy.resets() > 0, `resets: rest ${restProxy.resets()}, grpc ${grpcProxy.resets()}`);
      assert.ok(outcome.exitCode === 0 || outcome.exitCode === 1, `exit ${outcome.exitCode}`);
      const runs = outcome.results.runs;
      assert.equal(runs.length, 2);
      for (const run of runs) {
        if (run.status === 'failed') {
          assert.ok((run.failure ?? '').length > 0, `${run.protocol}: failed without a reason`);
        } else {
          assert.ok((run.statusCounts['connection-error'] ?? 0) > 0, `${run.protocol}: ${JSON.stringify(run.statusCounts)}`);
          assert.equal(run.errors, Object.entries(run.statusCounts).filter(([k]) => k !== '200' && k !== 'OK').reduce((s, [, v]) => s + v, 0));
        }
      }
      readResults(outcome.dir!);
    } finally {
      await restProxy.close();
      await grpcProxy.close();
    }
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

const QUICK_RUN = ['--ops', 'add', '--concurrency', '4,8', '--duration', '0.4', '--warmup', '0.1', '--wire-calls', '50', '--connection-calls', '10', '--no-pin'];

describe('the runner interrupted at any point', () => {
  // Here start-up (node + tsx, servers) takes about 2.5 s and the whole quick run about 6 s: the points land
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

  for (const phase of [/connection cost grpc/, /\] add\/c8 grpc measuring/]) {
    test(`Ctrl-C during "${phase.source}": exit 130, valid results, no server left`, async () => {
      const out = tempDir();
      const bench = spawnBench([...QUICK_RUN, '--out', out]);
      assert.ok(await waitFor(() => phase.test(bench.stderr()), 20_000), `never reached ${phase}: ${bench.stderr()}`);
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
  }
});
