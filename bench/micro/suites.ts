/**
 * The micro-benchmark cases: one message (Operands, Result or Numbers of n
 * values of a shape), its bytes in both formats, and the four functions timed
 * for it (JSON/protobuf × encode/decode). No timing here.
 *
 * Each function does what a server or client does with one message body:
 * - JSON encode: JSON.stringify, then the UTF-8 bytes sent on the wire
 *   (what res.json() / fetch do with the string);
 * - JSON decode: UTF-8 bytes to text, JSON.parse (what express.json() does),
 *   then the REST server's validation (parseOperands / parseNumbers);
 * - protobuf encode: Type.fromObject then Type.encode(...).finish(), as
 *   @grpc/proto-loader's serializer does for grpc-js;
 * - protobuf decode: Type.decode then Type.toObject with LOADER_OPTIONS, as
 *   proto-loader's deserializer does, then the same validation.
 * Result is only read by clients, which check nothing: its decode is parse
 * and read `value` for both formats.
 */
import type protobuf from 'protobufjs';
import { parseNumbers, parseOperands } from '../../servers/calculator.ts';
import { LOADER_OPTIONS, messageTypes } from '../../servers/proto.ts';
import { makeNumbers, type ValueShape } from '../scenario/payloads.ts';

export type MessageName = 'Operands' | 'Result' | 'Numbers';
export type Format = 'json' | 'protobuf';
export type Direction = 'encode' | 'decode';
export const FORMATS: readonly Format[] = ['json', 'protobuf'];
export const DIRECTIONS: readonly Direction[] = ['encode', 'decode'];

/** The Operands request every binary operation example uses. */
export const OPERANDS_EXAMPLE = { a: 20, b: 10 } as const;

export interface Codec {
  encode: () => Uint8Array;
  decode: () => unknown;
}

export interface MicroCase {
  /** Stable identifier, e.g. "Numbers/1000/double". */
  id: string;
  message: MessageName;
  /** Number of values (Numbers), null for Operands and Result. */
  values: number | null;
  /** Value shape (Numbers, and the Sum answer a Result carries), null for Operands and Result of add. */
  shape: ValueShape | null;
  /** Human label, e.g. "Numbers ×1,000 double". */
  label: string;
  /** The message as a plain object. */
  input: object;
  /** Encoded bodies, measured from the encoders below. */
  encoded: { json: Uint8Array; protobuf: Uint8Array };
  codecs: Record<Format, Codec>;
}

export interface CaseSelection {
  sizes: readonly number[];
  shapes: readonly ValueShape[];
}

type Validate = (input: unknown) => unknown;

const CONVERSION_OPTIONS = LOADER_OPTIONS as protobuf.IConversionOptions;

function readResult(input: unknown): number {
  return (input as { value?: number }).value ?? 0;
}

function makeCase(
  message: MessageName,
  values: number | null,
  shape: ValueShape | null,
  label: string,
  input: object,
  validate: Validate,
): MicroCase {
  const type = messageTypes()[message];

  const jsonEncode = (): Uint8Array => Buffer.from(JSON.stringify(input), 'utf8');
  const protobufEncode = (): Uint8Array => type.encode(type.fromObject(input)).finish();
  const json = jsonEncode();
  const pb = protobufEncode();
  const jsonBytes = Buffer.from(json.buffer, json.byteOffset, json.byteLength);

  const codecs: Record<Format, Codec> = {
    json: {
      encode: jsonEncode,
      decode: () => validate(JSON.parse(jsonBytes.toString('utf8'))),
    },
    protobuf: {
      encode: protobufEncode,
      decode: () => validate(type.toObject(type.decode(pb), CONVERSION_OPTIONS)),
    },
  };

  const id = [message, values, shape].filter((part) => part !== null).join('/');
  return { id, message, values, shape, label, input, encoded: { json, protobuf: pb }, codecs };
}

function sumOf(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** The Result of Sum over 100 values of each shape: how the answer's own shape changes its JSON size. */
export const RESULT_SUM_VALUES = 100;

/**
 * All cases for a selection: Operands {a:20,b:10}, its Result (30), the
 * Result of a Sum per shape, then Numbers for every size × shape.
 */
export function buildCases(selection: CaseSelection): MicroCase[] {
  const cases: MicroCase[] = [
    makeCase('Operands', null, null, 'Operands {a:20,b:10}', { ...OPERANDS_EXAMPLE }, parseOperands),
    makeCase('Result', null, null, 'Result of add (30)', { value: OPERANDS_EXAMPLE.a + OPERANDS_EXAMPLE.b }, readResult),
  ];
  for (const shape of selection.shapes) {
    const value = sumOf(makeNumbers(RESULT_SUM_VALUES, shape).values);
    cases.push(makeCase('Result', null, shape, `Result of sum, ${shape}`, { value }, readResult));
  }
  for (const size of selection.sizes) {
    for (const shape of selection.shapes) {
      const label = `Numbers ×${size.toLocaleString('en-US')} ${shape}`;
      cases.push(makeCase('Numbers', size, shape, label, makeNumbers(size, shape), parseNumbers));
    }
  }
  return cases;
}
