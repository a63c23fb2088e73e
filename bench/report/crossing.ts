/**
 * Where one encoding or protocol starts to win as payloads grow: shared by the
 * micro-benchmark's summary (message bodies) and the load bench's payload-sweep
 * summary (bodies and wire bytes). Pure functions over measured numbers.
 */
import { formatInt } from './format.ts';

/** One measured size: `a` and `b` are the two sides' figures (lower is better). */
export interface SizedPair {
  size: number;
  a: number;
  b: number;
}

/**
 * The smallest measured size from which `holds(row)` is true for every larger
 * measured size too, or null if it does not hold at the largest.
 */
export function holdsFromSize<T>(rows: readonly T[], sizeOf: (row: T) => number, holds: (row: T) => boolean): number | null {
  let from: number | null = null;
  for (const row of [...rows].sort((x, y) => sizeOf(x) - sizeOf(y))) {
    if (holds(row)) from ??= sizeOf(row);
    else from = null;
  }
  return from;
}

/**
 * A clause saying which side is smaller from which size on, e.g. "protobuf is
 * smaller than JSON from 10 int values on" or "JSON is smaller than protobuf for
 * int values at every measured size (1 to 100,000 values)". `noun` names the
 * values ("int values"), `a`/`b` the two sides.
 */
export function crossingClause(rows: readonly SizedPair[], names: { a: string; b: string; noun: string }): string {
  const { a, b, noun } = names;
  const sizes = rows.map((row) => row.size);
  const smallest = Math.min(...sizes);
  const range = `${formatInt(smallest)} to ${formatInt(Math.max(...sizes))} values`;
  const size = (row: SizedPair): number => row.size;
  const aFrom = holdsFromSize(rows, size, (row) => row.a < row.b);
  if (aFrom === smallest) return `${a} is smaller than ${b} for ${noun} at every measured size (${range})`;
  if (aFrom !== null) return `${a} is smaller than ${b} from ${formatInt(aFrom)} ${noun} on`;
  const bFrom = holdsFromSize(rows, size, (row) => row.b < row.a);
  if (bFrom === smallest) return `${b} is smaller than ${a} for ${noun} at every measured size (${range})`;
  if (bFrom !== null) {
    const aSizes = rows.filter((row) => row.size < bFrom && row.a < row.b).map((row) => formatInt(row.size));
    const only = aSizes.length > 0 ? `${a} is smaller only at ${aSizes.join(', ')} ${noun.replace(/ values$/, '')} value(s); ` : '';
    return `${only}${b} is smaller than ${a} from ${formatInt(bFrom)} ${noun} on`;
  }
  return `${b} and ${a} are the same size at ${formatInt(Math.max(...sizes))} ${noun}`;
}
