/**
 * The h2load driver: exact counts and response bytes against the real
 * servers, the documented blind spot (gRPC errors in trailers read as '200'),
 * timeouts and unreachable targets, the refused open loop, and the parsers.
 * Tests that run h2load skip with one line when it is not on PATH.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import {
  findH2load,
  h2loadDriver,
  h2loadWireBytes,
  parseLog,
  parseRequestSummary,
  parseTraffic,
  planH2load,
  type H2loadResult,
} from '../../bench/drivers/h2load.ts';
import { childrenCpuUsFromStat, clockTicksPerSecond } from '../../bench/host/process-stats.ts';
import { createLatencyHistogram } from '../../bench/results/histogram.ts';
import type { LoadOptions, Target } from '../../bench/types.ts';
import { startServers, type Servers } from '../helpers/servers.ts';
import { ADD, loadOptions, payloadOf } from '../helpers/drivers.ts';

const H2LOAD = findH2load();
const skip = H2LOAD === null ? 'h2load not on PATH (apt-get install nghttp2-client)' : false;

const run = (o: LoadOptions): Promise<H2loadResult> => h2loadDriver.run(o) as Promise<H2loadResult>;

describe('h2load driver against the real servers', { skip }, () => {
  let servers: Servers;
  let grpc: Target;
  let rest: Target;
  before(async () => {
    servers = await startServers();
    grpc = { protocol: 'grpc', host: '127.0.0.1', port: servers.grpcPort };
    rest = { protocol: 'rest', url: servers.restUrl };
  });
  after(async () => {
    await servers.close();
  });

  test('gRPC, `requests`: exact count, latency per call, response bytes, h2load CPU', async () => {
    const result = await run(loadOptions(grpc, { requests: 300 }));
    assert.equal(result.failure, undefined);
    assert.equal(result.calls, 300);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { '200': 300 });
    assert.equal(result.latencyUs.totalCount, 300);
    assert.deepEqual(result.effective, { connections: 2, streamsPerConnection: 4 });
    assert.equal(result.grpcStatusChecked, false);
    assert.equal(result.socketBytes, null);
    // Each answer's DATA: 5-byte prefix + Result{value: 30} (tag 0x09 + 8-byte double).
    assert.equal(result.h2loadTraffic?.dataBytes, 300 * 14);
    assert.equal(result.h2loadTraffic?.requestsDone, 300);
    assert.ok(result.h2loadTraffic!.headerSpaceSavingsPercent > 50, 'HPACK saves most header bytes');
    const wire = h2loadWireBytes(result.h2loadTraffic, 'grpc');
    assert.equal(wire.countedBy, 'h2load');
    assert.equal(wire.requestBytesPerCall, null);
    assert.ok(wire.responseBytesPerCall! > 14 && wire.responseHeaderBytesPerCall! > 5);
    assert.equal(Math.round((wire.responseBytesPerCall! - wire.responseHeaderBytesPerCall!) * 100) / 100, 9);
    assert.equal(typeof result.clientCpuUs, 'number');
    assert.ok(result.clientCpuUs! >= 0);
  });

  test('REST over --h1: exact count, one connection per call in flight, JSON bytes', async () => {
    const result = await run(loadOptions(rest, { requests: 200 }));
    assert.equal(result.calls, 200);
    assert.deepEqual(result.statusCounts, { '200': 200 });
    assert.deepEqual(result.effective, { connections: 8, streamsPerConnection: 1 });
    assert.ok(result.command.includes('--h1'));
    assert.equal(result.h2loadTraffic?.dataBytes, 200 * Buffer.byteLength('{"value":30}'));
    assert.equal(result.h2loadTraffic?.headerSpaceSavingsPercent, 0);
    assert.equal(result.grpcStatusChecked, true);
  });

  test('REST errors count by HTTP status', async () => {
    const result = await run(loadOptions(rest, { requests: 40, payload: payloadOf('add', { a: 'x', b: 1 }) }));
    assert.deepEqual(result.statusCounts, { '400': 40 });
    assert.equal(result.errors, 40);
  });

  test('LIMITATION: a gRPC error (grpc-status in trailers) is invisible to h2load and counts as 200', async () => {
    const result = await run(loadOptions(grpc, { requests: 40, payload: payloadOf('divide', { a: 1, b: 0 }) }));
    // The server answered INVALID_ARGUMENT to every call; h2load only sees HTTP 200.
    assert.deepEqual(result.statusCounts, { '200': 40 });
    assert.equal(result.errors, 0);
    assert.equal(result.grpcStatusChecked, false);
  });

  test('duration mode runs for the duration and reports progress', async () => {
    const progress: number[] = [];
    const result = await run(loadOptions(grpc, { durationS: 0.8, onProgress: (p) => progress.push(p.calls) }));
    assert.equal(result.failure, undefined);
    assert.ok(result.calls > 0);
    assert.ok(result.elapsedS > 0.4 && result.elapsedS < 2, `elapsed ${result.elapsedS}`);
    assert.ok(result.command.includes('-D') && result.command.includes('800ms'));
    assert.ok(progress.length >= 1);
  });

  test('abort kills h2load and resolves with a reason', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const result = await run(loadOptions(grpc, { durationS: 30, signal: controller.signal }));
    assert.equal(result.failure, 'aborted');
    assert.ok(Date.now() - started < 5_000);
  });
});

describe('h2load driver against hostile targets', { skip }, () => {
  test('a server that never answers: started calls end as timeouts (-N with `requests`)', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await run(loadOptions({ protocol: 'rest', url: `http://127.0.0.1:${port}` }, { requests: 4, concurrency: 2, timeoutMs: 300 }));
      assert.deepEqual(result.statusCounts, { timeout: 2 });
      assert.equal(result.calls, 2);
      assert.equal(result.errors, 2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('nothing listening: failure says it could not connect', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const result = await run(loadOptions({ protocol: 'grpc', host: '127.0.0.1', port }, { requests: 10 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /could not connect/);
  });
});

describe('h2load driver without h2load and with what it cannot do', () => {
  test('h2load missing: a clear error naming the package', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'callbench-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      assert.equal(findH2load(), null);
      await assert.rejects(run(loadOptions({ protocol: 'rest', url: 'http://127.0.0.1:1' }, { requests: 1 })), /apt-get install nghttp2-client/);
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('a `rate` (open loop) is refused with the reason', () => {
    assert.throws(
      () => planH2load(loadOptions({ protocol: 'rest', url: 'http://127.0.0.1:1' }, { rate: 100 }), 'b', 'l'),
      /cannot run an open loop.*connections per period.*coordinated omission/s,
    );
  });

  test('plan: gRPC shape, headers, -n with -N, h2load needs -c <= -n', () => {
    const plan = planH2load(
      loadOptions({ protocol: 'grpc', host: '::1', port: 5 }, { concurrency: 256, connections: 4, requests: 2, metadata: { 'x-run': 'a' } }),
      '/b',
      '/l',
    );
    assert.deepEqual(plan.args.slice(0, 8), ['-c', '2', '-m', '64', '-t', '1', '-n', '2']);
    assert.ok(plan.args.includes('te: trailers') && plan.args.includes('content-type: application/grpc') && plan.args.includes('x-run: a'));
    assert.equal(plan.args.at(-1), 'http://[::1]:5/calculator.v1.Calculator/Add');
    assert.deepEqual([...plan.body.subarray(0, 5)], [0, 0, 0, 0, ADD.protobuf.length]);
  });
});

describe('h2load output parsers', () => {
  const SUMMARY = [
    'finished in 1.00s, 10256.00 req/s, 481.00KB/s',
    'requests: 10256 total, 10272 started, 10256 done, 10250 succeeded, 6 failed, 2 errored, 1 timeout',
    'status codes: 10256 2xx, 0 3xx, 0 4xx, 0 5xx',
    'traffic: 481.00KB (492540) total, 50.19KB (51393) headers (space savings 96.39%), 140.22KB (143584) data',
  ].join('\n');

  test('requests and traffic lines (human units with exact counts)', () => {
    assert.deepEqual(parseRequestSummary(SUMMARY), {
      total: 10256, started: 10272, done: 10256, succeeded: 10250, failed: 6, errored: 2, timeout: 1,
    });
    const traffic = parseTraffic(SUMMARY, 10256)!;
    assert.equal(traffic.totalBytes, 492540);
    assert.equal(traffic.headerBytes, 51393);
    assert.equal(traffic.dataBytes, 143584);
    assert.equal(traffic.headerSpaceSavingsPercent, 96.39);
    assert.equal(traffic.headerBytesUncompressed, Math.round(51393 / (1 - 0.9639)));
  });

  test('traffic line in older bare-bytes form', () => {
    const traffic = parseTraffic('traffic: 4125025824 bytes total, 11023424 bytes headers (space savings 93.07%), 4096000000 bytes data', 1);
    assert.equal(traffic?.totalBytes, 4125025824);
    assert.equal(traffic?.dataBytes, 4096000000);
  });

  test('per-request log: statuses, -1 as connection-error, latency in µs, span', () => {
    const histogram = createLatencyHistogram();
    const tally = parseLog('1000000\t200\t150\n1000100\t-1\t20\n1000200\t503\t1000\ngarbage\n1000300\t200\t50\n', histogram);
    assert.deepEqual(tally.statusCounts, { '200': 2, 'connection-error': 1, '503': 1 });
    assert.equal(tally.lines, 4);
    assert.equal(tally.errors, 2);
    assert.equal(histogram.totalCount, 4);
    assert.equal(tally.lastEndUs - tally.firstStartUs, 1200);
  });

  test('children CPU from a /proc stat line (cutime + cstime)', () => {
    // pid (comm with spaces) state ppid ... utime(14)=1 stime(15)=2 cutime(16)=30 cstime(17)=20
    const stat = '42 (sh -c x) S 1 42 42 0 -1 4194304 100 0 0 0 1 2 30 20 20 0 1 0 100 1000 100';
    const ticks = 50;
    assert.equal(childrenCpuUsFromStat(stat), Math.round((ticks * 1e6) / clockTicksPerSecond()));
  });
});
