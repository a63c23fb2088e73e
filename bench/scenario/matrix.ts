/**
 * The scenario matrix: what one row of the results compares. A scenario is an
 * operation (with a payload size for sum) at one concurrency; each protocol
 * runs it with its own connection count. Pure functions, no I/O.
 */
import { BINARY_OPERATIONS, type Operation, type StreamOperation } from '../../servers/calculator.ts';
import { encodeRequest, grpcMethodPath, messageTypes, METHOD_NAMES, PROTO_PATH, SERVICE_NAME, STREAM_METHOD_NAMES } from '../../servers/proto.ts';
import { makeValues } from './payloads.ts';
import { calculatorStreamAnswers } from './stream-answers.ts';
import { DEFAULT_SHAPE, STREAM_KIND, TRANSPORTS_BY_OPERATION, type BenchOptions, type ShapeName } from '../options/options.ts';
import { connectionsFor } from './connections.ts';
import type { Compression } from '../types.ts';
import type { ApiMethod, CallPayload, MethodKind, Protocol, StreamTransport } from '../types.ts';

/** A stream scenario's shape: the transports each protocol runs it over, and how long each stream lasts. */
export interface StreamScenario {
  transports: Record<Protocol, StreamTransport[]>;
  /** Messages per stream; null: held open for the run's duration. */
  messagesPerStream: number | null;
}

export interface Scenario {
  /** Stable key, e.g. "add/c16", "sum-1000/c16", "sum-1000-int-gzip/c16", "running-sum/c16" (see scenarioKey). */
  key: string;
  /** The calculator's operation (add, sum, running-sum, ...) or an API card call's name. */
  operation: string;
  /** 'unary', or the stream kind: a stream scenario's rows count messages. */
  kind: MethodKind;
  /** Stream scenarios only; null for unary calls. */
  stream: StreamScenario | null;
  /** An API card's call: its requests, prepared (bench/scenario/api-card.ts). Absent: the calculator's, built from the fields below. */
  payload?: CallPayload;
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
  operation: string,
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
  options: Pick<BenchOptions, 'ops' | 'sizes' | 'concurrency' | 'sumConcurrency' | 'connections' | 'shapes' | 'compression'> &
    Partial<Pick<BenchOptions, 'streamOps' | 'transports' | 'streams' | 'messagesPerStream'>>,
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
      kind: 'unary',
      stream: null,
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
  // Streams: `streams` in flight, each gRPC stream on the protocol's connections, each REST stream on a connection of its own.
  for (const operation of options.streamOps ?? []) {
    const served = TRANSPORTS_BY_OPERATION[operation].filter((t) => !options.transports || options.transports.includes(t));
    if (served.length === 0) continue;
    const concurrency = options.streams ?? 16;
    scenarios.push({
      key: scenarioKey(operation, null, concurrency),
      operation,
      kind: STREAM_KIND[operation],
      stream: {
        transports: { grpc: served.filter((t) => t === 'grpc'), rest: served.filter((t) => t !== 'grpc') },
        messagesPerStream: options.messagesPerStream ?? null,
      },
      valueShape: null,
      payloadValues: null,
      compression: 'none',
      concurrency,
      connections: { grpc: connectionsFor('grpc', concurrency, options.connections), rest: concurrency },
      restPipelining: 1,
    });
  }
  return scenarios;
}

/**
 * A stream scenario's payload: its method (gRPC path, REST route /v1/<op>),
 * its one message, the value 1, in both encodings (the generator sends it as
 * each transport frames it), and what the stream generator cannot know: the
 * check of the answers (the k-th running total is k) and, for prefix-sums, the
 * request of N ones that asks for N totals.
 */
export function buildStreamPayload(operation: StreamOperation): CallPayload {
  const input = { value: 1 };
  const kind = STREAM_KIND[operation];
  const restPath = `/v1/${operation}`;
  return {
    method: {
      api: SERVICE_NAME,
      name: STREAM_METHOD_NAMES[operation],
      kind,
      grpcPath: grpcMethodPath(operation),
      rest: { verb: operation === 'running-sum' ? 'GET' : 'POST', pathTemplate: restPath },
      schema: { protoFiles: [PROTO_PATH], importPaths: [] },
    },
    input,
    json: Buffer.from(JSON.stringify(input)),
    // calculator.v1.Number, encoded by the .proto's own type (9 bytes: tag 0x09, then the double).
    protobuf: messageTypes().Number.encode(input).finish(),
    restPath,
    stream: {
      answers: calculatorStreamAnswers(kind),
      ...(operation === 'prefix-sums'
        ? {
            requestOf: (messages: number) => {
              const values = { values: new Array<number>(messages).fill(1) };
              return { protobuf: encodeRequest('sum', values), json: Buffer.from(JSON.stringify(values)), restPath };
            },
          }
        : {}),
    },
  };
}

/**
 * The subjects a scenario runs for one protocol's server: the scenario itself
 * (null) for unary calls, each of its transports for a stream scenario (none
 * when the protocol serves none of them).
 */
export function transportsOf(scenario: Scenario, protocol: Protocol): Array<StreamTransport | null> {
  return scenario.stream === null ? [null] : scenario.stream.transports[protocol];
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
