/**
 * The equivalence check: before a bench loads a user's API, send each call once on each protocol
 * and make sure both servers give the same answer, so the bench compares two encodings of the same
 * work rather than two different services.
 *
 * Both answers are read into the same message type — the gRPC one from protobuf, the REST one from
 * proto3 JSON (a missing field is the default; with `response_body`, the REST body is that one
 * field) — and compared field by field through their canonical proto3 JSON, which makes "missing"
 * and "default" the same thing and names fields as the card does (`item.priceMicros`). Error answers
 * must agree as well: the REST status must be the HTTP mapping of the gRPC status (status-map.ts).
 *
 * The clients are node:http2 (gRPC framing written here: 5-byte prefix, grpc-status in trailers or
 * in a trailers-only answer) and node:http / node:https, one call each, new connection each, so
 * nothing here depends on the bench's load generators.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { fromBinary, fromJson, toJson, type FileRegistry, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { grpcCodeLabel, httpStatusForGrpcCode } from './status-map.ts';
import type { ApiCard, EquivalenceTargets, PreparedCall, PreparedRequest } from './types.ts';

/** @default for EquivalenceTargets.timeoutMs */
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/**
 * Send every call's first request once on each protocol and compare the answers.
 * Returns null when they all agree, else ONE line naming the call, the method and the first
 * difference (a field path and both values, or both statuses), or why a call could not be made.
 */
export async function checkEquivalence(card: ApiCard, targets: EquivalenceTargets): Promise<string | null> {
  const timeoutMs = targets.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  for (const call of card.calls) {
    const request = call.requests[0]!;
    const where = `api card ${card.file}: call ${call.name} (${call.api}/${call.method})`;
    let grpc: GrpcAnswer;
    let rest: RestAnswer;
    try {
      grpc = await grpcOnce(targets.grpc, call, request, card.metadata, timeoutMs);
    } catch (err) {
      return `${where}: the gRPC call failed: ${(err as Error).message}`;
    }
    try {
      rest = await restOnce(targets.rest.url, call, request, card.metadata, timeoutMs);
    } catch (err) {
      return `${where}: the REST call (${call.rest.verb} ${request.restPath}) failed: ${(err as Error).message}`;
    }
    const difference = compareAnswers(call, grpc, rest, card.registry);
    if (difference !== null) return `${where}: ${difference}`;
  }
  return null;
}

/** The calls whose REST verb is not GET: at full load they write to the user's server. */
export function writingCalls(card: ApiCard): PreparedCall[] {
  return card.calls.filter((c) => c.rest.verb !== 'GET');
}

/** One line warning about writingCalls(), or null when every call is a GET. */
export function writingCallsWarning(card: ApiCard): string | null {
  const calls = writingCalls(card);
  if (!calls.length) return null;
  const list = calls.map((c) => `${c.name} (${c.rest.verb})`).join(', ');
  return `api card ${card.file}: ${list} ${calls.length === 1 ? 'is not a GET' : 'are not GETs'}: the bench sends ${calls.length === 1 ? 'it' : 'them'} at full load, and your server will apply every one`;
}

// ---- answers -----------------------------------------------------------------------------------

export interface GrpcAnswer {
  /** grpc-status: 0 OK, else the error code. */
  code: number;
  /** grpc-message, percent-decoded. */
  message: string;
  /** The response messages (protobuf, prefix removed): one for unary, any number for a server stream. */
  messages: Uint8Array[];
}

export interface RestAnswer {
  status: number;
  body: Buffer;
}

/**
 * Compare one call's two answers. Returns null when they agree, else one line (without the call's
 * name) saying what differs.
 */
