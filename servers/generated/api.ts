/**
 * What servers generated from an API card serve: the card's services (every method of each service a
 * call names), each method's answer, and the REST routes of its google.api.http bindings. The gRPC
 * server (grpc.ts) and the REST server (rest.ts) are built from this one model, so both answer the
 * same thing to the same request.
 *
 * A method answers, in this order:
 * - the `response:` of the first call of the card that names it and gives one (a message in proto3
 *   JSON, or an error: `{ error: NOT_FOUND, message: "..." }`); two calls of one method with
 *   different responses are refused (a server cannot tell which call a request belongs to);
 * - else the request itself, when the request and response types are the same (an echo);
 * - else the empty response message.
 * A server-streaming method answers the messages its `response:` lists, in order, when the card
 * gives `response: { stream: [message, ...] }`; else its one answer, found as above, STREAM_ANSWERS
 * times (gRPC messages; on REST grpc-gateway's newline-delimited `{"result": message}` lines). Client
 * and bidirectional streams answer UNIMPLEMENTED: google.api.http has no REST form for them, and a
 * card refuses them.
 *
 * The answer is kept as a message and encoded on every call, as a real server encodes what it
 * computed: the bench measures each protocol's encoding, not a cached byte string.
 */
import { create, fromJson, type DescMessage, type DescService, type FileRegistry, type JsonObject, type JsonValue, type Message } from '@bufbuild/protobuf';
import { readCard } from '../../bench/api/card.ts';
import { compileApi, httpRuleJson } from '../../bench/api/compile.ts';
import { ApiCardError } from '../../bench/api/errors.ts';
import { bindingsOf, checkBinding, parsePathTemplate, type HttpBinding } from '../../bench/api/http-rule.ts';
import { prepareCalls } from '../../bench/api/prepare.ts';
import { GRPC_STATUS_TABLE } from '../../bench/api/status-map.ts';
import { compileRoute, type RestRoute } from './routes.ts';
import type { GeneratedMethod, MethodAnswer } from './method.ts';

export type { GeneratedMethod, MethodAnswer } from './method.ts';
export { STREAM_ANSWERS, streamMessages } from './method.ts';

export interface GeneratedApi {
  file: string;
  registry: FileRegistry;
  services: DescService[];
  /** Every method of every service, by gRPC path. */
  methods: Map<string, GeneratedMethod>;
  /** REST routes, in match order (routes with a custom verb first, then by more literal segments). */
  routes: RestRoute[];
}

/** The gRPC status a client or bidirectional streaming method answers: not generated. */
export const UNIMPLEMENTED = 12;

/** The key of `response: { stream: [...] }`, a server stream's messages in order. */
export const STREAM_KEY = 'stream';

/**
 * The list of `response: { stream: [...] }`, or null when the response is a message: any other key, a
 * value that is not a list, or an answer type that has a field of that name (then it is that field).
 */
function streamList(json: JsonObject, output: DescMessage): JsonValue[] | null {
  const keys = Object.keys(json);
  if (keys.length !== 1 || keys[0] !== STREAM_KEY || !Array.isArray(json[STREAM_KEY])) return null;
  if (output.fields.some((field) => field.name === STREAM_KEY || field.jsonName === STREAM_KEY)) return null;
  return json[STREAM_KEY];
}

/**
 * Read a card and build what its generated servers serve. Throws ApiCardError (one line naming the card
 * and the call) for anything wrong, including a `response:` that is not a valid answer message.
 */
