/**
 * `npm run client`: one call to a running calculator server, over either protocol.
 *
 *   npm run client -- grpc add 20 10                       -> 30
 *   npm run client -- rest divide 20 10                    -> 2
 *   npm run client -- grpc sum 1 2 3 --target 127.0.0.1:50051
 *
 * gRPC goes through the grpc-js client built from the .proto at run time
 * (loadCalculatorService), REST through fetch. A server error prints
 * `CODE: message` on stderr and exits 1; bad command-line input prints one line
 * and the usage on stderr and exits 2.
 */
import { pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import {
  BINARY_OPERATIONS,
  isOperation,
  isStreamOperation,
  OPERATIONS,
  STREAM_OPERATIONS,
  type Operation,
  type StreamOperation,
} from '../servers/calculator.ts';
import { loadCalculatorService, METHOD_NAMES, STREAM_METHOD_NAMES } from '../servers/proto.ts';
import { DEFAULT_GRPC_PORT, DEFAULT_HOST, DEFAULT_REST_PORT } from '../servers/server-options.ts';
import { UsageError } from '../shared/usage-error.ts';

export type Protocol = 'grpc' | 'rest';

/** What one call came back with, the same shape for both protocols. */
export type CallOutcome =
  | { ok: true; value: number }
  | { ok: false; code: string; message: string; httpStatus?: number };

export const DEFAULT_TARGETS: Readonly<Record<Protocol, string>> = {
  grpc: `${DEFAULT_HOST}:${DEFAULT_GRPC_PORT}`,
  rest: `http://${DEFAULT_HOST}:${DEFAULT_REST_PORT}`,
};

const USAGE = `usage: client <grpc|rest> <${[...OPERATIONS, ...STREAM_OPERATIONS].join('|')}> <numbers...> [--target <address>] [--timeout-ms 10000] [--transport ndjson|sse|websocket]
  add|subtract|multiply|divide take 2 numbers (a b); sum takes any count
  running-sum and prefix-sums print each running total on its own line; sum-stream prints the total
  --transport (rest only): ndjson (default), websocket (running-sum), sse (prefix-sums)
  --target defaults to ${DEFAULT_TARGETS.grpc} (grpc) or ${DEFAULT_TARGETS.rest} (rest)`;

export type RestTransport = 'ndjson' | 'sse' | 'websocket';

export interface ClientArgs {
  protocol: Protocol;
  operation: Operation | StreamOperation;
  /** REST's way to stream; null for unary calls and gRPC. */
  transport: RestTransport | null;
  numbers: number[];
  target: string;
  timeoutMs: number;
}

/** Numeric literals as a user types them; leading '-' is a sign here, not a flag. */
const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?0[xX][0-9a-fA-F]+$/;

export function parseClientArgs(argv: string[]): ClientArgs {
  const positionals: string[] = [];
  let target: string | undefined;
  let timeoutText = '10000';
  let transportText: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (arg === '--') continue;
    const flag = /^--(target|timeout-ms|transport)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${flag[1]} needs a value`);
      if (flag[1] === 'target') target = value;
      else if (flag[1] === 'transport') transportText = value;
      else timeoutText = value;
      continue;
    }
    if (arg.startsWith('-') && !NUMBER_PATTERN.test(arg)) throw new UsageError(`unknown option "${arg}"`);
    positionals.push(arg);
  }
  const [protocol, operation, ...rest] = positionals;
  if (protocol === undefined) throw new UsageError('missing protocol (grpc or rest)');
  if (protocol !== 'grpc' && protocol !== 'rest') throw new UsageError(`protocol must be grpc or rest, got "${protocol}"`);
  if (operation === undefined) throw new UsageError('missing operation');
  if (!isOperation(operation) && !isStreamOperation(operation)) {
    throw new UsageError(`operation must be one of ${[...OPERATIONS, ...STREAM_OPERATIONS].join(', ')}, got "${operation}"`);
  }
  const transport = parseTransport(protocol, operation, transportText);
  const numbers = rest.map((text) => {
    const value = Number(text);
    if (!NUMBER_PATTERN.test(text) || !Number.isFinite(value)) {
      throw new UsageError(`"${text}" is not a finite number`);
    }
    return value;
  });
  if ((BINARY_OPERATIONS as readonly string[]).includes(operation) && numbers.length !== 2) {
    throw new UsageError(`${operation} takes 2 numbers, got ${numbers.length}`);
  }
  if (operation === 'running-sum' && numbers.length === 0) throw new UsageError('running-sum takes at least 1 number');
  const timeoutMs = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive integer, got "${timeoutText}"`);
  target ??= DEFAULT_TARGETS[protocol];
  if (protocol === 'rest' && !/^https?:\/\//.test(target)) {
    throw new UsageError(`--target for rest must be an http:// or https:// URL, got "${target}"`);
  }
  if (protocol === 'grpc' && /^[a-z]+:\/\//i.test(target)) {
    throw new UsageError(`--target for grpc is host:port, got "${target}"`);
  }
  return { protocol, operation, transport, numbers, target, timeoutMs };
}

