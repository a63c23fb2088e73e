/**
 * A passive, incremental HTTP/2 frame splitter for one direction of a gRPC
 * connection. It reads the 24-byte client preface (client side), then 9-byte
 * frame headers; everything except DATA payload is header/framing bytes
 * (HEADERS, CONTINUATION, SETTINGS, WINDOW_UPDATE, PING, RST_STREAM, GOAWAY,
 * PRIORITY, padding). Inside DATA, each stream carries gRPC length-prefixed
 * messages: the 5-byte prefix (compressed flag + 4-byte length) is framing, the
 * message is body. Messages may span DATA frames and frames may span chunks.
 */
import { emptyCounts, type StreamCounts, type WireParser } from './counts.ts';

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;
export const GRPC_PREFIX_BYTES = 5;
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_PADDED = 0x8;

/** Where a stream is within its gRPC message sequence. */
interface GrpcMessageState {
  /** Prefix bytes collected for the next message (0..4 bytes kept). */
  prefix: number[];
  /** Message bytes still to come for the current message. */
  remaining: number;
}

type Frame = { type: number; flags: number; streamId: number; length: number; consumed: number; padLength: number | null };

export class Http2Parser implements WireParser {
  readonly counts: StreamCounts = emptyCounts();
  private prefaceLeft: number;
  private header: number[] = [];
  private frame: Frame | null = null;
  private readonly streams = new Map<number, GrpcMessageState>();

  /**
   * @param clientSide whether this direction starts with the client connection preface.
   * @param grpcFraming false for plain HTTP/2 calls (JSON over h2c): all DATA is body, one message per stream.
   */
  constructor(
    clientSide: boolean,
    private readonly grpcFraming = true,
  ) {
    this.prefaceLeft = clientSide ? CLIENT_PREFACE.length : 0;
  }

  push(chunk: Buffer): void {
    this.counts.totalBytes += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.prefaceLeft > 0) {
        const take = Math.min(this.prefaceLeft, chunk.length - offset);
        this.counts.headerBytes += take;
        this.prefaceLeft -= take;
        offset += take;
        continue;
      }
      if (this.frame === null) {
        const take = Math.min(FRAME_HEADER_BYTES - this.header.length, chunk.length - offset);
        for (let i = 0; i < take; i++) this.header.push(chunk[offset + i]!);
        this.counts.headerBytes += take;
        offset += take;
        if (this.header.length === FRAME_HEADER_BYTES) {
          const h = this.header;
          this.frame = {
            length: (h[0]! << 16) | (h[1]! << 8) | h[2]!,
            type: h[3]!,
            flags: h[4]!,
            streamId: ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!,
            consumed: 0,
            padLength: null,
          };
          this.header = [];
          if (this.frame.length === 0) this.endFrame(this.frame);
        }
        continue;
      }
      offset += this.payload(this.frame, chunk, offset);
      if (this.frame.consumed === this.frame.length) this.endFrame(this.frame);
    }
  }

  /** Forgets a stream's message state once its sender has ended it. */
  private endFrame(frame: Frame): void {
    if ((frame.type === FRAME_DATA || frame.type === FRAME_HEADERS) && (frame.flags & FLAG_END_STREAM) !== 0) {
      this.streams.delete(frame.streamId);
    }
    this.frame = null;
  }

  /** Consumes payload bytes of `frame` from chunk[offset..]; returns how many. */
  private payload(frame: Frame, chunk: Buffer, offset: number): number {
    const available = Math.min(frame.length - frame.consumed, chunk.length - offset);
    if (frame.type !== FRAME_DATA) {
      this.counts.headerBytes += available;
      frame.consumed += available;
      return available;
    }
    let used = 0;
    const padded = (frame.flags & FLAG_PADDED) !== 0;
    if (padded && frame.padLength === null) {
      frame.padLength = chunk[offset]!;
      this.counts.headerBytes += 1;
      frame.consumed += 1;
      used += 1;
    }
    const padLength = frame.padLength ?? 0;
    // Bytes of this frame that are data (before the padding).
    const dataEnd = frame.length - padLength;
    while (used < available) {
      if (frame.consumed >= dataEnd) {
        const take = available - used;
        this.counts.headerBytes += take;
        frame.consumed += take;
        used += take;
        break;
      }
      const take = Math.min(available - used, dataEnd - frame.consumed);
      this.grpcData(frame.streamId, chunk, offset + used, take);
      frame.consumed += take;
      used += take;
    }
    return used;
  }

  /** Splits DATA payload bytes of a stream into gRPC prefix bytes and message bytes. */
  private grpcData(streamId: number, chunk: Buffer, offset: number, length: number): void {
    let state = this.streams.get(streamId);
    if (!state) {
      state = { prefix: [], remaining: 0 };
      this.streams.set(streamId, state);
      if (!this.grpcFraming) this.counts.messages += 1;
    }
    if (!this.grpcFraming) {
      this.counts.bodyBytes += length;
      return;
    }
    let at = offset;
    const end = offset + length;
    while (at < end) {
      if (state.remaining > 0) {
        const take = Math.min(state.remaining, end - at);
        this.counts.bodyBytes += take;
        state.remaining -= take;
        at += take;
        continue;
      }
      state.prefix.push(chunk[at]!);
      this.counts.headerBytes += 1;
      at += 1;
      if (state.prefix.length === GRPC_PREFIX_BYTES) {
        const p = state.prefix;
        state.remaining = ((p[1]! << 24) >>> 0) + (p[2]! << 16) + (p[3]! << 8) + p[4]!;
        state.prefix = [];
        this.counts.messages += 1;
      }
    }
  }
}