export function loadGeneratedApi(file: string): GeneratedApi {
  const spec = readCard(file);
  const api = compileApi(spec.source, spec.file);
  // The card's calls, prepared as the bench prepares them: the same checks, the same REST bindings.
  const calls = prepareCalls(spec, api);
  const services: DescService[] = [];
  for (const call of calls) {
    if (!services.includes(call.descriptor.parent)) services.push(call.descriptor.parent);
  }

  const methods = new Map<string, GeneratedMethod>();
  const fromCall = new Map<string, { answer: MethodAnswer; stream: Message[] | null; call: string; json: string }>();
  spec.calls.forEach((callSpec, i) => {
    const call = calls[i]!;
    if (callSpec.response === null) return;
    const fail = (problem: string) => new ApiCardError(spec.file, call.name, problem);
    if (call.kind !== 'unary' && call.kind !== 'server-stream') throw fail(`response: ${call.api}/${call.method} is a ${call.kind} method; generated servers answer it UNIMPLEMENTED (unary and server-streaming methods are generated)`);
    let answer: MethodAnswer;
    let stream: Message[] | null = null;
    if (callSpec.response.kind === 'error') {
      answer = { kind: 'error', code: callSpec.response.code, message: callSpec.response.message };
    } else {
      const list = streamList(callSpec.response.json, call.output);
      if (list !== null) {
        if (call.kind !== 'server-stream') {
          throw fail(`response: { ${STREAM_KEY}: [...] } lists a server stream's messages, and ${call.api}/${call.method} is a ${call.kind} method: give its answer as one message`);
        }
        if (list.length === 0) throw fail(`response: { ${STREAM_KEY}: [] } lists no message; give at least one (a stream that answers nothing has nothing to measure)`);
        const messages = list.map((item, k) => {
          if (item === null || typeof item !== 'object' || Array.isArray(item)) throw fail(`response ${STREAM_KEY}[${k}] must be a ${call.output.typeName} in proto3 JSON (a mapping)`);
          try {
            return fromJson(call.output, item, { registry: api.registry });
          } catch (err) {
            throw fail(`response ${STREAM_KEY}[${k}] is not a valid ${call.output.typeName}: ${(err as Error).message}`);
          }
        });
        answer = { kind: 'message', message: messages[0]! };
        stream = messages;
      } else {
        try {
          answer = { kind: 'message', message: fromJson(call.output, callSpec.response.json, { registry: api.registry }) };
        } catch (err) {
          throw fail(`response is not a valid ${call.output.typeName}: ${(err as Error).message}`);
        }
      }
    }
    const json = JSON.stringify(callSpec.response);
    const earlier = fromCall.get(call.grpcPath);
    if (earlier && earlier.json !== json) {
      throw fail(`response differs from call ${earlier.call}'s, and both call ${call.api}/${call.method}: a generated server answers one response per method`);
    }
    if (!earlier) fromCall.set(call.grpcPath, { answer, stream, call: call.name, json });
  });

  const routes: RestRoute[] = [];
  const seen = new Set<string>();
  const addRoute = (method: GeneratedMethod, binding: HttpBinding, where: string) => {
    const key = `${binding.verb} ${binding.pathTemplate}`;
    if (seen.has(key)) return;
    seen.add(key);
    try {
      const template = parsePathTemplate(binding.pathTemplate);
      checkBinding(binding, template, method.input, method.output);
      routes.push(compileRoute(method, binding, template));
    } catch (err) {
      throw ApiCardError.from(err, spec.file, null, `${where}: REST mapping`);
    }
  };

  for (const service of services) {
    for (const descriptor of service.methods) {
      const grpcPath = `/${service.typeName}/${descriptor.name}`;
      const given = fromCall.get(grpcPath);
      const same = descriptor.input.typeName === descriptor.output.typeName;
      const method: GeneratedMethod = {
        descriptor,
        input: descriptor.input,
        output: descriptor.output,
        grpcPath,
        answer: given?.answer ?? (same ? { kind: 'echo' } : { kind: 'empty', message: create(descriptor.output) }),
        stream: given?.stream ?? null,
        source: given?.stream ? `the ${given.stream.length} messages of call ${given.call}'s response` : given ? `the response of call ${given.call}` : same ? 'the request (echo)' : 'the empty message',
      };
      if (descriptor.methodKind === 'client_streaming' || descriptor.methodKind === 'bidi_streaming') {
        method.answer = { kind: 'error', code: UNIMPLEMENTED, message: `${service.typeName}/${descriptor.name} is a client or bidirectional streaming method: servers generated from a card do not serve them` };
        method.source = 'UNIMPLEMENTED (a client or bidirectional streaming method)';
      }
      methods.set(grpcPath, method);
      // Client and bidirectional streams have no REST form; the rest keep every binding of their google.api.http option.
      if (descriptor.methodKind === 'client_streaming' || descriptor.methodKind === 'bidi_streaming') continue;
      const rule = httpRuleJson(descriptor, api);
      if (rule === null) continue;
      for (const binding of bindingsOf(rule)) addRoute(method, binding, `${service.typeName}/${descriptor.name}`);
    }
  }
  // A call's own `rest:` rule (a method without the option, or another mapping): its binding too.
  for (const call of calls) {
    const binding: HttpBinding = { verb: call.rest.verb, pathTemplate: call.rest.pathTemplate, body: call.rest.body, responseBody: call.rest.responseBody };
    addRoute(methods.get(call.grpcPath)!, binding, `call ${call.name}`);
  }
  routes.sort((a, b) => Number(b.template.verb !== null) - Number(a.template.verb !== null) || b.literals - a.literals);
  return { file: spec.file, registry: api.registry, services, methods, routes };
}

/** "NOT_FOUND" for 5. */
export function grpcCodeName(code: number): string {
  return GRPC_STATUS_TABLE[code]?.[1] ?? 'UNKNOWN';
}
