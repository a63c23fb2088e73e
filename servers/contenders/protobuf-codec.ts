/**
 * Protobuf request decoding for the hand-written contenders (rest-protobuf-h1,
 * node-http2-grpc): protobufjs with the loader options of servers/proto.ts,
 * the same decode path @grpc/proto-loader gives grpc-js, so an unset operand
 * reaches the calculator as undefined and an empty `values` as absent.
 */
import type { Operation } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { NOT_PROTOBUF_MESSAGE } from '../grpc-status.ts';
import { LOADER_OPTIONS, messageTypes } from '../proto.ts';

const types = messageTypes();
const TO_OBJECT = {
  longs: LOADER_OPTIONS.longs,
  enums: LOADER_OPTIONS.enums,
  defaults: LOADER_OPTIONS.defaults,
  oneofs: LOADER_OPTIONS.oneofs,
} as const;

/** Decodes the request message of `operation`; bytes that are not one throw INVALID_ARGUMENT. */
export function decodeRequestMessage(operation: Operation, bytes: Uint8Array): unknown {
  const type = operation === 'sum' ? types.Numbers : types.Operands;
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT);
  } catch {
    throw new CalcError('INVALID_ARGUMENT', NOT_PROTOBUF_MESSAGE);
  }
}

export function encodeResultMessage(value: number): Buffer {
  const bytes = types.Result.encode({ value }).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
