/**
 * The serve CLI as users run it: a child process (servers/serve.ts under tsx).
 * Ready lines, --only, health, bind errors, graceful shutdown on SIGTERM/SIGINT
 * with a call in flight, and bad flags.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO_PATH } from 'grpc-health-check';
import { callGrpc, callRest, createGrpcClient } from '../../scripts/client.ts';
import {
  connectH2,
  decodeResultByHand,
  encodeOperandsByHand,
  grpcFrame,
  httpPost,
  rawGrpc,
  rawHttp,
  spawnServe,
} from '../helpers/servers.ts';

const PORTS_0 = ['--grpc-port', '0', '--rest-port', '0'];

type HealthClient = grpc.Client & {
  check(request: { service: string }, callback: (error: grpc.ServiceError | null, response?: { status: string }) => void): void;
};

function healthClient(address: string): HealthClient {
  const definition = protoLoader.loadSync(HEALTH_PROTO_PATH, { keepCase: true, enums: String, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => HealthClient } } };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

function check(client: HealthClient, service: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.check({ service }, (error, response) => (error ? reject(error) : resolve(response!.status)));
  });
}

/** A TCP port held open on 127.0.0.1, so the server cannot bind it. */
async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => blocker.close(() => resolve())) };
}

function assertOneCleanLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  assert.doesNotMatch(stderr, /\bat \S+ \(|node:internal|\.ts:\d+|Error: /, `no stack trace: ${stderr}`);
}

