/**
 * `npm run bench -- --tls`: both servers over TLS (gRPC h2 via ALPN, REST
 * HTTPS/1.1) with a certificate generated at start, the bench's own clients
 * accepting it explicitly (never NODE_TLS_REJECT_UNAUTHORIZED), and the
 * connection-cost pass (new connection vs kept-alive) recorded per protocol,
 * with TLS and without.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { describe, test } from 'node:test';
import { measureConnectionCost } from '../../bench/run/connection-cost.ts';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { UsageError, resolveBenchOptions } from '../../bench/options/options.ts';
import { renderCsv } from '../../bench/report/csv.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { renderTable } from '../../bench/report/table.ts';
import { runBench } from '../../bench/run/runner.ts';
import { buildPayload } from '../../bench/scenario/matrix.ts';
import { startServerProcess, type ServerProcess } from '../../bench/host/server-process.ts';
import { assertSchemaValid, benchOptions, isAlive, tempDir, quietProgress, waitFor } from '../helpers/bench.ts';

const options = benchOptions;

describe('bench --tls', () => {
  test('both protocols measured over TLS, connection cost recorded, schema-valid, servers stopped', async () => {
    const out = tempDir();
    const targets: string[] = [];
    const pids: number[] = [];
    const outcome = await runBench(
      options(['--tls', '--ops', 'add', '--concurrency', '4', '--duration', '0.5', '--warmup', '0', '--connection-calls', '10', '--out', out]),
      {
        progress: quietProgress,
        onRunRecorded: (_record, servers) => {
          for (const server of servers.values()) {
            targets.push(JSON.stringify(server.target));
            pids.push(server.pid);
          }
        },
      },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined, 'the bench must not switch off certificate checks process-wide');
    assert.ok(targets.some((t) => t.includes('"url":"https://127.0.0.1:')), `REST target not https: ${targets.join(' ')}`);
    assert.ok(targets.some((t) => t.includes('"tls":true')), `gRPC target not TLS: ${targets.join(' ')}`);

    const runs = outcome.results.runs;
    assert.deepEqual(runs.map((r) => `${r.scenario} ${r.protocol} ${r.status}`), ['add/c4 grpc completed', 'add/c4 rest completed']);
    for (const run of runs) {
      assert.equal(run.errors, 0, `${run.protocol}: ${JSON.stringify(run.statusCounts)}`);
      assert.ok(run.requests > 0);
      const cost = run.tls!;
      assert.equal(cost.enabled, true);
      assert.match(cost.version ?? '', /^TLSv1\.[23]$/);
      assert.equal(cost.calls, 10);
      assert.ok(cost.newConnectionCallMs! > 0 && cost.keptAliveCallMs! > 0, JSON.stringify(cost));
      assert.ok(cost.handshakeMs! >= 0);
      // A ClientHello is a few hundred bytes; the server's answer carries the certificate.
      assert.ok(cost.handshakeBytes!.request >= 200, `${run.protocol} handshake request bytes ${cost.handshakeBytes!.request}`);
      assert.ok(cost.handshakeBytes!.response >= 400, `${run.protocol} handshake response bytes ${cost.handshakeBytes!.response}`);
      // The proxy would see ciphertext: no per-call byte figures under TLS.
      assert.equal(run.wire.countedBy, null);
    }
    const file = JSON.parse(readFileSync(path.join(outcome.dir!, 'results.json'), 'utf8')) as unknown;
    assertSchemaValid(file);
    assert.equal(file.environment.options.tls, true);

    const table = renderTable(outcome.results);
    assert.match(table, /connection cost, TLS on \(TLSv1\.[23]\): gRPC over h2 via ALPN, REST over HTTPS\/1\.1/);
    assert.match(table, /^connection set-up \(handshake\), ms\s+\d/m);
    assert.match(renderMarkdown(outcome.results), /^## Connection cost \(TLS\)$/m);
    const csv = renderCsv(outcome.results).trim().split('\r\n');
    const header = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    assert.equal(row[header.indexOf('tls')], 'true');
    assert.ok(Number(row[header.indexOf('handshake_ms')]) >= 0);
    assert.ok(await waitFor(() => pids.every((pid) => !isAlive(pid)), 3_000), 'a TLS server is still running');
  });

  test('without --tls the pass measures plain connection set-up: h2c preface and SETTINGS for gRPC, nothing extra for HTTP/1.1', async () => {
    const out = tempDir();
    const outcome = await runBench(
      options(['--ops', 'add', '--concurrency', '2', '--duration', '0.3', '--warmup', '0', '--wire-calls', '20', '--connection-calls', '8', '--out', out]),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    const byProtocol = Object.fromEntries(outcome.results.runs.map((r) => [r.protocol, r]));
    for (const run of outcome.results.runs) {
      assert.equal(run.tls!.enabled, false);
      assert.equal(run.tls!.version, null);
      assert.ok(run.tls!.newConnectionCallMs! > 0);
      assert.equal(run.wire.countedBy, 'counting-proxy');
    }
    // The 24-byte client preface plus SETTINGS (and the GOAWAY at close) at least.
    assert.ok(byProtocol.grpc!.tls!.handshakeBytes!.request >= 24 + 9, JSON.stringify(byProtocol.grpc!.tls));
    assert.equal(byProtocol.rest!.tls!.handshakeBytes!.request, 0);
    assert.equal(byProtocol.rest!.tls!.handshakeBytes!.response, 0);
    assertSchemaValid(JSON.parse(readFileSync(path.join(outcome.dir!, 'results.json'), 'utf8')));
    assert.match(renderTable(outcome.results), /connection cost, no TLS: gRPC over h2c, REST over HTTP\/1\.1/);
  });

  test('--connection-calls 0 skips the pass: records say not measured', async () => {
    const outcome = await runBench(
      options(['--protocols', 'rest', '--ops', 'add', '--concurrency', '1', '--duration', '0.2', '--warmup', '0', '--wire-calls', '0', '--connection-calls', '0', '--out', tempDir()]),
      { progress: quietProgress },
    );
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    assert.deepEqual(outcome.results.runs[0]!.tls, {
      enabled: false, version: null, calls: 0, newConnectionCallMs: null, keptAliveCallMs: null, handshakeMs: null, handshakeBytes: null,
    });
    assertSchemaValid(outcome.results);
  });
});

describe('TLS servers started by the bench', () => {
  test('serve a self-signed certificate that default clients refuse; the bench accepts it only on its own connections', async () => {
    const servers: ServerProcess[] = [];
    try {
      const rest = await startServerProcess({ protocol: 'rest', tls: true });
      const grpc = await startServerProcess({ protocol: 'grpc', tls: true });
      servers.push(rest, grpc);
      assert.ok(rest.target.protocol === 'rest' && rest.target.url.startsWith('https://127.0.0.1:'));
      assert.ok(grpc.target.protocol === 'grpc' && grpc.target.tls === true && grpc.target.host === '127.0.0.1');
      const url = new URL(rest.target.protocol === 'rest' ? rest.target.url : '');

      // A client with default settings refuses the certificate: nothing process-wide was relaxed.
      const refused = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: url.hostname, port: Number(url.port), servername: 'localhost' });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve('accepted');
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
      assert.match(refused, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/i);

      // Plain HTTP to the HTTPS port gets no HTTP answer: the server really speaks TLS.
      const plain = await new Promise<string>((resolve) => {
        const request = http.get({ host: url.hostname, port: Number(url.port), path: '/healthz', agent: false, timeout: 2_000 }, (response) => {
          response.resume();
          resolve(`HTTP ${response.statusCode}`);
        });
        request.on('timeout', () => request.destroy(new Error('timeout')));
        request.on('error', (error) => resolve(`error: ${error.message}`));
      });
      assert.match(plain, /^error: /);

      // The connection-cost clients negotiate the protocols the issue asks for.
      const payload = buildPayload('add', null, 'double');
      for (const server of servers) {
        const cost = await measureConnectionCost(server.target, payload, { calls: 3, timeoutMs: 5_000, countBytes: false });
        assert.equal(cost.enabled, true);
        assert.match(cost.version ?? '', /^TLSv1\.[23]$/);
        assert.equal(cost.handshakeBytes, null);
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });
});

describe('--tls options', () => {
  const catalog = driverCatalog();
  test('--tls with an http:// REST target is refused; an https:// target is accepted', () => {
    assert.throws(
      () => resolveBenchOptions(['--tls', '--rest-target', 'http://127.0.0.1:3000'], catalog, { canPin: false }),
      (error: unknown) => error instanceof UsageError && /--tls: --rest-target must then be an https:\/\/ origin/.test(error.message),
    );
    const o = resolveBenchOptions(['--tls', '--rest-target', 'https://127.0.0.1:3443/'], catalog, { canPin: false });
    assert.equal(o.restTarget, 'https://127.0.0.1:3443');
    assert.equal(o.tls, true);
  });

  test('defaults: no TLS, 50 connection-cost calls, 5 s stall timeout', () => {
    const o = resolveBenchOptions([], catalog, { canPin: false });
    assert.equal(o.tls, false);
    assert.equal(o.connectionCalls, 50);
    assert.equal(o.stallTimeoutS, 5);
  });
});
