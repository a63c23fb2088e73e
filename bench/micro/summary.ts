/**
 * Plain-language findings generated from measured numbers only: every byte
 * count, ratio and size in these sentences is read from the results, so a
 * change in the encoders or the payloads changes the text.
 */
import { crossingClause, holdsFromSize } from '../report/crossing.ts';
import type { ValueShape } from '../scenario/payloads.ts';
import { formatInt, formatRatio } from '../report/format.ts';
import type { CaseResult, DirectionResult } from './report.ts';

function speed(result: DirectionResult): string {
  const ratio = result.jsonToProtobufTime;
  if (ratio >= 1) return `protobuf ${formatRatio(ratio)} faster than JSON`;
  return `JSON ${formatRatio(1 / ratio)} faster than protobuf`;
}

function operandsSentence(item: CaseResult): string {
  const { json, protobuf } = item.bytes;
  const body = item.bodies ? ` ${item.bodies.json}` : '';
  const comparison =
    json < protobuf
      ? `JSON is ${protobuf - json} bytes smaller`
      : json > protobuf
        ? `protobuf is ${json - protobuf} bytes smaller`
        : 'they are the same size';
  return (
    `${item.label}: the JSON body${body} is ${formatInt(json)} bytes and the protobuf body ${formatInt(protobuf)} bytes, ` +
    `so ${comparison}; encode: ${speed(item.encode)}, decode with validation: ${speed(item.decode)}.`
  );
}

/**
 * The smallest measured size from which `smaller(row)` holds for every larger
 * measured size too, or null if it does not hold at the largest.
 */
export function holdsFrom(rows: readonly CaseResult[], smaller: (row: CaseResult) => boolean): number | null {
  return holdsFromSize(rows, (row) => row.values ?? 0, smaller);
}

/** The smallest measured size from which the protobuf body stays smaller than the JSON body, or null. */
export function protobufSmallerFrom(rows: readonly CaseResult[]): number | null {
  return holdsFrom(rows, (row) => row.bytes.protobuf < row.bytes.json);
}

function sizeSentence(shape: ValueShape, rows: CaseResult[]): string {
  const pairs = rows.map((row) => ({ size: row.values ?? 0, a: row.bytes.protobuf, b: row.bytes.json }));
  return crossingClause(pairs, { a: 'protobuf', b: 'JSON', noun: `${shape} values` });
}

function shapeSentences(shape: ValueShape, rows: CaseResult[]): string[] {
  if (rows.length === 0) return [];
  const largest = rows.reduce((x, y) => ((y.values ?? 0) > (x.values ?? 0) ? y : x));
  const n = formatInt(largest.values ?? 0);
  const bytes =
    `at ${n} ${shape} values JSON is ${formatRatio(largest.bytes.jsonToProtobuf)} the bytes of protobuf ` +
    `(${formatInt(largest.bytes.json)} vs ${formatInt(largest.bytes.protobuf)})`;
  return [
    `${sizeSentence(shape, rows)}; ${bytes}.`,
    `At ${n} ${shape} values, encode: ${speed(largest.encode)}; decode with validation: ${speed(largest.decode)}.`,
  ];
}

export function summarize(results: readonly CaseResult[]): string[] {
  const sentences: string[] = [];
  const operands = results.find((item) => item.message === 'Operands');
  if (operands) sentences.push(operandsSentence(operands));
  const shapes = [...new Set(results.flatMap((item) => (item.message === 'Numbers' && item.shape ? [item.shape] : [])))];
  for (const shape of shapes) {
    const rows = results.filter((item) => item.message === 'Numbers' && item.shape === shape);
    sentences.push(...shapeSentences(shape, rows));
  }
  return sentences;
}
