/**
 * Shared plumbing of the driver tests: a call payload built the way the bench
 * builds one, the default load options (and grpc-engine's), and a free local port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import type { CallPayload, LoadOptions, Target } from '../../bench/types.ts';
import type { Operation } from '../../servers/calculator.ts';
import { encodeRequest } from '../../servers/proto.ts';
import { calculatorMethod } from '../../bench/scenario/matrix.ts';

/** A call's request: operands (a string `a` for JSON-only bad input) or sum's values. */
export type CallInput = { a: unknown; b: unknown } | { values: number[] };

/**
 * JSON and protobuf bodies of one call, payloadValues as the bench sets it (the
 * count for sum); operands that protobuf cannot carry (a string `a`) leave it empty.
 */
export function payloadOf(operation: Operation, input: CallInput): CallPayload {
  return {
    method: calculatorMethod(operation),
    restPath: `/v1/${operation}`,
    input,
    json: Buffer.from(JSON.stringify(input)),
    protobuf: 'values' in input || typeof input.a === 'number' ? encodeRequest(operation, input) : new Uint8Array(),
  };
}

export const ADD = payloadOf('add', { a: 20, b: 10 });

/** A short, small run: Add, 8 in flight on 2 connections, 1 s, 5 s deadline; `extra` overrides. */
export function loadOptions(target: Target, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { target, payload: ADD, concurrency: 8, connections: 2, durationS: 1, timeoutMs: 5_000, ...extra };
}

/** grpc-engine against 127.0.0.1:`port`: loadOptions on 1 connection; `extra` overrides, the engine's own fields too. */
export function grpcEngineOptions(port: number, extra: Partial<GrpcEngineOptions> = {}): GrpcEngineOptions {
  return { ...loadOptions({ protocol: 'grpc', host: '127.0.0.1', port }, { connections: 1 }), ...extra };
}

/** A port nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