function parseTransport(protocol: Protocol, operation: Operation | StreamOperation, text: string | undefined): RestTransport | null {
  if (text === undefined) return protocol === 'rest' && isStreamOperation(operation) ? 'ndjson' : null;
  if (protocol !== 'rest' || !isStreamOperation(operation)) throw new UsageError('--transport applies to rest streams only');
  const allowed: RestTransport[] = operation === 'running-sum' ? ['ndjson', 'websocket'] : operation === 'prefix-sums' ? ['ndjson', 'sse'] : ['ndjson'];
  if (!(allowed as string[]).includes(text)) throw new UsageError(`--transport for ${operation} must be ${allowed.join(' or ')}, got "${text}"`);
  return text as RestTransport;
}

/** The request body/message of an operation: {a, b} or {values}. */
export function requestFor(operation: Operation, numbers: number[]): object {
  return operation === 'sum' ? { values: numbers } : { a: numbers[0], b: numbers[1] };
}

// ---- gRPC ----------------------------------------------------------------

type UnaryMethod = (
  request: object,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: { value?: number }) => void,
) => grpc.ClientUnaryCall;

/** A grpc-js client of the calculator, built from the .proto at run time. */
export function createGrpcClient(target: string, options: grpc.ClientOptions = {}): grpc.Client {
  const Calculator = loadCalculatorService();
  return new Calculator(target, grpc.credentials.createInsecure(), options);
}

export function callGrpc(
  client: grpc.Client,
  operation: Operation,
  input: object,
  timeoutMs = 10_000,
): Promise<CallOutcome> {
  const method = (client as unknown as Record<string, UnaryMethod>)[METHOD_NAMES[operation]].bind(client);
  return new Promise((resolve) => {
    method(input, { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error) resolve({ ok: false, code: grpc.status[error.code] ?? String(error.code), message: error.details });
      // proto3 leaves a 0 result off the wire when the encoder skips defaults; absent means 0.
      else resolve({ ok: true, value: response?.value ?? 0 });
    });
  });
}

// ---- REST ----------------------------------------------------------------

