/**
 * The stream load generator against the real servers: every operation on every
 * transport that serves it finishes all its streams with every total right, and
 * reports per-message figures from real answers; a failing stream is counted as
 * an error with the server's text, not as messages. Open loop keeps its
 * schedule (rate x streams x duration values), held streams end on time, and a
 * server stall shows in the open-loop latency (measured from each value's due
 * time) where the closed loop hides it.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { runStreamLoad } from '../../bench/drivers/streams/run.ts';
import type { StreamTransport } from '../../bench/drivers/streams/types.ts';
import { TRANSPORTS_BY_OPERATION as TRANSPORTS_OF } from '../../bench/options/options.ts';
import { buildStreamPayload } from '../../bench/scenario/matrix.ts';
import type { CallPayload, StreamAnswers } from '../../bench/types.ts';
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';
import { startServers, type Servers } from '../helpers/servers.ts';

describe('stream load generator', () => {
  let servers: Servers;
  const target = (transport: StreamTransport) => ({ host: '127.0.0.1', port: transport === 'grpc' ? servers.grpcPort : servers.restPort });

  before(async () => {
    servers = await startServers();
  });
  after(async () => {
    await servers.close();
  });

  for (const operation of STREAM_OPERATIONS) {
    for (const transport of TRANSPORTS_OF[operation]) {
      test(`${operation} over ${transport}: 4 streams x 300 messages`, async () => {
        const result = await runStreamLoad({ payload: buildStreamPayload(operation), transport, target: target(transport), streams: 4, messages: 300, connections: 1, serverPid: process.pid });
        assert.equal(result.firstError, null);
        assert.equal(result.errors, 0);
        assert.equal(result.messages, 1_200);
        assert.ok(result.messagesPerSecond > 0);
        // Samples per message: bidi 299 per stream (the first answer is the open cost), server streaming 299
        // inter-arrivals per stream, client streaming one per stream.
        const samples = operation === 'sum-stream' ? 4 : 4 * 299;
        assert.equal(result.latencyUs.totalCount, samples);
        assert.equal(result.openUs.totalCount, operation === 'sum-stream' ? 0 : 4);
        assert.notEqual(result.serverCpuMsPer1000, 0, 'a measured value or null, never a made-up 0');
      });
    }
  }

  test('a stream the server refuses is an error with its text, and no messages', async () => {
    // More values than prefix-sums takes: the server answers with an error before any total.
    const result = await runStreamLoad({ payload: buildStreamPayload('prefix-sums'), transport: 'grpc', target: target('grpc'), streams: 2, messages: 100_001, connections: 1, serverPid: null });
    assert.equal(result.errors, 2);
    assert.equal(result.messages, 0);
    assert.match(result.firstError ?? '', /gRPC status 3: field "values" holds 100001 numbers/);
  });

  for (const transport of TRANSPORTS_OF['running-sum']) {
    test(`open-loop running-sum over ${transport}: 4 streams at 200 msg/s for 1 s`, async () => {
      const result = await runStreamLoad({ payload: buildStreamPayload('running-sum'), transport, target: target(transport), streams: 4, rate: 200, durationMs: 1_000, connections: 1, serverPid: null });
      assert.equal(result.firstError, null);
      assert.equal(result.errors, 0);
      // The schedule, not the server's speed, sets the count: 200 x 4 x 1 s.
      assert.ok(result.messages >= 760 && result.messages <= 840, `${result.messages} messages, expected about 800`);
      assert.equal(result.latencyUs.totalCount, result.messages - 4, 'one sample per answer but each stream\'s first (the open cost)');
      assert.equal(result.openUs.totalCount, 4);
      // Held for 1 s, then half-closed: the run ends once the last answers are in, not later.
      assert.ok(result.elapsedS >= 1 && result.elapsedS < 1.5, `elapsed ${result.elapsedS} s`);
      assert.deepEqual([result.rate, result.durationMs, result.messagesPerStream], [200, 1_000, null]);
    });
  }

  test('open-loop sum-stream with a count: each stream sends its values at the rate, then half-closes', async () => {
    const result = await runStreamLoad({ payload: buildStreamPayload('sum-stream'), transport: 'ndjson', target: target('ndjson'), streams: 4, rate: 200, messages: 100, connections: 1, serverPid: null });
    assert.equal(result.firstError, null);
    assert.equal(result.messages, 400);
    assert.equal(result.latencyUs.totalCount, 4);
    // 100 values 5 ms apart: the last is due about 0.5 s after the first.
    assert.ok(result.elapsedS >= 0.49 && result.elapsedS < 1, `elapsed ${result.elapsedS} s`);
  });

  test('closed-loop running-sum held for 0.5 s ends on time', async () => {
    const result = await runStreamLoad({ payload: buildStreamPayload('running-sum'), transport: 'grpc', target: target('grpc'), streams: 4, durationMs: 500, connections: 1, serverPid: null });
    assert.equal(result.firstError, null);
    assert.ok(result.messages > 4, `${result.messages} messages`);
    assert.ok(result.elapsedS >= 0.5 && result.elapsedS < 1, `elapsed ${result.elapsedS} s`);
  });

  test('an abort mid-run cuts every open stream, each an error, and reports no progress after', async () => {
    const controller = new AbortController();
    let ended = false;
    let progressAfterEnd = 0;
    setTimeout(() => controller.abort(new Error('stalled')), 300);
    const result = await runStreamLoad({
      payload: buildStreamPayload('running-sum'),
      transport: 'grpc',
      target: target('grpc'),
      streams: 3,
      durationMs: 30_000,
      connections: 1,
      serverPid: null,
      signal: controller.signal,
      onProgress: () => void (ended && progressAfterEnd++),
    });
    ended = true;
    assert.equal(result.errors, 3);
    assert.equal(result.firstError, 'aborted');
    // Cut at the abort, long before the 30 s the streams were held for (wide: other tests share the machine).
    assert.ok(result.elapsedS < 10, `elapsed ${result.elapsedS} s`);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(progressAfterEnd, 0);
  });

  test('a pacing the operation cannot take is refused before any stream', async () => {
    await assert.rejects(
      runStreamLoad({ payload: buildStreamPayload('prefix-sums'), transport: 'grpc', target: target('grpc'), streams: 1, rate: 10, messages: 10, connections: 1, serverPid: null }),
      /PrefixSums is a server stream: it takes no --rate/,
    );
    await assert.rejects(
      runStreamLoad({ payload: buildStreamPayload('sum-stream'), transport: 'grpc', target: target('grpc'), streams: 1, durationMs: 100, connections: 1, serverPid: null }),
      /SumStream \(a client stream\) held for a --duration needs a --rate/,
    );
  });

  test('an operation a transport does not serve is refused before any stream', async () => {
    await assert.rejects(
      runStreamLoad({ payload: buildStreamPayload('sum-stream'), transport: 'websocket', target: target('websocket'), streams: 1, messages: 1, connections: 1, serverPid: null }),
      /SumStream is a client-stream method: it is not streamed over websocket/,
    );
  });
});

/**
 * A server stream whose length the server decides (an API card's, e.g.
 * StreamNotes): 4 answers per stream from small servers written here, over
 * gRPC (node:http2, length-prefixed messages) and NDJSON (a GET with its query,
 * grpc-gateway's {"result": ...} lines). Each lane opens its next stream when
 * the last ended; the generator counts and times, the payload's check reads
 * the values.
 */
