/**
 * An API card's calls as scenarios: each unary call of the card at each
 * concurrency, its requests (both encodings, prepared once by bench/api/)
 * as the payload the generators send round robin; each server-streaming call
 * at each concurrency as a stream scenario (that many streams in flight, over
 * gRPC and NDJSON on the call's REST route, grpc-gateway's {"result": ...}
 * lines), measured per message by the stream generator. The card is data,
 * like a flag: nothing below this layer knows which API it describes.
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
  /** Calls left out, each with why (a server stream under --rate or --slo: its answers come at the server's pace). */
  skipped: string[];
}

/**
 * The REST transport of a card's server stream: newline-delimited JSON on the
 * method's google.api.http route, as grpc-gateway streams it (one
 * `{"result": message}` a line, an `{"error": ...}` line for a failure).
 */
export const CARD_STREAM_TRANSPORTS = { grpc: ['grpc'], rest: ['ndjson'] } as const;

/**
 * One scenario per call and concurrency, keyed `<call name>/c<in flight>`, its
 * payload prepared. A unary call's rows count calls; a server stream's count
 * messages: `concurrency` streams in flight, each sending the call's request
 * (round robin over its pool) and reading the answers the server sends, the
 * next stream opened when one ends, for the run's duration.
 */
export function cardScenarios(card: ApiCard, options: Pick<BenchOptions, 'concurrency' | 'connections'> & Partial<Pick<BenchOptions, 'rate' | 'slo'>>): CardScenarios {
  const scenarios: Scenario[] = [];
  const skipped: string[] = [];
  for (const call of card.calls) {
    const what = `${call.name} (${call.api}/${call.method})`;
    if (call.kind === 'client-stream' || call.kind === 'bidi') {
      // bench/api refuses such a card; a card built another way is told the same in one line.
      skipped.push(`${what} is a ${call.kind} method: google.api.http maps no REST call to it, so it cannot run on both protocols; left out`);
      continue;
    }
    const payload = cardPayload(call);
    if (call.kind === 'server-stream') {
      const pacing = options.slo ? '--slo' : options.rate !== undefined && options.rate !== null ? '--rate' : null;
      if (pacing !== null) {
        skipped.push(`${what} is a server stream: it takes no ${pacing}, its answers come at the server's pace; left out`);
        continue;
      }
      for (const concurrency of options.concurrency) {
        scenarios.push({
          key: scenarioKey(call.name, null, concurrency),
          operation: call.name,
          kind: 'server-stream',
          stream: { transports: { grpc: [...CARD_STREAM_TRANSPORTS.grpc], rest: [...CARD_STREAM_TRANSPORTS.rest] }, messagesPerStream: null },
          payload,
          payloadValues: null,
          valueShape: null,
          compression: 'none',
          concurrency,
          // Streams in flight share the gRPC connections as calls do; each REST stream is a request of its own connection.
          connections: { grpc: connectionsFor('grpc', concurrency, options.connections), rest: concurrency },
          restPipelining: 1,
        });
      }
      continue;
    }
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
