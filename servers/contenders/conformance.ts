/**
 * The conformance table every contender must pass before it is measured: the
 * same calls over real sockets, each answer compared with the calculator's own
 * verdict (calculate / CalcError) as the oracle, so a contender that computes,
 * validates or words anything differently is reported, not measured.
 *
 * Clients, per ClientStyle and wire protocol: node:http (HTTP/1.1) or node:http2
 * (h2c) for REST; node:http2 with hand-built gRPC frames (5-byte prefix +
 * encodeRequest bytes) reading grpc-status/grpc-message from the trailers (or
 * a trailers-only HEADERS); node:http with application/proto for Connect.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { Code } from '@connectrpc/connect';
import { codeToHttpStatus } from '@connectrpc/connect/protocol-connect';
import { calculate, LIMITS, type Operation } from '../calculator.ts';
import { CalcError, type ErrorCode } from '../errors.ts';
import { NOT_PROTOBUF_MESSAGE } from '../grpc-status.ts';
import { decodeResult, encodeRequest } from '../proto.ts';
import { TOO_LARGE_MESSAGE } from '../rest-server.ts';
import { frameGrpcMessage } from '../grpc-frame.ts';
import { decodeGrpcMessage, GRPC_STATUS } from './grpc-protocol.ts';
import { HTTP_STATUS, REST_MESSAGES } from './rest-protocol.ts';
import type { ClientStyle, Contender, Encoding } from './types.ts';

/** What a call came back with, reduced to what the table compares. */
export type Outcome =
  | { kind: 'value'; value: number }
  | { kind: 'error'; code: ErrorCode; message: string; httpStatus: number }
  /** Anything else: a transport-level answer (HTTP 415/404 with no error body, a reset, an unreadable body). */
  | { kind: 'other'; detail: string; httpStatus?: number };

export interface ConformanceCase {
  name: string;
  operation: Operation;
  /** The request as an object: given to encodeRequest for protobuf, JSON.stringify'd for JSON. */
  input?: object;
  /** JSON clients send this text instead (for what only JSON text can say, e.g. 1e400). */
  jsonText?: string;
  /** Request body bytes sent as they are, for every style (framed for gRPC). */
  rawBody?: Buffer;
  /** Only run for these encodings / styles. */
  encodings?: readonly Encoding[];
  styles?: readonly ClientStyle[];
  /** Overrides of the request line / content-type (REST checks). */
  method?: string;
  path?: string;
  contentType?: string;
  /** The expected outcome when it is not the calculator's verdict on the input. */
  expect?: (style: ClientStyle) => Outcome;
}

export interface ConformanceResult {
  passed: boolean;
  failures: string[];
  /** Cases run (those that apply to the contender's style). */
  cases: number;
}

const ERROR_CODE_OF_GRPC = new Map<number, ErrorCode>(Object.entries(GRPC_STATUS).map(([code, status]) => [status, code as ErrorCode]));

function manyValues(count: number, value: (i: number) => number): number[] {
  return Array.from({ length: count }, (_, i) => value(i));
}

/**
 * A request just over LIMITS.maxBodyBytes in both encodings: 1234567 takes 8
 * bytes as a packed double and 8 as JSON text ("1234567,").
 */
const OVERSIZE_VALUES = Math.ceil(LIMITS.maxBodyBytes / 8) + 16;

function expectError(code: ErrorCode, message: string, restStatus?: number): (style: ClientStyle) => Outcome {
  return (style) => ({ kind: 'error', code, message, httpStatus: httpStatusOf(style, code, restStatus) });
}

