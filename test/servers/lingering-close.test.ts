/**
 * A body over the limit is answered with 413 the moment the limit is crossed
 * (test/servers/hostile-input.test.ts); these tests check that a client which is
 * still writing its body actually READS that answer. Closing a socket with
 * unread bytes makes the kernel send RST, which discards the 413 on the
 * client's side before it is read: the client saw EPIPE/ECONNRESET. The HTTP/1.1
 * servers now linger (servers/rest-server.ts, lingerBeforeClosing).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { getContender } from '../../servers/contenders/index.ts';
import { listenHttp1 } from '../../servers/listen.ts';
import { createHttp1Server, createRestApp, REST_SERVER_LIMITS, TOO_LARGE_MESSAGE } from '../../servers/rest-server.ts';
import type { RunningServer } from '../../servers/server-options.ts';

const BODY_BYTES = 20 * 1024 * 1024;
const TOO_LARGE_BODY = JSON.stringify({ error: { code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE_MESSAGE } });

/**
 * Writes the whole 20 MB body before reading a byte (as a simple blocking client
 * does), then reads to the end. Resolves with what arrived and the socket error, if any.
 */
function writeAllThenRead(port: number, framing: 'declared' | 'chunked'): Promise<{ received: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.pause();
    let received = '';
    let error: string | undefined;
    socket.on('error', (reason: NodeJS.ErrnoException) => (error = reason.code ?? reason.message));
    socket.on('close', () => resolve({ received, error }));
    const head = framing === 'declared' ? `content-length: ${BODY_BYTES}\r\n` : 'transfer-encoding: chunked\r\n';
    socket.write(`POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${head}\r\n`);
    const body = Buffer.alloc(BODY_BYTES, 0x20);
    const framed = framing === 'declared' ? body : Buffer.concat([Buffer.from(`${BODY_BYTES.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    socket.end(framed, () => {
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.resume();
    });
  });
}

/** node:http's client with the 20 MB body: it reads while it writes, and must end with the 413, no error. */
function httpClient(port: number): Promise<{ status?: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    let body = '';
    const request = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/add', agent: false, headers: { 'content-type': 'application/json', 'content-length': BODY_BYTES } },
      (response) => {
        response.setEncoding('latin1');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => setImmediate(() => resolve({ status: response.statusCode, body, error })));
      },
    );
    let error: string | undefined;
    request.on('error', (reason: NodeJS.ErrnoException) => {
      error = reason.code ?? reason.message;
      resolve({ body, error });
    });
    request.end(Buffer.alloc(BODY_BYTES, 0x20));
  });
}

// The HTTP/1.1 contenders that share the body limit (connect-h1 has its own, answered by connect-node).
for (const name of ['express', 'fastify', 'node-http']) {
  describe(`${name}: a 20 MB body gets its 413 over a real socket`, () => {
    let server: RunningServer;
    before(async () => {
      server = await getContender(name).start({ host: '127.0.0.1', port: 0 });
    });
    after(() => server.close(1_000));

    for (const framing of ['declared', 'chunked'] as const) {
      test(`a client that writes all 20 MB (${framing === 'declared' ? 'content-length' : 'chunked'}) before reading gets the 413`, async () => {
        const { received, error } = await writeAllThenRead(server.port, framing);
        assert.equal(error, undefined, `socket error after ${received.length} bytes of answer`);
        assert.match(received, /^HTTP\/1\.1 413 /, received.slice(0, 200));
        assert.match(received, /\r\nconnection: close\r\n/i);
        assert.ok(received.endsWith(TOO_LARGE_BODY), received);
      });
    }

    test('node:http client: status 413 and no EPIPE/ECONNRESET', async () => {
      const outcome = await httpClient(server.port);
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.status, 413);
      assert.equal(outcome.body, TOO_LARGE_BODY);
    });
  });
}

describe('lingering is bounded', () => {
  test('a client that goes silent after the 413 is closed once it sent nothing for lingerIdleMs', async () => {
    // The express app on a server of our own, to see when the SERVER closes the connection: after its
    // FIN, closing sends nothing a half-open client that never writes again could notice.
    const server = createHttp1Server({ host: '127.0.0.1', port: 0 }, createRestApp());
    const serverClosed = new Promise<number>((resolve) => server.once('connection', (socket: net.Socket) => socket.once('close', () => resolve(Date.now()))));
    const running = await listenHttp1(server, { host: '127.0.0.1', port: 0 }, 'REST');
    // allowHalfOpen: the server's FIN does not make this client close its side (which ends the lingering at once).
    const socket = net.connect({ port: running.port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      // 100 MB declared, 1 MB sent, then nothing; the client never closes its side.
      socket.write(`POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n`);
      await new Promise<void>((resolve) => socket.write(Buffer.alloc(1024 * 1024, 0x20), () => resolve()));
      const lastWrite = Date.now();
      let cap: NodeJS.Timeout | undefined;
      const closedAt = await Promise.race([serverClosed, new Promise<number>((resolve) => (cap = setTimeout(() => resolve(NaN), 20_000)))]);
      clearTimeout(cap);
      const silentFor = closedAt - lastWrite;
      assert.match(received, /^HTTP\/1\.1 413 /);
      // Lower bound: it did linger (minus one 100 ms poll); upper bound wide (a busy 2-core machine), far below "forever".
      assert.ok(silentFor >= REST_SERVER_LIMITS.lingerIdleMs - 200, `the server closed ${silentFor} ms after the last byte`);
      assert.ok(silentFor < REST_SERVER_LIMITS.lingerMs + 5_000, `the server still held the connection after ${silentFor} ms`);
    } finally {
      socket.destroy();
      await running.close(500);
    }
  });
});
