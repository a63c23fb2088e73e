/**
 * What the calculator's gRPC unary and stream handlers share: grpc-status of
 * each calculator error, the channel options and limits, the texts of
 * transport errors rewritten to REST's, and the interceptors (status rewrite,
 * call counting). The contenders' gRPC transports read the same tables.
 */
import * as grpc from '@grpc/grpc-js';
import { LIMITS } from './calculator.ts';
import type { CalcError, ErrorCode } from './errors.ts';

/** grpc-status of each calculator error code (the contenders' gRPC transports use this table too). */
export const GRPC_STATUS: Readonly<Record<ErrorCode, grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  NOT_FOUND: grpc.status.NOT_FOUND,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  INTERNAL: grpc.status.INTERNAL,
};

/**
 * Compression: grpc-js inflates gzip/deflate requests by itself (grpc-encoding +
 * compressed flag; the receive limit applies to the inflated size). Responses
 * are never compressed by the grpc-js 1.14 server whatever the client's
 * grpc-accept-encoding says: its serializeMessage always writes flag 0 and the
 * response headers say grpc-encoding: identity. 'grpc.default_compression_algorithm'
 * is read only by the client channel's compression filter, so it is not set here
 * (it would do nothing). test/scenario/compression.test.ts pins this behaviour.
 *
 * Limits set deliberately rather than left to library defaults (see README, "Limits").
 * Streams per connection are capped so one client cannot make the server hold
 * unbounded state; 1,000 covers the heaviest bench shape (256 in flight on one connection).
 */
export const GRPC_SERVER_CHANNEL_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': LIMITS.maxBodyBytes,
  'grpc.max_send_message_length': LIMITS.maxBodyBytes,
  'grpc.max_concurrent_streams': 1000,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

type PartialStatus = Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0];

/** The text REST's 413 carries; gRPC's message-too-large status is rewritten to it. */
export const TOO_LARGE_MESSAGE = `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`;
/** gRPC's answer to bytes that do not decode as the request message (grpc-js says INTERNAL). */
export const NOT_PROTOBUF_MESSAGE = 'request body is not a valid protobuf message';

/** gRPC's answer to a stream that ended before one whole request message arrived (REST says the same). */
export const INCOMPLETE_MESSAGE = 'request body was incomplete';
export const EXTRA_MESSAGE = 'request body must hold exactly one message';

/**
 * Statuses grpc-js produces by itself, before or instead of our handler, reworded
 * so both protocols say the same thing for the same failure, and so a client's
 * fault is never reported as the server's (INTERNAL) or as a missing method
 * (UNIMPLEMENTED):
 * - a message over grpc.max_receive_message_length: RESOURCE_EXHAUSTED
 *   "Received message larger than max (N vs M)" -> REST's 413 text;
 * - bytes protobufjs cannot decode: INTERNAL "Error deserializing request"
 *   -> INVALID_ARGUMENT;
 * - a gzip/deflate message that does not inflate: INTERNAL -> INVALID_ARGUMENT;
 * - a unary call whose stream ends before a whole message (truncated prefix or
 *   body, no DATA at all): UNIMPLEMENTED "Received no request message for server
 *   streaming method ..." -> INVALID_ARGUMENT, REST's text for a cut-off body;
 * - a second message on a unary call: UNIMPLEMENTED -> INVALID_ARGUMENT;
 * - an unparsable grpc-timeout header: INTERNAL -> INVALID_ARGUMENT, same text.
 * Everything else (UNIMPLEMENTED for unknown methods and unsupported
 * grpc-encoding, DEADLINE_EXCEEDED, our handler's statuses) passes unchanged.
 */
export function rewriteTransportStatus(status: PartialStatus): PartialStatus {
  const details = status.details ?? '';
  const { RESOURCE_EXHAUSTED, INTERNAL, UNIMPLEMENTED, INVALID_ARGUMENT } = grpc.status;
  if (status.code === RESOURCE_EXHAUSTED && /^Received message (larger than max|that decompresses to a size larger)/.test(details)) {
    return { ...status, details: TOO_LARGE_MESSAGE };
  }
  if (status.code === INTERNAL && details.startsWith('Error deserializing request')) {
    return { ...status, code: INVALID_ARGUMENT, details: NOT_PROTOBUF_MESSAGE };
  }
  if (status.code === INTERNAL && details === 'Failed to decompress message') {
    return { ...status, code: INVALID_ARGUMENT, details: 'request body could not be decompressed' };
  }
  if (status.code === UNIMPLEMENTED && details.startsWith('Received no request message')) {
    return { ...status, code: INVALID_ARGUMENT, details: INCOMPLETE_MESSAGE };
  }
  if (status.code === UNIMPLEMENTED && details.startsWith('Received a second request message')) {
    return { ...status, code: INVALID_ARGUMENT, details: EXTRA_MESSAGE };
  }
  if (status.code === INTERNAL && details.startsWith('Invalid grpc-timeout value')) {
    return { ...status, code: INVALID_ARGUMENT };
  }
  return status;
}

/**
 * A server interceptor that applies rewriteTransportStatus. grpc-js 1.14 sends
 * these statuses from its innermost call object (BaseServerInterceptingCall calls
 * its own `this.sendStatus`), so they never pass down through an interceptor's
 * responder. Being first in the chain, this interceptor receives that innermost
 * object and wraps `sendStatus` on the instance, which the internal call site
 * then uses. test/servers/hostile-input.test.ts pins the result, so a grpc-js upgrade
 * that changes this path shows up as a failing test, not as silently different text.
 */
export const statusRewriter: grpc.ServerInterceptor = (_method, call) => {
  const send = call.sendStatus.bind(call);
  call.sendStatus = (status) => send(rewriteTransportStatus(status));
  return new grpc.ServerInterceptingCall(call);
};

/** Counts each call the server takes (ServerOptions.onCall). */
export function countingInterceptor(onCall: () => void): grpc.ServerInterceptor {
  return (_method, call) => {
    onCall();
    return new grpc.ServerInterceptingCall(call);
  };
}

/** A calculator error as a gRPC status. */
export function grpcError(error: CalcError): Partial<grpc.StatusObject> {
  return { code: GRPC_STATUS[error.code], details: error.message };
}
