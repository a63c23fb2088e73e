/**
 * How a grpc-engine run ends when the server stops answering: calls still
 * unanswered after the drain grace are timeouts (closed and open loop), and a
 * run aborted while connecting stays ended when the server wakes up late.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { LoadResult } from '../../bench/types.ts';
import { grpcEngine, type GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import { encodeFrame, FrameType } from '../../bench/drivers/http2/frame.ts';
import { grpcEngineOptions } from '../helpers/drivers.ts';
import { answerCorrectly, withServer, type Script } from '../helpers/http2-scripted.ts';

const run = (o: GrpcEngineOptions): Promise<LoadResult> => grpcEngine.run(o);

describe('grpc-engine at the end of a run against a server that stops answering', () => {
  // The deadline (5 s) is longer than the drain grace (1 s): only the end of the run can settle the stuck calls.
  const stopsAfter = (answered: number): Script => ({
    onRequest: (conn, request) => (request.index < answered ? answerCorrectly(conn, request) : undefined),
  });

  it('closed loop: every call still unanswered after the drain grace is a timeout, its age the latency', async () => {
    await withServer(stopsAfter(200), async (server) => {
      const result = await run(grpcEngineOptions(server.port, { concurrency: 8, durationS: 0.4 }));
      assert.deepEqual(result.statusCounts, { OK: 200, timeout: 8 });
      assert.equal(result.calls, 208);
      assert.equal(result.errors, 8);
      assert.equal(result.latencyUs.totalCount, 208);
      // Stuck from early in the run until the grace ran out: at least the grace itself.
      assert.ok(result.latencyUs.maxValue >= 1_000_000, `max ${result.latencyUs.maxValue} µs`);
      assert.ok(result.elapsedS >= 1.3, `elapsed ${result.elapsedS} s`);
    });
  });

  it('open loop: calls sent and unanswered are timeouts; calls due but never sent are not counted', async () => {
    await withServer(stopsAfter(40), async (server) => {
      // 200 calls/s for 1 s and 50 slots: the 50 slots fill up once the server goes quiet, ~100 more come due unsent.
      const result = await run(grpcEngineOptions(server.port, { concurrency: 50, rate: 200, durationS: 1 }));
      assert.deepEqual(result.statusCounts, { OK: 40, timeout: 50 });
      assert.equal(result.errors, 50);
      assert.equal(server.connections[0].requests, 90);
    });
  });
});

describe('grpc-engine behind a slow path (drainGraceMs)', () => {
  // Every answer takes 1.5 s, as a round of big bodies through a slow link does: longer than the default grace.
  const slow: Script = { onRequest: (conn, request) => void setTimeout(() => answerCorrectly(conn, request), 1_500) };

  it('calls still in flight at the end get their deadline when drainGraceMs says so, and count as answered', async () => {
    await withServer(slow, async (server) => {
      const cut = await run(grpcEngineOptions(server.port, { concurrency: 4, durationS: 0.2 }));
      assert.deepEqual(cut.statusCounts, { timeout: 4 }, 'the default 1 s grace cuts them');
      const drained = await run({ ...grpcEngineOptions(server.port, { concurrency: 4, durationS: 0.2 }), drainGraceMs: 5_000 });
      assert.deepEqual(drained.statusCounts, { OK: 4 });
      assert.equal(drained.errors, 0);
      // The elapsed time ends at the last answer: 4 calls over ~1.5 s.
      assert.ok(drained.elapsedS >= 1.4 && drained.elapsedS < 3, `elapsed ${drained.elapsedS} s`);
    });
  });
});

describe('grpc-engine aborted while connecting', () => {
  it('a server that answers SETTINGS only after the abort does not restart the run', async () => {
    // Accepts TCP and says nothing (a stopped server) until the engine gives up and hangs up; then
    // sends its SETTINGS, as a server woken up at that moment would. The late SETTINGS must not start
    // the run's clock and timers: before the fix they did, and the process never exited.
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
      // The engine's close() sends GOAWAY and then ends its side.
      socket.on('end', () => socket.end(encodeFrame(FrameType.SETTINGS, 0, 0)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stalled')), 300);
      let progressAfterEnd = 0;
      let ended = false;
      const result = await run({
        ...grpcEngineOptions((server.address() as net.AddressInfo).port, { durationS: 5, signal: controller.signal }),
        onProgress: () => {
          if (ended) progressAfterEnd += 1;
        },
      });
      ended = true;
      assert.equal(result.calls, 0);
      assert.equal(result.failure, 'aborted');
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(progressAfterEnd, 0, 'the run reported progress after it had ended');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
