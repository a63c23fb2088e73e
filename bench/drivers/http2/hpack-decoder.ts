/**
 * HPACK decoder (RFC 7541) for one direction of one connection. HPACK state is
 * shared by every header block the peer sends, so each block must be decoded
 * once, in arrival order, even for streams we no longer care about (a late
 * response to a cancelled call still inserts into the dynamic table).
 */
import { huffmanDecode } from './huffman.ts';
import { STATIC_TABLE } from './hpack-static-table.ts';

export class HpackError extends Error {}

/** Receives decoded fields; an object rather than a closure so the hot path allocates nothing. */
export interface HeaderSink {
  onHeader(name: string, value: string): void;
}

const STATIC_COUNT = STATIC_TABLE.length;
const ENTRY_OVERHEAD = 32;

export class HpackDecoder {
  /** Upper bound the peer may set with a size update: our SETTINGS_HEADER_TABLE_SIZE. */
  private readonly settingsMaxSize: number;
  private maxSize: number;
  private size = 0;
  // The dynamic table as a ring: `newest` is dynamic index 1, older entries follow.
  private readonly names: string[];
  private readonly values: string[];
  private readonly sizes: Int32Array;
  private readonly capacity: number;
  private newest = 0;
  private count = 0;
  /** Read position of the block being decoded (a field, not a return tuple, to avoid allocation). */
  private pos = 0;

  constructor(settingsMaxSize = 4096) {
    this.settingsMaxSize = settingsMaxSize;
    this.maxSize = settingsMaxSize;
    // Every entry takes at least 32 bytes, which bounds how many fit.
    this.capacity = Math.floor(settingsMaxSize / ENTRY_OVERHEAD) + 1;
    this.names = new Array<string>(this.capacity).fill('');
    this.values = new Array<string>(this.capacity).fill('');
    this.sizes = new Int32Array(this.capacity);
  }

  /** Current dynamic table size in bytes (entries' name + value + 32). */
  get tableSize(): number {
    return this.size;
  }

  /** Dynamic entries, newest first; for tests. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.newest - i + this.capacity) % this.capacity;
      out.push([this.names[slot], this.values[slot]]);
    }
    return out;
  }

  /** Decodes one complete header block (HEADERS plus any CONTINUATION fragments). Throws HpackError. */
  decode(block: Buffer, start: number, end: number, sink: HeaderSink): void {
    this.pos = start;
    let sawField = false;
    while (this.pos < end) {
      const first = block[this.pos];
      if (first & 0x80) {
        const index = this.readInteger(block, end, 7);
        if (index === 0) throw new HpackError('HPACK: indexed field with index 0');
        if (index <= STATIC_COUNT) {
          const entry = STATIC_TABLE[index - 1];
          sink.onHeader(entry[0], entry[1]);
        } else {
          const slot = this.dynamicSlot(index);
          sink.onHeader(this.names[slot], this.values[slot]);
        }
        sawField = true;
      } else if (first & 0x40) {
        const name = this.readName(block, end, 6);
        const value = this.readString(block, end);
        this.insert(name, value);
        sink.onHeader(name, value);
        sawField = true;
      } else if (first & 0x20) {
        // Section 4.2: a size update is only valid before the first field of a block.
        if (sawField) throw new HpackError('HPACK: dynamic table size update after a header field');
        const newSize = this.readInteger(block, end, 5);
        if (newSize > this.settingsMaxSize) throw new HpackError(`HPACK: table size ${newSize} above our limit`);
        this.maxSize = newSize;
        this.evictTo(newSize);
      } else {
        // Literal without indexing (0000) or never indexed (0001): same layout.
        const name = this.readName(block, end, 4);
        const value = this.readString(block, end);
        sink.onHeader(name, value);
        sawField = true;
      }
    }
  }

  private readName(block: Buffer, end: number, prefixBits: number): string {
    const index = this.readInteger(block, end, prefixBits);
    if (index === 0) return this.readString(block, end);
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1][0];
    return this.names[this.dynamicSlot(index)];
  }

  private dynamicSlot(index: number): number {
    const age = index - STATIC_COUNT - 1;
    if (age >= this.count) throw new HpackError(`HPACK: index ${index} beyond the table`);
    return (this.newest - age + this.capacity) % this.capacity;
  }

  /** Section 5.1 integer with an N-bit prefix. */
  private readInteger(block: Buffer, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = block[this.pos++] & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('HPACK: truncated integer');
      const byte = block[this.pos++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
      // Nothing legitimate needs more than 2^28; this rejects endless continuation bytes.
      if (shift > 28) throw new HpackError('HPACK: integer too large');
    }
    return value;
  }

  /** Section 5.2 string literal, raw or Huffman-coded; header bytes are latin1. */
  private readString(block: Buffer, end: number): string {
    if (this.pos >= end) throw new HpackError('HPACK: truncated string');
    const huffman = (block[this.pos] & 0x80) !== 0;
    const length = this.readInteger(block, end, 7);
    const stringEnd = this.pos + length;
    if (stringEnd > end) throw new HpackError('HPACK: string runs past the block');
    const text = huffman
      ? huffmanDecode(block, this.pos, stringEnd)
      : block.toString('latin1', this.pos, stringEnd);
    this.pos = stringEnd;
    return text;
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      // Section 4.4: an entry larger than the table empties it and is not added.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    this.newest = (this.newest + 1) % this.capacity;
    this.names[this.newest] = name;
    this.values[this.newest] = value;
    this.sizes[this.newest] = entrySize;
    this.count++;
    this.size += entrySize;
  }

  private evictTo(limit: number): void {
    while (this.size > limit && this.count > 0) {
      const oldest = (this.newest - this.count + 1 + this.capacity) % this.capacity;
      this.size -= this.sizes[oldest];
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }
}