/** The table. Expected outcomes come from calculate() unless a case says otherwise. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  // The calculator's worked example: 20 and 10 (also the README's payload-size example).
  { name: 'add 20,10', operation: 'add', input: { a: 20, b: 10 } },
  { name: 'subtract 20,10', operation: 'subtract', input: { a: 20, b: 10 } },
  { name: 'multiply 20,10', operation: 'multiply', input: { a: 20, b: 10 } },
  { name: 'divide 20,10', operation: 'divide', input: { a: 20, b: 10 } },
  { name: 'add fractions', operation: 'add', input: { a: 0.1, b: 0.2 } },
  { name: 'divide fractions', operation: 'divide', input: { a: 1, b: 3 } },
  { name: 'subtract negatives', operation: 'subtract', input: { a: -5.5, b: 7 } },
  { name: 'multiply negatives', operation: 'multiply', input: { a: -3, b: -4.25 } },
  { name: 'add zero operand (set, not missing)', operation: 'add', input: { a: 0, b: 0 } },
  { name: 'divide by zero', operation: 'divide', input: { a: 1, b: 0 } },
  { name: 'missing operand b', operation: 'add', input: { a: 1 } },
  { name: 'missing both operands', operation: 'multiply', input: {} },
  { name: 'NaN operand', operation: 'add', input: { a: Number.NaN, b: 1 }, encodings: ['protobuf'] },
  { name: 'Infinity operand', operation: 'multiply', input: { a: 2, b: Number.POSITIVE_INFINITY }, encodings: ['protobuf'] },
  { name: '-Infinity in values', operation: 'sum', input: { values: [1, Number.NEGATIVE_INFINITY] }, encodings: ['protobuf'] },
  { name: 'JSON number beyond a double (1e400)', operation: 'add', jsonText: '{"a":1e400,"b":1}', encodings: ['json'] },
  { name: 'operand as a string', operation: 'add', jsonText: '{"a":"1","b":2}', encodings: ['json'] },
  { name: 'overflow', operation: 'multiply', input: { a: 1e308, b: 10 } },
  { name: 'sum overflow', operation: 'sum', input: { values: [Number.MAX_VALUE, Number.MAX_VALUE] } },
  { name: 'sum of 1 value', operation: 'sum', input: { values: [42.5] } },
  // Every partial sum exact in binary, so any summation order (Python 3.12's compensated sum()) gives 13.875.
  { name: 'sum of 10 values', operation: 'sum', input: { values: [0.5, 1.25, -2, 3, 4.125, 0, -1.5, 2.5, 6, 0] } },
  { name: 'sum of 10,000 values', operation: 'sum', input: { values: manyValues(10_000, (i) => (i % 7) * 0.25 - i / 3) } },
  { name: 'sum of 0 values', operation: 'sum', input: { values: [] } },
  { name: `sum of ${LIMITS.maxValues + 1} values (over maxValues)`, operation: 'sum', input: { values: manyValues(LIMITS.maxValues + 1, () => 1) } },
  {
    name: `body over ${LIMITS.maxBodyBytes} bytes`,
    operation: 'sum',
    input: { values: manyValues(OVERSIZE_VALUES, () => 1_234_567) },
    expect: expectError('RESOURCE_EXHAUSTED', TOO_LARGE_MESSAGE),
  },
  {
    name: 'bytes that are not a protobuf message',
    operation: 'add',
    rawBody: Buffer.from([0x09, 0x00, 0x00]),
    encodings: ['protobuf'],
    expect: expectError('INVALID_ARGUMENT', NOT_PROTOBUF_MESSAGE),
  },
  {
    name: 'body that is not JSON',
    operation: 'add',
    jsonText: '{"a":1,',
    encodings: ['json'],
    expect: expectError('INVALID_ARGUMENT', REST_MESSAGES.notJson),
  },
  {
    name: 'wrong content-type',
    operation: 'add',
    input: { a: 1, b: 2 },
    contentType: 'text/plain',
    styles: ['rest-json', 'rest-protobuf'],
    expect: (style) => ({
      kind: 'error',
      code: 'INVALID_ARGUMENT',
      message: REST_MESSAGES.contentType(style === 'rest-json' ? 'application/json' : 'application/x-protobuf'),
      httpStatus: 415,
    }),
  },
  {
    name: 'unknown operation',
    operation: 'add',
    input: { a: 1, b: 2 },
    path: '/v1/power',
    styles: ['rest-json', 'rest-protobuf'],
    expect: expectError('NOT_FOUND', REST_MESSAGES.notFound('POST', '/v1/power')),
  },
  {
    name: 'GET on an operation',
    operation: 'add',
    method: 'GET',
    styles: ['rest-json', 'rest-protobuf'],
    expect: expectError('UNIMPLEMENTED', REST_MESSAGES.wrongMethod('GET', '/v1/add')),
  },
];

/** HTTP status an error comes back with, per style: REST's table, gRPC's 200, Connect's own mapping. */
function httpStatusOf(style: ClientStyle, code: ErrorCode, restStatus?: number): number {
  if (style === 'grpc') return 200;
  if (style === 'connect-proto') return codeToHttpStatus(GRPC_STATUS[code] as number as Code);
  return restStatus ?? HTTP_STATUS[code];
}

