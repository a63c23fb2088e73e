/**
 * The calculator over REST (HTTP/1.1, JSON) with express 5:
 * POST /v1/<operation> with a JSON body, answered with {"value": n} or with
 * {"error": {"code", "message"}} and the HTTP status that fits the code.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { calculate, isOperation, LIMITS, type Operation } from './calculator.ts';
import { CalcError, type ErrorCode } from './errors.ts';
import type { RunningServer, ServerOptions } from './server-options.ts';
import { describeListenError } from './server-options.ts';

const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
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
} as const;

export type RestError = { error: { code: ErrorCode; message: string } };

function sendError(res: Response, error: CalcError, status = HTTP_STATUS[error.code]): void {
  const body: RestError = { error: { code: error.code, message: error.message } };
  res.status(status).json(body);
}

export function createRestApp(): express.Express {
  const app = express();
  // No framework banner, and no ETag: a computed result is not a cacheable resource.
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'SERVING' });
  });

  app.post(
    '/v1/:operation',
    (req, res, next) => {
      // An unknown operation skips this route (body unread) and ends in the 404 handler.
      if (!isOperation(req.params.operation as string)) return next('route');
      if (!req.is('application/json')) {
        sendError(res, new CalcError('INVALID_ARGUMENT', 'content-type must be application/json'), 415);
        return;
      }
      next();
    },
    express.json({ limit: LIMITS.maxBodyBytes, strict: false, type: () => true }),
    (req: Request, res: Response) => {
      try {
        res.json({ value: calculate(req.params.operation as Operation, req.body) });
      } catch (reason) {
        sendError(res, CalcError.from(reason));
      }
    },
  );

  app.all('/v1/:operation', (req, res, next) => {
    if (!isOperation(req.params.operation as string) || req.method === 'POST') return next();
    res.set('allow', 'POST');
    sendError(res, new CalcError('UNIMPLEMENTED', `method ${req.method} is not allowed on ${req.path}; use POST`));
  });

  app.use((req, res) => {
    sendError(res, new CalcError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });

  const bodyErrors: ErrorRequestHandler = (error, _req, res, _next) => {
    sendError(res, bodyParserError(error));
  };
  app.use(bodyErrors);
  return app;
}

/** Maps body-parser's failures to the documented error shape; anything else is INTERNAL, without detail. */
function bodyParserError(error: unknown): CalcError {
  const type = (error as { type?: string } | null)?.type;
  switch (type) {
    case 'entity.parse.failed':
      return new CalcError('INVALID_ARGUMENT', 'request body is not valid JSON');
    case 'entity.too.large':
      return new CalcError('RESOURCE_EXHAUSTED', `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new CalcError('INVALID_ARGUMENT', 'request body must be UTF-8 JSON without content-encoding');
    case 'request.aborted':
    case 'request.size.invalid':
      return new CalcError('INVALID_ARGUMENT', 'request body was incomplete');
    default:
      return new CalcError('INTERNAL', 'internal error');
  }
}

export async function startRestServer(options: ServerOptions): Promise<RunningServer> {
  const app = createRestApp();
  const serverOptions = { maxHeaderSize: REST_SERVER_LIMITS.maxHeaderBytes };
  const server = options.tls
    ? https.createServer({ ...serverOptions, key: options.tls.key, cert: options.tls.cert }, app)
    : http.createServer(serverOptions, app);
  server.keepAliveTimeout = REST_SERVER_LIMITS.keepAliveTimeoutMs;
  server.headersTimeout = REST_SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = REST_SERVER_LIMITS.requestTimeoutMs;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(describeListenError('REST', options, error))));
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? 'https' : 'http';
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    protocol: 'rest',
    host: options.host,
    port,
    address: `${scheme}://${hostInUrl}:${port}`,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        // close() waits for in-flight requests and drops idle keep-alive sockets;
        // after the grace period the remaining ones are cut.
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
