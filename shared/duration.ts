/**
 * The one duration syntax of every command (bench, grpc-load, bench:drivers):
 * a bare number is seconds (autocannon's habit, `--duration 10`), or one or
 * more parts with a unit, largest first, as ghz and k6 take them (`10s`,
 * `500ms`, `1m`, `1m30s`, `1.5s`). A DurationError is a UsageError
 * (shared/usage-error.ts): every command prints it as it prints its own, so
 * the message the user sees is the same everywhere.
 */
import { UsageError } from './usage-error.ts';

export const DURATION_FORMS = '3 (seconds), 3s, 500ms, 1m or 1m30s';
/** The same for the flags whose bare number has always been milliseconds. */
const DURATION_FORMS_BARE_MS = '5000 (milliseconds), 3s, 500ms, 1m or 1m30s';

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['h', 'm', 's', 'ms', 'us'];

/** A bad duration: a usage error of the flag that carries it. */
export class DurationError extends UsageError {}

export interface DurationBounds {
  /** Smallest accepted value in ms (inclusive). */
  minMs: number;
  /** Largest accepted value in ms (inclusive). */
  maxMs: number;
  /** Unit of a bare number: seconds unless a flag has always been in ms (bench --timeout). */
  bareUnit?: 's' | 'ms';
}

/** Milliseconds, or null when `text` is not in the duration syntax. */
export function parseDurationMs(text: string, bareUnit: 's' | 'ms' = 's'): number | null {
  const trimmed = text.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * UNIT_MS[bareUnit] * 1_000) / 1_000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== trimmed) return null;
  // Each unit at most once, largest first: "1m30s", not "30s1m" or "1s1s".
  const ranks = parts.map((part) => UNIT_ORDER.indexOf(part[2] as Unit));
  if (ranks.some((rank, i) => i > 0 && rank <= ranks[i - 1]!)) return null;
  const ms = parts.reduce((sum, part) => sum + Number(part[1]) * UNIT_MS[part[2] as Unit], 0);
  // 1.1s is 1100 ms, not 1100.0000000000002.
  return Math.round(ms * 1_000) / 1_000;
}

/**
 * A flag's duration in ms, checked against its bounds; a DurationError names
 * the flag, what it got and the accepted forms, in one line.
 */
export function durationMs(flag: string, text: string, bounds: DurationBounds): number {
  const ms = parseDurationMs(text, bounds.bareUnit);
  if (ms === null) {
    throw new DurationError(`${flag} must be a duration: ${bounds.bareUnit === 'ms' ? DURATION_FORMS_BARE_MS : DURATION_FORMS}, got "${text}"`);
  }
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    throw new DurationError(`${flag} must be from ${formatDuration(bounds.minMs)} to ${formatDuration(bounds.maxMs)}, got "${text}"`);
  }
  return ms;
}

/** The same in seconds, for the flags whose options are kept in seconds. */
export function durationSeconds(flag: string, text: string, bounds: { minS: number; maxS: number }): number {
  return durationMs(flag, text, { minMs: bounds.minS * 1_000, maxMs: bounds.maxS * 1_000 }) / 1_000;
}

/** 0 → "0s", 100 → "100ms", 1500 → "1.5s", 90000 → "1m30s", 3600000 → "1h". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1_000) return `${ms}ms`;
  let rest = ms;
  let text = '';
  for (const unit of ['h', 'm'] as const) {
    const whole = Math.floor(rest / UNIT_MS[unit]);
    if (whole > 0) {
      text += `${whole}${unit}`;
      rest -= whole * UNIT_MS[unit];
    }
  }
  if (rest > 0) text += `${Number((rest / 1_000).toFixed(3))}s`;
  return text;
}
