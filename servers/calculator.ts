/**
 * The calculator: the single source of the operations and of their input
 * validation, shared by every server. No protocol code lives here; adapters
 * pass in what they decoded (a parsed JSON body or a decoded protobuf message)
 * and map a thrown CalcError to their own status.
 *
 * Edge cases, decided once for both protocols:
 * - a missing or null operand is an error, never 0 (the .proto uses
 *   `optional double`, so gRPC can tell a missing operand from 0 as REST does);
 * - an operand that is not a number (string, boolean, object, array) is an error;
 * - NaN and ±Infinity are rejected as inputs (JSON cannot carry them, so gRPC
 *   must not accept them either), and a result that overflows to ±Infinity is
 *   an OUT_OF_RANGE error;
 * - division by zero is an error (not Infinity, not NaN);
 * - `values` of Sum must hold 1 to LIMITS.maxValues finite numbers: proto3 cannot
 *   tell an empty repeated field from a missing one, so both are errors, alike.
 *
 * Streams (running-sum, sum-stream, prefix-sums) reuse the same checks, one
 * message at a time: each message is {value}, validated like an operand; the
 * running total overflowing is OUT_OF_RANGE; a stream carries at most
 * LIMITS.maxStreamMessages messages, and a sum-stream needs at least one, as sum does.
 */
import { CalcError } from './errors.ts';

export const BINARY_OPERATIONS = ['add', 'subtract', 'multiply', 'divide'] as const;
export const OPERATIONS = [...BINARY_OPERATIONS, 'sum'] as const;

/** The streaming methods: bidirectional, client streaming, server streaming. */
export const STREAM_OPERATIONS = ['running-sum', 'sum-stream', 'prefix-sums'] as const;
export type StreamOperation = (typeof STREAM_OPERATIONS)[number];

export type BinaryOperation = (typeof BINARY_OPERATIONS)[number];
export type Operation = (typeof OPERATIONS)[number];

export interface Operands {
  a: number;
  b: number;
}
export interface Numbers {
  values: number[];
}

export const LIMITS = {
  /** Most numbers one Sum call may carry. */
  maxValues: 100_000,
  /**
   * Largest request body either server reads, in bytes (JSON text or protobuf
   * message). 100,000 full-precision doubles take about 2.3 MB as JSON.
   */
  maxBodyBytes: 4 * 1024 * 1024,
  /**
   * Most messages one stream (running-sum, sum-stream) may carry. Each answer is
   * sent (or the stream paused) as it comes, so the server holds no list of
   * them; the cap bounds how long one stream can run, not memory.
   */
  maxStreamMessages: 1_000_000,
  /** A stream that carries no message for this long is ended with DEADLINE_EXCEEDED. */
  streamIdleMs: 10_000,
} as const;

export function isStreamOperation(name: string): name is StreamOperation {
  return (STREAM_OPERATIONS as readonly string[]).includes(name);
}

/**
 * The state of one running-sum or sum-stream: feed it each decoded message with
 * add(), which validates it and returns the total so far. Throws CalcError.
 */
export class RunningTotal {
  private total = 0;
  private count = 0;

  add(message: unknown): number {
    if (this.count === LIMITS.maxStreamMessages) {
      throw new CalcError('INVALID_ARGUMENT', `stream carries more than the limit of ${LIMITS.maxStreamMessages} messages`);
    }
    const value = requireFiniteNumber(requireObject(message, 'message').value, 'value');
    this.count++;
    this.total = finiteResult(this.total + value);
    return this.total;
  }

  /** The total of a finished sum-stream; like sum, an empty stream is an error. */
  result(): number {
    if (this.count === 0) throw new CalcError('INVALID_ARGUMENT', 'stream must carry at least 1 number');
    return this.total;
  }
}

/**
 * The running totals of prefix-sums: `input` is validated whole first (as sum's
 * request), then each total is yielded as it is computed; an overflow throws
 * OUT_OF_RANGE at the value that overflows, after the totals before it.
 */
export function prefixSums(input: unknown): Iterable<number> {
  return runningTotals(parseNumbers(input).values);
}

function* runningTotals(values: number[]): Generator<number> {
  let total = 0;
  for (const value of values) {
    total = finiteResult(total + value);
    yield total;
  }
}

export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** Validates `input` for `operation` and computes the result. Throws CalcError. */
export function calculate(operation: Operation, input: unknown): number {
  if (operation === 'sum') return sum(parseNumbers(input));
  const { a, b } = parseOperands(input);
  return applyBinary(operation, a, b);
}

export function applyBinary(operation: BinaryOperation, a: number, b: number): number {
  let value: number;
  switch (operation) {
    case 'add':
      value = a + b;
      break;
    case 'subtract':
      value = a - b;
      break;
    case 'multiply':
      value = a * b;
      break;
    case 'divide':
      if (b === 0) throw new CalcError('INVALID_ARGUMENT', 'division by zero');
      value = a / b;
      break;
  }
  return finiteResult(value);
}

export function sum(numbers: Numbers): number {
  let total = 0;
  for (const value of numbers.values) total += value;
  return finiteResult(total);
}

export function parseOperands(input: unknown): Operands {
  const body = requireObject(input);
  return { a: requireFiniteNumber(body.a, 'a'), b: requireFiniteNumber(body.b, 'b') };
}

export function parseNumbers(input: unknown): Numbers {
  const body = requireObject(input);
  const values = body.values ?? [];
  if (!Array.isArray(values)) {
    throw new CalcError('INVALID_ARGUMENT', `field "values" must be an array of numbers, got ${describe(values)}`);
  }
  if (values.length === 0) {
    throw new CalcError('INVALID_ARGUMENT', 'field "values" must hold at least 1 number');
  }
  if (values.length > LIMITS.maxValues) {
    throw new CalcError(
      'INVALID_ARGUMENT',
      `field "values" holds ${values.length} numbers, more than the limit of ${LIMITS.maxValues}`,
    );
  }
  for (let i = 0; i < values.length; i++) requireFiniteNumber(values[i], `values[${i}]`);
  return { values: values as number[] };
}

function requireObject(input: unknown, what = 'request body'): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new CalcError('INVALID_ARGUMENT', `${what} must be a JSON object, got ${describe(input)}`);
  }
  return input as Record<string, unknown>;
}

function requireFiniteNumber(value: unknown, field: string): number {
  if (value === undefined || value === null) {
    throw new CalcError('INVALID_ARGUMENT', `field "${field}" is required`);
  }
  if (typeof value !== 'number') {
    throw new CalcError('INVALID_ARGUMENT', `field "${field}" must be a number, got ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new CalcError('INVALID_ARGUMENT', `field "${field}" must be a finite number`);
  }
  return value;
}

function finiteResult(value: number): number {
  if (!Number.isFinite(value)) {
    throw new CalcError('OUT_OF_RANGE', 'result is outside the range of a double (overflow)');
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
