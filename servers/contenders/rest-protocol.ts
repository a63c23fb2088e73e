/**
 * The REST API of servers/rest-server.ts, stated once for every hand-written or
 * framework contender: the route table, the error shape {"error":{"code","message"}},
 * the HTTP status of each CalcError code, the content-type rules and the body
 * limit, with express's texts. Transport adapters (node:http, node:http2,
 * fastify) only turn a RestRequest into a RestReply and write it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { calculate, isOperation, type Operation } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { charset, mediaType, readBody } from './http-body.ts';
import { decodeRequestMessage, encodeResultMessage } from './protobuf-codec.ts';
import { HTTP_STATUS, REST_MESSAGES as EXPRESS_MESSAGES } from '../rest-server.ts';

/**
 * The HTTP status of each error code, the app's texts and clip() are
 * servers/rest-server.ts's own (imported, not restated). Contenders refuse
 * compressed bodies, which the express app inflates: that text is theirs.
 */
export { clip, HTTP_STATUS } from '../rest-server.ts';
export const REST_MESSAGES = {
  ...EXPRESS_MESSAGES,
  contentEncoding: 'content-encoding must be identity (compressed bodies are not accepted)',
} as const;

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export type RestRoute =
  | { kind: 'health' }
  | { kind: 'call'; operation: Operation }
  | { kind: 'wrong-method'; operation: Operation }
  | { kind: 'not-found' };

const CALL_PATH = /^\/v1\/([^/]+)\/?$/i;
const HEALTH_PATH = /^\/healthz\/?$/i;

/** The route table: GET /healthz, POST /v1/<operation>; express's default (case-insensitive, trailing slash optional) matching. */
export function routeRest(method: string, path: string): RestRoute {
  if (HEALTH_PATH.test(path)) return method === 'GET' || method === 'HEAD' ? { kind: 'health' } : { kind: 'not-found' };
  const match = CALL_PATH.exec(path);
  if (!match) return { kind: 'not-found' };
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch {
    return { kind: 'not-found' };
  }
  if (!isOperation(name)) return { kind: 'not-found' };
  return method === 'POST' ? { kind: 'call', operation: name } : { kind: 'wrong-method', operation: name };
}

/** How a request body is read and a result written: JSON (as express) or protobuf (application/x-protobuf). */
export interface RestCodec {
  /** The one media type accepted on POST /v1/<op>. */
  mediaType: string;
  /** Content-type of a successful answer. */
  resultContentType: string;
  decode(operation: Operation, body: Buffer): unknown;
  encodeResult(value: number): Buffer;
  /** Checks content-type parameters before the body is read (JSON: the charset, if given, must be utf-8). */
  checkParameters?(contentType: string | undefined): CalcError | null;
}

/** Bytes must be UTF-8 (fatal; a leading BOM is dropped), as express's reader decodes them. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export const JSON_CODEC: RestCodec = {
  mediaType: 'application/json',
  resultContentType: JSON_CONTENT_TYPE,
  decode(_operation, body) {
    try {
      const text = UTF8.decode(body);
      // An empty body reads as {}, like an empty protobuf message (every field unset).
      return text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new CalcError('INVALID_ARGUMENT', REST_MESSAGES.notJson);
    }
  },
  encodeResult: (value) => Buffer.from(JSON.stringify({ value })),
  checkParameters(contentType) {
    const set = charset(contentType);
    return set === undefined || set === 'utf-8' || set === 'utf8' ? null : new CalcError('INVALID_ARGUMENT', REST_MESSAGES.charset);
  },
};

export const PROTOBUF_CODEC: RestCodec = {
  mediaType: 'application/x-protobuf',
  resultContentType: 'application/x-protobuf',
  decode: decodeRequestMessage,
  encodeResult: encodeResultMessage,
};

export interface RestRequest {
  method: string;
  /** Request target, query included. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Readable;
  /**
   * Whether the request announces a body (HTTP/1.1: content-length or
   * transfer-encoding). express answers 415 to a POST without one; HTTP/2
   * adapters pass true.
   */
  hasBody: boolean;
  /** '1.1' or '1.0' on HTTP/1.x; undefined on HTTP/2. */
  httpVersion?: string;
}