function encodingOf(style: ClientStyle): Encoding {
  return style === 'rest-json' ? 'json' : 'protobuf';
}

function jsonTextOf(testCase: ConformanceCase): string {
  return testCase.jsonText ?? JSON.stringify(testCase.input ?? {});
}

/** The expected outcome: the case's own, or the calculator's verdict on what the encoding delivers. */
export function expectedOutcome(testCase: ConformanceCase, style: ClientStyle): Outcome {
  if (testCase.expect) return testCase.expect(style);
  // JSON carries what JSON.parse gives back; protobuf carries the doubles as they are.
  const delivered = encodingOf(style) === 'json' ? JSON.parse(jsonTextOf(testCase)) : (testCase.input ?? {});
  try {
    return { kind: 'value', value: calculate(testCase.operation, delivered) };
  } catch (reason) {
    const error = CalcError.from(reason);
    return { kind: 'error', code: error.code, message: error.message, httpStatus: httpStatusOf(style, error.code) };
  }
}

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const CALL_TIMEOUT_MS = 15_000;

/**
 * What must match in an error answer: everything (code, message, HTTP status:
 * our contenders share the calculator's words), or only the status (a server
 * from another code base words its errors its own way): the grpc-status for
 * gRPC, the HTTP status for REST.
 */
export type ErrorMatch = 'exact' | 'status';

/** Who is checked: a contender, or a server the bench did not start (bench/host/external-targets.ts). */
export type ConformanceSubject = Pick<Contender, 'name' | 'wire' | 'encoding' | 'client'>;

