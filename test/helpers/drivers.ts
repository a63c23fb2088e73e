/**
 * Shared plumbing of the driver tests: a call payload built the way the bench
 * builds one, the default load options, and a free local port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { CallPayload, LoadOptions, Target } from '../../bench/types.ts';
import type { Operation } from '../../servers/calculator.ts';
import { encodeRequest } from '../../servers/proto.ts';

/** JSON and protobuf bodies of one call; operands that protobuf cannot carry (a string `a`) leave it empty. */
export function payloadOf(operation: Operation, input: { a: unknown; b: unknown }): CallPayload {
  return {
    operation,
    payloadValues: null,
    input,
    json: Buffer.from(JSON.stringify(input)),
    protobuf: typeof input.a === 'number' ? encodeRequest(operation, input) : new Uint8Array(),
  };
}

export const ADD = payloadOf('add', { a: 20, b: 10 });

/** A short, small run: Add, 8 in flight on 2 connections, 1 s, 5 s deadline; `extra` overrides. */
export function loadOptions(target: Target, extra: Partial<LoadOptions> = {}): LoadOptions {
  return { target, payload: ADD, concurrency: 8, connections: 2, durationS: 1, timeoutMs: 5_000, ...extra };
}

/** A port nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
