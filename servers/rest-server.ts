/**
 * The calculator over REST (HTTP/1.1, JSON) with express 5:
 * POST /v1/<operation> with a JSON body, answered with {"value": n} or with
 * {"error": {"code", "message"}} and the HTTP status that fits the code.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response } from 'express';
import { calculate, isOperation, isStreamOperation, LIMITS, type Operation } from './calculator.ts';
import { CalcError, type ErrorCode } from './errors.ts';
import { validateConnectionLimits, type RunningServer, type ServerOptions } from './server-options.ts';
import { listenHttp1, type Http1Server } from './listen.ts';
import { addStreamRoutes, attachWebSocketStreams } from './rest-streams.ts';

/** HTTP status of each calculator error code (the contenders' REST transports use this table too). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  OUT_OF_RANGE: 400,
  RESOURCE_EXHAUSTED: 413,
  NOT_FOUND: 404,
  UNIMPLEMENTED: 405,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

/**
 * Node's HTTP server limits, set deliberately (see README, "Limits"). Keep-alive
 * outlives a bench's pauses between scenarios so connections are not silently
 * re-opened mid-measurement; requestTimeout bounds a client that never finishes a body.
 */
export const REST_SERVER_LIMITS = {
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: 66_000,
  requestTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  /**
   * Lingering close (nginx's lingering_close): after an answer sent while the
   * request body was still arriving (a 413, a refused content-type), the server
   * half-closes and keeps reading and discarding for at most lingerMs in all,
   * lingerIdleMs without a byte, or lingerBytes, then closes. Closing at once
   * with unread bytes makes the kernel send RST, which throws away the answer
   * before a client that is still writing has read it.
   */
  lingerMs: 10_000,
  lingerIdleMs: 2_000,
  lingerBytes: 64 * 1024 * 1024,
} as const;

export type RestError = { error: { code: ErrorCode; message: string } };

/**
 * The app's own error texts, beyond the calculator's and the body limit's
 * (servers/contenders/rest-protocol.ts answers with the same ones).
 */
export const REST_MESSAGES = {
  notJson: 'request body is not valid JSON',
  contentType: (type: string) => `content-type must be ${type}`,
  charset: 'content-type charset must be utf-8',
  incomplete: 'request body was incomplete',
  noHost: 'an HTTP/1.1 request must carry a host header',
  notFound: (method: string, path: string) => `no route for ${method} ${clip(path)}`,
  wrongMethod: (method: string, path: string) => `method ${clip(method)} is not allowed on ${clip(path)}; use POST`,
} as const;

/**
 * Responses are gzipped (content-encoding: gzip, vary: accept-encoding) only
 * when the request's accept-encoding names gzip and the JSON text is at least
 * this long. Below it gzip's fixed cost (18 bytes of header and trailer plus a
 * deflate block) makes the body bigger: {"value":1234567.8912345678} is 28 bytes
 * as text and 42 gzipped. So the calculator's results (20-30 bytes) are never
 * compressed at this default; createRestApp({ gzipMinBytes }) changes it.
 */
export const REST_GZIP_MIN_BYTES = 256;

export interface RestAppOptions {
  /** Smallest JSON response, in bytes, that is gzipped for a client that accepts gzip. */
  gzipMinBytes?: number;
  /** How long a stream may stay silent (LIMITS.streamIdleMs unless set). */
  streamIdleMs?: number;
}

/** Whether the client named gzip in accept-encoding (without q=0). No header: no compression. */
function acceptsGzip(req: Request): boolean {
  return req.headers['accept-encoding'] !== undefined && req.acceptsEncodings('gzip') === 'gzip';
}

/** res.json(), gzipped when the client accepts it and the body reaches the app's gzipMinBytes. */
function sendJson(res: Response, status: number, body: unknown): void {
  const min = (res.app?.locals.gzipMinBytes as number | undefined) ?? REST_GZIP_MIN_BYTES;
  const text = JSON.stringify(body);
  if (Buffer.byteLength(text) >= min && res.req && acceptsGzip(res.req)) {
    res.status(status).set({ 'content-type': 'application/json; charset=utf-8', 'content-encoding': 'gzip', vary: 'accept-encoding' });
    res.send(zlib.gzipSync(text));
    return;
  }
  res.status(status).json(body);
}