export interface RestReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /**
   * The request body was refused or cut off unread: an HTTP/1.1 writer adds
   * connection: close, so the rest of the body is never waited for (HTTP/2
   * writers leave the stream to drain; other streams are unaffected).
   */
  close?: boolean;
}

export function errorReply(error: CalcError, status = HTTP_STATUS[error.code], headers: Record<string, string> = {}): RestReply {
  const body = Buffer.from(JSON.stringify({ error: { code: error.code, message: error.message } }));
  return { status, headers: { 'content-type': JSON_CONTENT_TYPE, ...headers }, body };
}

/** A refusal before or while reading the body: the error, and the connection closes after it. */
function bodyErrorReply(error: CalcError, status?: number): RestReply {
  return { ...errorReply(error, status), close: true };
}

/** express answers an HTTP/1.1 request without a host header with 400 before routing; null when the request is fine. */
export function hostReply(httpVersion: string | undefined, headers: IncomingHttpHeaders): RestReply | null {
  if (httpVersion !== '1.1' || headers.host !== undefined) return null;
  return bodyErrorReply(new CalcError('INVALID_ARGUMENT', REST_MESSAGES.noHost));
}

/** Answers one request: routing, content-type rules, body limit, calculator, error mapping. Never rejects. */
export function handleRest(request: RestRequest, codec: RestCodec): Promise<RestReply> | RestReply {
  const query = request.url.indexOf('?');
  const path = query === -1 ? request.url : request.url.slice(0, query);
  const refused = hostReply(request.httpVersion, request.headers);
  if (refused) {
    request.body.resume();
    return refused;
  }
  const route = routeRest(request.method, path);
  return route.kind === 'call' ? callReply(route.operation, request, codec) : routeReply(route, request.method, path, request.body);
}

/** The answer of every route but a call: health, 405 with allow: POST, 404. The body is drained unread. */
export function routeReply(route: Exclude<RestRoute, { kind: 'call' }>, method: string, path: string, body: Readable): RestReply {
  body.resume();
  switch (route.kind) {
    case 'health':
      return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: Buffer.from('{"status":"SERVING"}') };
    case 'wrong-method':
      return errorReply(new CalcError('UNIMPLEMENTED', REST_MESSAGES.wrongMethod(method, path)), undefined, { allow: 'POST' });
    case 'not-found':
      return errorReply(new CalcError('NOT_FOUND', REST_MESSAGES.notFound(method, path)));
  }
}

/**
 * POST /v1/<operation>: the body's headers are checked before a byte is read
 * (media type, charset, content-encoding: 415), then the body is read under the
 * limit (413), decoded, calculated, and the result or the error answered. Never rejects.
 */
export async function callReply(operation: Operation, request: Pick<RestRequest, 'headers' | 'body' | 'hasBody'>, codec: RestCodec): Promise<RestReply> {
  const refusal = refuseBody(request, codec);
  if (refusal) {
    request.body.resume();
    return bodyErrorReply(refusal, 415);
  }
  let bytes: Buffer;
  try {
    bytes = await readBody(request.body, request.headers['content-length']);
  } catch (reason) {
    return bodyErrorReply(CalcError.from(reason));
  }
  try {
    const value = calculate(operation, codec.decode(operation, bytes));
    return { status: 200, headers: { 'content-type': codec.resultContentType }, body: codec.encodeResult(value) };
  } catch (reason) {
    return errorReply(CalcError.from(reason));
  }
}

function refuseBody(request: Pick<RestRequest, 'headers' | 'hasBody'>, codec: RestCodec): CalcError | null {
  const contentType = request.headers['content-type'];
  if (!request.hasBody || mediaType(contentType) !== codec.mediaType) {
    return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentType(codec.mediaType));
  }
  const parameterError = codec.checkParameters?.(contentType);
  if (parameterError) return parameterError;
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== '') return new CalcError('INVALID_ARGUMENT', REST_MESSAGES.contentEncoding);
  return null;
}

/** type-is's hasBody, as express's req.is() uses it: a transfer-encoding or a numeric content-length. */
export function http1HasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && !Number.isNaN(Number(headers['content-length'])));
}
