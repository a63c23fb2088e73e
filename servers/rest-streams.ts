/**
 * The calculator's streams over HTTP/1.1, REST's three ways:
 * - NDJSON (application/x-ndjson, chunked both ways): POST /v1/running-sum
 *   answers each line {"value":x} with a line {"value":total} as it arrives,
 *   before the request ends; POST /v1/sum-stream answers the total at the end;
 * - Server-Sent Events: POST /v1/prefix-sums with {"values":[...]} streams one
 *   `data: {"value":total}` event per value to a client that sends
 *   `accept: text/event-stream` (NDJSON lines otherwise);
 * - WebSocket: GET /v1/running-sum with Upgrade, text frames carrying the same JSON.
 *
 * A mid-stream error is the stream's last message, in its transport's shape
 * (NDJSON: a line {"error":{code,message}}; SSE: `event: error`; WebSocket: that
 * JSON, then close 1007), with the calculator's text. Before the first answer
 * (bad headers, bad prefix-sums body, any sum-stream error) the answer is the
 * unary one: an HTTP status with the JSON error body.
 *
 * Backpressure everywhere: when the response (or WebSocket) cannot take more,
 * the request side stops being read until it drains, so TCP's window pushes
 * back on the client and a client that stops reading costs the server a
 * socket buffer, not a growing queue.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express, Request, Response } from 'express';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { LIMITS, prefixSums, RunningTotal } from './calculator.ts';
import { CalcError } from './errors.ts';
import type { Http1Server } from './listen.ts';
import { clip, readJsonBody, REST_MESSAGES, sendError, TOO_LARGE_MESSAGE, type RestError } from './rest-http.ts';
import { startIdleTimer } from './streams.ts';

export const NDJSON_TYPE = 'application/x-ndjson';
export const WEBSOCKET_PATH = '/v1/running-sum';
export const SSE_TYPE = 'text/event-stream';

export const STREAM_MESSAGES = {
  notJson: 'message is not valid JSON',
  notText: 'WebSocket messages must be text frames',
  noWebSocket: (path: string) => `no WebSocket at ${clip(path)}; the WebSocket stream is ${WEBSOCKET_PATH}`,
} as const;

/** WebSocket close codes (RFC 6455 §7.4.1) after an error message. */
export const WS_CLOSE = {
  /** The message's data was not acceptable (a calculator error). */
  invalidData: 1007,
  /** A binary frame where JSON text belongs. */
  unsupportedData: 1003,
  /** The stream broke a rule that is not about one message's data: it stayed idle too long. */
  policy: 1008,
  serverGoingAway: 1001,
} as const;

/** Answers of one input chunk go out as one write (one HTTP chunk), not one write per line. */
const MAX_BATCH_BYTES = 16 * 1024;

function errorJson(error: CalcError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message } } satisfies RestError);
}

/**
 * Splits a byte stream into lines (\n, an optional \r dropped). A line longer
 * than LIMITS.maxBodyBytes throws RESOURCE_EXHAUSTED the moment it crosses
 * the limit, with REST's and gRPC's text for a too-large message.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a, start); end !== -1; end = chunk.indexOf(0x0a, start)) {
      let line = chunk.subarray(start, end);
      if (this.pendingBytes > 0) {
        line = Buffer.concat([...this.pending, line]);
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > LIMITS.maxBodyBytes) throw new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE);
      lines.push(line.at(-1) === 0x0d ? line.subarray(0, -1) : line);
      start = end + 1;
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > LIMITS.maxBodyBytes) throw new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE);
      this.pending.push(chunk.subarray(start));
    }
    return lines;
  }

  /** The last line when the stream ended without a final \n (NDJSON allows it). */
  finish(): Buffer | null {
    if (this.pendingBytes === 0) return null;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** One NDJSON line or WebSocket text as JSON; null for a blank line (skipped, as most NDJSON readers do). */
function parseMessage(bytes: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new CalcError('INVALID_ARGUMENT', STREAM_MESSAGES.notJson);
  }
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new CalcError('INVALID_ARGUMENT', STREAM_MESSAGES.notJson);
  }
}

