/**
 * The bench's runner with a proxy, replicas and connection limits, end to end
 * over real sockets (bench/run/runner.ts startPlaces, bench/host/proxy.ts):
 *
 * - `--proxy nginx --replicas 2 --balance l4`: all of gRPC's calls on one
 *   replica, REST's over both; `--balance l7`: both spread; the shares in
 *   results.json (schema-valid) and under the table.
 * - `--max-connection-calls 100`: 0 errors on both protocols, connections
 *   opened about calls / 100.
 * - Stream scenarios through both L7 proxies: every transport (gRPC, NDJSON,
 *   SSE, WebSocket) answers every message.
 * - The bench's servers behind nginx with nginx's default settings
 *   (keepalive_requests 1000: a GOAWAY every 1,000 gRPC calls), benched as
 *   external targets: 0 errors, retried calls counted, nginx's CPU labelled as
 *   the proxy's and the servers behind it not measured.
 *
 * Short runs (1 s after 0.3 s warm-up); no timing assertion: counts, shares
 * and bounds wide enough for a busy 2-core machine. Skips with one line
 * without nginx and its stream module.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { proxyUnavailable, startProxy, type ProxyProcess } from '../../bench/host/proxy.ts';
import { startServerProcess, type ServerProcess } from '../../bench/host/server-process.ts';
import { renderTable } from '../../bench/report/table.ts';
import { renderStreamTable } from '../../bench/report/streams.ts';
import { streamRecordsOf } from '../../bench/results/stream-record.ts';
import type { RunRecord } from '../../bench/results/record.ts';
import { assertSchemaValid, benchOptions, quietProgress, runBenchWithReports, tempDir } from '../helpers/bench.ts';

const SHORT = ['--ops', 'add', '--concurrency', '16', '--duration', '1', '--warmup', '0.3', '--wire-calls', '0', '--connection-calls', '0'];
const skip = proxyUnavailable('nginx', 'l4');

function rowsOf(runs: RunRecord[], protocol: 'grpc' | 'rest'): RunRecord {
  const row = runs.find((run) => run.protocol === protocol);
  assert.ok(row, `a ${protocol} row`);
  assert.equal(row.status, 'completed', row.failure ?? '');
  assert.equal(row.errors, 0, JSON.stringify(row.statusCounts));
  return row;
}

describe('bench --proxy nginx --replicas 2', { skip: skip ?? false }, () => {
  for (const balance of ['l4', 'l7'] as const) {
    it(`--balance ${balance}: ${balance === 'l4' ? "gRPC's one connection pinned to one replica, REST spread" : 'both protocols spread'}`, async () => {
      const out = tempDir();
      const outcome = await runBenchWithReports(benchOptions([...SHORT, '--proxy', 'nginx', '--replicas', '2', '--balance', balance, '--out', out]), { progress: quietProgress });
      assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
      const results = JSON.parse(readFileSync(path.join(outcome.dir!, 'results.json'), 'utf8'));
      assertSchemaValid(results);
      for (const protocol of ['grpc', 'rest'] as const) {
        const row = rowsOf(results.runs, protocol);
        assert.deepEqual(row.place, { tls: false, proxy: 'nginx', replicas: 2, balance });
        assert.equal(row.replicas?.length, 2);
        const calls = row.replicas!.map((r) => r.calls);
        // The replicas' counters cover the measured window only: their sum is the row's calls, give or take the calls in flight at either edge.
        const sum = calls.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - row.requests) <= 2 * 16 + 2, `${protocol}: replicas ${calls} vs ${row.requests} calls`);
        assert.ok('proxyCpuMsPer1kCalls' in row, 'the proxy has its own CPU figure');
        if (protocol === 'grpc' && balance === 'l4') assert.ok(calls.includes(0), `gRPC pinned: ${calls}`);
        else assert.ok(calls.every((n) => n > 0), `${protocol} spread: ${calls}`);
      }
      const table = renderTable(results);
      if (balance === 'l4') assert.match(table, /gRPC: one replica of 2 carried 100% of gRPC's calls/);
      assert.match(table, /REST: spread over 2 replicas/);
      // The config it ran is kept in the run folder.
      assert.match(readFileSync(path.join(outcome.dir!, 'proxy-nginx', 'nginx.conf'), 'utf8'), balance === 'l4' ? /stream \{/ : /grpc_pass/);
    });
  }
});

describe('bench --proxy nginx,haproxy,direct --tls', { skip: (skip ?? proxyUnavailable('haproxy', 'l7')) ?? false }, () => {
  for (const balance of ['l4', 'l7'] as const) {
    // L7 beside the direct path; L4 (TLS passed through to the replicas) through both proxies. Half-second runs: counts only.
    const places = balance === 'l7' ? ['nginx', 'haproxy', null] : ['nginx', 'haproxy'];
    it(`--balance ${balance}: every hop over TLS, 0 errors, TLS rows for each place`, async () => {
      const outcome = await runBenchWithReports(
        benchOptions([...SHORT, '--duration', '0.5', '--proxy', places.map((p) => p ?? 'direct').join(','), '--tls', '--balance', balance, '--out', tempDir()]),
        { progress: quietProgress },
      );
      assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
      for (const proxy of places) {
        for (const protocol of ['grpc', 'rest'] as const) {
          const row = outcome.results.runs.find((run) => run.protocol === protocol && run.place?.proxy === proxy);
          assert.ok(row, `${protocol} via ${proxy ?? 'direct'}`);
          assert.equal(row.status, 'completed', row.failure ?? '');
          assert.equal(row.errors, 0, `${protocol} via ${proxy ?? 'direct'}: ${JSON.stringify(row.statusCounts)}`);
          assert.ok(row.requests > 0);
          // The replicas serve TLS only: a call that reached them over cleartext would have failed.
          assert.equal(row.place?.tls, true);
        }
      }
      const nginx = readFileSync(path.join(outcome.dir!, 'proxy-nginx', 'nginx.conf'), 'utf8');
      if (balance === 'l7') assert.match(nginx, /grpc_pass grpcs:\/\//);
      else assert.doesNotMatch(nginx, /ssl_certificate/);
    });
  }
});

describe('bench --proxy nginx,haproxy with stream scenarios', { skip: (skip ?? proxyUnavailable('haproxy', 'l7')) ?? false }, () => {
  it('every stream transport through both L7 proxies: all messages answered, 0 errors, each replica took streams', async () => {
    const outcome = await runBenchWithReports(
      benchOptions(['--ops', 'running-sum,prefix-sums', '--streams', '4', '--messages', '200', '--warmup', '0', '--wire-calls', '0', '--connection-calls', '0', '--proxy', 'nginx,haproxy', '--replicas', '2', '--out', tempDir()]),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const rows = outcome.results.runs;
    for (const proxy of ['nginx', 'haproxy']) {
      // running-sum on gRPC, NDJSON and WebSocket; prefix-sums on gRPC, NDJSON and SSE.
      const through = rows.filter((run) => run.place?.proxy === proxy);
      assert.deepEqual(through.map((run) => `${run.operation}/${run.transport}`).sort(), ['prefix-sums/grpc', 'prefix-sums/ndjson', 'prefix-sums/sse', 'running-sum/grpc', 'running-sum/ndjson', 'running-sum/websocket'], proxy);
      for (const run of through) {
        const name = `${run.operation}/${run.transport} via ${proxy}`;
        assert.equal(run.status, 'completed', `${name}: ${run.failure}`);
        assert.equal(run.errors, 0, `${name}: ${run.firstError}`);
        assert.equal(run.requests, 4 * 200, `${name}: every message answered`);
        // The replicas' counters see the streams (a WebSocket counts at its upgrade).
        assert.ok(run.replicas!.reduce((sum, replica) => sum + replica.calls, 0) >= 1, `${name}: ${JSON.stringify(run.replicas)}`);
      }
    }
    // The stream records keep the places apart: one per operation, transport and proxy, each named.
    const records = streamRecordsOf(outcome.results);
    assert.equal(records.length, 12);
    assert.ok(records.every((record) => record.trials === undefined), 'no two places merged as trials');
    assert.match(renderStreamTable(records), /running-sum\s+ndjson\s+loopback via haproxy l7 x2/);
  });
});

describe('bench --max-connection-calls 100', () => {
  it('0 errors on both protocols, about calls / 100 connections opened, calls retried counted', async () => {
    const out = tempDir();
    // http1-engine counts the connections it opens (autocannon does not).
    const outcome = await runBenchWithReports(benchOptions([...SHORT, '--max-connection-calls', '100', '--driver', 'rest=http1-engine', '--out', out]), { progress: quietProgress });
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    for (const protocol of ['grpc', 'rest'] as const) {
      const row = rowsOf(outcome.results.runs, protocol);
      const expected = row.requests / 100;
      // Each connection takes 100 calls, less the ones refused at its GOAWAY and sent again on the next: at least calls/100, at most about twice.
      assert.ok(row.connectionsOpened! >= Math.floor(expected) && row.connectionsOpened! <= 2 * expected + 16, `${protocol}: ${row.connectionsOpened} connections for ${row.requests} calls`);
      assert.equal(typeof row.retried, 'number');
    }
  });
});

/** nginx's defaults where they matter here: keepalive_requests 1000 (client and upstream side), upstream keepalive off, default buffers. */
const NGINX_DEFAULTS = `{{user}}
worker_processes 1;
daemon off;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events {}
http {
  access_log off;
  client_body_temp_path {{dir}}/client_body;
  proxy_temp_path {{dir}}/proxy_temp;
  fastcgi_temp_path {{dir}}/fastcgi_temp;
  uwsgi_temp_path {{dir}}/uwsgi_temp;
  scgi_temp_path {{dir}}/scgi_temp;
  upstream grpc_replicas { {{grpc_servers}} }
  upstream rest_replicas { {{rest_servers}} }
  server { listen {{grpc_listen}} http2; location / { grpc_pass grpc://grpc_replicas; } }
  server { listen {{rest_listen}}; location / { proxy_pass http://rest_replicas; } }
}
`;

