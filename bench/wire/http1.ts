/**
 * A passive, incremental HTTP/1.1 message splitter for one direction of a
 * connection: it never changes bytes, it only says which of them were the
 * header block (start line, header fields, blank line, chunk-size lines and
 * trailers) and which were message body (Content-Length or chunked payload).
 * Feed it chunks exactly as they came off the socket, in any sizes.
 */
import { emptyCounts, type StreamCounts, type WireParser } from './counts.ts';

type State =
  | { kind: 'head' }
  | { kind: 'body'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-data-crlf'; remaining: number }
  | { kind: 'trailers' }
  | { kind: 'until-close' };

const MAX_LINE = 64 * 1024;

export class Http1Parser implements WireParser {
  readonly counts: StreamCounts = emptyCounts();
  private state: State = { kind: 'head' };
  /** Bytes of an unfinished line or header block, kept until its end arrives. */
  private pending = Buffer.alloc(0);

  /**
   * @param isResponse responses without Content-Length or chunked run until the
   *   connection closes; requests without them have no body.
   */
  constructor(private readonly isResponse: boolean) {}

  push(chunk: Buffer): void {
    this.counts.totalBytes += chunk.length;
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      const used = this.step(data);
      if (used < 0) {
        // Needs more bytes: keep the rest (bounded, a runaway line is counted as header).
        if (data.length > MAX_LINE) {
          this.counts.headerBytes += data.length;
        } else {
          this.pending = Buffer.from(data);
        }
        return;
      }
      data = data.subarray(used);
    }
  }

  /** Consumes a prefix of `data` and returns its length, or -1 when more bytes are needed. */
  private step(data: Buffer): number {
    const state = this.state;
    switch (state.kind) {
      case 'head': {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) return -1;
        const headLength = end + 4;
        this.counts.headerBytes += headLength;
        this.counts.messages += 1;
        this.state = this.afterHead(data.subarray(0, end).toString('latin1'));
        return headLength;
      }
      case 'body':
      case 'chunk-data': {
        const take = Math.min(state.remaining, data.length);
        this.counts.bodyBytes += take;
        state.remaining -= take;
        if (state.remaining === 0) {
          this.state = state.kind === 'body' ? { kind: 'head' } : { kind: 'chunk-data-crlf', remaining: 2 };
        }
        return take;
      }
      case 'chunk-data-crlf': {
        const take = Math.min(state.remaining, data.length);
        this.counts.headerBytes += take;
        state.remaining -= take;
        if (state.remaining === 0) this.state = { kind: 'chunk-size' };
        return take;
      }
      case 'chunk-size': {
        const end = data.indexOf('\r\n');
        if (end < 0) return -1;
        this.counts.headerBytes += end + 2;
        const size = parseInt(data.subarray(0, end).toString('latin1').split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) {
          // Not HTTP we understand: count the rest as header bytes.
          this.state = { kind: 'until-close' };
          return end + 2;
        }
        this.state = size === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: size };
        return end + 2;
      }
      case 'trailers': {
        const end = data.indexOf('\r\n');
        if (end < 0) return -1;
        this.counts.headerBytes += end + 2;
        if (end === 0) this.state = { kind: 'head' };
        return end + 2;
      }
      case 'until-close':
        this.counts.bodyBytes += data.length;
        return data.length;
    }
  }

  private afterHead(head: string): State {
    const lines = head.split('\r\n');
    let contentLength: number | null = null;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === 'content-length') contentLength = Number(value);
      if (name === 'transfer-encoding' && value.split(',').map((v) => v.trim()).includes('chunked')) chunked = true;
    }
    const status = this.isResponse ? Number(lines[0]!.split(' ')[1]) : 0;
    if (this.isResponse && (status === 204 || status === 304 || (status >= 100 && status < 200))) return { kind: 'head' };
    if (chunked) return { kind: 'chunk-size' };
    if (contentLength !== null && Number.isFinite(contentLength)) {
      return contentLength > 0 ? { kind: 'body', remaining: contentLength } : { kind: 'head' };
    }
    return this.isResponse ? { kind: 'until-close' } : { kind: 'head' };
  }
}
