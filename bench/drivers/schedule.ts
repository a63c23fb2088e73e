/**
 * The one scheduler of the load generators: when an item (a unary call, a
 * stream's message) goes, when issuing stops, how long what is still out gets
 * to come back, progress and abort. Generators know the wire; this file knows
 * only time and counts.
 *
 * Two layers, one file:
 * - Schedule: the run's clock and its timers, for every generator.
 *   - the clock starts with begin(): at once, or once the generator's
 *     connections are ready (it calls begin() then); the abort signal is
 *     watched from open() on, so an abort while connecting ends the run too;
 *   - open loop (`rate`): item k is due at t0 + k × 1000/rate ms and goes at
 *     its due time, late rather than never (a late item's lateness is part of
 *     its latency: no coordinated omission, the wrk2/Nighthawk rule); an item
 *     may have to wait for room (a free call slot, see hasRoom);
 *   - the limit: `items` in all, or, without one, issuing stops `durationMs`
 *     after t0 (re-armed until the performance clock agrees: timers run on the
 *     event loop's clock, cached in whole ms, and may fire a fraction early);
 *   - then what is still out gets `drainGraceMs` to come back; after it the
 *     generator settles what is left (onDrainOver);
 *   - progress every 250 ms, and the abort signal, which ends the run.
 * - CallScheduler: unary calls on that clock, in `concurrency` slots.
 *   - closed loop: each slot sends its next call as soon as its last one
 *     ended; latency runs from the actual send;
 *   - open loop: a due call waits for a free slot; latency runs from its DUE
 *     time, so waiting for a slot (a stalled server) shows in the percentiles;
 *   - a call's deadline: `timeoutMs`, counted as 'timeout' when it passes;
 *   - at the end of the drain grace every call still out is a 'timeout' with
 *     its age so far as its latency (a lower bound): dropping them would hide a
 *     server that stalls at the end of a run.
 *
 * What differs between generators is a parameter, not a second loop:
 * - where a call's deadline runs from (CallScheduleOptions.deadlineFrom): the
 *   actual send (http1-engine, the client libraries: a call that waited for a
 *   slot is not cut short for it) or the latency origin (grpc-engine: its due
 *   time in the open loop, its first send when it is sent again after a GOAWAY);
 * - calls issued but never sent when issuing stops (CallSender.withdrawUnsent):
 *   grpc-engine's calls wait in a connection's queue for a stream and are
 *   withdrawn uncounted (calls never sent are not calls); the others send at
 *   once and have nothing to withdraw;
 * - when the clock starts: begin() at once (CallScheduler.run) or once every
 *   connection is ready (run({ deferBegin: true }) and begin());
 * - the slots: the generator's own objects (grpc-engine's slots are its HTTP/2
 *   stream objects), so its hot path is complete() -> sender.start(slot) with
 *   no lookup from a slot number to its state;
 * - stream messages (bench/drivers/streams/run.ts) use Schedule directly: the
 *   rate is per stream, so message n of the run is due at t0 + n × 1/(rate ×
 *   streams) and goes to stream n % streams (the streams take turns evenly),
 *   and a message never waits for room (a stream carries any number at once).
 *   A stream's closed loop (its next message when its last is answered, up to
 *   its own count) is per stream and stays with the stream kinds.
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { createLatencyHistogram } from '../results/histogram.ts';
import { DEFAULT_DRAIN_GRACE_MS, type LoadOptions } from '../types.ts';

export const PROGRESS_INTERVAL_MS = 250;

export type ProgressListener = (progress: { calls: number; elapsedS: number }) => void;

export interface ScheduleOptions {
  /** Open loop: items per second over the whole run; item k is due at t0 + k × 1000/rate ms. Absent: closed loop. */
  rate?: number;
  /** Items to issue in all; absent: no limit, issuing stops `durationMs` after the clock started. */
  items?: number;
  /** How long items are issued when there is no `items` limit. */
  durationMs: number;
  /** After issuing stopped, how long items still out get to come back. */
  drainGraceMs: number;
  /** Aborting ends the run (Schedule.failure: the abort's reason, or 'aborted' with abortFailure 'aborted'). */
  signal?: AbortSignal;
  /** The failure an abort leaves: its reason (default), or the word 'aborted' whatever the reason. */
  abortFailure?: 'reason' | 'aborted';
  onProgress?: ProgressListener;
}

