/**
 * The REST server generated from an API card: express 5 on the calculator's node:http(s) server
 * (servers/rest-server.ts createHttp1Server: the same header, keep-alive and request limits, lingering
 * close, connection lifetimes, TLS), GET /healthz, and one route per google.api.http binding of the
 * card's methods (routes.ts matches the path and rebuilds the request message from path, query and body).
 *
 * JSON is written and parsed by @bufbuild/protobuf's toJson / fromJson with the card's registry (proto3
 * JSON: default values left out, int64 as strings, enums by name; conformance-tested), then
 * JSON.stringify / JSON.parse for the text. Errors answer as grpc-gateway does: the HTTP status of the
 * gRPC code by google/rpc/code.proto's mapping (bench/api/status-map.ts) and a body
 * `{"code": <number>, "message": "..."}`; a path no route matches is 404 NOT_FOUND, a path matched
 * for another verb 405.
 */
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { fromJson, toJson, type JsonObject, type JsonValue, type Message } from '@bufbuild/protobuf';
import { httpStatusForGrpcCode } from '../../bench/api/status-map.ts';
import { LIMITS } from '../calculator.ts';
import { listenHttp1 } from '../listen.ts';
import { createHttp1Server } from '../rest-server.ts';
import { validateConnectionLimits, type RunningServer, type ServerOptions } from '../server-options.ts';
import { streamMessages, type GeneratedApi } from './api.ts';
import { defaultFieldJson, matchPath, requestJson, RequestMappingError, type RouteMatch } from './routes.ts';

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

/** An error answer: grpc-gateway's body, the mapped HTTP status unless given. */
function sendStatus(res: Response, code: number, message: string, httpStatus = httpStatusForGrpcCode(code)): void {
  res.status(httpStatus).type('application/json').send(JSON.stringify({ code, message }));
}

export function createGeneratedRestApp(api: GeneratedApi): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'SERVING' });
  });
  app.use((req, res) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const matches = matchPath(api.routes, rawPath);
    const match = matches.find((m) => m.route.binding.verb === req.method);
    if (!match) {
      // The body is not read: the connection closes after the answer.
      res.set('connection', 'close');
      if (matches.length === 0) return sendStatus(res, NOT_FOUND, `no route for ${req.method} ${clip(rawPath)}`);
      res.set('allow', [...new Set(matches.map((m) => m.route.binding.verb))].join(', '));
      return sendStatus(res, UNIMPLEMENTED, `method ${clip(req.method)} is not allowed on ${clip(rawPath)}`, 405);
    }
    readBody(req, res, (text) => answer(api, match, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), text, res));
  });
  // Last resort: whatever reached here is reported without detail (no stack, no paths).
  const lastResort: ErrorRequestHandler = (_error, req, res, _next) => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    sendStatus(res, INTERNAL, 'internal error');
  };
  app.use(lastResort);
  return app;
}

function answer(api: GeneratedApi, match: RouteMatch, query: URLSearchParams, text: string, res: Response): void {
  const { method, binding } = match.route;
  let request: Message;
  try {
    let body: JsonValue | undefined;
    if (binding.body !== null && text.trim() !== '') {
      try {
        body = JSON.parse(text) as JsonValue;
      } catch {
        return sendStatus(res, INVALID_ARGUMENT, 'request body is not valid JSON');
      }
    }
    // Unknown fields are dropped, as grpc-gateway's JSON unmarshaler drops them (DiscardUnknown).
    request = fromJson(method.input, requestJson(match, query, body), { registry: api.registry, ignoreUnknownFields: true });
  } catch (error) {
    if (error instanceof RequestMappingError || error instanceof Error) return sendStatus(res, INVALID_ARGUMENT, clip(error.message));
    throw error;
  }
  const { answer: what } = method;
  if (what.kind === 'error') return sendStatus(res, what.code, what.message);
  const encode = (message: Message): JsonValue => {
    const json = toJson(method.output, message, { registry: api.registry }) as JsonValue;
    if (binding.responseBody === null) return json;
    const field = method.output.fields.find((f) => f.name === binding.responseBody)!;
    return (json as JsonObject)[field.jsonName] ?? defaultFieldJson(field);
  };
  if (method.descriptor.methodKind === 'server_streaming') {
    // As grpc-gateway streams: chunked, one {"result": message} a line, each message encoded as it is sent.
    res.status(200).type('application/json');
    for (const message of streamMessages(method, request)) res.write(`${JSON.stringify({ result: encode(message) })}\n`);
    res.end();
    return;
  }
  res.status(200).type('application/json').send(JSON.stringify(encode(what.kind === 'echo' ? request : what.message)));
}

/** Reads the whole body as UTF-8 text, at most LIMITS.maxBodyBytes (413 at once past it, and the connection closes). */
function readBody(req: Request, res: Response, then: (text: string) => void): void {
  const limit = LIMITS.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return tooLarge(req, res);
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  req.on('data', (chunk: Buffer) => {
    if (done) return;
    size += chunk.length;
    if (size > limit) {
      done = true;
      chunks.length = 0;
      return tooLarge(req, res);
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (done) return;
    done = true;
    let text: string;
    try {
      text = UTF8.decode(Buffer.concat(chunks, size));
    } catch {
      return sendStatus(res, INVALID_ARGUMENT, 'request body is not valid UTF-8');
    }
    then(text);
  });
  req.on('error', () => {
    if (done) return;
    done = true;
    if (!res.headersSent && !req.socket.destroyed) {
      res.set('connection', 'close');
      sendStatus(res, INVALID_ARGUMENT, 'request body was incomplete');
    }
  });
}

function tooLarge(req: Request, res: Response): void {
  res.set('connection', 'close');
  sendStatus(res, RESOURCE_EXHAUSTED, `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`, 413);
  req.resume();
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

export async function startGeneratedRestServer(api: GeneratedApi, options: ServerOptions): Promise<RunningServer> {
  validateConnectionLimits(options);
  const server = createHttp1Server(options, createGeneratedRestApp(api));
  return listenHttp1(server, options, 'REST');
}
