/**
 * The one scheduler (bench/drivers/schedule.ts) on its own, with generators
 * made of plain functions: due times, the item limit, the drain grace, what is
 * withdrawn at the end, where a deadline runs from, and what an abort leaves.
 * Nothing here asserts how long a timer took: the machine runs other tests at
 * the same time, so timings are only compared within one run, with wide bounds.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { CallScheduler, Schedule, type ScheduleHooks } from '../../bench/drivers/schedule.ts';

/** A stream-like schedule: items never wait for room; records what was issued when. */
function recordingSchedule(options: ConstructorParameters<typeof Schedule>[0]): { schedule: Schedule; issued: Array<{ k: number; dueMs: number; atMs: number }>; done: Promise<string | undefined> } {
  const issued: Array<{ k: number; dueMs: number; atMs: number }> = [];
  let settle!: (failure: string | undefined) => void;
  const done = new Promise<string | undefined>((resolve) => (settle = resolve));
  const hooks: ScheduleHooks = {
    hasRoom: () => true,
    issueDue: (k, dueMs) => {
      issued.push({ k, dueMs, atMs: performance.now() });
      if (k + 1 === options.items) schedule.finish();
    },
    onStopIssuing: () => 0,
    onDrainOver: () => {},
    progressCount: () => issued.length,
    onFinish: (failure) => settle(failure),
  };
  const schedule = new Schedule(options, hooks);
  return { schedule, issued, done };
}

describe('Schedule: the clock', () => {
  it('open loop: item k is due at t0 + k × 1000/rate, and a late item goes late, never skipped', async () => {
    const { schedule, issued, done } = recordingSchedule({ rate: 1_000, items: 20, durationMs: 0, drainGraceMs: 0 });
    assert.equal(schedule.open(), true);
    schedule.begin();
    // Hold the event loop past several due times: the items due meanwhile all go in the next pump.
    const until = performance.now() + 10;
    while (performance.now() < until);
    schedule.pump();
    await done;
    assert.deepEqual(
      issued.map((one) => one.k),
      Array.from({ length: 20 }, (_, k) => k),
    );
    for (const { k, dueMs, atMs } of issued) {
      assert.equal(dueMs, schedule.t0 + k);
      assert.ok(atMs >= dueMs, `item ${k} went at ${atMs}, before its due time ${dueMs}`);
    }
  });

  it('a held run stops issuing after its duration, then ends once nothing is out', async () => {
    const { schedule, issued, done } = recordingSchedule({ rate: 200, durationMs: 100, drainGraceMs: 5_000 });
    schedule.open();
    schedule.begin();
    schedule.pump();
    await done;
    assert.equal(schedule.stopped, true);
    // 200/s for 100 ms: about 20 items (the first at t0); a loaded machine may run timers late, never early.
    assert.ok(issued.length >= 1 && issued.length <= 21, `${issued.length} items`);
    assert.ok(issued.every(({ dueMs }) => dueMs <= schedule.t0 + 100));
  });

  it("an abort's failure is its reason, or the word 'aborted' when asked", async () => {
    for (const [abortFailure, expected] of [[undefined, 'stalled'], ['aborted', 'aborted']] as const) {
      const controller = new AbortController();
      const { schedule, done } = recordingSchedule({ durationMs: 60_000, drainGraceMs: 0, signal: controller.signal, ...(abortFailure ? { abortFailure } : {}) });
      schedule.open();
      schedule.begin();
      controller.abort(new Error('stalled'));
      assert.equal(await done, expected);
    }
  });
});

describe('CallScheduler: calls in slots', () => {
  it('closed loop: each slot sends its next call when its last ended, up to the request limit', async () => {
    const scheduler = new CallScheduler({ concurrency: 4, durationS: 60, requests: 103, timeoutMs: 5_000 });
    const perSlot = [0, 0, 0, 0];
    const result = await scheduler.run({
      // Answered on the next turn of the event loop, alternately well and not.
      start: (slot) => {
        perSlot[slot.index]!++;
        const { callId } = slot;
        setImmediate(() => scheduler.complete(slot, callId, callId % 2 === 0 ? 'OK' : 'UNAVAILABLE', callId % 2 !== 0));
      },
      cancel: () => {},
    });
    assert.equal(result.calls, 103);
    assert.equal(result.latencyUs.totalCount, 103);
    assert.equal(result.statusCounts.OK! + result.statusCounts.UNAVAILABLE!, 103);
    assert.equal(result.errors, result.statusCounts.UNAVAILABLE);
    assert.equal(perSlot.reduce((a, b) => a + b), 103);
    assert.equal(result.failure, undefined);
  });

  it('calls still out after the drain grace are timeouts; withdrawn ones are not calls', async () => {
    // Calls that never end by themselves (nothing answers them), their 60 s deadline far away.
    const kept = new CallScheduler({ concurrency: 3, durationS: 0.05, timeoutMs: 60_000, drainGraceMs: 50 });
    const keptResult = await kept.run({ start: () => {}, cancel: () => {} });
    assert.deepEqual(keptResult.statusCounts, { timeout: 3 });
    assert.equal(keptResult.errors, 3);
    assert.equal(keptResult.latencyUs.totalCount, 3);

    const withdrawn = new CallScheduler({ concurrency: 3, durationS: 0.05, timeoutMs: 60_000, drainGraceMs: 60_000 });
    const startedAt = performance.now();
    const result = await withdrawn.run({
      start: () => {},
      cancel: () => {},
      withdrawUnsent: () => withdrawn.slots.forEach((slot) => withdrawn.withdraw(slot)),
    });
    assert.equal(result.calls, 0);
    assert.deepEqual(result.statusCounts, {});
    // Nothing was out, so the run did not wait out its (60 s) drain grace.
    assert.ok(performance.now() - startedAt < 30_000);
  });

  it("a deadline runs from the send, or from the latency origin (an open loop's due time)", async () => {
    for (const deadlineFrom of ['send', 'origin'] as const) {
      const scheduler = new CallScheduler({ concurrency: 2, durationS: 60, requests: 6, rate: 1_000, timeoutMs: 5_000, deadlineFrom });
      const seen: Array<{ originMs: number; deadlineMs: number; sentMs: number }> = [];
      await scheduler.run({
        start: (slot) => {
          seen.push({ originMs: slot.originMs, deadlineMs: slot.deadlineMs, sentMs: performance.now() });
          const { callId } = slot;
          setImmediate(() => scheduler.complete(slot, callId, 'OK', false));
        },
        cancel: () => {},
      });
      assert.equal(seen.length, 6);
      for (const [k, { originMs, deadlineMs, sentMs }] of seen.entries()) {
        assert.equal(originMs, scheduler.t0 + k, 'the open loop measures from the due time');
        if (deadlineFrom === 'origin') assert.equal(deadlineMs, originMs + 5_000);
        else assert.ok(deadlineMs >= originMs + 5_000 && deadlineMs <= sentMs + 5_000);
      }
    }
  });

  it('a call past its deadline is cancelled, then counted as a timeout; its late answer is ignored', async () => {
    const scheduler = new CallScheduler({ concurrency: 1, durationS: 60, requests: 1, timeoutMs: 30 });
    let cancelled = 0;
    let late: (() => void) | null = null;
    const result = await scheduler.run({
      start: (slot) => {
        const { callId } = slot;
        late = () => scheduler.complete(slot, callId, 'OK', false);
      },
      cancel: () => void cancelled++,
    });
    late!();
    assert.equal(cancelled, 1);
    assert.deepEqual(result.statusCounts, { timeout: 1 });
    assert.equal(scheduler.calls, 1);
  });
});
