/**
 * CallLoop: the call scheduling every Node load generator but grpc-engine
 * shares (http1-engine and the client-library drivers in clients.ts). It knows
 * nothing about the wire; a driver plugs in how to start and cancel one call.
 * - closed loop: `concurrency` slots, each sending its next call as soon as the
 *   previous answer is in; latency runs from the actual send;
 * - open loop (`rate`): call k is due at t0 + k/rate, a free slot sends it, and
 *   latency runs from the DUE time, so a server stall shows in the percentiles
 *   instead of being hidden by coordinated omission (the wrk2/Nighthawk rule).
 * Deadlines, the duration or request limit, progress reports and abort are
 * handled here too.
 */
import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { DEFAULT_DRAIN_GRACE_MS, type LoadOptions } from '../types.ts';
import { createLatencyHistogram } from '../results/histogram.ts';

const PROGRESS_INTERVAL_MS = 250;

export interface CallLoopOptions {
  concurrency: number;
  durationS: number;
  requests?: number;
  rate?: number;
  timeoutMs: number;
  drainGraceMs?: LoadOptions['drainGraceMs'];
  signal?: AbortSignal;
  onProgress?: LoadOptions['onProgress'];
}

/** What a driver plugs into the loop. `callId` tells a stale completion from the slot's current call. */
export interface CallLoopHooks {
  /** Send one call on `slot`; report its end with loop.complete(slot, callId, outcome, isError). */
  start(slot: number, callId: number): void;
  /** The call's deadline passed (the loop has counted it as 'timeout'): abandon it. */
  cancel(slot: number, callId: number): void;
}

export interface CallLoopResult {
  calls: number;
  errors: number;
  statusCounts: Record<string, number>;
  elapsedS: number;
  latencyUs: Histogram;
  failure?: string;
}

export class CallLoop {
  readonly histogram = createLatencyHistogram();
  readonly statusCounts: Record<string, number> = Object.create(null);
  calls = 0;
  errors = 0;

  private readonly options: CallLoopOptions;
  private hooks!: CallLoopHooks;
  private readonly concurrency: number;
  private readonly openLoop: boolean;
  private readonly intervalMs: number;
  private readonly requestLimit: number;
  /** Per slot: the id of the call in flight (0 = free), its latency origin and its deadline. */
  private readonly slotCall: Float64Array;
  private readonly slotStart: Float64Array;
  private readonly slotDeadline: Float64Array;
  private freeSlots: number[] = [];
  private nextCallId = 1;
  private issued = 0;
  private inFlight = 0;
  private t0 = 0;
  private lastEndMs = 0;
  private started = false;
  private stopIssuing = false;
  private finished = false;
  private failure: string | undefined;
  private scheduleTimer: NodeJS.Timeout | null = null;
  private timers: NodeJS.Timeout[] = [];
  private resolve!: (result: CallLoopResult) => void;
  private onFinish: (() => void) | null = null;
  private readonly onAbort = (): void => this.finish(abortReason(this.options.signal));

  constructor(options: CallLoopOptions) {
    if (!(options.concurrency >= 1)) throw new Error('concurrency must be at least 1');
    if (!(options.timeoutMs > 0)) throw new Error('timeoutMs must be positive');
    if (options.rate !== undefined && !(options.rate > 0)) throw new Error('rate must be positive');
    this.options = options;
    this.concurrency = Math.floor(options.concurrency);
    this.openLoop = options.rate !== undefined;
    this.intervalMs = this.openLoop ? 1000 / options.rate! : 0;
    this.requestLimit = options.requests !== undefined ? Math.max(0, Math.floor(options.requests)) : Infinity;
    this.slotCall = new Float64Array(this.concurrency);
    this.slotStart = new Float64Array(this.concurrency);
    this.slotDeadline = new Float64Array(this.concurrency);
  }