function parseAddress(address: string): { host: string; port: number; secure: boolean } {
  const url = new URL(/^[a-z]+:\/\//i.test(address) ? address : `http://${address}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), secure: url.protocol === 'https:' };
}

/**
 * A body over the limit goes out only after the headers had EARLY_ANSWER_WAIT_MS
 * to draw the early 413 every contender gives on content-length alone: sending
 * it at once races the server's answer-and-close (the client's write fails with
 * EPIPE, and a reset can discard the answer before it is read).
 */
const EARLY_ANSWER_WAIT_MS = 500;

function http1Call(address: string, request: RawRequest): Promise<RawResponse> {
  const { host, port, secure } = parseAddress(address);
  // TLS: any certificate, as the bench's drivers accept one.
  const send = secure ? https.request : http.request;
  return new Promise((resolve, reject) => {
    let answered = false;
    let bodyTimer: NodeJS.Timeout | undefined;
    const req = send(
      { host, port, method: request.method, path: request.path, headers: request.headers, agent: false, timeout: CALL_TIMEOUT_MS, ...(secure ? { rejectUnauthorized: false } : {}) },
      (res) => {
        answered = true;
        clearTimeout(bodyTimer);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: Buffer.concat(chunks) });
          req.destroy();
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${CALL_TIMEOUT_MS} ms`)));
    // A write that fails after the answer arrived (the server closed early) does not undo the answer.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (request.body && request.body.length > LIMITS.maxBodyBytes) {
      req.flushHeaders();
      bodyTimer = setTimeout(() => req.end(request.body), EARLY_ANSWER_WAIT_MS);
    } else {
      req.end(request.body);
    }
  });
}

function h2Call(session: http2.ClientHttp2Session, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': request.method, ':path': request.path, ...request.headers }, { endStream: !request.body });
    let headers: RawResponse['headers'] = {};
    let trailers: RawResponse['trailers'] = {};
    const chunks: Buffer[] = [];
    stream.setTimeout(CALL_TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status'] ?? 0), headers, trailers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.on('close', () => {
      if (stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) reject(new Error(`stream reset with code ${stream.rstCode}`));
    });
    if (request.body) stream.end(request.body);
  });
}

/** Builds the request a style's client sends for a case. */
function buildRequest(style: ClientStyle, testCase: ConformanceCase, contender: ConformanceSubject): RawRequest {
  const method = testCase.method ?? 'POST';
  const path = testCase.path ?? contender.client.path(testCase.operation);
  const contentType = testCase.contentType ?? contender.client.contentType;
  const sendsBody = method === 'POST';
  let body: Buffer | undefined;
  if (sendsBody) {
    if (testCase.rawBody) body = testCase.rawBody;
    else if (style === 'rest-json') body = Buffer.from(jsonTextOf(testCase));
    else body = Buffer.from(encodeRequest(testCase.operation, testCase.input ?? {}));
    if (style === 'grpc') body = frameGrpcMessage(body);
  }
  const headers: Record<string, string> = {};
  if (sendsBody) {
    headers['content-type'] = contentType;
    headers['content-length'] = String(body!.length);
  }
  if (style === 'grpc') headers.te = 'trailers';
  return { method, path, headers, body };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a response the way a client of the style would. */
export function readOutcome(style: ClientStyle, response: RawResponse): Outcome {
  const contentType = header(response.headers['content-type']) ?? '';
  try {
    if (style === 'grpc') {
      if (response.status !== 200) return { kind: 'other', detail: `HTTP ${response.status}`, httpStatus: response.status };
      const status = header(response.trailers['grpc-status']) ?? header(response.headers['grpc-status']);
      const message = header(response.trailers['grpc-message']) ?? header(response.headers['grpc-message']) ?? '';
      if (status === undefined) return { kind: 'other', detail: 'no grpc-status' };
      if (status === '0') {
        if (response.body.length < 5 || response.body.readUInt32BE(1) !== response.body.length - 5) {
          return { kind: 'other', detail: `OK with ${response.body.length} body bytes, not one framed message` };
        }
        return { kind: 'value', value: decodeResult(response.body.subarray(5)) };
      }
      const code = ERROR_CODE_OF_GRPC.get(Number(status));
      if (!code) return { kind: 'other', detail: `grpc-status ${status}: ${decodeGrpcMessage(message)}` };
      return { kind: 'error', code, message: decodeGrpcMessage(message), httpStatus: 200 };
    }
    if (response.status === 200) {
      if (style === 'rest-json') {
        if (!contentType.startsWith('application/json')) return { kind: 'other', detail: `200 with content-type ${contentType}` };
        return { kind: 'value', value: (JSON.parse(response.body.toString('utf8')) as { value: number }).value };
      }
      const expected = style === 'rest-protobuf' ? 'application/x-protobuf' : 'application/proto';
      if (!contentType.startsWith(expected)) return { kind: 'other', detail: `200 with content-type ${contentType}` };
      return { kind: 'value', value: decodeResult(response.body) };
    }
    if (!contentType.startsWith('application/json')) {
      return { kind: 'other', detail: `HTTP ${response.status} with content-type "${contentType}"`, httpStatus: response.status };
    }
    const parsed = JSON.parse(response.body.toString('utf8')) as { error?: { code: string; message: string }; code?: string; message?: string };
    if (style === 'connect-proto') {
      return { kind: 'error', code: (parsed.code ?? '').toUpperCase() as ErrorCode, message: parsed.message ?? '', httpStatus: response.status };
    }
    return { kind: 'error', code: parsed.error?.code as ErrorCode, message: parsed.error?.message ?? '', httpStatus: response.status };
  } catch (reason) {
    return { kind: 'other', detail: `unreadable answer (HTTP ${response.status}): ${reason instanceof Error ? reason.message : String(reason)}`, httpStatus: response.status };
  }
}

function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'value':
      return `value ${Object.is(outcome.value, -0) ? '-0' : String(outcome.value)}`;
    case 'error':
      return `${outcome.code} (HTTP ${outcome.httpStatus}) "${outcome.message}"`;
    case 'other':
      return outcome.detail;
  }
}

function sameOutcome(expected: Outcome, actual: Outcome, style: ClientStyle, errors: ErrorMatch): boolean {
  if (expected.kind === 'value') return actual.kind === 'value' && Object.is(actual.value, expected.value);
  if (expected.kind === 'error') {
    if (errors === 'status') {
      if (style === 'grpc') return actual.kind === 'error' && actual.code === expected.code;
      return actual.kind !== 'value' && actual.httpStatus === expected.httpStatus;
    }
    return actual.kind === 'error' && actual.code === expected.code && actual.message === expected.message && actual.httpStatus === expected.httpStatus;
  }
  return false;
}

/** The cases that apply to a contender (by its encoding and client style). */
export function casesFor(contender: ConformanceSubject): ConformanceCase[] {
  return CONFORMANCE_CASES.filter(
    (testCase) =>
      (!testCase.encodings || testCase.encodings.includes(contender.encoding)) &&
      (!testCase.styles || testCase.styles.includes(contender.client.style)),
  );
}

const TRANSPORT_ATTEMPTS = 3;

/** The whole table against a running contender at `address` (a URL, or host:port for gRPC), errors matched exactly. */
export function checkContenderConformance(contender: Contender, address: string): Promise<ConformanceResult> {
  return checkConformance(contender, address, casesFor(contender), 'exact');
}

/**
 * Runs `cases` against `subject` at `address` (a URL, or host:port for gRPC;
 * https:// for TLS). Never rejects: a transport failure is a failed case.
 */
export async function checkConformance(
  contender: ConformanceSubject,
  address: string,
  cases: readonly ConformanceCase[],
  errors: ErrorMatch,
): Promise<ConformanceResult> {
  const style = contender.client.style;
  const failures: string[] = [];
  const { host, port, secure } = parseAddress(address);
  let session: http2.ClientHttp2Session | undefined;
  const h2Session = (): http2.ClientHttp2Session => {
    if (!session || session.closed || session.destroyed) {
      const authority = `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      session = secure ? http2.connect(authority, { rejectUnauthorized: false }) : http2.connect(authority);
      session.on('error', () => {});
    }
    return session;
  };
  try {
    for (const testCase of cases) {
      const expected = expectedOutcome(testCase, style);
      let actual: Outcome = { kind: 'other', detail: 'not called' };
      // A server that answers 413 and closes while a big body is still being sent can make the
      // client's write fail (EPIPE/ECONNRESET) before it reads the answer, a race of TCP, not of
      // the server: such a transport failure is retried (twice) before it counts.
      for (let attempt = 1; attempt <= TRANSPORT_ATTEMPTS; attempt++) {
        try {
          const request = buildRequest(style, testCase, contender);
          const response = contender.wire === 'h2' ? await h2Call(h2Session(), request) : await http1Call(address, request);
          actual = readOutcome(style, response);
          break;
        } catch (reason) {
          actual = { kind: 'other', detail: `call failed: ${reason instanceof Error ? reason.message : String(reason)}` };
          // A reset may have taken the connection with it; the next case starts on a fresh one.
          session?.destroy();
          if (!/EPIPE|ECONNRESET|socket hang up/.test(actual.detail)) break;
        }
      }
      if (!sameOutcome(expected, actual, style, errors)) {
        failures.push(`${contender.name}: ${testCase.name}: expected ${describeOutcome(expected)}, got ${describeOutcome(actual)}`);
      }
    }
  } finally {
    session?.close();
  }
  return { passed: failures.length === 0, failures, cases: cases.length };
}
