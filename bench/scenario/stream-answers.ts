/**
 * The calculator's stream answers, checked for the stream generator (which
 * only counts and times them): every message the bench sends is the value 1,
 * so a bidi stream's k-th running total is k, a server stream's (prefix-sums
 * of N ones) k-th total is k, and a client stream's one total is the number of
 * values sent. An answer is a calculator.v1.Result { double value = 1; } in
 * protobuf, or `{"value":N}` in JSON.
 */
import type { StreamAnswers, StreamKind } from '../types.ts';

const CR = 13;
const VALUE_PREFIX = Buffer.from('{"value":', 'latin1');

function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * The total of a `{"value":N}` line (bytes start..end of buf, a CR before the
 * end allowed), or null for any other line (an error, or a shape this check
 * does not know). An integer N is read digit by digit, the generator's every
 * answer; any other number goes through Number(), which gives NaN for what is
 * not a number (the caller refuses it).
 */
export function valueOfLine(buf: Buffer, start = 0, end = buf.length): number | null {
  if (end > start && buf[end - 1] === CR) end--;
  if (end - start <= VALUE_PREFIX.length + 1 || buf[end - 1] !== 0x7d /* } */ || !startsWith(buf, start, end, VALUE_PREFIX)) return null;
  const from = start + VALUE_PREFIX.length;
  const to = end - 1;
  let negative = false;
  let at = from;
  if (buf[at] === 0x2d /* - */) {
    negative = true;
    at++;
  }
  let value = 0;
  // 15 digits stay exact in a double.
  if (at < to && to - at <= 15) {
    for (; at < to; at++) {
      const digit = buf[at]! - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (at === to) return negative ? -value : value;
  }
  return Number(buf.toString('latin1', from, to));
}

/** A Result's value from its protobuf bytes: empty is 0 (proto3 default); else tag 0x09 and a double. Null for anything else. */
export function valueOfResult(message: Buffer): number | null {
  if (message.length === 0) return 0;
  if (message.length === 9 && message[0] === 0x09) return message.readDoubleLE(1);
  return null;
}

/**
 * The check of a calculator stream's answers: the (index+1)-th running total
 * is index+1; a client stream's total is the values it sent.
 */
export function calculatorStreamAnswers(kind: StreamKind): StreamAnswers {
  return {
    check(index, message, encoding, sent) {
      const value = encoding === 'protobuf' ? valueOfResult(message) : valueOfLine(message);
      const expected = kind === 'client-stream' ? sent : index + 1;
      if (value === expected) return null;
      if (value === null || Number.isNaN(value)) return `answer ${index + 1} is not a total: ${encoding === 'json' ? message.toString('utf8') : `${message.length} protobuf bytes`}`;
      return `answer ${index + 1} was ${value}, expected ${expected}`;
    },
  };
}