  get slots(): number {
    return this.concurrency;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Starts the clock and the calls; resolves when the run is over. `onFinish` runs once, before resolving. */
  run(hooks: CallLoopHooks, onFinish?: () => void): Promise<CallLoopResult> {
    this.hooks = hooks;
    this.onFinish = onFinish ?? null;
    return new Promise<CallLoopResult>((resolve) => {
      this.resolve = resolve;
      const signal = this.options.signal;
      if (signal?.aborted) {
        this.finish(abortReason(signal));
        return;
      }
      signal?.addEventListener('abort', this.onAbort, { once: true });
      this.begin();
    });
  }

  private begin(): void {
    this.started = true;
    this.t0 = performance.now();
    this.lastEndMs = this.t0;
    if (this.requestLimit === 0) return this.finish();
    if (this.requestLimit === Infinity) {
      this.timers.push(setTimeout(() => this.endIssuing(), Math.max(0, this.options.durationS * 1000)));
    }
    const sweepMs = Math.min(100, Math.max(5, this.options.timeoutMs / 10));
    this.timers.push(setInterval(() => this.sweepDeadlines(), sweepMs));
    const onProgress = this.options.onProgress;
    if (onProgress) {
      this.timers.push(
        setInterval(() => onProgress({ calls: this.calls, elapsedS: (performance.now() - this.t0) / 1000 }), PROGRESS_INTERVAL_MS),
      );
    }
    if (this.openLoop) {
      for (let slot = this.concurrency - 1; slot >= 0; slot--) this.freeSlots.push(slot);
      this.pumpSchedule();
    } else {
      for (let slot = 0; slot < this.concurrency && this.mayIssue(); slot++) {
        this.issued++;
        this.startCall(slot, this.t0);
      }
    }
  }

  private mayIssue(): boolean {
    return !this.stopIssuing && !this.finished && this.issued < this.requestLimit;
  }

  private startCall(slot: number, originMs: number): void {
    const callId = this.nextCallId++;
    this.slotCall[slot] = callId;
    this.slotStart[slot] = originMs;
    // The deadline runs from the actual send: a call that waited for a slot is not cut short for it.
    this.slotDeadline[slot] = performance.now() + this.options.timeoutMs;
    this.inFlight++;
    this.hooks.start(slot, callId);
  }

  /** Whether `callId` is still the call in flight on `slot` (false once it timed out or the run ended). */
  isCurrent(slot: number, callId: number): boolean {
    return !this.finished && this.slotCall[slot] === callId;
  }

  /** Records the end of a call. Stale ids (timed out, run over) are ignored. */
  complete(slot: number, callId: number, outcome: string, isError: boolean): void {
    if (!this.isCurrent(slot, callId)) return;
    this.record(slot, outcome, isError, performance.now());
  }

  /** Ends the run early (e.g. the target cannot be reached); what was measured is kept. */
  fail(reason: string): void {
    this.finish(reason);
  }

  private count(slot: number, outcome: string, isError: boolean, nowMs: number): void {
    this.slotCall[slot] = 0;
    this.inFlight--;
    this.calls++;
    if (isError) this.errors++;
    this.statusCounts[outcome] = (this.statusCounts[outcome] ?? 0) + 1;
    const latencyUs = Math.round((nowMs - this.slotStart[slot]!) * 1000);
    this.histogram.recordValue(latencyUs > 0 ? latencyUs : 1);
    if (nowMs > this.lastEndMs) this.lastEndMs = nowMs;
  }

  /** Counts a finished call and lets its slot make the next one. */
  private record(slot: number, outcome: string, isError: boolean, nowMs: number): void {
    this.count(slot, outcome, isError, nowMs);
    if (this.openLoop) {
      this.freeSlots.push(slot);
      this.pumpSchedule();
    } else if (this.mayIssue()) {
      this.issued++;
      this.startCall(slot, nowMs);
    }
    if (this.inFlight === 0 && (this.stopIssuing || this.issued >= this.requestLimit)) this.finish();
  }

  /** Open loop: start every call that is due and has a free slot; sleep until the next due time. */
  private pumpSchedule(): void {
    if (!this.mayIssue()) return;
    const now = performance.now();
    while (this.freeSlots.length > 0 && this.issued < this.requestLimit) {
      const dueMs = this.t0 + this.issued * this.intervalMs;
      if (dueMs > now) break;
      this.issued++;
      this.startCall(this.freeSlots.pop()!, dueMs);
      if (this.finished) return;
    }
    // With no free slot, the next completion calls back here.
    if (this.issued < this.requestLimit && this.freeSlots.length > 0 && this.scheduleTimer === null) {
      const dueMs = this.t0 + this.issued * this.intervalMs;
      this.scheduleTimer = setTimeout(() => {
        this.scheduleTimer = null;
        this.pumpSchedule();
      }, Math.max(0, dueMs - now));
    }
  }

  private endIssuing(): void {
    if (this.stopIssuing || this.finished) return;
    this.stopIssuing = true;
    if (this.scheduleTimer !== null) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
    // Calls due but never sent (open loop, all slots busy) are not calls, as in the gRPC engine.
    if (this.inFlight === 0) return this.finish();
    this.timers.push(setTimeout(() => this.expireInFlight(), Math.min(this.options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS, this.options.timeoutMs + 50)));
  }

  /**
   * The drain grace is over and some calls are still unanswered. Dropping them
   * would hide a server that stalls at the end of a run, so each is a
   * 'timeout', with its age so far as its latency (a lower bound), as a call cut
   * at its deadline is (the gRPC engine's rule too). The driver abandons them in
   * onFinish.
   */
  private expireInFlight(): void {
    if (this.finished) return;
    const now = performance.now();
    for (let slot = 0; slot < this.concurrency; slot++) if (this.slotCall[slot] !== 0) this.count(slot, 'timeout', true, now);
    this.finish();
  }

  private sweepDeadlines(): void {
    if (this.finished) return;
    const now = performance.now();
    for (let slot = 0; slot < this.concurrency; slot++) {
      const callId = this.slotCall[slot]!;
      if (callId === 0 || this.slotDeadline[slot]! > now) continue;
      // The driver drops the call first (so the slot's next call cannot land on it), then it is counted.
      this.hooks.cancel(slot, callId);
      if (this.finished) return;
      if (this.slotCall[slot] === callId) this.record(slot, 'timeout', true, now);
      if (this.finished) return;
    }
  }

  private finish(failure?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (failure !== undefined) this.failure ??= failure;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const timer of this.timers) clearTimeout(timer);
    if (this.scheduleTimer !== null) clearTimeout(this.scheduleTimer);
    this.onFinish?.();
    const endMs = this.started ? (this.calls > 0 ? this.lastEndMs : performance.now()) : this.t0;
    this.resolve({
      calls: this.calls,
      errors: this.errors,
      statusCounts: { ...this.statusCounts },
      elapsedS: this.started ? Math.max(0, endMs - this.t0) / 1000 : 0,
      latencyUs: this.histogram,
      ...(this.failure !== undefined ? { failure: this.failure } : {}),
    });
  }
}

export function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason.name === 'AbortError' ? 'aborted' : reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
