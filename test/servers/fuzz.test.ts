/**
 * Fuzz: random and mutated requests at both servers, running as a child process
 * (servers/serve.ts), for a bounded time each (FUZZ_MS, default 4 s; both
 * protocols run side by side; raise FUZZ_MS for a longer soak). A seeded PRNG drives everything; the seed is
 * printed, and FUZZ_SEED=<n> replays a run. Asserts: the child never dies, every
 * request is answered or cut within a timeout (no hang), every answer has the
 * documented shape and no internals, no unhandled rejection in this process, and
 * a valid call still works afterwards.
 */
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { OPERATIONS, type Operation } from '../../servers/calculator.ts';
import { encodeRequest, grpcMethodPath } from '../../servers/proto.ts';
import { callGrpc, callRest, createGrpcClient } from '../../scripts/client.ts';
import { connectH2, grpcFrame, rawGrpc, spawnServe, type ServeChild } from '../helpers/servers.ts';
import { mulberry32 } from '../../bench/scenario/payloads.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const DURATION_MS = Number(process.env.FUZZ_MS ?? 4_000);
const WORKERS = 8;
const REQUEST_TIMEOUT_MS = 5_000;
const LEAK = /\bat \S+ \(|node_modules|\/work\/|[\w-]+\.(ts|js):\d+|Error:|\bstack\b/i;
const KNOWN_CODES = new Set(['INVALID_ARGUMENT', 'OUT_OF_RANGE', 'RESOURCE_EXHAUSTED', 'NOT_FOUND', 'UNIMPLEMENTED', 'DEADLINE_EXCEEDED']);

/** Seeded uniform numbers in [0, 1): same seed, same sequence. */
function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4_294_967_296;
}

class Gen {
  constructor(readonly random: () => number) {}
  int(max: number): number {
    return Math.floor(this.random() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  double(): number {
    return this.pick([
      () => this.random() * 200 - 100,
      () => this.int(1000),
      () => (this.random() - 0.5) * 1e308 * 2,
      () => this.random() * 5e-324 * 10,
      () => this.pick([0, -0, 1, -1, 20, 10, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity]),
      () => Buffer.from(this.bytes(8)).readDoubleLE(0),
    ])();
  }
  /** A JSON-ish value of any type, nested a little. */
  value(depth = 0): unknown {
    const kind = this.int(depth > 2 ? 5 : 7);
    switch (kind) {
      case 0:
        return this.double();
      case 1:
        return this.pick(['20', '', 'NaN', '1e999', '\u0000', 'x'.repeat(this.int(50))]);
      case 2:
        return this.chance(0.5);
      case 3:
        return null;
      case 4:
        return this.int(100);
      case 5:
        return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: this.int(3) }, () => [this.pick(['a', 'b', 'values', '__proto__', 'x']), this.value(depth + 1)]));
    }
  }
  /** Byte-level mutation: flip, insert, delete, duplicate, truncate, splice a token. */
  mutate(input: Buffer, rounds = 1 + this.int(4)): Buffer {
    let data = input;
    const tokens = ['NaN', '1e999', '-', '[', ']', '{', '}', '"', ',', ':', 'null', 'true', '\\u0000', '\\', '\r\n', '0x', '9'.repeat(400)];
    for (let r = 0; r < rounds; r++) {
      const at = data.length === 0 ? 0 : this.int(data.length);
      switch (this.int(6)) {
        case 0:
          if (data.length) {
            data = Buffer.from(data);
            data[at] ^= 1 << this.int(8);
          }
          break;
        case 1:
          data = Buffer.concat([data.subarray(0, at), this.bytes(1 + this.int(4)), data.subarray(at)]);
          break;
        case 2:
          data = Buffer.concat([data.subarray(0, at), data.subarray(at + 1 + this.int(8))]);
          break;
        case 3:
          data = Buffer.concat([data.subarray(0, at), data.subarray(at, at + 1 + this.int(16)), data.subarray(at)]);
          break;
        case 4:
          data = data.subarray(0, at);
          break;
        default:
          data = Buffer.concat([data.subarray(0, at), Buffer.from(this.pick(tokens)), data.subarray(at)]);
      }
    }
    return data;
  }
}

// ---- REST ------------------------------------------------------------------------

function validInput(gen: Gen, operation: Operation): object {
  return operation === 'sum' ? { values: Array.from({ length: 1 + gen.int(20) }, () => gen.double()) } : { a: gen.double(), b: gen.double() };
}