/** What a generator plugs into the clock. */
export interface ScheduleHooks {
  /** Open loop: whether an item due now can go (a call needs a free slot; a stream message never waits). */
  hasRoom(): boolean;
  /** Open loop: item k, due at dueMs (performance.now() ms), goes now. */
  issueDue(k: number, dueMs: number): void;
  /** Issuing is over (duration): stop sending; returns how many items are still out (0 ends the run at once). */
  onStopIssuing(): number;
  /** The drain grace ran out with items still out: settle them (the run ends right after). */
  onDrainOver(): void;
  /** The count progress reports. */
  progressCount(): number;
  /** The run ended (done, failed, aborted: `failure`): let go of what is left. Returns a failure found at the end, if any. */
  onFinish(failure: string | undefined): string | undefined | void;
}

/** The run's clock: due times, the limit, the duration, the drain grace, progress and abort (see the module comment). */
export class Schedule {
  /** performance.now() ms when the clock started. */
  t0 = 0;
  /** Items issued so far (open loop: the next item's index). */
  issued = 0;
  started = false;
  /** Issuing is over (duration, limit reached or run ended): no item goes any more. */
  stopped = false;
  finished = false;
  failure: string | undefined;
  readonly openLoop: boolean;
  readonly intervalMs: number;
  readonly limit: number;
  private readonly options: ScheduleOptions;
  private hooks!: ScheduleHooks;
  private dueTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onAbort = (): void => this.finish(this.abortFailure());

  constructor(options: ScheduleOptions, hooks?: ScheduleHooks) {
    if (options.rate !== undefined && !(options.rate > 0)) throw new Error('rate must be positive');
    this.options = options;
    this.openLoop = options.rate !== undefined;
    this.intervalMs = this.openLoop ? 1000 / options.rate! : 0;
    this.limit = options.items !== undefined ? Math.max(0, Math.floor(options.items)) : Infinity;
    if (hooks) this.hooks = hooks;
  }

  protected setHooks(hooks: ScheduleHooks): void {
    this.hooks = hooks;
  }

  /** Watches the abort signal; false when it is already aborted (the run ended, unstarted). */
  open(): boolean {
    const signal = this.options.signal;
    if (signal?.aborted) {
      this.finish(this.abortFailure());
      return false;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    return true;
  }

  /** Starts the clock, the duration and progress; the generator then issues (pump() in the open loop). */
  begin(nowMs = performance.now()): void {
    if (this.started || this.finished) return;
    this.started = true;
    this.t0 = nowMs;
    if (this.limit === Infinity) {
      const stopAtMs = this.t0 + this.options.durationMs;
      const stopWhenDue = (): void => {
        const leftMs = stopAtMs - performance.now();
        if (leftMs > 0) this.timers.push(setTimeout(stopWhenDue, leftMs));
        else this.stopIssuing();
      };
      this.timers.push(setTimeout(stopWhenDue, Math.max(0, this.options.durationMs)));
    }
    const onProgress = this.options.onProgress;
    if (onProgress) {
      this.every(PROGRESS_INTERVAL_MS, () => onProgress({ calls: this.hooks.progressCount(), elapsedS: (performance.now() - this.t0) / 1000 }));
    }
  }

  /** A timer of the run, cleared when it finishes. */
  every(intervalMs: number, tick: () => void): void {
    this.timers.push(setInterval(tick, intervalMs));
  }

  /** When item k is due, performance.now() ms. */
  dueMs(k: number): number {
    return this.t0 + k * this.intervalMs;
  }

  mayIssue(): boolean {
    return !this.stopped && !this.finished && this.issued < this.limit;
  }

  /** Open loop: issues every item that is due while there is room; sleeps until the next due time. */
  pump(): void {
    if (!this.mayIssue()) return;
    const now = performance.now();
    const hooks = this.hooks;
    while (this.issued < this.limit && hooks.hasRoom()) {
      const dueMs = this.t0 + this.issued * this.intervalMs;
      if (dueMs > now) break;
      hooks.issueDue(this.issued++, dueMs);
      if (this.finished || this.stopped) return;
    }
    // Without room, the item that makes room calls back here.
    if (this.issued < this.limit && this.dueTimer === null && hooks.hasRoom()) {
      this.dueTimer = setTimeout(
        () => {
          this.dueTimer = null;
          this.pump();
        },
        Math.max(0, this.t0 + this.issued * this.intervalMs - performance.now()),
      );
    }
  }

  /** Issuing is over: what is out gets the drain grace, then onDrainOver settles the rest. */
  stopIssuing(): void {
    if (this.stopped || this.finished) return;
    this.stopped = true;
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    const out = this.hooks.onStopIssuing();
    if (this.finished) return;
    if (out === 0) return this.finish();
    this.timers.push(
      setTimeout(() => {
        if (this.finished) return;
        this.hooks.onDrainOver();
        this.finish();
      }, this.options.drainGraceMs),
    );
  }

  /** Ends the run once: timers and the abort listener go, then the generator lets go (onFinish). */
  finish(failure?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.stopped = true;
    if (failure !== undefined) this.failure ??= failure;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const timer of this.timers) clearTimeout(timer);
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    const found = this.hooks.onFinish(this.failure);
    if (typeof found === 'string') this.failure ??= found;
  }

