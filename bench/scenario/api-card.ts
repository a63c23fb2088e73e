/**
 * An API card's calls as scenarios: each unary call of the card at each
 * concurrency, its requests (both encodings, prepared once by bench/api/)
 * as the payload the generators send round robin. The card is data, like a
 * flag: nothing below this layer knows which API it describes.
 */
import type { ApiCard, PreparedCall } from '../api/index.ts';
import type { BenchOptions } from '../options/options.ts';
import type { ApiMethod, CallPayload, PreparedRequest } from '../types.ts';
import { connectionsFor } from './connections.ts';
import { scenarioKey, type Scenario } from './matrix.ts';

/** The load side's name for a card's method. */
export function cardMethod(call: PreparedCall): ApiMethod {
  return { api: call.api, name: call.method, kind: call.kind, grpcPath: call.grpcPath, rest: { verb: call.rest.verb, pathTemplate: call.rest.pathTemplate } };
}

/** A card call's requests as the generators send them: the protobuf message, the REST path with its query, the JSON body (empty without one). */
export function cardPayload(call: PreparedCall): CallPayload {
  const requests: PreparedRequest[] = call.requests.map((request) => ({
    protobuf: request.protobuf,
    restPath: request.restPath,
    json: request.restBody ?? Buffer.alloc(0),
  }));
  const first = requests[0]!;
  return { ...first, method: cardMethod(call), input: call.requests[0]!.json, ...(requests.length > 1 ? { pool: requests } : {}) };
}

export interface CardScenarios {
  scenarios: Scenario[];
  /** Calls left out, each with why (a streaming method: measured per message in a later round). */
  skipped: string[];
}

/** One scenario per unary call and concurrency, keyed `<call name>/c<in flight>`, its payload prepared. */
export function cardScenarios(card: ApiCard, options: Pick<BenchOptions, 'concurrency' | 'connections'>): CardScenarios {
  const scenarios: Scenario[] = [];
  const skipped: string[] = [];
  for (const call of card.calls) {
    if (call.kind !== 'unary') {
      skipped.push(`${call.name} (${call.api}/${call.method}) is a ${call.kind} method: a card's streaming methods are not benched yet; left out`);
      continue;
    }
    const payload = cardPayload(call);
    for (const concurrency of options.concurrency) {
      const rest = connectionsFor('rest', concurrency, options.connections);
      scenarios.push({
        key: scenarioKey(call.name, null, concurrency),
        operation: call.name,
        kind: 'unary',
        stream: null,
        payload,
        payloadValues: null,
        valueShape: null,
        compression: 'none',
        concurrency,
        connections: { grpc: connectionsFor('grpc', concurrency, options.connections), rest },
        restPipelining: Math.ceil(concurrency / rest),
      });
    }
  }
  return { scenarios, skipped };
}