export function sendError(res: Response, error: CalcError, status = HTTP_STATUS[error.code]): void {
  const body: RestError = { error: { code: error.code, message: error.message } };
  sendJson(res, status, body);
}

/** Echoed request text is cut short, so an error body never grows with a hostile URL. */
export function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

export function createRestApp(options: RestAppOptions = {}): express.Express {
  const app = express();
  app.locals.gzipMinBytes = options.gzipMinBytes ?? REST_GZIP_MIN_BYTES;
  // No framework banner, and no ETag: a computed result is not a cacheable resource.
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req, res, next) => {
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      res.set('connection', 'close');
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.noHost));
      return;
    }
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'SERVING' });
  });

  addStreamRoutes(app, { streamIdleMs: options.streamIdleMs });

  app.post(
    '/v1/:operation',
    (req, res, next) => {
      // An unknown operation skips this route (body unread) and ends in the 404 handler.
      if (!isOperation(req.params.operation as string)) return next('route');
      const refusal = refuseBody(req);
      if (refusal) return sendBodyError(req, res, refusal, 415);
      next();
    },
    readJsonBody,
    (req: Request, res: Response) => {
      try {
        sendJson(res, 200, { value: calculate(req.params.operation as Operation, req.body) });
      } catch (reason) {
        sendError(res, CalcError.from(reason));
      }
    },
  );

  app.all('/v1/:operation', (req, res, next) => {
    const operation = req.params.operation as string;
    if (!(isOperation(operation) || isStreamOperation(operation)) || req.method === 'POST') return next();
    res.set('allow', 'POST');
    sendError(res, new CalcError('UNIMPLEMENTED', REST_MESSAGES.wrongMethod(req.method, req.path)));
  });

  app.use((req, res) => {
    sendError(res, new CalcError('NOT_FOUND', REST_MESSAGES.notFound(req.method, req.path)));
  });

  // Last resort: whatever reached here is reported without detail (no stack, no paths).
  const lastResort: ErrorRequestHandler = (_error, req, res, _next) => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    sendError(res, new CalcError('INTERNAL', 'internal error'));
  };
  app.use(lastResort);
  return app;
}

export const TOO_LARGE_MESSAGE = `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`;
/** gRPC's text for the same failure (servers/grpc-server.ts). */
export const NOT_DECOMPRESSIBLE_MESSAGE = 'request body could not be decompressed';

/** Checks the headers of a body before reading a byte of it; returns why it is refused, or null. */
function refuseBody(req: Request): CalcError | null {
  if (!req.is('application/json')) return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentType('application/json'));
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.charset);
  }
  if (bodyEncoding(req) === null) {
    return new CalcError('INVALID_ARGUMENT', 'content-encoding must be identity or gzip (other compressed bodies are not accepted)');
  }
  return null;
}

/**
 * The request body's content-encoding: identity (none, empty) or gzip; null for
 * anything else (br, deflate, a list of codings), which is refused with 415.
 * gzip is accepted since the bench's compression dimension sends it; the body
 * limit then applies to the inflated size too (see readJsonBody).
 */
function bodyEncoding(req: Request): 'identity' | 'gzip' | null {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return 'identity';
  if (encoding === 'gzip' || encoding === 'x-gzip') return 'gzip';
  return null;
}

/**
 * Reads the JSON body with the size limit, instead of express.json(): body-parser,
 * on a too-large body, reads the rest of the request to its end before answering,
 * so a 100 MB upload is answered only after 100 MB arrived. Here the 413 goes out
 * the moment the limit is crossed (at once when content-length already says so),
 * the connection is marked to close, and nothing past the limit is kept.
 * Bytes must be UTF-8 (a BOM is skipped); an empty body reads as {}, like an empty
 * protobuf message (every field unset). Parsing is JSON.parse: duplicate keys, last wins.
 * A gzip body (content-encoding: gzip) must be within the limit as sent AND
 * once inflated: zlib stops inflating as soon as the output passes the limit
 * (maxOutputLength), so a zip bomb costs at most the limit in memory and gets
 * 413; bytes that are not gzip get 400 "request body could not be decompressed".
 */