describe("the bench's servers behind nginx with its default settings, benched as targets", { skip: proxyUnavailable('nginx', 'l7') ?? false }, () => {
  const started: ServerProcess[] = [];
  let proxy: ProxyProcess | null = null;
  after(async () => {
    await proxy?.stop();
    await Promise.all(started.map((server) => server.stop()));
  });
  it('0 errors on both protocols, retried calls counted, CPU labelled as the proxy\'s', async () => {
    started.push(await startServerProcess({ protocol: 'grpc' }), await startServerProcess({ protocol: 'rest' }));
    const [grpc, rest] = started;
    const dir = tempDir('callbench-nginx-defaults-');
    const file = path.join(dir, 'nginx-defaults.conf');
    writeFileSync(file, NGINX_DEFAULTS);
    const grpcTarget = grpc!.target as { host: string; port: number };
    proxy = await startProxy({
      kind: 'nginx',
      balance: 'l7',
      host: '127.0.0.1',
      upstreams: { grpc: [{ host: grpcTarget.host, port: grpcTarget.port }], rest: [{ host: '127.0.0.1', port: Number(new URL((rest!.target as { url: string }).url).port) }] },
      dir,
      template: { file, text: NGINX_DEFAULTS },
    });
    const g = proxy.targets.grpc as { host: string; port: number };
    const r = proxy.targets.rest as { url: string };
    // 2,500 gRPC calls at least cross two of nginx's GOAWAYs (one every 1,000 requests on a connection).
    const outcome = await runBenchWithReports(
      benchOptions([...SHORT, '--duration', '2', '--driver', 'rest=http1-engine', '--grpc-target', `${g.host}:${g.port}`, '--rest-target', r.url, '--out', tempDir()]),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const grpcRow = rowsOf(outcome.results.runs, 'grpc');
    rowsOf(outcome.results.runs, 'rest');
    if (grpcRow.requests > 2_500) assert.ok((grpcRow.connectionsOpened ?? 0) >= 2, `gRPC reconnected after nginx's GOAWAY: ${grpcRow.connectionsOpened} connections`);
    for (const row of outcome.results.runs) {
      assert.equal(typeof row.retried, 'number', `${row.protocol}: retried counted`);
      assert.equal(row.place?.proxy, 'nginx');
      assert.equal(row.server.cpuMsPer1kCalls, null, 'the server behind nginx is not measured');
      assert.ok('proxyCpuMsPer1kCalls' in row);
      assert.ok(row.notes?.some((note) => /port held by nginx .*its CPU is the proxy's; the server behind it not measured/.test(note)), JSON.stringify(row.notes));
    }
  });
});
