/**
 * grpc-engine on real sockets against the grpc-js calculator server: results,
 * exact counts, status names, large messages over flow control, duration and
 * abort, stream-id exhaustion, nothing listening, and TLS with ALPN. The
 * scripted-server tests are in grpc-engine-frames.test.ts, the end of a run in
 * grpc-engine-stop.test.ts, the open loop in grpc-engine-open-loop.test.ts.
 * Assertions are on counts and large effects, never on speed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LoadResult } from '../../bench/types.ts';
import { grpcEngine, type GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { createSelfSignedTls } from '../../servers/tls.ts';
import { decodeResult } from '../../servers/proto.ts';
import { freePort, grpcEngineOptions, payloadOf } from '../helpers/drivers.ts';

const run = (o: GrpcEngineOptions): Promise<LoadResult> => grpcEngine.run(o);

describe('grpc-engine against the grpc-js calculator server', () => {
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  before(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
  });
  after(() => server.close(100));

  it('completes exactly `requests` calls with correct results and non-zero latency', async () => {
    const results: number[] = [];
    const progress: number[] = [];
    const result = await run(
      grpcEngineOptions(server.port, {
        concurrency: 16,
        connections: 2,
        requests: 3_000,
        onResponseMessage: (message) => results.push(decodeResult(message)),
        onProgress: ({ calls }) => progress.push(calls),
      }),
    );
    assert.equal(result.calls, 3_000);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { OK: 3_000 });
    assert.equal(results.length, 3_000);
    assert.ok(results.every((value) => value === 30));
    assert.equal(result.latencyUs.totalCount, 3_000);
    assert.ok(result.latencyUs.minNonZeroValue >= 1 && result.latencyUs.mean > 10, 'latency recorded in µs');
    assert.ok(result.elapsedS > 0);
    assert.ok(result.socketBytes!.sent > 3_000 * 20 && result.socketBytes!.received > 3_000 * 20);
  });

  it('maps server errors to gRPC status names (INVALID_ARGUMENT for division by zero)', async () => {
    const result = await run(
      grpcEngineOptions(server.port, { payload: payloadOf('divide', { a: 1, b: 0 }), requests: 200 }),
    );
    assert.equal(result.calls, 200);
    assert.equal(result.errors, 200);
    assert.deepEqual(result.statusCounts, { INVALID_ARGUMENT: 200 });
  });

  it('sends a 10,000-value Sum over the server flow-control window', async () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i + 0.5);
    const results: number[] = [];
    const result = await run(
      grpcEngineOptions(server.port, {
        payload: payloadOf('sum', { values }),
        concurrency: 4,
        requests: 40,
        onResponseMessage: (m) => results.push(decodeResult(m)),
      }),
    );
    assert.deepEqual(result.statusCounts, { OK: 40 });
    assert.ok(results.every((v) => v === values.reduce((a, b) => a + b, 0)));
  });

  it('runs for durationS and aborts early on signal', async () => {
    const progress: Array<{ calls: number; elapsedS: number }> = [];
    const timed = await run(grpcEngineOptions(server.port, { durationS: 0.6, onProgress: (p) => progress.push(p) }));
    assert.ok(timed.calls > 0 && timed.errors === 0);
    assert.ok(progress.length >= 1 && progress.length <= 4, `progress calls: ${progress.length}`);
    assert.ok(progress.every((p, i) => i === 0 || p.calls >= progress[i - 1].calls));
    assert.ok(timed.elapsedS > 0.3 && timed.elapsedS < 2.5, `elapsed ${timed.elapsedS}`);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const aborted = await run(grpcEngineOptions(server.port, { durationS: 30, signal: controller.signal }));
    assert.ok(Date.now() - started < 5_000);
    assert.ok(aborted.calls > 0);
    assert.equal(aborted.failure, 'aborted');
  });

  it('opens a new connection when a connection runs out of stream ids', async () => {
    const result = await run(grpcEngineOptions(server.port, { requests: 500, concurrency: 4, maxStreamsPerConnection: 50 }));
    assert.deepEqual(result.statusCounts, { OK: 500 });
  });

  it('reports a clear failure when nothing listens', async () => {
    const result = await run(grpcEngineOptions(await freePort(), { requests: 10 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /cannot connect/);
  });
});

describe('grpc-engine over TLS', () => {
  it('negotiates h2 with ALPN against the grpc-js server', async () => {
    const tls = await createSelfSignedTls('127.0.0.1');
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, tls });
    try {
      const results: number[] = [];
      const result = await run({
        ...grpcEngineOptions(server.port, { requests: 300, onResponseMessage: (m) => results.push(decodeResult(m)) }),
        target: { protocol: 'grpc', host: '127.0.0.1', port: server.port, tls: true },
      });
      assert.deepEqual(result.statusCounts, { OK: 300 });
      assert.ok(results.every((v) => v === 30));
    } finally {
      await server.close(100);
    }
  });
});