export async function callRest(baseUrl: string, operation: Operation, input: unknown, timeoutMs = 10_000): Promise<CallOutcome> {
  const response = await fetch(new URL(`/v1/${operation}`, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return restOutcome(response.status, await response.text());
}

/** Reads a REST answer: {"value"} on 2xx, {"error":{"code","message"}} otherwise. */
export function restOutcome(httpStatus: number, text: string): CallOutcome {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const record = body as { value?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  if (httpStatus >= 200 && httpStatus < 300 && typeof record?.value === 'number') return { ok: true, value: record.value };
  if (typeof record?.error?.code === 'string' && typeof record.error.message === 'string') {
    return { ok: false, code: record.error.code, message: record.error.message, httpStatus };
  }
  return { ok: false, code: `HTTP_${httpStatus}`, message: text.slice(0, 200).replace(/\s+/g, ' ').trim(), httpStatus };
}

// ---- streams -------------------------------------------------------------

/** How a stream ended: its totals (one for sum-stream) and, when it failed, the error after them. */
export interface StreamOutcome {
  values: number[];
  error?: { code: string; message: string };
}

type StreamCall = grpc.ClientDuplexStream<object, { value?: number }>;

/** One stream over grpc-js: the numbers sent as Number messages (or one Numbers for prefix-sums). */
export function streamGrpc(client: grpc.Client, operation: StreamOperation, numbers: number[], timeoutMs = 10_000): Promise<StreamOutcome> {
  const methods = client as unknown as Record<string, (...args: unknown[]) => StreamCall>;
  const method = methods[STREAM_METHOD_NAMES[operation]]!.bind(client);
  const options = { deadline: Date.now() + timeoutMs };
  const values: number[] = [];
  const failed = (error: grpc.ServiceError): StreamOutcome => ({ values, error: { code: grpc.status[error.code] ?? String(error.code), message: error.details } });
  return new Promise((resolve) => {
    if (operation === 'sum-stream') {
      const call = method(options, (error: grpc.ServiceError | null, response?: { value?: number }) =>
        resolve(error ? failed(error) : { values: [response?.value ?? 0] }),
      );
      for (const value of numbers) call.write({ value });
      call.end();
      return;
    }
    const call = operation === 'prefix-sums' ? method({ values: numbers }, options) : method(options);
    call.on('data', (result: { value?: number }) => values.push(result.value ?? 0));
    call.on('error', (error: grpc.ServiceError) => resolve(failed(error)));
    call.on('end', () => resolve({ values }));
    if (operation === 'running-sum') {
      for (const value of numbers) call.write({ value });
      call.end();
    }
  });
}

/** Reads NDJSON lines or SSE `data:` lines: totals, and an {"error"} that ends the stream. */
function streamOutcomeOfText(text: string, sse: boolean): StreamOutcome {
  const outcome: StreamOutcome = { values: [] };
  for (const line of text.split('\n')) {
    const json = sse ? (line.startsWith('data: ') ? line.slice(6) : '') : line;
    if (json.trim() === '') continue;
    const parsed = JSON.parse(json) as { value?: number; error?: { code: string; message: string } };
    if (parsed.error) outcome.error = parsed.error;
    else outcome.values.push(parsed.value ?? 0);
  }
  return outcome;
}

/** One REST stream: NDJSON (or SSE for prefix-sums) through fetch, or a WebSocket for running-sum. */
export async function streamRest(
  baseUrl: string,
  operation: StreamOperation,
  transport: RestTransport,
  numbers: number[],
  timeoutMs = 10_000,
): Promise<StreamOutcome> {
  if (transport === 'websocket') return streamWebSocket(baseUrl, numbers, timeoutMs);
  const url = new URL(`/v1/${operation}`, baseUrl);
  const ndjson = numbers.map((value) => `${JSON.stringify({ value })}\n`).join('');
  const response = await fetch(url, {
    method: 'POST',
    headers:
      operation === 'prefix-sums'
        ? { 'content-type': 'application/json', accept: transport === 'sse' ? 'text/event-stream' : 'application/x-ndjson' }
        : { 'content-type': 'application/x-ndjson' },
    body: operation === 'prefix-sums' ? JSON.stringify({ values: numbers }) : ndjson,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (response.status !== 200) {
    const outcome = restOutcome(response.status, text);
    return outcome.ok ? { values: [outcome.value] } : { values: [], error: { code: outcome.code, message: outcome.message } };
  }
  if (operation === 'sum-stream') return streamOutcomeOfText(text, false);
  return streamOutcomeOfText(text, transport === 'sse');
}

function streamWebSocket(baseUrl: string, numbers: number[], timeoutMs: number): Promise<StreamOutcome> {
  const url = new URL('/v1/running-sum', baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const outcome: StreamOutcome = { values: [] };
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => ws.terminate(), timeoutMs);
    ws.on('open', () => {
      for (const value of numbers) ws.send(JSON.stringify({ value }));
      ws.close(1000);
    });
    ws.on('message', (data) => {
      const parsed = streamOutcomeOfText(data.toString(), false);
      outcome.values.push(...parsed.values);
      outcome.error ??= parsed.error;
    });
    ws.on('error', (error) => reject(error));
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(outcome);
    });
  });
}

// ---- CLI -----------------------------------------------------------------

/** A stream from the CLI: the totals as they are, then the error if the stream ended with one. */
async function runStream(args: ClientArgs, operation: StreamOperation): Promise<StreamOutcome> {
  if (args.protocol === 'grpc') {
    const client = createGrpcClient(args.target);
    try {
      return await streamGrpc(client, operation, args.numbers, args.timeoutMs);
    } finally {
      client.close();
    }
  }
  return streamRest(args.target, operation, args.transport ?? 'ndjson', args.numbers, args.timeoutMs);
}

async function run(args: ClientArgs): Promise<CallOutcome> {
  const operation = args.operation;
  if (isStreamOperation(operation)) {
    const stream = await runStream(args, operation).catch((error: unknown) => unreachable(args, error));
    if ('ok' in stream) return stream;
    for (const value of stream.values.slice(0, -1)) console.log(String(value));
    const last = stream.values.at(-1);
    if (stream.error) {
      if (last !== undefined) console.log(String(last));
      return { ok: false, ...stream.error };
    }
    // Never empty: running-sum needs a number (parseClientArgs), and the other two answer or fail.
    return { ok: true, value: last! };
  }
  const input = requestFor(operation, args.numbers);
  if (args.protocol === 'grpc') {
    const client = createGrpcClient(args.target);
    try {
      const outcome = await callGrpc(client, operation, input, args.timeoutMs);
      if (!outcome.ok && outcome.code === 'UNAVAILABLE') {
        const reason = /\b(E[A-Z]{3,})\b/.exec(outcome.message)?.[1] ?? outcome.message;
        return { ok: false, code: 'UNAVAILABLE', message: `cannot reach ${args.target}: ${reason}` };
      }
      return outcome;
    } finally {
      client.close();
    }
  }
  try {
    return await callRest(args.target, operation, input, args.timeoutMs);
  } catch (error) {
    return unreachable(args, error);
  }
}

/** A REST call that threw instead of answering: a timeout or an unreachable server, in one line. */
function unreachable(args: ClientArgs, error: unknown): CallOutcome {
  {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if ((error as Error).name === 'TimeoutError') {
      return { ok: false, code: 'DEADLINE_EXCEEDED', message: `no answer from ${args.target} within ${args.timeoutMs} ms` };
    }
    return {
      ok: false,
      code: 'UNAVAILABLE',
      message: `cannot reach ${args.target}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
    };
  }
}

async function main(argv: string[]): Promise<number> {
  let args: ClientArgs;
  try {
    args = parseClientArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message === '') {
      console.log(USAGE);
      return 0;
    }
    console.error(`error: ${error.message}\n${USAGE}`);
    return 2;
  }
  const outcome = await run(args);
  if (outcome.ok) {
    console.log(String(outcome.value));
    return 0;
  }
  console.error(`${outcome.code}: ${outcome.message}`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
