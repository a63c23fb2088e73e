/**
 * `--start-at`: when each measured run starts, so N generators started with
 * the same instant load the server in the same windows. Run k (0-based, in the
 * bench's order) starts at startAt + k x slot, a fixed slot per run long
 * enough for its warm-up, measured run and byte-counting pass. Fixed instants,
 * not "when the previous run ended", so one generator's slower pass does not
 * shift all its later runs: a late generator starts a run as soon as it can,
 * and bench:merge reports the skew.
 */
import type { BenchOptions } from '../options/options.ts';

/** Time before the warm-up's planned start for connecting and for its in-flight calls to drain. */
export const WARMUP_LEAD_S = 0.5;
/** Room in each slot after the measured run: drain, the byte-counting pass, the next run's set-up. */
export const SLOT_ALLOWANCE_S = 2.5;

export interface RunSchedule {
  /** Epoch ms run k's measured window is planned to start at. */
  measuredStartMs(k: number): number;
  /** Epoch ms its warm-up should start at (warm-up, then a short wait for the measured start). */
  warmupStartMs(k: number): number;
  slotS: number;
}

export function runSchedule(options: Pick<BenchOptions, 'startAt' | 'warmupS' | 'durationS'>): RunSchedule | null {
  if (options.startAt === null) return null;
  const startMs = Date.parse(options.startAt);
  const slotS = WARMUP_LEAD_S + options.warmupS + options.durationS + SLOT_ALLOWANCE_S;
  const measuredStartMs = (k: number): number => startMs + k * slotS * 1_000;
  return {
    slotS,
    measuredStartMs,
    warmupStartMs: (k) => measuredStartMs(k) - (options.warmupS > 0 ? (options.warmupS + WARMUP_LEAD_S) * 1_000 : 0),
  };
}

/** Resolves at `epochMs` (at once if it has passed) or when `signal` aborts. */
export function sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
  const waitMs = epochMs - Date.now();
  if (waitMs <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    signal.addEventListener('abort', done, { once: true });
  });
}
