/**
 * Raw streaming clients for the tests, below every library the servers or the
 * bench use: gRPC streams as node:http2 frames with hand-made length prefixes,
 * NDJSON and SSE as HTTP/1.1 bytes on node:net (chunked encoding written and
 * read by hand), WebSocket through `ws` (its framing is the protocol under test,
 * not ours). Each stream is driven the same way: send() messages, end(), and
 * read answers one by one (next()) or all at once (done).
 */
import http2 from 'node:http2';
import net from 'node:net';
import WebSocket from 'ws';
import { messageTypes } from '../../servers/proto.ts';
import { grpcFrame } from './servers.ts';

/** A stream message: a number, or a message without its value. NaN/Infinity are written as 1e999 in JSON. */
export type Message = number | { missing: true };

export interface StreamEnd {
  /** The running totals (or the one sum-stream total), in order. */
  values: number[];
  /** The stream's error, in the protocol-neutral shape. */
  error?: { code: string; message: string };
  /** Transport detail: HTTP status, WebSocket close code, gRPC status number. */
  status?: number;
}

export interface RawStream {
  send(message: Message): void;
  /** Sends raw bytes as one message body (NDJSON lines without the last \n, a WebSocket text, a gRPC message). */
  sendRaw(bytes: Buffer | string): void;
  end(): void;
  /** The next answer value; rejects when the stream ended instead. */
  next(): Promise<number>;
  done: Promise<StreamEnd>;
  /** Stop reading answers (the transport's flow control then pushes back); resume() reads again. */
  pauseReading(): void;
  resumeReading(): void;
  /** Bytes sent but still in this client's buffers: they grow when the server stops reading. */
  backlogBytes(): number;
  destroy(): void;
}

const GRPC_CODES: Record<number, string> = { 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 8: 'RESOURCE_EXHAUSTED', 11: 'OUT_OF_RANGE', 12: 'UNIMPLEMENTED' };

function jsonOf(message: Message): string {
  if (typeof message === 'object') return '{}';
  return Number.isFinite(message) ? JSON.stringify({ value: message }) : `{"value":${message > 0 ? '' : '-'}1e999}`;
}

/** Answers in arrival order, handed to next() callers; the end settles `done`. */
class AnswerQueue {
  private values: number[] = [];
  private all: number[] = [];
  private waiters: Array<{ resolve(value: number): void; reject(error: Error): void }> = [];
  private ended: StreamEnd | undefined;
  private resolveDone!: (end: StreamEnd) => void;
  readonly done = new Promise<StreamEnd>((resolve) => (this.resolveDone = resolve));

  push(value: number): void {
    this.all.push(value);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(value);
    else this.values.push(value);
  }