/** Refuses a streaming request body that is not NDJSON, before reading it (415, like unary's content-type check). */
function refuseNdjson(req: Request, res: Response): boolean {
  if (req.is(NDJSON_TYPE)) return false;
  res.set('connection', 'close');
  sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentType(NDJSON_TYPE)), 415);
  req.resume();
  return true;
}

export interface StreamRouteOptions {
  streamIdleMs?: number;
}

/**
 * Reads an NDJSON request line by line, feeding each message to `onMessage`
 * (which returns the answer line, or null for none); answers are written as one
 * chunk per input chunk. `onEnd` runs at the end of the request. A CalcError from
 * either, or the idle timer, goes to `onError` and stops reading.
 */
function readNdjson(
  req: Request,
  res: Response,
  idleMs: number | undefined,
  handlers: { onMessage(message: unknown): string | null; onEnd(): void; onError(error: CalcError): void },
): void {
  const splitter = new LineSplitter();
  let done = false;
  const stop = (): void => {
    done = true;
    idle.stop();
    req.off('data', onData);
    req.off('end', onEnd);
  };
  const fail = (error: CalcError): void => {
    if (done) return;
    stop();
    // Whatever the client still sends is read and dropped (keeps the connection usable).
    req.resume();
    handlers.onError(error);
  };
  const idle = startIdleTimer(fail, idleMs);
  const handleLines = (lines: Buffer[]): boolean => {
    let batch = '';
    try {
      for (const line of lines) {
        const message = parseMessage(line);
        if (message === null) continue;
        const answer = handlers.onMessage(message);
        if (answer !== null) batch += answer;
      }
    } catch (reason) {
      if (batch !== '') res.write(batch);
      fail(CalcError.from(reason));
      return false;
    }
    if (batch !== '' && !res.write(batch)) {
      req.pause();
      res.once('drain', () => {
        idle.touch();
        if (!done) req.resume();
      });
    }
    return true;
  };
  const onData = (chunk: Buffer): void => {
    idle.touch();
    let lines: Buffer[];
    try {
      lines = splitter.push(chunk);
    } catch (reason) {
      fail(CalcError.from(reason));
      return;
    }
    handleLines(lines);
  };
  const onEnd = (): void => {
    const last = splitter.finish();
    if (last !== null && !handleLines([last])) return;
    stop();
    try {
      handlers.onEnd();
    } catch (reason) {
      handlers.onError(CalcError.from(reason));
    }
  };
  req.on('data', onData);
  req.on('end', onEnd);
  // A client that went away: nothing to answer, just stop the timer.
  req.on('close', () => {
    if (!done && !req.complete) stop();
  });
}

function startNdjsonResponse(res: Response): void {
  res.status(200).set({ 'content-type': NDJSON_TYPE, 'cache-control': 'no-store' });
  // Headers now: the client knows the stream is open before the first answer.
  res.flushHeaders();
}

/** Registers POST /v1/running-sum, /v1/sum-stream and /v1/prefix-sums on the calculator app. */
export function addStreamRoutes(app: Express, options: StreamRouteOptions): void {
  app.post('/v1/running-sum', (req, res) => {
    if (refuseNdjson(req, res)) return;
    const running = new RunningTotal();
    startNdjsonResponse(res);
    readNdjson(req, res, options.streamIdleMs, {
      onMessage: (message) => `{"value":${JSON.stringify(running.add(message))}}\n`,
      onEnd: () => res.end(),
      onError: (error) => res.end(`${errorJson(error)}\n`),
    });
  });

  app.post('/v1/sum-stream', (req, res) => {
    if (refuseNdjson(req, res)) return;
    const running = new RunningTotal();
    readNdjson(req, res, options.streamIdleMs, {
      onMessage: (message) => {
        running.add(message);
        return null;
      },
      onEnd: () => res.status(200).json({ value: running.result() }),
      onError: (error) => sendError(res, error),
    });
  });

  app.post(
    '/v1/prefix-sums',
    (req, res, next) => {
      if (req.is('application/json')) return next();
      res.set('connection', 'close');
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentType('application/json')), 415);
      req.resume();
    },
    readJsonBody,
    (req, res) => {
      let totals: Iterator<number>;
      try {
        totals = prefixSums(req.body)[Symbol.iterator]();
      } catch (reason) {
        sendError(res, CalcError.from(reason));
        return;
      }
      const sse = req.accepts([NDJSON_TYPE, SSE_TYPE]) === SSE_TYPE && req.headers.accept?.includes(SSE_TYPE) === true;
      const frame = sse
        ? { value: (text: string) => `data: ${text}\n\n`, error: (text: string) => `event: error\ndata: ${text}\n\n` }
        : { value: (text: string) => `${text}\n`, error: (text: string) => `${text}\n` };
      res.status(200).set({ 'content-type': sse ? SSE_TYPE : NDJSON_TYPE, 'cache-control': 'no-store' });
      // Writes batches until the socket is full, then waits for 'drain'.
      const pump = (): void => {
        let batch = '';
        try {
          for (let next = totals.next(); !next.done; next = totals.next()) {
            batch += frame.value(`{"value":${JSON.stringify(next.value)}}`);
            if (batch.length >= MAX_BATCH_BYTES) {
              const more = res.write(batch);
              batch = '';
              if (!more) {
                res.once('drain', pump);
                return;
              }
            }
          }
          res.end(batch);
        } catch (reason) {
          res.end(batch + frame.error(errorJson(CalcError.from(reason))));
        }
      };
      res.on('close', () => res.off('drain', pump));
      pump();
    },
  );
}

