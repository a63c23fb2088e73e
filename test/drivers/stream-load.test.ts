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
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { runStreamLoad } from '../../bench/drivers/streams/run.ts';
import { TRANSPORTS_OF, type StreamTransport } from '../../bench/drivers/streams/types.ts';
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
        const result = await runStreamLoad({ operation, transport, target: target(transport), streams: 4, messages: 300, connections: 1, serverPid: process.pid });
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
    const result = await runStreamLoad({ operation: 'prefix-sums', transport: 'grpc', target: target('grpc'), streams: 2, messages: 100_001, connections: 1, serverPid: null });
    assert.equal(result.errors, 2);
    assert.equal(result.messages, 0);
    assert.match(result.firstError ?? '', /gRPC status 3: field "values" holds 100001 numbers/);
  });

  for (const transport of TRANSPORTS_OF['running-sum']) {
    test(`open-loop running-sum over ${transport}: 4 streams at 200 msg/s for 1 s`, async () => {
      const result = await runStreamLoad({ operation: 'running-sum', transport, target: target(transport), streams: 4, rate: 200, durationMs: 1_000, connections: 1, serverPid: null });
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
    const result = await runStreamLoad({ operation: 'sum-stream', transport: 'ndjson', target: target('ndjson'), streams: 4, rate: 200, messages: 100, connections: 1, serverPid: null });
    assert.equal(result.firstError, null);
    assert.equal(result.messages, 400);
    assert.equal(result.latencyUs.totalCount, 4);
    // 100 values 5 ms apart: the last is due about 0.5 s after the first.
    assert.ok(result.elapsedS >= 0.49 && result.elapsedS < 1, `elapsed ${result.elapsedS} s`);
  });

  test('closed-loop running-sum held for 0.5 s ends on time', async () => {
    const result = await runStreamLoad({ operation: 'running-sum', transport: 'grpc', target: target('grpc'), streams: 4, durationMs: 500, connections: 1, serverPid: null });
    assert.equal(result.firstError, null);
    assert.ok(result.messages > 4, `${result.messages} messages`);
    assert.ok(result.elapsedS >= 0.5 && result.elapsedS < 1, `elapsed ${result.elapsedS} s`);
  });

  test('a pacing the operation cannot take is refused before any stream', async () => {
    await assert.rejects(
      runStreamLoad({ operation: 'prefix-sums', transport: 'grpc', target: target('grpc'), streams: 1, rate: 10, messages: 10, connections: 1, serverPid: null }),
      /prefix-sums takes neither --rate/,
    );
    await assert.rejects(
      runStreamLoad({ operation: 'sum-stream', transport: 'grpc', target: target('grpc'), streams: 1, durationMs: 100, connections: 1, serverPid: null }),
      /sum-stream held for a --duration needs a --rate/,
    );
  });

  test('an operation a transport does not serve is refused before any stream', async () => {
    await assert.rejects(
      runStreamLoad({ operation: 'sum-stream', transport: 'websocket', target: target('websocket'), streams: 1, messages: 1, connections: 1, serverPid: null }),
      /sum-stream is not served over websocket/,
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
        return await runStreamLoad({ operation: 'running-sum', transport: 'websocket', target: { host: '127.0.0.1', port: server.port }, streams: 4, rate, durationMs: 1_500, connections: 1, serverPid: null });
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
