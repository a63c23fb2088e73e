/**
 * The calculator's .proto, loaded at run time (no generated stubs), as
 * grpc-js's own Node examples do with @grpc/proto-loader. One set of loader options for every caller, so
 * servers, clients and benchmarks decode messages the same way.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { Operation, StreamOperation } from './calculator.ts';

export const PROTO_PATH = fileURLToPath(new URL('../proto/calculator.proto', import.meta.url));
export const SERVICE_NAME = 'calculator.v1.Calculator';

/**
 * `defaults: false` keeps an unset field undefined instead of 0, so the
 * calculator sees a missing operand exactly as REST sees a missing key.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
};

export const METHOD_NAMES: Readonly<Record<Operation, string>> = {
  add: 'Add',
  subtract: 'Subtract',
  multiply: 'Multiply',
  divide: 'Divide',
  sum: 'Sum',
};

export const STREAM_METHOD_NAMES: Readonly<Record<StreamOperation, string>> = {
  'running-sum': 'RunningSum',
  'sum-stream': 'SumStream',
  'prefix-sums': 'PrefixSums',
};

/** HTTP/2 :path of an operation's gRPC method, e.g. /calculator.v1.Calculator/Add. */
export function grpcMethodPath(operation: Operation | StreamOperation): string {
  const name = operation in STREAM_METHOD_NAMES ? STREAM_METHOD_NAMES[operation as StreamOperation] : METHOD_NAMES[operation as Operation];
  return `/${SERVICE_NAME}/${name}`;
}

export function loadCalculatorDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
}

/** The service constructor grpc-js builds from the .proto (server and client side). */
export function loadCalculatorService(): grpc.ServiceClientConstructor {
  const loaded = grpc.loadPackageDefinition(loadCalculatorDefinition()) as unknown as {
    calculator: { v1: { Calculator: grpc.ServiceClientConstructor } };
  };
  return loaded.calculator.v1.Calculator;
}

let root: protobuf.Root | undefined;

/** The protobufjs message types: the runtime @grpc/proto-loader uses, the same encode path grpc-js takes. */
export function messageTypes(): { Operands: protobuf.Type; Numbers: protobuf.Type; Number: protobuf.Type; Result: protobuf.Type } {
  root ??= protobuf.loadSync(PROTO_PATH);
  return {
    Operands: root.lookupType('calculator.v1.Operands'),
    Numbers: root.lookupType('calculator.v1.Numbers'),
    Number: root.lookupType('calculator.v1.Number'),
    Result: root.lookupType('calculator.v1.Result'),
  };
}

/** Encodes the request message of `operation` ({a, b} or {values}) to protobuf bytes. */
export function encodeRequest(operation: Operation, input: object): Uint8Array {
  const types = messageTypes();
  const type = operation === 'sum' ? types.Numbers : types.Operands;
  return type.encode(type.fromObject(input)).finish();
}

/** Encodes one stream message, Number {value}. */
export function encodeNumber(value: number): Uint8Array {
  const type = messageTypes().Number;
  return type.encode(type.fromObject({ value })).finish();
}

export function decodeResult(bytes: Uint8Array): number {
  const message = messageTypes().Result.decode(bytes) as unknown as { value?: number };
  return message.value ?? 0;
}
