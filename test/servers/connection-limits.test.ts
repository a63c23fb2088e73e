/**
 * ServerOptions.maxConnectionCalls / maxConnectionAgeMs on our own servers,
 * driven by the bench's own generators over real sockets: a server that ends
 * connections on purpose costs no errors (gRPC's GOAWAY leaves unprocessed
 * calls for grpc-engine to send again; REST's `connection: close` tells
 * http1-engine to reconnect), and connectionsOpened shows how many it took.
 * The serve CLI's flags: test/servers/servers.test.ts style, as a child process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grpcEngine } from '../../bench/drivers/grpc-engine.ts';
import { http1Engine } from '../../bench/drivers/http1-engine.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { startRestServer } from '../../servers/rest-server.ts';
import type { RunningServer, ServerOptions } from '../../servers/server-options.ts';
import { grpcEngineOptions, loadOptions } from '../helpers/drivers.ts';
import { rawHttp, httpPost, spawnServe } from '../helpers/servers.ts';

async function withServer(start: (options: ServerOptions) => Promise<RunningServer>, limits: Partial<ServerOptions>, body: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await start({ host: '127.0.0.1', port: 0, ...limits });
  try {
    await body(server);
  } finally {
    await server.close(1_000);
  }
}

/*
 * Why 8..13 connections for 1,000 calls at 100 per connection: ideally 10.
 * gRPC: the server counts a stream when it starts; streams the client opened
 * before it read the GOAWAY but that reached the server first are still taken,
 * so a connection can carry up to 100 + (in flight - 1) calls (fewer
 * connections, not below 1000 / 115 ≈ 8.7), and the calls refused go to the
 * next one. REST: 2 connections at a time, each closing after its 100th
 * answer; the two lanes need not split the calls evenly, so the last
 * connection of each lane may be partly used (at most 2 more than 10).
 */
const CALLS = 1_000;
const MIN_CONNECTIONS = 8;
const MAX_CONNECTIONS = 13;

describe('maxConnectionCalls 100, 1,000 calls', () => {
  test('gRPC (grpc-engine, 16 in flight on 1 connection): 0 errors, about 10 connections', async () => {
    await withServer(startGrpcServer, { maxConnectionCalls: 100 }, async (server) => {
      const result = await grpcEngine.run(grpcEngineOptions(server.port, { requests: CALLS, concurrency: 16, timeoutMs: 10_000 }));
      assert.deepEqual(result.statusCounts, { OK: CALLS });
      assert.equal(result.errors, 0);
      const opened = result.connectionsOpened ?? 0;
      assert.ok(opened >= MIN_CONNECTIONS && opened <= MAX_CONNECTIONS, `${opened} connections, retried ${result.retried}`);
    });
  });

  test('REST (http1-engine, 2 connections): 0 errors, about 10 connections, nothing to retry', async () => {
    await withServer(startRestServer, { maxConnectionCalls: 100 }, async (server) => {
      const result = await http1Engine.run(loadOptions({ protocol: 'rest', url: server.address }, { requests: CALLS, concurrency: 2, connections: 2 }));
      assert.deepEqual(result.statusCounts, { '200': CALLS });
      assert.equal(result.errors, 0);
      // Each close is announced with the answer (connection: close): no request is ever lost to it.
      assert.equal(result.retried, 0);
      const opened = result.connectionsOpened ?? 0;
      assert.ok(opened >= MIN_CONNECTIONS && opened <= MAX_CONNECTIONS, `${opened} connections`);
    });
  });

  test('REST, maxConnectionCalls 3: the 3rd answer on a connection says connection: close, the 2nd does not', async () => {
    await withServer(startRestServer, { maxConnectionCalls: 3 }, async (server) => {
      const request = httpPost('/v1/add', '{"a":20,"b":10}', { connection: 'keep-alive' });
      const response = await rawHttp(server.port, Buffer.concat([request, request, request]));
      const heads = response.raw.match(/HTTP\/1\.1 [\s\S]*?\r\n\r\n/g) ?? [];
      assert.equal(heads.length, 3, response.raw);
      assert.doesNotMatch(heads[1]!, /connection: close/i);
      assert.match(heads[2]!, /connection: close/i);
    });
  });
});

describe('maxConnectionAgeMs 300 ms, 1.5 s of closed-loop load', () => {
  // Lower bounds only: a busy machine runs fewer calls, never younger connections.
  test('gRPC: 0 errors, more than one connection', async () => {
    await withServer(startGrpcServer, { maxConnectionAgeMs: 300 }, async (server) => {
      const result = await grpcEngine.run(grpcEngineOptions(server.port, { durationS: 1.5, concurrency: 8, timeoutMs: 10_000 }));
      assert.ok(result.calls > 0);
      assert.equal(result.errors, 0, JSON.stringify(result.statusCounts));
      assert.ok((result.connectionsOpened ?? 0) >= 2, `${result.connectionsOpened} connections`);
    });
  });

  test('REST: 0 errors, more than one connection per lane', async () => {
    await withServer(startRestServer, { maxConnectionAgeMs: 300 }, async (server) => {
      const result = await http1Engine.run(loadOptions({ protocol: 'rest', url: server.address }, { durationS: 1.5, concurrency: 2, connections: 2 }));
      assert.ok(result.calls > 0);
      assert.equal(result.errors, 0, JSON.stringify(result.statusCounts));
      assert.ok((result.connectionsOpened ?? 0) >= 4, `${result.connectionsOpened} connections`);
    });
  });
});

describe('bad limits are refused with the field and the range', () => {
  test('startGrpcServer / startRestServer', async () => {
    await assert.rejects(startGrpcServer({ host: '127.0.0.1', port: 0, maxConnectionCalls: 0 }), /maxConnectionCalls must be a whole number from 1 up, got 0/);
    await assert.rejects(startRestServer({ host: '127.0.0.1', port: 0, maxConnectionAgeMs: 1.5 }), /maxConnectionAgeMs must be a whole number of ms from 1 to 2147483647, got 1.5/);
  });

  for (const [args, message] of [
    [['--max-connection-calls', '0'], /^error: --max-connection-calls must be a whole number from 1 up, got "0"/],
    [['--max-connection-age', 'soon'], /^error: --max-connection-age must be a duration: .*got "soon"/],
  ] as const) {
    test(`serve ${args.join(' ')}: exit 2, one line`, async () => {
      const serve = await spawnServe([...args], { ready: false });
      assert.equal((await serve.exited).code, 2);
      assert.match(serve.stderr(), message);
    });
  }

  test('serve --max-connection-calls 5 --max-connection-age 1m starts both servers', async () => {
    const serve = await spawnServe(['--grpc-port', '0', '--rest-port', '0', '--max-connection-calls', '5', '--max-connection-age', '1m']);
    try {
      assert.ok(serve.grpcAddress && serve.restUrl);
    } finally {
      await serve.stop();
    }
  });
});