export function readJsonBody(req: Request, res: Response, next: NextFunction): void {
  const limit = LIMITS.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    sendBodyError(req, res, new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const stop = (): void => {
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) {
      stop();
      chunks.length = 0;
      sendBodyError(req, res, new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE));
      return;
    }
    chunks.push(chunk);
  };
  const onEnd = (): void => {
    stop();
    const raw = Buffer.concat(chunks, size);
    if (bodyEncoding(req) === 'gzip') {
      zlib.gunzip(raw, { maxOutputLength: limit }, (error, inflated) => {
        if (error) {
          const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
          sendError(res, tooLarge ? new CalcError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE) : new CalcError('INVALID_ARGUMENT', NOT_DECOMPRESSIBLE_MESSAGE));
          return;
        }
        parseBody(inflated);
      });
      return;
    }
    parseBody(raw);
  };
  const parseBody = (bytes: Buffer): void => {
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.notJson));
      return;
    }
    try {
      req.body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      sendError(res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.notJson));
      return;
    }
    next();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', () => {
    // A broken request stream (client reset, bad chunked encoding): answer if anyone listens.
    if (finished) return;
    stop();
    if (!res.headersSent && !req.socket.destroyed) sendBodyError(req, res, new CalcError('INVALID_ARGUMENT', REST_MESSAGES.incomplete));
  });
}

/** fatal: invalid UTF-8 is not JSON text (RFC 8259 §8.1); a leading BOM is dropped. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An error answered before the body was read (or while it was being read): the
 * connection closes after the answer, so the rest of the body is never waited for.
 */
function sendBodyError(req: Request, res: Response, error: CalcError, status?: number): void {
  res.set('connection', 'close');
  sendError(res, error, status);
  req.resume(); // discard whatever is still in flight until the socket closes
}

