/**
 * Deterministic request payloads for Sum: the values a Numbers message carries,
 * in shapes that change how JSON and protobuf compare. Shared by the
 * micro-benchmarks and the load runner's payload sweep, so both measure the
 * same bytes.
 *
 * Values come from a seeded PRNG (mulberry32): the same (count, shape, seed)
 * always gives the same numbers, on every machine, and makeValues(n, s) is a
 * prefix of makeValues(m, s) for n <= m.
 */
import { LIMITS } from '../../servers/calculator.ts';

/**
 * - `int`: small integers 0..99 — 1 or 2 characters in JSON, always 8 bytes in protobuf;
 * - `money`: two-decimal amounts 0.00..9999.99 (e.g. 1234.56) — about as long in JSON as in protobuf;
 * - `double`: full-precision doubles in [0, 1e6), like Math.random() * 1e6 — up to 17 significant digits in JSON.
 */
export type ValueShape = 'int' | 'money' | 'double';
export const VALUE_SHAPES: readonly ValueShape[] = ['int', 'money', 'double'];

/** The payload sizes (number of values) swept by default. */
export const PAYLOAD_SIZES: readonly number[] = [1, 10, 100, 1_000, 10_000, 100_000];

export const DEFAULT_SEED = 0x5eed_ca1c;

export function isValueShape(name: string): name is ValueShape {
  return (VALUE_SHAPES as readonly string[]).includes(name);
}

/** A mulberry32 generator: 32-bit state, uniform integers in [0, 2^32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seed per shape, so the shapes are not the same draws scaled differently. */
function shapeSeed(shape: ValueShape, seed: number): number {
  return (seed ^ Math.imul(VALUE_SHAPES.indexOf(shape) + 1, 0x9e3779b9)) >>> 0;
}

/** `count` values of `shape`, deterministic for a given seed. */
export function makeValues(count: number, shape: ValueShape, seed: number = DEFAULT_SEED): number[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  if (!isValueShape(shape)) throw new RangeError(`unknown value shape "${String(shape)}"`);
  const next = mulberry32(shapeSeed(shape, seed));
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    switch (shape) {
      case 'int':
        values[i] = next() % 100;
        break;
      case 'money':
        values[i] = (next() % 1_000_000) / 100;
        break;
      case 'double': {
        // 53 random bits, as Math.random() has: 27 high bits and 26 low bits.
        const unit = ((next() >>> 5) * 67_108_864 + (next() >>> 6)) / 9_007_199_254_740_992;
        values[i] = unit * 1e6;
        break;
      }
    }
  }
  return values;
}

/** The Sum request ({values}) for `count` values of `shape`. */
export function makeNumbers(count: number, shape: ValueShape, seed?: number): { values: number[] } {
  return { values: makeValues(count, shape, seed) };
}

/**
 * Parses a comma-separated list of payload sizes ("1,10,100"): positive
 * integers up to the server limit, deduplicated and sorted. Throws a
 * RangeError with a one-line message on bad input.
 */
export function parseSizes(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim().replaceAll('_', ''));
  if (parts.length === 0 || parts.some((part) => part === '')) {
    throw new RangeError(`sizes must be a comma-separated list of integers, got "${text}"`);
  }
  const sizes = parts.map((part) => {
    const size = /^\d+$/.test(part) ? Number(part) : NaN;
    if (!Number.isSafeInteger(size) || size < 1 || size > LIMITS.maxValues) {
      throw new RangeError(`size "${part}" is not an integer from 1 to ${LIMITS.maxValues}`);
    }
    return size;
  });
  return [...new Set(sizes)].sort((x, y) => x - y);
}

/** Parses a comma-separated list of value shapes ("int,double"). Throws a RangeError on bad input. */
export function parseShapes(text: string): ValueShape[] {
  const parts = text.split(',').map((part) => part.trim());
  const shapes = parts.map((part) => {
    if (!isValueShape(part)) {
      throw new RangeError(`shape "${part}" is not one of ${VALUE_SHAPES.join(', ')}`);
    }
    return part;
  });
  // Keep the canonical order, so tables read the same whatever the flag's order.
  return VALUE_SHAPES.filter((shape) => shapes.includes(shape));
}