describe('server streams of the server\'s length', () => {
  const PER_STREAM = 4;
  let grpcServer: http2.Http2Server;
  let restServer: http.Server;
  let grpcPort = 0;
  let restPort = 0;
  const requests: string[] = [];

  before(async () => {
    grpcServer = http2.createServer();
    grpcServer.on('stream', (stream, headers) => {
      requests.push(`grpc ${headers[':path']}`);
      stream.on('data', () => {});
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        // Message k is one protobuf byte, k (an empty message for k = 0 would be as good a message).
        const frames = Array.from({ length: PER_STREAM }, (_, k) => Buffer.from([0, 0, 0, 0, 1, k + 1]));
        stream.end(Buffer.concat(frames));
      });
    });
    restServer = http.createServer((req, res) => {
      requests.push(`rest ${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let k = 1; k <= PER_STREAM; k++) res.write(`{"result": {"k":${k}}}\n`);
      res.end();
    });
    await new Promise<void>((resolve) => grpcServer.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => restServer.listen(0, '127.0.0.1', resolve));
    grpcPort = (grpcServer.address() as AddressInfo).port;
    restPort = (restServer.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => grpcServer.close(resolve));
    restServer.closeAllConnections();
    await new Promise((resolve) => restServer.close(resolve));
  });

  const payload = (check?: StreamAnswers['check']): CallPayload => ({
    method: { api: 'notes.v1.Notes', name: 'StreamNotes', kind: 'server-stream', grpcPath: '/notes.v1.Notes/StreamNotes', rest: { verb: 'GET', pathTemplate: '/v1/{parent=users/*}/notes:stream' } },
    input: { parent: 'users/1' },
    protobuf: Buffer.from([0x0a, 0x07, ...Buffer.from('users/1')]),
    json: Buffer.alloc(0),
    restPath: '/v1/users/1/notes:stream?filter.titlePrefix=Meeting',
    ...(check ? { stream: { answers: { check } } } : {}),
  });
  /** Answer k of a stream is k: one protobuf byte, or {"k":k} once the {"result": ...} wrapping is off. */
  const inOrder: StreamAnswers['check'] = (index, message, encoding) => {
    const value = encoding === 'protobuf' ? message[0] : (JSON.parse(message.toString()) as { k: number }).k;
    return value === index + 1 ? null : `answer ${index + 1} was ${value}`;
  };

  for (const transport of ['grpc', 'ndjson'] as const) {
    test(`over ${transport}: 3 lanes x 20 messages are 5 streams of 4 each per lane, every answer checked`, async () => {
      requests.length = 0;
      const port = transport === 'grpc' ? grpcPort : restPort;
      const result = await runStreamLoad({ payload: payload(inOrder), transport, target: { host: '127.0.0.1', port }, streams: 3, messages: 20, connections: 1, serverPid: null });
      assert.equal(result.firstError, null);
      assert.equal(result.errors, 0);
      assert.equal(result.streamsOpened, 15);
      assert.equal(result.messages, 15 * PER_STREAM);
      assert.equal(result.openUs.totalCount, 15, 'a first-message latency per stream');
      assert.equal(result.latencyUs.totalCount, 15 * (PER_STREAM - 1), 'a gap between each two answers of a stream');
      assert.equal(requests.length, 15);
      assert.equal(requests[0], transport === 'grpc' ? 'grpc /notes.v1.Notes/StreamNotes' : 'rest GET /v1/users/1/notes:stream?filter.titlePrefix=Meeting');
    });
  }

  test('held for 0.3 s: each lane opens streams until the time is up, every one whole', async () => {
    const result = await runStreamLoad({ payload: payload(), transport: 'ndjson', target: { host: '127.0.0.1', port: restPort }, streams: 2, durationMs: 300, connections: 1, serverPid: null });
    assert.equal(result.errors, 0);
    assert.ok(result.streamsOpened > 2, `${result.streamsOpened} streams`);
    assert.equal(result.messages, result.streamsOpened * PER_STREAM);
  });

  test('a wrong answer, as the payload\'s check sees it, fails its stream and ends its lane', async () => {
    const result = await runStreamLoad({ payload: payload((index) => (index === 2 ? 'answer 3 is wrong' : null)), transport: 'grpc', target: { host: '127.0.0.1', port: grpcPort }, streams: 2, messages: 20, connections: 1, serverPid: null });
    assert.equal(result.errors, 2);
    assert.equal(result.messages, 0);
    assert.equal(result.streamsOpened, 2);
    assert.equal(result.firstError, 'answer 3 is wrong');
  });

  test('a rate is refused: a server stream is answered at the server\'s pace', async () => {
    await assert.rejects(
      runStreamLoad({ payload: payload(), transport: 'grpc', target: { host: '127.0.0.1', port: grpcPort }, streams: 1, rate: 10, messages: 10, connections: 1, serverPid: null }),
      /StreamNotes is a server stream: it takes no --rate/,
    );
  });
});

describe('open-loop running-sum around a server stall', () => {
  const STALL_MS = 300;

  /**
   * A WebSocket running-sum server that answers at once, except that once, 400
   * ms after its first value, it holds every answer for STALL_MS (in order,
   * flushed together when the stall ends).
   */
  async function stallingServer(): Promise<{ port: number; close: () => Promise<void> }> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    let firstAt = 0;
    let stallUntil = 0;
    wss.on('connection', (ws) => {
      let total = 0;
      const held: string[] = [];
      ws.on('message', (data) => {
        const now = Date.now();
        firstAt ||= now;
        if (stallUntil === 0 && now - firstAt >= 400) stallUntil = now + STALL_MS;
        total += (JSON.parse(data.toString()) as { value: number }).value;
        const answer = `{"value":${total}}`;
        // After the stall, answers still wait behind the held ones: a running sum's totals stay in order.
        if (now >= stallUntil && held.length === 0) return ws.send(answer);
        if (held.push(answer) === 1) setTimeout(() => held.splice(0).forEach((text) => ws.send(text)), stallUntil - now);
      });
    });
    return {
      port: (wss.address() as AddressInfo).port,
      close: () => new Promise((resolve) => wss.close(() => resolve())),
    };
  }

  test('open-loop p99 shows the stall; closed loop, sending more, hides it', async (t) => {
    const run = async (rate: number | undefined) => {
      const server = await stallingServer();
      try {
        return await runStreamLoad({ payload: buildStreamPayload('running-sum'), transport: 'websocket', target: { host: '127.0.0.1', port: server.port }, streams: 4, rate, durationMs: 1_500, connections: 1, serverPid: null });
      } finally {
        await server.close();
      }
    };
    const closed = await run(undefined);
    const open = await run(200);
    for (const result of [closed, open]) assert.equal(result.firstError, null);
    const p99 = (result: typeof open): number => result.latencyUs.getValueAtPercentile(99) / 1000;
    t.diagnostic(`closed: ${closed.messages} messages, p99 ${p99(closed)} ms, max ${closed.latencyUs.maxValue / 1000} ms; open at 200/s x 4: ${open.messages} messages, p99 ${p99(open)} ms`);
    // Both saw the stall: in the closed loop, each stream's one value in flight waited it out...
    assert.ok(closed.latencyUs.maxValue / 1000 >= STALL_MS * 0.75, `closed max ${closed.latencyUs.maxValue / 1000} ms`);
    // ...and sent nothing meanwhile, so the stall is 4 samples among thousands and its p99 does not show it.
    assert.ok(p99(closed) < 100, `closed p99 ${p99(closed)} ms`);
    // Open loop: the ~240 values due during the stall wait from their due times, up to the whole stall.
    assert.ok(p99(open) >= 250, `open p99 ${p99(open)} ms`);
    assert.ok(open.messages >= 1_100 && open.messages <= 1_260, `open loop kept its schedule: ${open.messages} messages, expected about 1200`);
  });
});
