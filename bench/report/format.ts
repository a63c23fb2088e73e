/** Number formatting shared by the micro-benchmark's renderers and summary. */

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** 1234567 -> "1.23M", 45678 -> "45.7k". */
export function formatOps(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return value.toPrecision(3);
}

/** A duration given in ns, in the unit that keeps 3 significant digits readable. */
export function formatNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toPrecision(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
  return `${ns.toPrecision(3)} ns`;
}

export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}

export function formatPct(value: number): string {
  return `±${value.toFixed(2)}%`;
}
