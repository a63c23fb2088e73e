/** Words and numbers for people: scenario labels, machine descriptions, number formats. */
import type { Environment, RunRecord } from '../results/record.ts';
import type { Protocol } from '../types.ts';

export const PROTOCOL_LABEL: Readonly<Record<Protocol, string>> = { grpc: 'gRPC', rest: 'REST' };

/**
 * What a scenario does apart from its load: "add", "sum of 1,000 double values",
 * "sum of 10 int values, gzip". The shape and compression are part of it because
 * the standard profile runs the same size in several shapes, and each answers differently.
 */
export function workloadLabel(run: Pick<RunRecord, 'operation' | 'payloadValues' | 'valueShape' | 'compression'>): string {
  const shape = run.valueShape ? `${run.valueShape} ` : '';
  const what = run.operation === 'sum' && run.payloadValues !== null ? `sum of ${integer(run.payloadValues)} ${shape}values` : run.operation;
  return run.compression === 'gzip' ? `${what}, gzip` : what;
}

/** "add, 64 in flight", "sum of 1,000 double values, 16 in flight", "add, open loop at 5,000/s". */
export function scenarioLabel(run: Pick<RunRecord, 'operation' | 'payloadValues' | 'valueShape' | 'compression' | 'concurrency' | 'rate'>): string {
  const what = workloadLabel(run);
  const load = run.rate === null ? `${integer(run.concurrency)} in flight` : `open loop at ${integer(run.rate)}/s (≤${integer(run.concurrency)} in flight)`;
  return `${what}, ${load}`;
}

/** "Intel(R) Xeon(R) ... ×8, Node v20.19.0". */
export function machineLabel(environment: Environment): string {
  return `${environment.cpuModel} ×${environment.cpuCount}, Node ${environment.node}`;
}

export function integer(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/**
 * Calls/s and bytes for every report: 950, 9.5k, 95k, 1.2M (whole numbers from
 * 100 to 9,999, one decimal below 100); "–" for a figure that was not measured.
 */
export function compact(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(abs >= 1e5 ? 0 : 1)}k`;
  return abs >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** Latency and CPU: 3 significant figures (123, 12.3, 1.23). */
export function fixed(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Milliseconds with sensible precision: 0.0123 → "0.0123 ms", 12.3456 → "12.3 ms". */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return `${value >= 100 ? integer(value) : value.toPrecision(3)} ms`;
}

/** Signed percentage with a real minus sign: -0.3 → "−30.0%". */
export function percent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return fraction > 0 ? '+∞%' : fraction < 0 ? '−∞%' : '–';
  const text = `${Math.abs(fraction * 100).toFixed(digits)}%`;
  if (Number(text.slice(0, -1)) === 0) return `±${text}`;
  return fraction < 0 ? `−${text}` : `+${text}`;
}

export function ratio(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return `${value >= 10 ? value.toFixed(0) : value >= 1.995 ? value.toFixed(1) : value.toFixed(2)}×`;
}