function restRequest(gen: Gen): Buffer {
  const operation = gen.pick(OPERATIONS);
  let body: Buffer;
  const shape = gen.int(4);
  if (shape === 0) body = Buffer.from(JSON.stringify(validInput(gen, operation)));
  else if (shape === 1) body = Buffer.from(JSON.stringify(gen.value()) ?? '');
  else body = gen.mutate(Buffer.from(JSON.stringify(validInput(gen, operation))));
  const method = gen.chance(0.85) ? 'POST' : gen.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'FOO']);
  const path = gen.chance(0.85) ? `/v1/${operation}` : gen.pick(['/', '/v1/', '/v1/pow', '/healthz', `/v1/${operation}/x`, '/%zz', `/v1/${operation}?q=1`, '//v1/add']);
  const headers: string[] = ['host: 127.0.0.1', 'connection: close'];
  if (gen.chance(0.9)) headers.push(`content-type: ${gen.chance(0.8) ? 'application/json' : gen.pick(['text/plain', 'application/json; charset=latin1', '', 'application/*', 'application/json;;', 'multipart/x'])}`);
  const length = gen.chance(0.9) ? body.length : Math.max(0, body.length + gen.int(21) - 10);
  if (gen.chance(0.9)) headers.push(`content-length: ${length}`);
  if (gen.chance(0.05)) headers.push(`content-encoding: ${gen.pick(['gzip', 'identity', 'x'])}`);
  let request: Buffer = Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  // Now and then, mutate the head too (request line, header syntax).
  if (gen.chance(0.1)) request = gen.mutate(request, 1);
  return request;
}

interface RestResult {
  answered: boolean;
  status?: number;
  head?: string;
  body?: string;
}

/** One request on a fresh connection, write side half-closed after sending; never hangs past the timeout. */
function sendRest(port: number, request: Buffer): Promise<RestResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`REST request hung for ${REQUEST_TIMEOUT_MS} ms: ${JSON.stringify(request.toString('latin1').slice(0, 300))}`));
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
    socket.on('error', () => {
      /* a reset counts as "cut", checked at close */
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (!match || end < 0) return resolve({ answered: false });
      // Only the first answer: a mutated content-length can make the rest of the bytes a second (bad) request.
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      const rest = received.subarray(end + 4);
      const body = (length === undefined ? rest : rest.subarray(0, Number(length))).toString('utf8');
      resolve({ answered: true, status: Number(match[1]), head: text.slice(0, end), body });
    });
    socket.end(request);
  });
}

function checkRestAnswer(result: RestResult, request: Buffer): void {
  if (!result.answered) return;
  const context = `request ${JSON.stringify(request.toString('latin1').slice(0, 200))} -> ${result.head?.split('\r\n')[0]} ${result.body?.slice(0, 200)}`;
  assert.doesNotMatch(result.body!, LEAK, context);
  // HEAD answers carry content-length but no body.
  if (result.body === '' || request.toString('latin1').startsWith('HEAD ')) return;
  const body = JSON.parse(result.body!) as { value?: unknown; error?: { code?: unknown; message?: unknown }; status?: unknown };
  if (result.status === 200) {
    assert.ok(typeof body.value === 'number' || body.status === 'SERVING', context);
  } else {
    assert.deepEqual(Object.keys(body), ['error'], context);
    assert.ok(KNOWN_CODES.has(String(body.error?.code)), context);
    assert.equal(typeof body.error?.message, 'string', context);
  }
}

// ---- gRPC -----------------------------------------------------------------------

function grpcRequest(gen: Gen): { path: string; body: Buffer; headers: Record<string, string | undefined> } {
  const operation = gen.pick(OPERATIONS);
  let message: Buffer = Buffer.from(encodeRequest(operation, validInput(gen, operation)));
  if (operation !== 'sum' && gen.chance(0.2)) message = message.subarray(0, gen.chance(0.5) ? 0 : 9); // drop operands
  let body: Buffer;
  switch (gen.int(5)) {
    case 0:
      body = grpcFrame(message);
      break;
    case 1:
      body = grpcFrame(gen.mutate(message));
      break;
    case 2:
      body = gen.mutate(grpcFrame(message)); // prefix included
      break;
    case 3:
      body = grpcFrame(message, { compressed: gen.chance(0.5), declaredLength: gen.chance(0.5) ? gen.int(message.length + 10) : message.length });
      break;
    default:
      body = grpcFrame(gen.bytes(gen.int(64)));
  }
  if (gen.chance(0.05)) body = Buffer.concat([body, grpcFrame(message)]);
  const path = gen.chance(0.9) ? grpcMethodPath(operation) : gen.pick(['/', '/calculator.v1.Calculator/Pow', '/grpc.health.v1.Health/Check', '/x', `${grpcMethodPath(operation)}/`]);
  const headers: Record<string, string | undefined> = {};
  if (gen.chance(0.1)) headers['content-type'] = gen.pick(['application/json', 'application/grpc+proto', 'application/grpc+json', undefined]);
  if (gen.chance(0.1)) headers['grpc-encoding'] = gen.pick(['gzip', 'deflate', 'identity', 'br', 'x']);
  if (gen.chance(0.1)) headers['grpc-timeout'] = gen.pick(['1S', '100m', 'x', '99999999H', '1n']);
  if (gen.chance(0.05)) headers.te = undefined;
  return { path, body, headers };
}