  private abortFailure(): string {
    return this.options.abortFailure === 'aborted' ? 'aborted' : abortReason(this.options.signal);
  }
}

// ---- unary calls ----

/** A call slot's state; a generator may bring its own objects with these fields (CallScheduler's makeSlot). */
export interface CallSlot {
  readonly index: number;
  /** The call in flight on this slot (0: free); tells a stale completion from the slot's current call. */
  callId: number;
  /** The call's latency origin: its send (closed loop) or its due time (open loop), performance.now() ms. */
  originMs: number;
  deadlineMs: number;
}

export interface CallScheduleOptions {
  concurrency: number;
  durationS: number;
  requests?: number;
  rate?: number;
  timeoutMs: number;
  drainGraceMs?: LoadOptions['drainGraceMs'];
  signal?: AbortSignal;
  onProgress?: LoadOptions['onProgress'];
  /** Where a call's deadline runs from: its actual send (default) or its latency origin (the due time in the open loop). */
  deadlineFrom?: 'send' | 'origin';
  abortFailure?: ScheduleOptions['abortFailure'];
}

/** What a generator plugs into the call scheduler. */
export interface CallSender<S extends CallSlot> {
  /** Send the slot's call (slot.callId); report its end with complete(slot, callId, outcome, isError). */
  start(slot: S): void;
  /** The call's deadline passed: abandon it (the scheduler counts it as 'timeout' right after, if still current). */
  cancel(slot: S): void;
  /** Issuing is over: withdraw (CallScheduler.withdraw) calls issued but not yet sent; they are not counted. */
  withdrawUnsent?(): void;
  /** The run ended: let go of calls and connections. Returns a failure found at the end, if any. */
  finish?(): string | undefined | void;
}

export interface CallScheduleResult {
  calls: number;
  errors: number;
  statusCounts: Record<string, number>;
  elapsedS: number;
  latencyUs: Histogram;
  failure?: string;
}

const plainSlot = (index: number): CallSlot => ({ index, callId: 0, originMs: 0, deadlineMs: 0 });

/** Unary calls in `concurrency` slots on the run's clock (see the module comment). */
export class CallScheduler<S extends CallSlot = CallSlot> extends Schedule implements ScheduleHooks {
  readonly histogram = createLatencyHistogram();
  readonly statusCounts: Record<string, number> = Object.create(null);
  readonly slots: readonly S[];
  calls = 0;
  errors = 0;
  /** Calls issued and not yet counted or withdrawn. */
  inFlight = 0;

  private readonly timeoutMs: number;
  private readonly deadlineFromSend: boolean;
  private sender!: CallSender<S>;
  private freeSlots: S[] = [];
  private nextCallId = 1;
  private lastEndMs = 0;
  private resolve: ((result: CallScheduleResult) => void) | null = null;
  private result: CallScheduleResult | null = null;

