/**
 * The API-card library: `npm run bench -- --api card.yaml` loads a user's API (a .proto with its
 * google.api.http REST mapping, or a protoset) on gRPC and REST side by side.
 *
 *   loadApiCard(file)            read + validate the card, compile the protos, prepare every call
 *   checkEquivalence(card, t)    one call per protocol per call; null or one line saying what differs
 *   writingCallsWarning(card)    one line when some calls are not GETs (they write at full load)
 *
 * Files: card.ts (read, validate, defaults), compile.ts (protos -> registry), http-rule.ts (the
 * google.api.http expander), prepare.ts (request pools, both encodings), status-map.ts (gRPC code ->
 * HTTP status), equivalence.ts (the check). Nothing here knows the bench's own calculator.
 */
import { readCard } from './card.ts';
import { compileApi } from './compile.ts';
import { prepareCalls } from './prepare.ts';
import type { ApiCard } from './types.ts';

export type { ApiCard, CallKind, EquivalenceTargets, PreparedCall, PreparedRequest, RestMapping } from './types.ts';
export { ApiCardError } from './errors.ts';
export { checkEquivalence, writingCalls, writingCallsWarning } from './equivalence.ts';
export { GRPC_STATUS_TABLE, httpStatusForGrpcCode } from './status-map.ts';

/**
 * Load an API card (YAML or JSON). Every request is rendered and encoded for both protocols here,
 * once. Throws ApiCardError (one line naming the card, the call and the problem) for anything wrong
 * in the card or its protos.
 */
export async function loadApiCard(file: string): Promise<ApiCard> {
  const spec = readCard(file);
  const api = compileApi(spec.source, spec.file);
  const calls = prepareCalls(spec, api);
  return {
    file: spec.file,
    apis: [...new Set(calls.map((c) => c.api))],
    metadata: spec.metadata,
    calls,
    registry: api.registry,
  };
}