  end(detail: Omit<StreamEnd, 'values'>): void {
    if (this.ended) return;
    this.ended = { values: this.all, ...detail };
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`stream ended: ${JSON.stringify(this.ended)}`));
    this.resolveDone(this.ended);
  }

  next(): Promise<number> {
    if (this.values.length > 0) return Promise.resolve(this.values.shift()!);
    if (this.ended) return Promise.reject(new Error(`stream ended: ${JSON.stringify(this.ended)}`));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

// ---- gRPC over node:http2 -----------------------------------------------------

/** Splits gRPC length-prefixed messages out of DATA bytes. */
function grpcMessages(onMessage: (bytes: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      onMessage(pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
    }
  };
}

function numberMessage(message: Message): Buffer {
  const { Number: type } = messageTypes();
  return Buffer.from(type.encode(type.create(typeof message === 'object' ? {} : { value: message })).finish());
}

export function grpcRawStream(session: http2.ClientHttp2Session, method: string, firstMessage?: Buffer): RawStream {
  const queue = new AnswerQueue();
  const stream = session.request(
    { ':method': 'POST', ':path': `/calculator.v1.Calculator/${method}`, 'content-type': 'application/grpc', te: 'trailers' },
    { endStream: false },
  );
  let headers: http2.IncomingHttpHeaders = {};
  stream.on('response', (h) => (headers = h));
  stream.on(
    'data',
    grpcMessages((bytes) => {
      // Result {double value = 1}: tag 0x09 + float64 LE; proto3 leaves 0 off the wire.
      queue.push(bytes.length === 0 ? 0 : bytes.readDoubleLE(1));
    }),
  );
  const settle = (trailers: http2.IncomingHttpHeaders): void => {
    const status = Number(trailers['grpc-status'] ?? headers['grpc-status'] ?? -1);
    const message = decodeURIComponent(String(trailers['grpc-message'] ?? headers['grpc-message'] ?? ''));
    queue.end(status === 0 ? { status } : { status, error: { code: GRPC_CODES[status] ?? String(status), message } });
  };
  stream.on('trailers', settle);
  stream.on('end', () => setImmediate(() => settle({})));
  stream.on('close', () => settle({}));
  stream.on('error', () => {});
  if (firstMessage) stream.end(grpcFrame(firstMessage));
  return {
    send: (message) => stream.write(grpcFrame(numberMessage(message))),
    sendRaw: (bytes) => stream.write(grpcFrame(Buffer.from(bytes))),
    end: () => stream.end(),
    next: () => queue.next(),
    done: queue.done,
    pauseReading: () => stream.pause(),
    resumeReading: () => stream.resume(),
    backlogBytes: () => stream.writableLength,
    destroy: () => stream.close(http2.constants.NGHTTP2_CANCEL),
  };
}

export function grpcPrefixSums(session: http2.ClientHttp2Session, values: number[]): RawStream {
  const { Numbers } = messageTypes();
  return grpcRawStream(session, 'PrefixSums', Buffer.from(Numbers.encode(Numbers.create({ values })).finish()));
}

// ---- HTTP/1.1 chunked, by hand ------------------------------------------------

/** Reads one HTTP/1.1 response: head, then a chunked or content-length body, handing body bytes on as they come. */
class Http1ResponseReader {
  private buffer: Buffer = Buffer.alloc(0);
  status = 0;
  headers: Record<string, string> = {};
  private state: 'head' | 'size' | 'data' | 'crlf' | 'length' | 'done' = 'head';
  private remaining = 0;

  constructor(
    private readonly onBody: (bytes: Buffer) => void,
    private readonly onEnd: () => void,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.state === 'head') {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
        this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine!)?.[1] ?? 0);
        for (const line of lines) {
          const colon = line.indexOf(':');
          this.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        this.buffer = this.buffer.subarray(end + 4);
        if (this.headers['transfer-encoding'] === 'chunked') this.state = 'size';
        else {
          this.state = 'length';
          this.remaining = Number(this.headers['content-length'] ?? 0);
        }
      } else if (this.state === 'size') {
        const end = this.buffer.indexOf('\r\n');
        if (end < 0) return;
        this.remaining = parseInt(this.buffer.subarray(0, end).toString('latin1'), 16);
        this.buffer = this.buffer.subarray(end + 2);
        if (this.remaining === 0) return this.finish();
        this.state = 'data';
      } else if (this.state === 'data' || this.state === 'length') {
        if (this.buffer.length === 0 && this.remaining > 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        if (take > 0) this.onBody(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining > 0) return;
        if (this.state === 'length') return this.finish();
        this.state = 'crlf';
      } else if (this.state === 'crlf') {
        if (this.buffer.length < 2) return;
        this.buffer = this.buffer.subarray(2);
        this.state = 'size';
      } else return;
    }
  }

  private finish(): void {
    this.state = 'done';
    this.onEnd();
  }
}

