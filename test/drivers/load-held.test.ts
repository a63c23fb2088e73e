/**
 * Load held: 1,000 REST calls in flight at once, each on its own connection, and
 * 1,000 gRPC calls in flight at once as streams over 4 HTTP/2 connections. Every
 * call is opened first (headers and half its body sent) and only then finished,
 * so all of them are held by the server at the same moment. No speed assertions:
 * every call must complete with the right answer, and nothing may error.
 */
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GRPC_SERVER_CHANNEL_OPTIONS } from '../../servers/grpc-status.ts';
import { connectH2, decodeResultByHand, encodeOperandsByHand, fdLimit, grpcFrame, startServers, type Servers } from '../helpers/servers.ts';

const CALLS = 1_000;
const GRPC_CONNECTIONS = 4;
/** Both ends of 1,000 connections live in this process, plus node's own. */
const FDS_NEEDED = 2 * CALLS + 200;

const limit = fdLimit();
const skip = !(limit >= FDS_NEEDED) ? `open-file limit is ${limit}, need ${FDS_NEEDED} (raise it with ulimit -n ${FDS_NEEDED})` : false;

describe('load held', { skip }, () => {
  let servers: Servers;
  before(async () => {
    servers = await startServers();
  });
  after(async () => {
    await servers.close();
  });

  test(`${CALLS} concurrent REST connections, each with a call in flight`, { timeout: 30_000 }, async () => {
    const body = (i: number): string => JSON.stringify({ a: i, b: 10 });
    // Phase 1: connect (in batches, so the listen backlog never overflows) and send
    // headers plus the first half of each body.
    const sockets: net.Socket[] = [];
    const answers: Array<Promise<string>> = [];
    for (let start = 0; start < CALLS; start += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, CALLS - start) }, (_, k) => openRestCall(servers.restPort, start + k, body(start + k))),
      );
      for (const { socket, answer } of batch) {
        sockets.push(socket);
        answers.push(answer);
      }
    }
    assert.equal(sockets.length, CALLS);
    // Phase 2: every call is open; finish the bodies.
    sockets.forEach((socket, i) => {
      const text = body(i);
      socket.write(text.slice(Math.floor(text.length / 2)));
    });
    const results = await Promise.all(answers);
    results.forEach((raw, i) => {
      assert.match(raw, /^HTTP\/1\.1 200 /, `call ${i}: ${raw.slice(0, 200)}`);
      assert.ok(raw.endsWith(`{"value":${i + 10}}`), `call ${i}: ${raw.slice(-100)}`);
    });
    for (const socket of sockets) socket.destroy();
  });

  test(`${CALLS} concurrent gRPC streams over ${GRPC_CONNECTIONS} connections`, { timeout: 30_000 }, async () => {
    const perConnection = CALLS / GRPC_CONNECTIONS;
    assert.ok(perConnection <= Number(GRPC_SERVER_CHANNEL_OPTIONS['grpc.max_concurrent_streams']), 'within the server stream limit');
    const sessions: http2.ClientHttp2Session[] = [];
    for (let c = 0; c < GRPC_CONNECTIONS; c++) {
      const session = await connectH2(servers.grpcAddress);
      session.on('error', () => {});
      sessions.push(session);
    }
    try {
      // connectH2 resolved after the server's SETTINGS, so its stream limit is known.
      for (const session of sessions) assert.ok((session.remoteSettings.maxConcurrentStreams ?? 0) >= perConnection);

      // Phase 1: open every stream and send half of its message.
      const calls = Array.from({ length: CALLS }, (_, i) => openGrpcCall(sessions[i % GRPC_CONNECTIONS], i));
      await Promise.all(calls.map((call) => call.opened));
      // Phase 2: all open; finish them.
      for (const call of calls) call.finish();
      const results = await Promise.all(calls.map((call) => call.result));
      results.forEach((result, i) => {
        assert.equal(result.grpcStatus, '0', `call ${i}: ${result.grpcStatus} ${result.grpcMessage}`);
        assert.equal(result.value, i + 10, `call ${i}`);
      });
    } finally {
      for (const session of sessions) session.close();
    }
  });
});

function openRestCall(port: number, index: number, body: string): Promise<{ socket: net.Socket; answer: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const answer = new Promise<string>((done, fail) => {
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        const end = received.indexOf('\r\n\r\n');
        const length = /content-length: *(\d+)/i.exec(received)?.[1];
        if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) done(received);
      });
      socket.on('close', () => fail(new Error(`REST call ${index}: connection closed after ${JSON.stringify(received.slice(0, 200))}`)));
    });
    answer.catch(() => {}); // observed by the test through Promise.all
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(
        `POST /v1/add HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n` +
          body.slice(0, Math.floor(body.length / 2)),
      );
      resolve({ socket, answer });
    });
  });
}

function openGrpcCall(session: http2.ClientHttp2Session, index: number) {
  const frame = grpcFrame(encodeOperandsByHand(index, 10));
  const stream = session.request({ ':method': 'POST', ':path': '/calculator.v1.Calculator/Add', 'content-type': 'application/grpc', te: 'trailers' });
  const chunks: Buffer[] = [];
  let trailers: http2.IncomingHttpHeaders = {};
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('trailers', (t) => (trailers = t));
  // Opened = headers and the first 10 bytes handed to the session (the write callback).
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.write(frame.subarray(0, 10), (error) => (error ? reject(error) : resolve()));
  });
  const result = new Promise<{ grpcStatus?: string; grpcMessage?: string; value?: number }>((resolve, reject) => {
    stream.once('error', reject);
    stream.on('close', () => {
      if (stream.rstCode) return reject(new Error(`gRPC call ${index}: stream reset with code ${stream.rstCode}`));
      const data = Buffer.concat(chunks);
      resolve({
        grpcStatus: trailers['grpc-status'] as string | undefined,
        grpcMessage: trailers['grpc-message'] as string | undefined,
        value: data.length ? decodeResultByHand(data) : undefined,
      });
    });
  });
  result.catch(() => {});
  return { opened, result, finish: () => stream.end(frame.subarray(10)) };
}