export function compareAnswers(call: PreparedCall, grpc: GrpcAnswer, rest: RestAnswer, registry: FileRegistry): string | null {
  const restOk = rest.status >= 200 && rest.status < 300;
  if (grpc.code !== 0 || !restOk) {
    const grpcText = grpc.code === 0 ? 'OK' : `${grpcCodeLabel(grpc.code)}${grpc.message ? ` "${clip(grpc.message)}"` : ''}`;
    if (grpc.code === 0) return `gRPC answered OK but REST answered HTTP ${rest.status}`;
    if (restOk) return `gRPC answered ${grpcText} but REST answered HTTP ${rest.status}`;
    const expected = httpStatusForGrpcCode(grpc.code);
    if (expected !== rest.status) return `gRPC answered ${grpcText}, which maps to HTTP ${expected}, but REST answered HTTP ${rest.status}`;
    return null;
  }

  let grpcJson: JsonValue[];
  let restJson: JsonValue[];
  try {
    grpcJson = grpc.messages.map((bytes) => toJson(call.output, fromBinary(call.output, bytes), { registry }));
  } catch (err) {
    return `the gRPC answer is not a valid ${call.output.typeName}: ${(err as Error).message}`;
  }
  try {
    restJson = restMessages(call, rest.body).map((json) => toJson(call.output, fromJson(call.output, json, { registry }), { registry }));
  } catch (err) {
    return `the REST answer is not a valid ${call.output.typeName} in proto3 JSON: ${clip((err as Error).message, 200)}`;
  }
  if (call.kind === 'unary' && grpcJson.length !== 1) return `gRPC answered ${grpcJson.length} messages to a unary call`;
  if (grpcJson.length !== restJson.length) return `gRPC answered ${grpcJson.length} messages, REST ${restJson.length}`;

  const responseField = call.rest.responseBody === null ? null : call.output.fields.find((f) => f.name === call.rest.responseBody)!.jsonName;
  for (let i = 0; i < grpcJson.length; i++) {
    let a = grpcJson[i] as JsonObject;
    let b = restJson[i] as JsonObject;
    // With response_body only that field crosses REST; compare just it, named by its path in the message.
    if (responseField !== null) {
      a = pick(a, responseField);
      b = pick(b, responseField);
    }
    const diff = diffJson(a, b, '', call.ignore);
    if (diff) {
      const which = grpcJson.length > 1 || call.kind === 'server-stream' ? `message ${i}: ` : '';
      return `${which}field ${diff.path} differs: gRPC ${show(diff.grpc)}, REST ${show(diff.rest)}`;
    }
  }
  return null;
}

/**
 * The REST answer's message(s) as proto3 JSON of the whole response type. A server stream comes as a
 * JSON array (Envoy, ESP) or as newline-delimited JSON, each line a message or `{"result": message}`
 * (grpc-gateway). With response_body the body is that field's JSON, wrapped back into the message.
 */
function restMessages(call: PreparedCall, body: Buffer): JsonValue[] {
  const text = body.toString('utf8').trim();
  let items: JsonValue[];
  if (call.kind === 'server-stream') {
    if (text.startsWith('[')) items = JSON.parse(text) as JsonValue[];
    else {
      items = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as JsonValue);
      items = items.map((item) => (isObject(item) && Object.keys(item).length === 1 && 'result' in item ? item.result! : item));
    }
  } else {
    items = [text === '' ? {} : (JSON.parse(text) as JsonValue)];
  }
  if (call.rest.responseBody === null) return items;
  const jsonName = call.output.fields.find((f) => f.name === call.rest.responseBody)!.jsonName;
  return items.map((item) => ({ [jsonName]: item }));
}

// ---- field-by-field comparison -----------------------------------------------------------------

export interface JsonDifference {
  /** JSON-name path, e.g. "item.priceMicros", "items[2].title". */
  path: string;
  /** The value on each side, undefined when the field is not set (its default). */
  grpc: JsonValue | undefined;
  rest: JsonValue | undefined;
}

