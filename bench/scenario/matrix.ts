/**
 * The scenario matrix: what one row of the results compares. A scenario is an
 * operation (with a payload size for sum) at one concurrency; each protocol
 * runs it with its own connection count. Pure functions, no I/O.
 */
import { BINARY_OPERATIONS, type Operation } from '../../servers/calculator.ts';
import { encodeRequest, grpcMethodPath, METHOD_NAMES, PROTO_PATH, SERVICE_NAME } from '../../servers/proto.ts';
import { makeValues } from './payloads.ts';
import { DEFAULT_SHAPE, type BenchOptions, type ShapeName } from '../options/options.ts';
import { connectionsFor } from './connections.ts';
import type { Compression } from './compression.ts';
import type { ApiMethod, CallPayload, Protocol } from '../types.ts';

export interface Scenario {
  /** Stable key, e.g. "add/c16", "sum-1000/c16", "sum-1000-int-gzip/c16" (see scenarioKey). */
  key: string;
  operation: Operation;
  payloadValues: number | null;
  /** Shape of the sum values; null for binary operations. */
  valueShape: ShapeName | null;
  compression: Compression;
  concurrency: number;
  connections: Record<Protocol, number>;
  /** HTTP/1.1 requests queued per REST connection (1 unless --connections < concurrency). */
  restPipelining: number;
}

/**
 * `<op>[-<values>][-<shape>][-gzip]/c<in flight>`. The shape is named unless it
 * is DEFAULT_SHAPE (double) and compression unless it is none, so the keys of
 * earlier runs ("sum-1000/c16": doubles, uncompressed) keep meaning the same
 * thing and compare across runs and baselines.
 */
export function scenarioKey(
  operation: Operation,
  payloadValues: number | null,
  concurrency: number,
  valueShape: ShapeName | null = null,
  compression: Compression = 'none',
): string {
  const values = payloadValues === null ? '' : `-${payloadValues}`;
  const shape = valueShape === null || valueShape === DEFAULT_SHAPE ? '' : `-${valueShape}`;
  const gzip = compression === 'none' ? '' : `-${compression}`;
  return `${operation}${values}${shape}${gzip}/c${concurrency}`;
}

export function buildScenarios(
  options: Pick<BenchOptions, 'ops' | 'sizes' | 'concurrency' | 'sumConcurrency' | 'connections' | 'shapes' | 'compression'>,
): Scenario[] {
  const scenarios: Scenario[] = [];
  const { shapes, compression: compressions } = options;
  const add = (operation: Operation, payloadValues: number | null, concurrency: number, valueShape: ShapeName | null = null): void => {
    for (const compression of compressions) addOne(operation, payloadValues, concurrency, valueShape, compression);
  };
  const addOne = (operation: Operation, payloadValues: number | null, concurrency: number, valueShape: ShapeName | null, compression: Compression): void => {
    const rest = connectionsFor('rest', concurrency, options.connections);
    scenarios.push({
      key: scenarioKey(operation, payloadValues, concurrency, valueShape, compression),
      operation,
      payloadValues,
      valueShape,
      compression,
      concurrency,
      connections: { grpc: connectionsFor('grpc', concurrency, options.connections), rest },
      restPipelining: Math.ceil(concurrency / rest),
    });
  };
  for (const operation of options.ops) {
    if (operation === 'sum') {
      for (const size of options.sizes) for (const shape of shapes) for (const c of options.sumConcurrency) add('sum', size, c, shape);
    } else {
      for (const c of options.concurrency) add(operation, null, c);
    }
  }
  return scenarios;
}

/** Fixed operands for the binary operations: full doubles, so neither encoding gets short numbers for free. */
export const BINARY_OPERANDS = { a: 1234.5678, b: 8765.4321 } as const;

export function buildPayload(operation: Operation, payloadValues: number | null, shape: ShapeName): CallPayload {
  const input =
    operation === 'sum' ? { values: makeValues(payloadValues ?? 1, shape) } : { ...BINARY_OPERANDS };
  if (operation !== 'sum' && !(BINARY_OPERATIONS as readonly string[]).includes(operation)) {
    throw new Error(`no payload for operation ${operation}`);
  }
  return {
    method: calculatorMethod(operation),
    input,
    json: Buffer.from(JSON.stringify(input)),
    protobuf: encodeRequest(operation, input),
    restPath: `/v1/${operation}`,
  };
}

/** A calculator operation as the load side names it: gRPC path, REST twin (POST /v1/<op>, body: "*"), and its .proto. */
export function calculatorMethod(operation: Operation): ApiMethod {
  return {
    api: SERVICE_NAME,
    name: METHOD_NAMES[operation],
    kind: 'unary',
    grpcPath: grpcMethodPath(operation),
    rest: { verb: 'POST', pathTemplate: `/v1/${operation}` },
    schema: { protoFiles: [PROTO_PATH], importPaths: [] },
  };
}

/**
 * Calls in the wire-sampling pass: `wanted`, but fewer for big bodies so the
 * pass moves at most about 16 MB each way (never fewer than 50 calls).
 */
export function wireCallsFor(wanted: number, payload: CallPayload): number {
  if (wanted === 0) return 0;
  const biggest = Math.max(payload.json.length, payload.protobuf.length);
  return Math.max(Math.min(wanted, 50), Math.min(wanted, Math.floor(16_000_000 / biggest)));
}