  constructor(options: CallScheduleOptions, makeSlot: (index: number) => S = plainSlot as (index: number) => S) {
    if (!(options.concurrency >= 1)) throw new Error('concurrency must be at least 1');
    if (!(options.timeoutMs > 0)) throw new Error('timeoutMs must be positive');
    super({
      ...(options.rate !== undefined ? { rate: options.rate } : {}),
      ...(options.requests !== undefined ? { items: options.requests } : {}),
      durationMs: options.durationS * 1000,
      drainGraceMs: Math.min(options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS, options.timeoutMs + 50),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.abortFailure ? { abortFailure: options.abortFailure } : {}),
    });
    this.setHooks(this);
    this.timeoutMs = options.timeoutMs;
    this.deadlineFromSend = (options.deadlineFrom ?? 'send') === 'send';
    this.slots = Array.from({ length: Math.floor(options.concurrency) }, (_, i) => makeSlot(i));
  }

  get slotCount(): number {
    return this.slots.length;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Runs the calls; resolves when the run is over. The clock starts at once,
   * or with `deferBegin` when the generator calls begin() (its connections are
   * ready); it may end the run before that with fail().
   */
  run(sender: CallSender<S>, { deferBegin = false }: { deferBegin?: boolean } = {}): Promise<CallScheduleResult> {
    this.sender = sender;
    return new Promise<CallScheduleResult>((resolve) => {
      this.resolve = resolve;
      if (this.result !== null) return resolve(this.result);
      if (this.open() && !deferBegin) this.begin();
    });
  }

  override begin(nowMs = performance.now()): void {
    if (this.started || this.finished) return;
    super.begin(nowMs);
    this.lastEndMs = this.t0;
    if (this.limit === 0) return this.finish();
    this.every(Math.min(100, Math.max(5, this.timeoutMs / 10)), () => this.sweepDeadlines());
    if (this.openLoop) {
      for (let i = this.slots.length - 1; i >= 0; i--) this.freeSlots.push(this.slots[i]!);
      this.pump();
    } else {
      for (let i = 0; i < this.slots.length && this.mayIssue(); i++) {
        this.issued++;
        this.startCall(this.slots[i]!, this.t0);
      }
    }
  }

  /** Ends the run early (e.g. the target cannot be reached); what was measured is kept. */
  fail(reason: string): void {
    this.finish(reason);
  }

  /** Whether `callId` is still the call in flight on `slot` (false once it timed out or the run ended). */
  isCurrent(slot: S, callId: number): boolean {
    return !this.finished && slot.callId === callId;
  }

  /** Records the end of a call and lets its slot make the next one. Stale ids (timed out, run over) are ignored. */
  complete(slot: S, callId: number, outcome: string, isError: boolean, nowMs = performance.now()): void {
    if (this.finished || slot.callId !== callId) return;
    this.count(slot, outcome, isError, nowMs);
    if (this.openLoop) {
      this.freeSlots.push(slot);
      this.pump();
    } else if (this.mayIssue()) {
      this.issued++;
      this.startCall(slot, nowMs);
    }
    if (this.inFlight === 0 && (this.stopped || this.issued >= this.limit)) this.finish();
  }

  /** A call issued but never sent, taken back when issuing stops (CallSender.withdrawUnsent): not a call. */
  withdraw(slot: S): void {
    if (slot.callId === 0) return;
    slot.callId = 0;
    this.inFlight--;
  }

  private startCall(slot: S, originMs: number): void {
    slot.callId = this.nextCallId++;
    slot.originMs = originMs;
    slot.deadlineMs = (this.deadlineFromSend ? performance.now() : originMs) + this.timeoutMs;
    this.inFlight++;
    this.sender.start(slot);
  }

  private count(slot: S, outcome: string, isError: boolean, nowMs: number): void {
    slot.callId = 0;
    this.inFlight--;
    this.calls++;
    if (isError) this.errors++;
    this.statusCounts[outcome] = (this.statusCounts[outcome] ?? 0) + 1;
    const latencyUs = Math.round((nowMs - slot.originMs) * 1000);
    this.histogram.recordValue(latencyUs > 0 ? latencyUs : 1);
    if (nowMs > this.lastEndMs) this.lastEndMs = nowMs;
  }

  private sweepDeadlines(): void {
    if (this.finished) return;
    const now = performance.now();
    for (const slot of this.slots) {
      const callId = slot.callId;
      if (callId === 0 || slot.deadlineMs > now) continue;
      // The generator drops the call first (so the slot's next call cannot land on it), then it is counted.
      this.sender.cancel(slot);
      this.complete(slot, callId, 'timeout', true, now);
      if (this.finished) return;
    }
  }

  // ---- ScheduleHooks ----

  hasRoom(): boolean {
    return this.freeSlots.length > 0;
  }

  issueDue(_k: number, dueMs: number): void {
    this.startCall(this.freeSlots.pop()!, dueMs);
  }

  onStopIssuing(): number {
    // Calls not yet due are never issued; calls issued but not sent (waiting for a stream) the generator may withdraw.
    this.sender.withdrawUnsent?.();
    return this.inFlight;
  }

  onDrainOver(): void {
    const now = performance.now();
    for (const slot of this.slots) if (slot.callId !== 0) this.count(slot, 'timeout', true, now);
  }

  progressCount(): number {
    return this.calls;
  }

  onFinish(failure: string | undefined): string | undefined {
    const found = this.sender?.finish?.();
    const endMs = this.started ? (this.calls > 0 ? this.lastEndMs : performance.now()) : this.t0;
    const message = failure ?? (typeof found === 'string' ? found : undefined);
    this.result = {
      calls: this.calls,
      errors: this.errors,
      statusCounts: { ...this.statusCounts },
      elapsedS: this.started ? Math.max(0, endMs - this.t0) / 1000 : 0,
      latencyUs: this.histogram,
      ...(message !== undefined ? { failure: message } : {}),
    };
    this.resolve?.(this.result);
    return message;
  }
}

export function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason.name === 'AbortError' ? 'aborted' : reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
