import { performance } from 'node:perf_hooks';

export interface SteadyRate {
  /** Counts n bytes arriving now; true once the window is over. */
  onBytes(n: number): boolean;
  result(): { mbit: number | null; bytes: number; seconds: number };
}

/**
 * A receiver's rate over the second half of a `windowMs` window that starts
 * at the first byte: the steady rate, without TCP's slow start (which takes
 * several RTTs on a long path and would otherwise be averaged in).
 */
export function steadyRate(windowMs: number): SteadyRate {
  let first = -1;
  let total = 0;
  let half: { t: number; bytes: number } | null = null;
  let last: { t: number; bytes: number } | null = null;
  return {
    onBytes(n) {
      const now = performance.now();
      if (first < 0) first = now;
      total += n;
      if (half === null && now - first >= windowMs / 2) half = { t: now, bytes: total };
      if (now - first <= windowMs) last = { t: now, bytes: total };
      return now - first > windowMs;
    },
    result() {
      const seconds = half && last ? (last.t - half.t) / 1000 : 0;
      return { mbit: seconds > 0 ? ((last!.bytes - half!.bytes) * 8) / seconds / 1e6 : null, bytes: total, seconds };
    },
  };
}