/** Lines of text out of body bytes (UTF-8; \n separated); flush() hands on a last line without \n. */
function lineSplitter(onLine: (line: string) => void): { push(bytes: Buffer): void; flush(): void } {
  let pending = '';
  return {
    push: (bytes) => {
      pending += bytes.toString('utf8');
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        onLine(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    },
    flush: () => {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

function chunk(text: string | Buffer): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n')]);
}

interface Http1StreamOptions {
  port: number;
  path: string;
  contentType?: string;
  accept?: string;
  /** A whole request body (content-length) instead of a chunked stream of lines. */
  body?: string;
}

/**
 * One HTTP/1.1 request on a fresh TCP connection; the body is chunked NDJSON
 * written by send(), unless `body` is given. Answers are read as NDJSON lines,
 * or SSE events when the response says text/event-stream.
 */
export function http1RawStream(options: Http1StreamOptions): RawStream {
  const queue = new AnswerQueue();
  const socket = net.connect(options.port, '127.0.0.1');
  socket.setNoDelay(true);
  let error: StreamEnd['error'];
  let sseEvent = 'message';
  const onMessage = (text: string): void => {
    const parsed = JSON.parse(text) as { value?: number; error?: { code: string; message: string } };
    if (parsed.error) error = parsed.error;
    else queue.push(parsed.value!);
  };
  const lines = lineSplitter((line) => {
      if (!/^text\/event-stream/.test(reader.headers['content-type'] ?? '')) {
        if (line.trim() !== '') onMessage(line);
        return;
      }
      if (line.startsWith('event: ')) sseEvent = line.slice(7);
      else if (line.startsWith('data: ')) {
        onMessage(line.slice(6));
        if (sseEvent === 'error' && !error) error = { code: 'SSE_ERROR_WITHOUT_BODY', message: line };
      } else if (line === '') sseEvent = 'message';
  });
  const reader: Http1ResponseReader = new Http1ResponseReader(
    (bytes) => lines.push(bytes),
    () => {
      lines.flush();
      queue.end({ status: reader.status, error });
    },
  );
  socket.on('data', (bytes: Buffer) => reader.push(bytes));
  socket.on('close', () => queue.end({ status: reader.status, error: error ?? { code: 'CLOSED', message: 'connection closed before the response ended' } }));
  socket.on('error', () => {});
  const head = (headers: Record<string, string>): string =>
    `POST ${options.path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`;
  if (options.body !== undefined) {
    const extra: Record<string, string> = options.accept ? { accept: options.accept } : {};
    socket.write(head({ 'content-type': options.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(options.body)), ...extra }) + options.body);
  } else {
    socket.write(head({ 'content-type': options.contentType ?? 'application/x-ndjson', 'transfer-encoding': 'chunked' }));
  }
  return {
    send: (message) => socket.write(chunk(`${jsonOf(message)}\n`)),
    sendRaw: (bytes) => socket.write(chunk(Buffer.concat([Buffer.from(bytes), Buffer.from('\n')]))),
    end: () => {
      socket.write('0\r\n\r\n');
    },
    next: () => queue.next(),
    done: queue.done,
    pauseReading: () => socket.pause(),
    resumeReading: () => socket.resume(),
    backlogBytes: () => socket.writableLength,
    destroy: () => socket.destroy(),
  };
}

// ---- WebSocket ---------------------------------------------------------------

export function webSocketStream(url: string): RawStream & { opened: Promise<void> } {
  const queue = new AnswerQueue();
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let error: StreamEnd['error'];
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  opened.catch(() => {});
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as { value?: number; error?: { code: string; message: string } };
    if (parsed.error) error = parsed.error;
    else queue.push(parsed.value!);
  });
  ws.on('close', (code) => queue.end({ status: code, error }));
  ws.on('error', () => {});
  // Sends wait for the handshake, so a test can send at once.
  const whenOpen = (action: () => void): void => {
    if (ws.readyState === WebSocket.OPEN) action();
    else void opened.then(action, () => {});
  };
  return {
    opened,
    send: (message) => whenOpen(() => ws.send(jsonOf(message))),
    sendRaw: (bytes) => whenOpen(() => ws.send(bytes)),
    end: () => whenOpen(() => ws.close(1000)),
    next: () => queue.next(),
    done: queue.done,
    pauseReading: () => ws.pause(),
    resumeReading: () => ws.resume(),
    backlogBytes: () => ws.bufferedAmount,
    destroy: () => ws.terminate(),
  };
}
