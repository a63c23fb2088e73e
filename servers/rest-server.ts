/**
 * The calculator over REST (HTTP/1.1, JSON) with express 5:
 * POST /v1/<operation> with a JSON body, answered with {"value": n} or with
 * {"error": {"code", "message"}} and the HTTP status that fits the code.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { calculate, isOperation, isStreamOperation, type Operation } from './calculator.ts';
import { CalcError } from './errors.ts';
import { validateConnectionLimits, type RunningServer, type ServerOptions } from './server-options.ts';
import { listenHttp1, type Http1Server } from './listen.ts';
import { addStreamRoutes, attachWebSocketStreams } from './rest-streams.ts';
import { readJsonBody, refuseBody, REST_GZIP_MIN_BYTES, REST_MESSAGES, sendBodyError, sendError, sendJson, type RestError } from './rest-http.ts';

// The shared helpers, for the modules that import them from here.
export { clip, HTTP_STATUS, NOT_DECOMPRESSIBLE_MESSAGE, readJsonBody, REST_GZIP_MIN_BYTES, REST_MESSAGES, sendError, TOO_LARGE_MESSAGE, type RestError } from './rest-http.ts';

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

export interface RestAppOptions {
  /** Smallest JSON response, in bytes, that is gzipped for a client that accepts gzip. */
  gzipMinBytes?: number;
  /** How long a stream may stay silent (LIMITS.streamIdleMs unless set). */
  streamIdleMs?: number;
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
  // A call, a stream (one request) or a WebSocket (one upgrade) counts once.
  if (options.onCall) {
    server.on('request', options.onCall);
    server.on('upgrade', options.onCall);
  }
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
