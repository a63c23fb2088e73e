/**
 * Payload compression for the bench's compression dimension (--compression none,gzip).
 *
 * A compressed run sends the same logical request, gzipped once before the run
 * (never per call), announced the way each protocol announces it:
 * - gRPC: the message inside the 5-byte prefix is gzip, the prefix's compressed
 *   flag is 1, `grpc-encoding: gzip`; `grpc-accept-encoding: gzip` lets the
 *   server compress its response (grpc-js 1.14's server never does, see
 *   servers/grpc-server.ts);
 * - REST: the body is gzip with `content-encoding: gzip`; `accept-encoding: gzip`
 *   lets the server compress its response (servers/rest-server.ts does from
 *   REST_GZIP_MIN_BYTES on).
 * Drivers that know how to send it declare `compression: true` (bench/types.ts).
 */
import zlib from 'node:zlib';
import type { CallPayload, Compression } from '../types.ts';

/** Default zlib level (6), what HTTP servers, grpc-js and most clients use. */
export function gzip(bytes: Uint8Array): Buffer {
  return zlib.gzipSync(bytes);
}

/** Request headers a compressed gRPC call carries (besides the compressed flag). */
export const GRPC_GZIP_HEADERS: Readonly<Record<string, string>> = { 'grpc-encoding': 'gzip', 'grpc-accept-encoding': 'gzip' };
/** Request headers a compressed REST call carries. */
export const REST_GZIP_HEADERS: Readonly<Record<string, string>> = { 'content-encoding': 'gzip', 'accept-encoding': 'gzip' };

/** The payload with its compressed forms precomputed, or unchanged for 'none'. */
export function withCompression(payload: CallPayload, compression: Compression): CallPayload {
  if (compression === 'none') return { ...payload, compressed: undefined };
  return { ...payload, compressed: { encoding: 'gzip', json: gzip(payload.json), protobuf: gzip(payload.protobuf) } };
}

/** The request body as it goes on the wire: compressed when the payload says so. */
export function wireBody(payload: CallPayload, protocol: 'grpc' | 'rest'): Uint8Array {
  if (protocol === 'grpc') return payload.compressed?.protobuf ?? payload.protobuf;
  return payload.compressed?.json ?? payload.json;
}
