/**
 * HPACK encoding of the one request header set a run sends over and over.
 * The first request on a connection inserts every field the static table
 * lacks into the server's dynamic table (literal with incremental indexing);
 * every later request names them by index, so a HEADERS block is a dozen
 * bytes and only the frame's stream id changes between calls.
 */
import { STATIC_TABLE, STATIC_NAME_INDEX } from './hpack-static-table.ts';

const STATIC_COUNT = STATIC_TABLE.length;
const ENTRY_OVERHEAD = 32;

export interface RequestHeaderBlocks {
  /** Block for the first request on a connection (or after the table size changed). */
  first: Buffer;
  /** Block for every later request. Same as `first` when the fields cannot be indexed. */
  repeat: Buffer;
}

/**
 * `fields` in wire order (pseudo-headers first), names lower-case.
 * `peerTableSize` is the server's SETTINGS_HEADER_TABLE_SIZE: our encoder's
 * table may not exceed it. `announceSize` emits a size update first (needed
 * when the table must shrink below the 4,096-byte default or be reset).
 */
export function encodeRequestHeaderBlocks(
  fields: ReadonlyArray<readonly [string, string]>,
  peerTableSize: number,
  announceSize: boolean,
): RequestHeaderBlocks {
  const tableSize = Math.min(peerTableSize, 4096);
  const toIndex: Array<readonly [string, string]> = [];
  let indexedBytes = 0;
  for (const field of fields) {
    if (staticFullMatch(field[0], field[1]) === 0) {
      toIndex.push(field);
      indexedBytes += field[0].length + field[1].length + ENTRY_OVERHEAD;
    }
  }
  // Indexing only pays if all entries stay in the table together; otherwise
  // send plain literals every time (a metadata set over 4 KB is unusual).
  const canIndex = indexedBytes <= tableSize;

  const first: number[] = [];
  if (announceSize || tableSize < 4096) writeInteger(first, 0x20, 5, tableSize);
  const repeat: number[] = [];
  let insertOrder = 0;
  for (const [name, value] of fields) {
    const full = staticFullMatch(name, value);
    if (full !== 0) {
      writeInteger(first, 0x80, 7, full);
      writeInteger(repeat, 0x80, 7, full);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    if (canIndex) {
      writeLiteral(first, 0x40, 6, nameIndex, name, value);
      // The k-th of n inserted entries ends up at dynamic index n - k (newest is 1).
      const dynamicIndex = STATIC_COUNT + (toIndex.length - insertOrder);
      writeInteger(repeat, 0x80, 7, dynamicIndex);
      insertOrder++;
    } else {
      writeLiteral(first, 0x00, 4, nameIndex, name, value);
      writeLiteral(repeat, 0x00, 4, nameIndex, name, value);
    }
  }
  return { first: Buffer.from(first), repeat: Buffer.from(repeat) };
}

function staticFullMatch(name: string, value: string): number {
  for (let i = 0; i < STATIC_COUNT; i++) {
    if (STATIC_TABLE[i][0] === name && STATIC_TABLE[i][1] === value) return i + 1;
  }
  return 0;
}

function writeLiteral(out: number[], pattern: number, prefixBits: number, nameIndex: number, name: string, value: string): void {
  writeInteger(out, pattern, prefixBits, nameIndex);
  if (nameIndex === 0) writeString(out, name);
  writeString(out, value);
}

/** Raw (not Huffman) strings: they are sent once per connection, so size does not matter. */
function writeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  writeInteger(out, 0x00, 7, bytes.length);
  for (const byte of bytes) out.push(byte);
}

/** RFC 7541 section 5.1 integer with an N-bit prefix OR-ed into `pattern`. */
export function writeInteger(out: number[], pattern: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(pattern | value);
    return;
  }
  out.push(pattern | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}