/**
 * Requests Node's HTTP parser rejects never reach express (bad request line,
 * invalid content-length, both content-length and transfer-encoding, headers
 * over maxHeaderBytes, a request not received within requestTimeoutMs). Node
 * would answer them with a bare status line; this answers with the same
 * {"error":{"code","message"}} shape as every other error, then closes.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let status = 400;
  let calcError = new CalcError('INVALID_ARGUMENT', 'malformed HTTP request');
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    calcError = new CalcError('RESOURCE_EXHAUSTED', `request headers are larger than the limit of ${REST_SERVER_LIMITS.maxHeaderBytes} bytes`);
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    calcError = new CalcError('DEADLINE_EXCEEDED', `request was not received within ${REST_SERVER_LIMITS.requestTimeoutMs} ms`);
  }
  const body = JSON.stringify({ error: { code: calcError.code, message: calcError.message } } satisfies RestError);
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** A node:http(s) server with the REST limits; the calculator app and the HTTP/1.1 contenders run on it. */
export function createHttp1Server(options: ServerOptions, listener: http.RequestListener): Http1Server {
  // requireHostHeader off: Node's own 400 for a missing Host has no body; the handler answers it instead.
  const serverOptions = { maxHeaderSize: REST_SERVER_LIMITS.maxHeaderBytes, requireHostHeader: false };
  const server = options.tls
    ? https.createServer({ ...serverOptions, key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(serverOptions, listener);
  server.keepAliveTimeout = REST_SERVER_LIMITS.keepAliveTimeoutMs;
  server.headersTimeout = REST_SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = REST_SERVER_LIMITS.requestTimeoutMs;
  // What node's parser rejects (malformed request, header overflow, timeout) gets the JSON error body too.
  server.on('clientError', answerClientError);
  lingerBeforeClosing(server);
  limitConnectionLifetimes(server, options);
  if (options.onCall) server.on('request', options.onCall);
  return server;
}

/**
 * ServerOptions.maxConnectionCalls / maxConnectionAgeMs for HTTP/1.1: the
 * response to the Nth request on a connection, or the first one once the
 * connection is that old, says `connection: close` and the server closes after
 * it, so the client reconnects for its next call and loses nothing. A
 * connection idle at its age is closed then (a client whose request crosses
 * that close never gets an answer: a load generator sends it again).
 */
export function limitConnectionLifetimes(server: Http1Server, limits: Pick<ServerOptions, 'maxConnectionAgeMs' | 'maxConnectionCalls'>): void {
  const { maxConnectionAgeMs: maxAge, maxConnectionCalls: maxCalls } = limits;
  if (maxAge === undefined && maxCalls === undefined) return;
  interface Lifetime {
    openedAt: number;
    calls: number;
    /** Requests not yet answered (pipelined requests wait their turn). */
    open: number;
    expired: boolean;
  }
  const lifetimes = new WeakMap<Duplex, Lifetime>();
  // With TLS, requests arrive on the TLS socket of 'secureConnection'.
  server.on(server instanceof https.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    const lifetime: Lifetime = { openedAt: Date.now(), calls: 0, open: 0, expired: false };
    lifetimes.set(socket, lifetime);
    if (maxAge === undefined) return;
    const timer = setTimeout(() => {
      lifetime.expired = true;
      if (lifetime.open === 0) socket.destroySoon();
    }, maxAge);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  // Before the app's listener: express may write the response head before a later listener runs.
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const lifetime = lifetimes.get(req.socket);
    if (lifetime === undefined) return;
    lifetime.calls++;
    lifetime.open++;
    res.once('close', () => lifetime.open--);
    const old = lifetime.expired || (maxAge !== undefined && Date.now() - lifetime.openedAt >= maxAge);
    // shouldKeepAlive = false: node:http writes `connection: close` and ends the connection after this response.
    if (old || (maxCalls !== undefined && lifetime.calls >= maxCalls)) res.shouldKeepAlive = false;
  });
}

/** The request a connection is on (the latest one), to tell at close whether its body is still arriving. */
const currentRequest = new WeakMap<Duplex, http.IncomingMessage>();

/**
 * Makes `server` close a connection the way nginx's lingering_close does when
 * the answer went out before the request body was read to its end: node:http
 * ends such a connection with socket.destroySoon() (FIN, then close), and a
 * close with unread bytes in the kernel's buffer sends RST, so a client still
 * writing a 20 MB body gets EPIPE/ECONNRESET and loses the 413 it was sent.
 * Here the socket is half-closed (the answer and FIN go out) and reading goes
 * on, the bytes discarded by node's parser, until the client closes its side
 * or a REST_SERVER_LIMITS linger bound is reached. Connections whose request
 * was read to its end close as before. Also used by the fastify contender.
 */
export function lingerBeforeClosing(server: Http1Server): void {
  server.on('request', (req: http.IncomingMessage) => {
    const socket = req.socket;
    if (!currentRequest.has(socket)) {
      const destroySoon = socket.destroySoon.bind(socket);
      socket.destroySoon = () => {
        const pending = currentRequest.get(socket);
        if (pending === undefined || pending.complete || socket.destroyed) destroySoon();
        else lingeringClose(socket);
      };
    }
    currentRequest.set(socket, req);
  });
}

function lingeringClose(socket: net.Socket): void {
  const { lingerMs, lingerIdleMs, lingerBytes } = REST_SERVER_LIMITS;
  const started = Date.now();
  const startBytes = socket.bytesRead;
  let lastBytes = startBytes;
  let lastProgress = started;
  // node's parser reads the socket's handle directly (no 'data' events), so progress is polled from bytesRead.
  const timer = setInterval(() => {
    const now = Date.now();
    if (socket.bytesRead !== lastBytes) {
      lastBytes = socket.bytesRead;
      lastProgress = now;
    }
    if (now - started >= lingerMs || now - lastProgress >= lingerIdleMs || lastBytes - startBytes >= lingerBytes) socket.destroy();
  }, 100);
  timer.unref();
  // The client closed its side: nothing more to discard; close once the answer has left.
  const done = (): void => {
    clearInterval(timer);
    if (socket.writableFinished) socket.destroy();
    else socket.once('finish', () => socket.destroy());
  };
  socket.once('end', done);
  socket.once('close', () => clearInterval(timer));
  socket.end();
}

export async function startRestServer(options: ServerOptions): Promise<RunningServer> {
  validateConnectionLimits(options);
  const server = createHttp1Server(options, createRestApp({ streamIdleMs: options.streamIdleMs }));
  const closeWebSockets = attachWebSocketStreams(server, { streamIdleMs: options.streamIdleMs });
  const running = await listenHttp1(server, options, 'REST');
  return {
    ...running,
    close: (graceMs = 5_000) => {
      closeWebSockets(graceMs);
      return running.close(graceMs);
    },
  };
}