describe('serve CLI (child process)', () => {
  test('port 0: one ready line per server with the bound address; both answer; health SERVING', async () => {
    const serve = await spawnServe(PORTS_0);
    try {
      const lines = serve.stdout().trim().split('\n');
      assert.equal(lines.length, 2, serve.stdout());
      assert.match(lines[0], /^gRPC server listening on 127\.0\.0\.1:\d+$/);
      assert.match(lines[1], /^REST server listening on http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(serve.grpcAddress!.split(':')[1], '0');

      const client = createGrpcClient(serve.grpcAddress!);
      const health = healthClient(serve.grpcAddress!);
      try {
        assert.deepEqual(await callGrpc(client, 'add', { a: 20, b: 10 }), { ok: true, value: 30 });
        assert.equal(await check(health, ''), 'SERVING');
        assert.equal(await check(health, 'calculator.v1.Calculator'), 'SERVING');
      } finally {
        client.close();
        health.close();
      }
      assert.deepEqual(await callRest(serve.restUrl!, 'divide', { a: 20, b: 10 }), { ok: true, value: 2 });
      const healthz = await fetch(`${serve.restUrl}/healthz`);
      assert.equal(healthz.status, 200);
      assert.deepEqual(await healthz.json(), { status: 'SERVING' });
    } finally {
      assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
    }
  });

  test('--only grpc starts only gRPC; --only rest only REST', async () => {
    const onlyGrpc = await spawnServe(['--only', 'grpc', ...PORTS_0]);
    try {
      assert.match(onlyGrpc.stdout(), /gRPC server listening/);
      assert.doesNotMatch(onlyGrpc.stdout(), /REST/);
    } finally {
      assert.equal((await onlyGrpc.stop()).code, 0);
    }
    const onlyRest = await spawnServe(['--only', 'rest', ...PORTS_0]);
    try {
      assert.match(onlyRest.stdout(), /REST server listening/);
      assert.doesNotMatch(onlyRest.stdout(), /gRPC/);
      assert.equal((await fetch(`${onlyRest.restUrl}/healthz`)).status, 200);
    } finally {
      assert.equal((await onlyRest.stop()).code, 0);
    }
  });

  for (const which of ['grpc', 'rest'] as const) {
    test(`${which} port already in use: exit non-zero, one clear line, no stack trace`, async () => {
      const blocker = await occupyPort();
      try {
        const flag = which === 'grpc' ? '--grpc-port' : '--rest-port';
        const other = which === 'grpc' ? '--rest-port' : '--grpc-port';
        const serve = await spawnServe([flag, String(blocker.port), other, '0'], { ready: false });
        const { code } = await serve.exited;
        assert.notEqual(code, 0);
        assertOneCleanLine(serve.stderr());
        assert.match(serve.stderr(), new RegExp(`^error: ${which === 'grpc' ? 'gRPC' : 'REST'} server: port ${blocker.port} on 127\\.0\\.0\\.1 is already in use`));
      } finally {
        await blocker.close();
      }
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} with a REST call in flight: the call completes, then exit 0`, async () => {
      const serve = await spawnServe(PORTS_0);
      const port = Number(new URL(serve.restUrl!).port);
      // Headers and the first third of the body now; the rest in two more pieces 400 ms apart.
      const body = '{"a":20,"b":10}';
      const request = `POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
      const inFlight = rawHttp(port, request, { chunks: 3, delayMs: 400 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      serve.child.kill(signal);
      const response = await inFlight;
      assert.equal(response.status, 200);
      assert.equal(response.body, '{"value":30}');
      assert.deepEqual(await serve.exited, { code: 0, signal: null });
    });
  }

  test('SIGTERM with a gRPC call in flight (message half sent): the call completes, then exit 0', async () => {
    const serve = await spawnServe(PORTS_0);
    const session = await connectH2(serve.grpcAddress!);
    try {
      const inFlight = rawGrpc(session, { path: '/calculator.v1.Calculator/Add', body: grpcFrame(encodeOperandsByHand(20, 10)), chunks: 2, delayMs: 600 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      serve.child.kill('SIGTERM');
      const response = await inFlight;
      assert.equal(response.grpcStatus, 0, response.grpcMessage);
      assert.equal(decodeResultByHand(response.data), 30);
    } finally {
      session.destroy();
    }
    assert.deepEqual(await serve.exited, { code: 0, signal: null });
  });

  test('after SIGTERM, new connections are refused while the in-flight call finishes', async () => {
    const serve = await spawnServe(['--only', 'rest', '--rest-port', '0']);
    const port = Number(new URL(serve.restUrl!).port);
    const body = '{"a":1,"b":2}';
    const inFlight = rawHttp(port, httpPost('/v1/add', body), { chunks: 2, delayMs: 800 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    serve.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assert.rejects(rawHttp(port, httpPost('/v1/add', body), { timeoutMs: 2_000 }));
    assert.equal((await inFlight).body, '{"value":3}');
    assert.equal((await serve.exited).code, 0);
  });

  const BAD_FLAGS: Array<[string[], RegExp]> = [
    [['--bogus'], /^error: Unknown option '--bogus'/],
    [['--only', 'http'], /^error: --only must be grpc or rest, got "http"/],
    [['--grpc-port', 'abc'], /^error: --grpc-port must be a port number from 0 to 65535, got "abc"/],
    [['--rest-port', '70000'], /^error: --rest-port must be a port number from 0 to 65535, got "70000"/],
    [['--host'], /^error: Option '--host <value>' argument missing/],
    [['stray'], /^error: Unexpected argument 'stray'/],
  ];
  describe('bad flags', { concurrency: true }, () => {
    for (const [args, message] of BAD_FLAGS) {
      test(`bad flags ${args.join(' ')}: exit 2, one line`, async () => {
        const serve = await spawnServe(args, { ready: false });
        assert.equal((await serve.exited).code, 2);
        assertOneCleanLine(serve.stderr());
        assert.match(serve.stderr(), message);
        assert.equal(serve.stdout(), '');
      });
    }
  });

  test('--help prints the usage on stdout and exits 0', async () => {
    const serve = await spawnServe(['--help'], { ready: false });
    assert.equal((await serve.exited).code, 0);
    assert.match(serve.stdout(), /^usage: serve /);
  });
});
