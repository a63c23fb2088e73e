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
import { BINARY_OPERATIONS, isOperation, OPERATIONS, type Operation } from '../servers/calculator.ts';
import { loadCalculatorService, METHOD_NAMES } from '../servers/proto.ts';
import { DEFAULT_GRPC_PORT, DEFAULT_HOST, DEFAULT_REST_PORT } from '../servers/server-options.ts';

export type Protocol = 'grpc' | 'rest';

/** What one call came back with, the same shape for both protocols. */
export type CallOutcome =
  | { ok: true; value: number }
  | { ok: false; code: string; message: string; httpStatus?: number };

export const DEFAULT_TARGETS: Readonly<Record<Protocol, string>> = {
  grpc: `${DEFAULT_HOST}:${DEFAULT_GRPC_PORT}`,
  rest: `http://${DEFAULT_HOST}:${DEFAULT_REST_PORT}`,
};

const USAGE = `usage: client <grpc|rest> <${OPERATIONS.join('|')}> <numbers...> [--target <address>] [--timeout-ms 10000]
  add|subtract|multiply|divide take 2 numbers (a b); sum takes any count
  --target defaults to ${DEFAULT_TARGETS.grpc} (grpc) or ${DEFAULT_TARGETS.rest} (rest)`;

export class UsageError extends Error {}

export interface ClientArgs {
  protocol: Protocol;
  operation: Operation;
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
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (arg === '--') continue;
    const flag = /^--(target|timeout-ms)(?:=(.*))?$/.exec(arg);
    if (flag) {
      const value = flag[2] ?? argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${flag[1]} needs a value`);
      if (flag[1] === 'target') target = value;
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
  if (!isOperation(operation)) throw new UsageError(`operation must be one of ${OPERATIONS.join(', ')}, got "${operation}"`);
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
  const timeoutMs = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive integer, got "${timeoutText}"`);
  target ??= DEFAULT_TARGETS[protocol];
  if (protocol === 'rest' && !/^https?:\/\//.test(target)) {
    throw new UsageError(`--target for rest must be an http:// or https:// URL, got "${target}"`);
  }
  if (protocol === 'grpc' && /^[a-z]+:\/\//i.test(target)) {
    throw new UsageError(`--target for grpc is host:port, got "${target}"`);
  }
  return { protocol, operation, numbers, target, timeoutMs };
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

// ---- CLI -----------------------------------------------------------------

async function run(args: ClientArgs): Promise<CallOutcome> {
  const input = requestFor(args.operation, args.numbers);
  if (args.protocol === 'grpc') {
    const client = createGrpcClient(args.target);
    try {
      const outcome = await callGrpc(client, args.operation, input, args.timeoutMs);
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
    return await callRest(args.target, args.operation, input, args.timeoutMs);
  } catch (error) {
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
