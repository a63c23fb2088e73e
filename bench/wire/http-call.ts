/**
 * Resolves a REST target's call shape (bench/types.ts HttpCall): the default
 * REST call (the method's REST twin over HTTP/1.1 with JSON) when the target
 * carries none, the contender's otherwise. Drivers call this instead of
 * hard-coding a verb, a path or a content type.
 */
import type { CallPayload, HttpCall, PreparedRequest, Target } from '../types.ts';

/** The default REST call: HTTP/1.1, the method's REST verb and path, JSON. */
export const DEFAULT_REST_CALL: HttpCall = {
  wire: 'http1',
  route: 'rest',
  contentType: 'application/json',
  body: 'json',
};

export function restCallOf(target: Target): HttpCall {
  return target.protocol === 'rest' ? (target.call ?? DEFAULT_REST_CALL) : DEFAULT_REST_CALL;
}

/** Verb and path of one request as this call spells it. */
export function requestLine(call: HttpCall, payload: CallPayload, request: PreparedRequest = payload): { verb: string; path: string } {
  return call.route === 'grpc-path' ? { verb: 'POST', path: payload.method.grpcPath } : { verb: payload.method.rest.verb, path: request.restPath };
}

/** The requests a run sends round robin: the pool, or the payload's one request. */
export function requestsOf(payload: CallPayload): readonly PreparedRequest[] {
  return payload.pool && payload.pool.length > 0 ? payload.pool : [payload];
}

/** The body as sent: a compressed payload's gzip bytes when it has them (JSON calls only). */
export function restBodyOf(call: HttpCall, payload: CallPayload, request: PreparedRequest = payload): Buffer {
  if (call.body === 'protobuf') return Buffer.from(request.protobuf);
  return request === payload ? (payload.compressed?.json ?? payload.json) : request.json;
}

/** True when the call is the default REST call, so a driver without restWires may drive it. */
export function isDefaultRestCall(call: HttpCall): boolean {
  return call === DEFAULT_REST_CALL || (call.wire === 'http1' && call.body === 'json' && call.contentType === 'application/json' && call.route === 'rest');
}

/** Throws unless the driver can send this target's call. */
export function assertDrivable(driverName: string, restWires: readonly ('http1' | 'h2')[] | undefined, target: Target): HttpCall {
  const call = restCallOf(target);
  if (isDefaultRestCall(call)) return call;
  if (!(restWires ?? []).includes(call.wire)) {
    throw new Error(`${driverName} cannot send this REST call (${call.wire}, ${call.contentType}); drivers for it: see Driver.restWires`);
  }
  return call;
}
