/**
 * REST streams over HTTP/1.1 on raw `net.Socket`s, one connection per stream
 * (HTTP/1.1 carries one request at a time, and a stream is a request that
 * lasts). NDJSON requests are chunked and answered while still being sent
 * (full duplex); prefix-sums sends one JSON body and reads NDJSON lines or, for
 * 'sse', `data:` events.
 *
 * Why not node:http: its per-chunk machinery (a request stream, llhttp
 * callbacks, a string decoder and an 'data' event per chunk) cost more CPU per
 * message than the server spent answering it, so the bench measured its own
 * client (rows flagged client-bound). Here a request's bytes are written as
 * they are, and the answer is parsed just far enough: status line, headers,
 * chunk sizes, lines.
 */
import net from 'node:net';
import { connectStream } from './connect.ts';
import type { StreamOperation } from '../../../servers/calculator.ts';
import type { OpenStream, StreamClient, StreamHandlers, StreamTarget } from './types.ts';

const CR = 13;
const LF = 10;
/** A response head larger than this is a broken server. */
const MAX_HEAD_BYTES = 64 * 1024;

/** `{"value":1}\n` as one chunk of a chunked request body, built once per value. */
function chunkOf(value: number): Buffer {
  const line = `{"value":${value}}\n`;
  return Buffer.from(`${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`, 'latin1');
}
const CHUNK_OF_ONE = chunkOf(1);
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * An HTTP/1.1 response, fed as it arrives: the head, then a chunked (or
 * content-length, or until-close) body cut into lines. Calls back once per
 * complete line and once at the end of the body.
 */
export class StreamingResponseParser {
  private head: Buffer | null = null;
  private state: 'head' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'length' | 'close' | 'done' = 'head';
  private remaining = 0;
  private line: Buffer[] = [];
  status = 0;
  error: string | null = null;

  constructor(
    /** One line, as bytes start..end of buf (no copy: read it before returning). */
    private readonly onLine: (buf: Buffer, start: number, end: number) => void,
    private readonly onEnd: () => void,
  ) {}

  get done(): boolean {
    return this.state === 'done';
  }

  feed(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && this.error === null && this.state !== 'done') {
      switch (this.state) {
        case 'head': {
          const all = this.head ? Buffer.concat([this.head, chunk.subarray(at)]) : chunk.subarray(at);
          const end = all.indexOf('\r\n\r\n');
          if (end < 0) {
            if (all.length > MAX_HEAD_BYTES) this.error = 'response head too large';
            this.head = Buffer.from(all);
            return;
          }
          const consumed = end + 4 - (this.head?.length ?? 0);
          this.readHead(all.subarray(0, end).toString('latin1'));
          this.head = null;
          at += consumed;
          break;
        }
        case 'chunk-size': {
          const lf = chunk.indexOf(LF, at);
          if (lf < 0) {
            this.line.push(chunk.subarray(at));
            return;
          }
          const text = Buffer.concat([...this.line, chunk.subarray(at, lf)]).toString('latin1');
          this.line = [];
          at = lf + 1;
          const size = parseInt(text, 16);
          if (!Number.isFinite(size)) {
            this.error = `bad chunk size ${JSON.stringify(text.slice(0, 20))}`;
            return;
          }
          this.remaining = size;
          this.state = size === 0 ? 'trailer' : 'chunk-data';
          break;
        }
        case 'chunk-data':
        case 'length': {
          const take = Math.min(this.remaining, chunk.length - at);
          this.lines(chunk.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.state === 'length') this.end();
            else this.state = 'chunk-end';
          }
          break;
        }
        case 'chunk-end': {
          // The CRLF after a chunk's data.
          if (chunk[at] === LF) this.state = 'chunk-size';
          at++;
          break;
        }
        case 'trailer': {
          // No trailers from our servers: the CRLF that ends the body.
          const lf = chunk.indexOf(LF, at);
          if (lf < 0) return;
          at = lf + 1;
          this.end();
          break;
        }
        case 'close':
          this.lines(chunk.subarray(at));
          return;
      }
    }
  }

  /** The connection closed: a body delimited by the close is complete; any other is cut. */
  close(): void {
    if (this.state === 'close') this.end();
  }

  private readHead(text: string): void {
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    if (!match) {
      this.error = 'not an HTTP/1.1 response';
      return;
    }
    this.status = Number(match[1]);
    const chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(text);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(text);
    if (chunked) this.state = 'chunk-size';
    else if (length) {
      this.remaining = Number(length[1]);
      this.state = this.remaining === 0 ? 'done' : 'length';
      if (this.remaining === 0) this.onEnd();
    } else this.state = 'close';
  }

  /** Body bytes, cut into lines (a line may span chunks and reads). */
  private lines(bytes: Buffer): void {
    let start = 0;
    let lf: number;
    while ((lf = bytes.indexOf(LF, start)) >= 0) {
      if (this.line.length === 0) this.onLine(bytes, start, lf);
      else {
        this.line.push(bytes.subarray(start, lf));
        const whole = Buffer.concat(this.line.splice(0));
        this.onLine(whole, 0, whole.length);
      }
      start = lf + 1;
    }
    if (start < bytes.length) this.line.push(Buffer.from(bytes.subarray(start)));
  }

  private end(): void {
    if (this.line.length > 0) {
      const whole = Buffer.concat(this.line.splice(0));
      this.onLine(whole, 0, whole.length);
    }
    this.state = 'done';
    this.onEnd();
  }
}

