/**
 * Resolves a REST target's call shape (bench/types.ts HttpCall): the design
 * card's REST call when the target carries none, the contender's otherwise.
 * Drivers call this instead of hard-coding /v1/<op> and application/json.
 */
import type { Operation } from '../../servers/calculator.ts';
import type { CallPayload, HttpCall, Target } from '../types.ts';

/** The default REST call (express's API): HTTP/1.1, POST /v1/<op>, JSON. */
export const DEFAULT_REST_CALL: HttpCall = {
  wire: 'http1',
  path: (operation: Operation) => `/v1/${operation}`,
  contentType: 'application/json',
  body: 'json',
};

export function restCallOf(target: Target): HttpCall {
  return target.protocol === 'rest' ? (target.call ?? DEFAULT_REST_CALL) : DEFAULT_REST_CALL;
}

/** The body as sent: a compressed payload's gzip bytes when it has them (JSON calls only). */
export function restBodyOf(call: HttpCall, payload: CallPayload): Buffer {
  if (call.body === 'protobuf') return Buffer.from(payload.protobuf);
  return payload.compressed?.json ?? payload.json;
}

/** True when the call is the default REST call, so a driver without restWires may drive it. */
export function isDefaultRestCall(call: HttpCall): boolean {
  return call === DEFAULT_REST_CALL || (call.wire === 'http1' && call.body === 'json' && call.contentType === 'application/json' && call.path('add') === '/v1/add');
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
