/**
 * The gRPC side, stated once: status numbers of each CalcError code (re-exported
 * from servers/grpc-server.ts), the 5-byte length-prefixed message framing,
 * grpc-message percent-encoding, and grpc-js's texts for the failures its
 * transport answers by itself.
 */
import type { Readable } from 'node:stream';
import { LIMITS, OPERATIONS, type Operation } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { grpcMethodPath } from '../proto.ts';
import { EXTRA_MESSAGE } from '../grpc-status.ts';
import { incomplete, tooLarge } from './http-body.ts';

/** grpc-status of each calculator error code: servers/grpc-status.ts's table. */
export { GRPC_STATUS } from '../grpc-status.ts';

/** Content-type of gRPC answers, as grpc-js sends it. */
export const GRPC_RESPONSE_CONTENT_TYPE = 'application/grpc+proto';

/** grpc-js accepts any content-type starting with application/grpc and answers anything else with HTTP 415. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.startsWith('application/grpc');
}

/** grpc-js's texts for calls that never reach a handler (grpc-server.ts passes these through unchanged). */
export const GRPC_MESSAGES = {
  unknownMethod: (path: string) => `The server does not implement the method ${path}`,
  compressed: (encoding: string) => `Received message compressed with unsupported encoding "${encoding}"`,
} as const;

const OPERATION_BY_PATH: ReadonlyMap<string, Operation> = new Map(OPERATIONS.map((operation) => [grpcMethodPath(operation), operation]));

export function operationOfGrpcPath(path: string): Operation | undefined {
  return OPERATION_BY_PATH.get(path);
}

/**
 * grpc-message is percent-encoded: bytes outside printable ASCII (0x20-0x7E)
 * and '%' itself (gRPC over HTTP/2, "Responses").
 */
export function encodeGrpcMessage(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Reads the one request message of a unary call from the request stream.
 * Rejects with the CalcError servers/grpc-server.ts answers (after its
 * rewriteTransportStatus) for: a message over LIMITS.maxBodyBytes
 * (RESOURCE_EXHAUSTED, REST's 413 text), a stream ending before one whole
 * message (INVALID_ARGUMENT, 'request body was incomplete'), a second message
 * (INVALID_ARGUMENT EXTRA_MESSAGE); a compressed message is UNIMPLEMENTED
 * (no grpc-encoding is offered). On failure the rest of the stream is drained.
 */
export function readUnaryMessage(stream: Readable, encoding: string | undefined, limit = LIMITS.maxBodyBytes): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let expected = -1;
    let message: Buffer | undefined;
    let settled = false;
    const fail = (error: CalcError): void => {
      if (settled) return;
      settled = true;
      stream.removeListener('data', onData);
      stream.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5) {
        if (expected === -1) {
          if (buffered[0] !== 0) return fail(new CalcError('UNIMPLEMENTED', GRPC_MESSAGES.compressed(encoding ?? 'identity')));
          expected = buffered.readUInt32BE(1);
          if (expected > limit) return fail(tooLarge());
        }
        if (buffered.length < 5 + expected) return;
        if (message !== undefined) return fail(new CalcError('INVALID_ARGUMENT', EXTRA_MESSAGE));
        message = buffered.subarray(5, 5 + expected);
        buffered = buffered.subarray(5 + expected);
        expected = -1;
      }
    };
    stream.on('data', onData);
    stream.once('end', () => {
      if (settled) return;
      if (buffered.length > 0 || message === undefined) return fail(incomplete());
      settled = true;
      resolve(message);
    });
    stream.once('aborted', () => fail(incomplete()));
    stream.once('error', () => fail(incomplete()));
  });
}