/** The socket's outgoing buffer is full: stop reading the WebSocket until it drains. */
function pauseUntilDrained(ws: WebSocket, socket: Duplex, onDrain: () => void): void {
  if (!socket.writableNeedDrain) return;
  ws.pause();
  socket.once('drain', () => {
    onDrain();
    ws.resume();
  });
}

/** One WebSocket running-sum: each text frame {"value":x} answered with {"value":total}. */
function serveRunningSum(ws: WebSocket, socket: Duplex, idleMs: number | undefined): void {
  const running = new RunningTotal();
  let failed = false;
  const fail = (error: CalcError, closeCode: number = WS_CLOSE.invalidData): void => {
    if (failed) return;
    failed = true;
    idle.stop();
    ws.off('message', onMessage);
    ws.send(errorJson(error));
    ws.close(closeCode);
  };
  const idle = startIdleTimer((error) => fail(error, WS_CLOSE.policy), idleMs);
  const onMessage = (data: RawData, isBinary: boolean): void => {
    idle.touch();
    if (isBinary) {
      fail(new CalcError('INVALID_ARGUMENT', STREAM_MESSAGES.notText), WS_CLOSE.unsupportedData);
      return;
    }
    let answer: string;
    try {
      const message = parseMessage(data as Buffer);
      if (message === null) throw new CalcError('INVALID_ARGUMENT', STREAM_MESSAGES.notJson);
      answer = `{"value":${JSON.stringify(running.add(message))}}`;
    } catch (reason) {
      fail(CalcError.from(reason));
      return;
    }
    ws.send(answer);
    pauseUntilDrained(ws, socket, idle.touch);
  };
  ws.on('message', onMessage);
  ws.on('close', () => idle.stop());
  ws.on('error', () => idle.stop());
}

/**
 * Serves WebSocket upgrades on `server` (GET /v1/running-sum only; any other
 * upgrade gets a JSON 404 and the socket closes). Returns what closes the open
 * WebSockets at shutdown (1001, then cut after graceMs), which the HTTP server's
 * own close does not do: an upgraded socket is no longer its request.
 */
export function attachWebSocketStreams(server: Http1Server, options: StreamRouteOptions): (graceMs: number) => void {
  const wss = new WebSocketServer({
    noServer: true,
    // ws closes with 1009 (message too big) past this, as RFC 6455 says.
    maxPayload: LIMITS.maxBodyBytes,
    // No compression: the bench compares the same bytes REST's other transports send.
    perMessageDeflate: false,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== WEBSOCKET_PATH || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      const body = errorJson(new CalcError('NOT_FOUND', STREAM_MESSAGES.noWebSocket(path)));
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveRunningSum(ws, socket, options.streamIdleMs));
  });
  return (graceMs) => {
    for (const ws of wss.clients) ws.close(WS_CLOSE.serverGoingAway);
    setTimeout(() => {
      for (const ws of wss.clients) ws.terminate();
    }, graceMs).unref();
  };
}
