/**
 * REST streams over HTTP/1.1 on raw `net.Socket`s, one connection per stream
 * (HTTP/1.1 carries one request at a time, and a stream is a request that
 * lasts). NDJSON requests are chunked and answered while still being sent
 * (full duplex); a server stream sends one request and reads NDJSON lines or,
 * for 'sse', `data:` events. Messages and requests are the payload's bytes,
 * prepared before the run.
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
import type { OpenStream, StreamCall, StreamClient, StreamHandlers, StreamRequest, StreamTarget } from './types.ts';

const CR = 13;
const LF = 10;
/** A response head larger than this is a broken server. */
const MAX_HEAD_BYTES = 64 * 1024;

/** A JSON message as one chunk of a chunked NDJSON request body: `<size>\r\n<json>\n\r\n`. */
export function ndjsonChunk(json: Buffer): Buffer {
  const size = `${(json.length + 1).toString(16)}\r\n`;
  return Buffer.concat([Buffer.from(size, 'latin1'), json, Buffer.from('\n\r\n', 'latin1')]);
}
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

const SSE_DATA = Buffer.from('data: ', 'latin1');
const SSE_ERROR_EVENT = Buffer.from('event: error', 'latin1');
const RESULT_KEY = Buffer.from('"result"', 'latin1');
const ERROR_KEY = Buffer.from('"error"', 'latin1');

/** Whether bytes start.. of buf begin with prefix. */
function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

const isSpace = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === CR || byte === LF;

/** Where `{ "key":` ends in bytes start..end (the first byte of its value), or -1 when the object does not open with that key. */
function afterKey(buf: Buffer, start: number, end: number, key: Buffer): number {
  if (buf[start] !== 0x7b /* { */) return -1;
  let at = start + 1;
  while (at < end && isSpace(buf[at])) at++;
  if (!startsWith(buf, at, end, key)) return -1;
  at += key.length;
  while (at < end && isSpace(buf[at])) at++;
  if (buf[at] !== 0x3a /* : */) return -1;
  at++;
  while (at < end && isSpace(buf[at])) at++;
  return at;
}

/**
 * What one JSON line of a streamed answer is (bytes start..end of buf, spaces
 * and a CR around it allowed): `{"error": ...}` is the stream's error (the
 * calculator's servers and grpc-gateway both end a failed stream so);
 * `{"result": X}` is the message X (grpc-gateway wraps each message so); any
 * other line is a message as it is. Read without JSON.parse: only the
 * bounds are found, the caller reads the bytes before the next line.
 */
export function classifyLine(buf: Buffer, start = 0, end = buf.length): { kind: 'message' | 'error' | 'empty'; start: number; end: number } {
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  if (start === end) return { kind: 'empty', start, end };
  if (afterKey(buf, start, end, ERROR_KEY) >= 0) return { kind: 'error', start, end };
  const value = afterKey(buf, start, end, RESULT_KEY);
  if (value >= 0 && buf[end - 1] === 0x7d /* } */) {
    let last = end - 1;
    while (last > value && isSpace(buf[last - 1])) last--;
    return { kind: 'message', start: value, end: last };
  }
  return { kind: 'message', start, end };
}

/** Verbs whose request carries no body when it has none to send. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE']);

/**
 * One new connection per stream, never reused: no idle keep-alive connection
 * can close under a stream, so nothing is retried; a connection closed before
 * its stream ended is that stream's error. Bidi and client streams POST a
 * chunked NDJSON body to the call's path, one chunk per message; a server
 * stream sends its request (a JSON body, or a GET with its query) and reads
 * NDJSON lines or, for 'sse', `data:` events.
 */
export function createHttp1StreamClient(target: StreamTarget, call: StreamCall, sse: boolean): StreamClient {
  const open = new Set<net.Socket>();
  let connectionsOpened = 0;
  const hostHeader = `host: ${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}\r\n`;
  const extraHeaders = Object.entries(call.metadata ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  const accept = `accept: ${sse ? 'text/event-stream' : 'application/x-ndjson'}\r\n`;
  /** The one message of a bidi or client stream, as a chunk built once. */
  const messageChunk = ndjsonChunk(call.message.json);
  const uploadHead = `POST ${call.restPath} HTTP/1.1\r\n${hostHeader}${extraHeaders}content-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n`;
  const requestHead = (request: StreamRequest): string =>
    request.json.length === 0 && BODYLESS.has(call.restVerb)
      ? `${call.restVerb} ${request.restPath} HTTP/1.1\r\n${hostHeader}${extraHeaders}${accept}\r\n`
      : `${call.restVerb} ${request.restPath} HTTP/1.1\r\n${hostHeader}${extraHeaders}content-type: application/json\r\ncontent-length: ${request.json.length}\r\n${accept}\r\n`;
  return {
    open(handlers: StreamHandlers, request?: StreamRequest): OpenStream {
      const socket = connectStream(target);
      socket.once(target.tls ? 'secureConnect' : 'connect', () => connectionsOpened++);
      open.add(socket);
      let error: string | undefined;
      let ended = false;
      /** SSE: the last event line was `event: error`, so its data line is the stream's error. */
      let errorEvent = false;
      const finish = (reason?: string): void => {
        if (ended) return;
        ended = true;
        open.delete(socket);
        socket.destroy();
        handlers.onEnd(reason);
      };
      const parser = new StreamingResponseParser(
        (buf, start, end) => {
          let failed = parser.status !== 200;
          if (sse && !failed) {
            // SSE: `data: {...}` lines carry the answers; `event: error` precedes an error's data line.
            if (!startsWith(buf, start, end, SSE_DATA)) {
              if (startsWith(buf, start, end, SSE_ERROR_EVENT)) errorEvent = true;
              return;
            }
            start += SSE_DATA.length;
            failed = errorEvent;
            errorEvent = false;
          }
          const line = classifyLine(buf, start, end);
          if (line.kind === 'empty') return;
          if (line.kind === 'message' && !failed) handlers.onAnswer(buf, line.start, line.end);
          else error = buf.toString('utf8', line.start, line.end);
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

      if (request) {
        // Head and body in one write, as one segment.
        socket.write(request.json.length > 0 ? Buffer.concat([Buffer.from(requestHead(request)), request.json]) : requestHead(request));
      } else {
        socket.write(uploadHead);
      }
      return {
        send: () => {
          if (!ended) socket.write(messageChunk);
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