/** The first difference between two canonical proto3 JSON values, skipping `ignore` paths (and what is under them). */
export function diffJson(a: JsonValue | undefined, b: JsonValue | undefined, path: string, ignore: readonly string[]): JsonDifference | null {
  if (path !== '' && isIgnored(path, ignore)) return null;
  if (isObject(a) && isObject(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const key of keys) {
      const d = diffJson(a[key], b[key], path ? `${path}.${key}` : key, ignore);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = diffJson(a[i], b[i], `${path}[${i}]`, ignore);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : { path: path || '(message)', grpc: a, rest: b };
}

function isIgnored(path: string, ignore: readonly string[]): boolean {
  const bare = path.replace(/\[\d+\]/g, '');
  return ignore.some((p) => bare === p || bare.startsWith(p + '.'));
}

function pick(json: JsonObject, key: string): JsonObject {
  return key in json ? { [key]: json[key]! } : {};
}

function show(value: JsonValue | undefined): string {
  return value === undefined ? '(not set)' : clip(JSON.stringify(value));
}

function clip(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---- one call per protocol ---------------------------------------------------------------------

function grpcOnce(
  target: EquivalenceTargets['grpc'],
  call: PreparedCall,
  request: PreparedRequest,
  metadata: Record<string, string>,
  timeoutMs: number,
): Promise<GrpcAnswer> {
  return new Promise((resolve, reject) => {
    const authority = `${target.tls ? 'https' : 'http'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    const session = http2.connect(authority, target.tls ? { rejectUnauthorized: false, ALPNProtocols: ['h2'] } : {});
    const finish = (err: Error | null, answer?: GrpcAnswer) => {
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (err) => finish(err));
    const stream = session.request({
      ...metadata,
      ':method': 'POST',
      ':path': call.grpcPath,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => { headers = h; });
    stream.on('trailers', (t) => { trailers = t; });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (err) => finish(err));
    stream.on('end', () => {
      const httpStatus = Number(headers[':status']);
      if (httpStatus !== 200) return finish(new Error(`HTTP ${httpStatus} instead of a gRPC answer (is ${authority} a gRPC server?)`));
      // A trailers-only answer (an error with no body) carries grpc-status in the headers.
      const status = trailers['grpc-status'] ?? headers['grpc-status'];
      if (status === undefined) return finish(new Error('the answer has no grpc-status'));
      const message = String(trailers['grpc-message'] ?? headers['grpc-message'] ?? '');
      let messages: Uint8Array[];
      try {
        messages = unframe(Buffer.concat(chunks));
      } catch (err) {
        return finish(err as Error);
      }
      finish(null, { code: Number(status), message: safeDecode(message), messages });
    });
    const frame = Buffer.alloc(5 + request.protobuf.length);
    frame.writeUInt32BE(request.protobuf.length, 1);
    frame.set(request.protobuf, 5);
    stream.end(frame);
  });
}

/** Split a gRPC body into its length-prefixed messages. */
function unframe(body: Buffer): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 5 > body.length) throw new Error('the answer ends inside a gRPC message prefix');
    if (body[offset]! & 1) throw new Error('the answer is compressed although the request did not accept compression');
    const length = body.readUInt32BE(offset + 1);
    if (offset + 5 + length > body.length) throw new Error('the answer ends inside a gRPC message');
    messages.push(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function restOnce(
  baseUrl: string,
  call: PreparedCall,
  request: PreparedRequest,
  metadata: Record<string, string>,
  timeoutMs: number,
): Promise<RestAnswer> {
  return new Promise((resolve, reject) => {
    const base = new URL(baseUrl);
    const client = base.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { ...metadata, accept: 'application/json' };
    if (request.restBody !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = request.restBody.length;
    }
    const req = client.request({
      hostname: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port || (base.protocol === 'https:' ? 443 : 80),
      // The prepared path is already percent-encoded: join it as text, so no URL parser re-normalizes it.
      path: base.pathname.replace(/\/$/, '') + request.restPath,
      method: call.rest.verb,
      headers,
      agent: false,
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => { clearTimeout(timer); reject(err); });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
    });
    req.end(request.restBody ?? undefined);
  });
}
