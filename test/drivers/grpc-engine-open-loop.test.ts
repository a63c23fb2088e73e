/**
 * grpc-engine's open loop measures each call from its intended send time: a
 * scripted server's 300 ms stall shows in the open-loop p99 and is hidden
 * (coordinated omission) by a closed loop at the same load.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadResult } from '../../bench/types.ts';
import { grpcEngine, type GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import { grpcEngineOptions } from '../helpers/drivers.ts';
import { answerCorrectly, withServer, type Script } from '../helpers/http2-scripted.ts';

const run = (o: GrpcEngineOptions): Promise<LoadResult> => grpcEngine.run(o);

describe('open loop measures from the intended send time', () => {
  /**
   * A server that answers each call after `serviceMs` and holds every response
   * for 300 ms once, 400 ms after its first request.
   */
  function stallingScript(serviceMs = 0): Script {
    let firstAt = 0;
    let stallUntil = 0;
    return {
      onRequest: (conn, request) => {
        const now = Date.now();
        firstAt ||= now;
        if (stallUntil === 0 && now - firstAt > 400) stallUntil = now + 300;
        const waitMs = Math.max(serviceMs, stallUntil - now);
        if (waitMs > 0) setTimeout(() => answerCorrectly(conn, request), waitMs);
        else answerCorrectly(conn, request);
      },
    };
  }

  it('at the same load, open-loop p99 shows a 300 ms stall that closed loop hides', async () => {
    let closed: LoadResult | undefined;
    let open: LoadResult | undefined;
    // Closed loop, one call at a time against a 1 ms service time: the load is whatever that gives (~500-900 calls/s).
    await withServer(stallingScript(1), async (server) => {
      closed = await run(grpcEngineOptions(server.port, { concurrency: 1, durationS: 1.5 }));
    });
    // Open loop at the calls/s the closed loop reached: the same load, now on a fixed schedule.
    const rate = Math.round(closed!.calls / closed!.elapsedS);
    await withServer(stallingScript(1), async (server) => {
      open = await run(grpcEngineOptions(server.port, { concurrency: 500, rate, durationS: 1.5 }));
    });
    const closedP99 = closed!.latencyUs.getValueAtPercentile(99);
    const openP99 = open!.latencyUs.getValueAtPercentile(99);
    const loads = `closed ${closed!.calls} calls in ${closed!.elapsedS} s, open ${open!.calls} at ${rate}/s`;
    assert.equal(closed!.errors, 0);
    assert.equal(open!.errors, 0);
    // Both saw the stall: the slowest call waited about 300 ms.
    assert.ok(closed!.latencyUs.maxValue >= 200_000, `closed max ${closed!.latencyUs.maxValue}`);
    // Closed loop: one call waited out the stall, and the calls that would have been sent meanwhile were never sent.
    assert.ok(closedP99 < 100_000, `closed p99 ${closedP99} µs (${loads})`);
    // Open loop: every call due during the stall counts its wait from its due time.
    assert.ok(openP99 >= 200_000, `open p99 ${openP99} µs (${loads})`);
    // Same load: the open loop kept its schedule, about rate × duration calls.
    const expected = rate * 1.5;
    assert.ok(open!.calls >= expected * 0.8 && open!.calls <= expected * 1.1, loads);
  });

  it('counts calls delayed by busy slots from their intended time', async () => {
    await withServer(stallingScript(), async (server) => {
      // Only 2 slots: during the stall, due calls queue for a slot; their wait counts.
      const open = await run(grpcEngineOptions(server.port, { concurrency: 2, rate: 500, durationS: 1.2 }));
      assert.equal(open.errors, 0);
      assert.ok(open.latencyUs.getValueAtPercentile(90) >= 50_000, `p90 ${open.latencyUs.getValueAtPercentile(90)}`);
    });
  });
});
