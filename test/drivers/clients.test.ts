/**
 * Client-library drivers (grpc-js client, undici Pool): exact counts and
 * statuses against the real servers, timeouts and lost connections against
 * hostile ones, metadata, open loop, unreachable targets.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { grpcJsClientDriver, grpcStatusName, undiciClientDriver } from '../../bench/drivers/clients.ts';
import type { Target } from '../../bench/types.ts';
import { startServers, type Servers } from '../helpers/servers.ts';
import { freePort, loadOptions, payloadOf } from '../helpers/drivers.ts';

describe('client-library drivers against the real servers', () => {
  let servers: Servers;
  let grpcTarget: Target;
  let restTarget: Target;
  before(async () => {
    servers = await startServers();
    grpcTarget = { protocol: 'grpc', host: '127.0.0.1', port: servers.grpcPort };
    restTarget = { protocol: 'rest', url: servers.restUrl };
  });
  after(async () => {
    await servers.close();
  });

  test('names and protocols', () => {
    assert.equal(grpcJsClientDriver.name, 'grpc-js-client');
    assert.deepEqual(grpcJsClientDriver.protocols, ['grpc']);
    assert.equal(undiciClientDriver.name, 'undici-client');
    assert.deepEqual(undiciClientDriver.protocols, ['rest']);
    assert.equal(grpcStatusName(0), 'OK');
    assert.equal(grpcStatusName(3), 'INVALID_ARGUMENT');
  });

  test('grpc-js client: exact count, all OK, a latency per call', async () => {
    const result = await grpcJsClientDriver.run(loadOptions(grpcTarget, { requests: 300 }));
    assert.equal(result.failure, undefined);
    assert.equal(result.calls, 300);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { OK: 300 });
    assert.equal(result.latencyUs.totalCount, 300);
    assert.equal(result.socketBytes, null);
    assert.ok(result.elapsedS > 0);
  });

  test('grpc-js client: gRPC errors count by status name', async () => {
    const result = await grpcJsClientDriver.run(loadOptions(grpcTarget, { requests: 40, payload: payloadOf('divide', { a: 1, b: 0 }) }));
    assert.deepEqual(result.statusCounts, { INVALID_ARGUMENT: 40 });
    assert.equal(result.errors, 40);
  });

  test('grpc-js client: open loop with `requests`', async () => {
    const result = await grpcJsClientDriver.run(loadOptions(grpcTarget, { rate: 500, requests: 100 }));
    assert.deepEqual(result.statusCounts, { OK: 100 });
  });

  test('undici client: exact count, all 200', async () => {
    const result = await undiciClientDriver.run(loadOptions(restTarget, { requests: 300 }));
    assert.equal(result.failure, undefined);
    assert.equal(result.calls, 300);
    assert.deepEqual(result.statusCounts, { '200': 300 });
    assert.equal(result.latencyUs.totalCount, 300);
    assert.equal(result.socketBytes, null);
  });

  test('undici client: HTTP errors count by status', async () => {
    const result = await undiciClientDriver.run(loadOptions(restTarget, { requests: 40, payload: payloadOf('add', { a: 'x', b: 1 }) }));
    assert.deepEqual(result.statusCounts, { '400': 40 });
    assert.equal(result.errors, 40);
  });

  test('undici client: duration mode ends on time', async () => {
    const result = await undiciClientDriver.run(loadOptions(restTarget, { durationS: 0.5 }));
    assert.ok(result.calls > 0);
    assert.equal(result.errors, 0);
    assert.ok(result.elapsedS < 3);
  });
});

describe('client-library drivers against hostile servers', () => {
  test('grpc-js client: a server that never answers gives timeouts only', async () => {
    const server = http2.createServer();
    server.on('stream', () => {
      // accept the stream, never answer
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await grpcJsClientDriver.run(
        loadOptions({ protocol: 'grpc', host: '127.0.0.1', port }, { durationS: 0.6, timeoutMs: 150, concurrency: 2, connections: 1 }),
      );
      assert.deepEqual(Object.keys(result.statusCounts), ['timeout']);
      assert.ok(result.statusCounts.timeout! >= 4, JSON.stringify(result.statusCounts));
      assert.equal(result.errors, result.calls);
    } finally {
      server.close();
    }
  });

  test('grpc-js client: nothing listening fails with a reason', async () => {
    const port = await freePort();
    const result = await grpcJsClientDriver.run(loadOptions({ protocol: 'grpc', host: '127.0.0.1', port }, { requests: 5 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /cannot connect/);
  });

  test('undici client: timeouts, dropped connections and metadata', async () => {
    let mode: 'hang' | 'drop' | 'header' = 'hang';
    const server = http.createServer((req, res) => {
      req.resume();
      if (mode === 'hang') return;
      if (mode === 'drop') return req.socket.destroy();
      res.writeHead(req.headers['x-run'] === 'r1' ? 200 : 401, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const hung = await undiciClientDriver.run(loadOptions({ protocol: 'rest', url }, { durationS: 0.6, timeoutMs: 150, concurrency: 2 }));
      assert.deepEqual(Object.keys(hung.statusCounts), ['timeout']);
      assert.ok(hung.statusCounts.timeout! >= 4);

      mode = 'drop';
      const dropped = await undiciClientDriver.run(loadOptions({ protocol: 'rest', url }, { requests: 10, concurrency: 2 }));
      assert.deepEqual(dropped.statusCounts, { 'connection-error': 10 });

      mode = 'header';
      const withMetadata = await undiciClientDriver.run(loadOptions({ protocol: 'rest', url }, { requests: 10, metadata: { 'x-run': 'r1' } }));
      assert.deepEqual(withMetadata.statusCounts, { '200': 10 });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('undici client: nothing listening fails with a reason', async () => {
    const port = await freePort();
    const result = await undiciClientDriver.run(loadOptions({ protocol: 'rest', url: `http://127.0.0.1:${port}` }, { requests: 5 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /cannot connect.*refused/);
  });
});