const VALUE_PREFIX = Buffer.from('{"value":', 'latin1');
const SSE_DATA = Buffer.from('data: ', 'latin1');

/** Whether bytes start.. of buf begin with prefix. */
function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

/**
 * The total of a `{"value":N}` line (bytes start..end of buf, a CR before the
 * end allowed), or null for any other line (an error, or a shape this client
 * does not know). An integer N is read digit by digit, the generator's every
 * answer; any other number goes through Number(), which gives NaN for what is
 * not a number (the caller checks).
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

/**
 * One new connection per stream, never reused: no idle keep-alive connection
 * can close under a stream, so nothing is retried; a connection closed before
 * its stream ended is that stream's error.
 */
export function createHttp1StreamClient(target: StreamTarget, sse: boolean): StreamClient {
  const open = new Set<net.Socket>();
  let connectionsOpened = 0;
  const hostHeader = `host: ${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}\r\n`;
  return {
    open(operation: StreamOperation, handlers: StreamHandlers, values?: number[]): OpenStream {
      const socket = connectStream(target);
      socket.once(target.tls ? 'secureConnect' : 'connect', () => connectionsOpened++);
      open.add(socket);
      let error: string | undefined;
      let ended = false;
      const finish = (reason?: string): void => {
        if (ended) return;
        ended = true;
        open.delete(socket);
        socket.destroy();
        handlers.onEnd(reason);
      };
      const parser = new StreamingResponseParser(
        (buf, start, end) => {
          if (sse) {
            // SSE: `data: {...}` lines carry the answers; `event: error` precedes an error's data line.
            if (!startsWith(buf, start, end, SSE_DATA)) return;
            start += SSE_DATA.length;
          }
          if (end === start || (end - start === 1 && buf[start] === CR)) return;
          const value = valueOfLine(buf, start, end);
          if (value !== null && !Number.isNaN(value)) handlers.onAnswer(value);
          else error = buf.toString('utf8', start, end).trim();
        },
        () => finish(parser.status === 200 ? error : `HTTP ${parser.status}: ${error ?? ''}`),
      );
      socket.on('data', (chunk: Buffer) => {
        parser.feed(chunk);
        if (parser.error !== null) finish(`broken response: ${parser.error}`);
      });
      socket.on('error', (reason) => finish(reason.message));
      socket.on('close', () => {
        parser.close();
        finish(parser.done ? error : 'connection closed before the stream ended');
      });

      const path = `/v1/${operation}`;
      if (values) {
        const body = JSON.stringify({ values });
        socket.write(
          `POST ${path} HTTP/1.1\r\n${hostHeader}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
            `accept: ${sse ? 'text/event-stream' : 'application/x-ndjson'}\r\n\r\n${body}`,
        );
      } else {
        socket.write(`POST ${path} HTTP/1.1\r\n${hostHeader}content-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n`);
      }
      return {
        send: (value) => {
          if (!ended) socket.write(value === 1 ? CHUNK_OF_ONE : chunkOf(value));
        },
        end: () => {
          if (!ended) socket.write(LAST_CHUNK);
        },
        cancel: () => finish('cancelled'),
      };
    },
    stats: () => ({ retried: 0, connectionsOpened }),
    close: async () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