describe(`fuzz (seed ${SEED}, ${DURATION_MS} ms per protocol)`, { concurrency: true }, () => {
  let serve: ServeChild;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };

  before(async () => {
    console.log(`# fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    process.on('unhandledRejection', onRejection);
    serve = await spawnServe(['--grpc-port', '0', '--rest-port', '0']);
  });
  after(async () => {
    process.off('unhandledRejection', onRejection);
    assert.deepEqual(rejections, [], 'no unhandled rejection during the fuzz run');
    const exit = await serve.stop('SIGTERM');
    assert.equal(exit.code, 0, `serve stderr: ${serve.stderr()}`);
  });

  test('REST: random and mutated requests', async () => {
    const port = Number(new URL(serve.restUrl!).port);
    const deadline = Date.now() + DURATION_MS;
    const counts = { sent: 0, answered: 0, cut: 0 };
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, worker) => {
        const gen = new Gen(prng(SEED + worker));
        while (Date.now() < deadline) {
          const request = restRequest(gen);
          const result = await sendRest(port, request);
          counts.sent++;
          if (result.answered) counts.answered++;
          else counts.cut++;
          checkRestAnswer(result, request);
          assert.equal(serve.child.exitCode, null, `server died; stderr: ${serve.stderr()}`);
        }
      }),
    );
    console.log(`# REST fuzz: ${JSON.stringify(counts)}`);
    assert.ok(counts.answered > counts.sent / 2, `most requests get an answer: ${JSON.stringify(counts)}`);
    assert.deepEqual(await callRest(serve.restUrl!, 'add', { a: 20, b: 10 }), { ok: true, value: 30 });
  });

  test('gRPC: random and mutated streams, plus garbage HTTP/2 connections', async () => {
    const deadline = Date.now() + DURATION_MS;
    const counts = { sent: 0, statuses: {} as Record<string, number>, garbageConnections: { closed: 0, held: 0 } };
    await Promise.all(
      Array.from({ length: WORKERS }, async (_, worker) => {
        const gen = new Gen(prng(SEED + 1000 + worker));
        let session: http2.ClientHttp2Session | undefined;
        let used = 0;
        while (Date.now() < deadline) {
          if (gen.chance(0.02)) {
            counts.garbageConnections[await garbageHttp2Connection(serve.grpcAddress!, gen)]++;
            continue;
          }
          if (!session || session.closed || session.destroyed || used++ > 200) {
            session?.close();
            session = await connectH2(serve.grpcAddress!);
            session.on('error', () => {});
            used = 0;
          }
          const request = grpcRequest(gen);
          const response = await rawGrpc(session, { ...request, timeoutMs: REQUEST_TIMEOUT_MS });
          counts.sent++;
          const key = response.grpcStatus !== undefined ? grpc.status[response.grpcStatus] : response.httpStatus ? `HTTP ${response.httpStatus}` : `reset ${response.resetCode}`;
          counts.statuses[key] = (counts.statuses[key] ?? 0) + 1;
          const context = `${request.path} ${JSON.stringify(request.headers)} ${request.body.toString('hex').slice(0, 120)} -> ${key} ${response.grpcMessage}`;
          if (response.grpcStatus === undefined) {
            assert.ok(response.httpStatus === 415 || response.resetCode !== undefined, context);
          } else {
            assert.notEqual(response.grpcStatus, grpc.status.INTERNAL, context);
            assert.notEqual(response.grpcStatus, grpc.status.UNKNOWN, context);
            assert.doesNotMatch(response.grpcMessage ?? '', LEAK, context);
          }
          assert.equal(serve.child.exitCode, null, `server died; stderr: ${serve.stderr()}`);
        }
        session?.close();
      }),
    );
    console.log(`# gRPC fuzz: ${JSON.stringify(counts)}`);
    const client = createGrpcClient(serve.grpcAddress!);
    try {
      assert.deepEqual(await callGrpc(client, 'add', { a: 20, b: 10 }), { ok: true, value: 30 });
    } finally {
      client.close();
    }
  });
});

/**
 * The HTTP/2 preface, then random bytes, then FIN. Usually the server drops the
 * connection at once. Known gap (docs/api.md): when the bytes end inside a frame
 * (e.g. a header announcing a 1.5 MB frame), grpc-js/nghttp2 keep waiting for the
 * frame even after the client's FIN, and keepalive does not close it. So a
 * connection still open after 1 s is counted as "held" and closed here; the
 * server must stay up and keep answering.
 */
async function garbageHttp2Connection(address: string, gen: Gen): Promise<'closed' | 'held'> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    const preface = gen.chance(0.8) ? Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') : Buffer.alloc(0);
    // Half the time whole frames (length field = payload length, random type/flags/stream), else raw noise.
    const frames = Array.from({ length: 1 + gen.int(3) }, () => {
      const payload = gen.bytes(gen.int(64));
      const header = Buffer.alloc(9);
      header.writeUIntBE(payload.length, 0, 3);
      header[3] = gen.int(10);
      header[4] = gen.int(256);
      header.writeUInt32BE(gen.int(8), 5);
      return Buffer.concat([header, payload]);
    });
    const bytes = Buffer.concat([preface, gen.chance(0.5) ? Buffer.concat(frames) : gen.bytes(1 + gen.int(200))]);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('held');
    }, 1_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.end(bytes);
  });
}
