/**
 * A validated card + its compiled protos -> prepared calls: the method and its kind, the REST
 * binding, and the pool of requests, each encoded ONCE for both protocols (protobuf binary for gRPC,
 * path + query + JSON body for REST) so the run only sends bytes.
 *
 * Encodings are @bufbuild/protobuf's (fromJson -> toBinary / toJson), which follow the proto3 JSON
 * spec: defaults are left out of both encodings even when the card sets them (an implicit-presence
 * field at its zero value is not "set"), proto3 `optional` fields keep an explicit zero, int64 is a
 * string, enums are names, and so on.
 */
import { fromJson, toBinary, toJson, type DescField, type DescMessage, type DescMethod, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import type { CallSpec, CardSpec } from './card.ts';
import { httpRuleJson, type CompiledApi } from './compile.ts';
import { ApiCardError } from './errors.ts';
import { bindingsOf, checkBinding, expandRequest, parsePathTemplate, type HttpBinding, type PathTemplate } from './http-rule.ts';
import type { CallKind, PreparedCall, PreparedRequest } from './types.ts';

export function prepareCalls(spec: CardSpec, api: CompiledApi): PreparedCall[] {
  return spec.calls.map((call) => prepareCall(call, api, spec.file));
}

function prepareCall(call: CallSpec, api: CompiledApi, file: string): PreparedCall {
  const fail = (problem: string) => new ApiCardError(file, call.name, problem);
  const method = findMethod(call.method, api, fail);
  const kind = callKind(method);
  if (kind === 'client-stream' || kind === 'bidi') {
    throw fail(`${call.method} is a ${kind === 'bidi' ? 'bidirectional' : 'client'}-streaming method: no REST mapping in google.api.http covers it, so it cannot be loaded on both protocols`);
  }

  const rule = call.rest === null ? httpRuleJson(method, api) : cardRule(call.rest, api, fail);
  if (rule === null) {
    throw fail(`${call.method} has no REST mapping: add a rest: key to the call (e.g. rest: { post: "/v1/...", body: "*" }) or the option (google.api.http) to the method`);
  }
  let binding: HttpBinding;
  let template: PathTemplate;
  try {
    const bindings = bindingsOf(rule);
    if (call.binding >= bindings.length) {
      throw new Error(`binding ${call.binding} does not exist: the rule has ${bindings.length - 1} additional_bindings`);
    }
    binding = bindings[call.binding]!;
    template = parsePathTemplate(binding.pathTemplate);
    checkBinding(binding, template, method.input, method.output);
  } catch (err) {
    throw ApiCardError.from(err, file, call.name, 'REST mapping');
  }

  const requests: PreparedRequest[] = [];
  for (let i = 0; i < call.poolSize; i++) {
    const requestTemplate = call.requests[i % call.requests.length]!;
    requests.push(prepareRequest(renderIndex(requestTemplate, i), method.input, binding, template, api, (problem) => fail(`request ${i}: ${problem}`)));
  }

  return {
    name: call.name,
    api: method.parent.typeName,
    method: method.name,
    grpcPath: `/${method.parent.typeName}/${method.name}`,
    kind,
    rest: { verb: binding.verb, pathTemplate: binding.pathTemplate, body: binding.body, responseBody: binding.responseBody },
    requests,
    ignore: call.ignore.map((p) => resolveFieldPath(method.output, p, (problem) => fail(`ignore "${p}": ${problem}`))),
    descriptor: method,
    input: method.input,
    output: method.output,
  };
}

function prepareRequest(
  json: JsonValue,
  input: DescMessage,
  binding: HttpBinding,
  template: PathTemplate,
  api: CompiledApi,
  fail: (problem: string) => ApiCardError,
): PreparedRequest {
  let message;
  try {
    message = fromJson(input, json, { registry: api.registry });
  } catch (err) {
    throw fail((err as Error).message);
  }
  const canonical = toJson(input, message, { registry: api.registry }) as JsonObject;
  let rest;
  try {
    rest = expandRequest(binding, template, input, canonical);
  } catch (err) {
    throw fail((err as Error).message);
  }
  return {
    protobuf: toBinary(input, message),
    restPath: rest.path,
    restBody: rest.body === null ? null : Buffer.from(rest.body, 'utf8'),
    json: canonical,
    message,
  };
}

function findMethod(name: string, api: CompiledApi, fail: (problem: string) => ApiCardError): DescMethod {
  const [serviceName, methodName] = name.split('/') as [string, string];
  const service = api.registry.getService(serviceName);
  if (!service) {
    const known = [...api.registry].filter((d) => d.kind === 'service').map((d) => d.typeName);
    throw fail(`unknown service ${serviceName} (the protos define ${known.length ? known.join(', ') : 'no service'})`);
  }
  const method = service.methods.find((m) => m.name === methodName);
  if (!method) throw fail(`unknown method ${name} (${serviceName} has ${service.methods.map((m) => m.name).join(', ')})`);
  return method;
}

function callKind(method: DescMethod): CallKind {
  switch (method.methodKind) {
    case 'unary': return 'unary';
    case 'server_streaming': return 'server-stream';
    case 'client_streaming': return 'client-stream';
    case 'bidi_streaming': return 'bidi';
  }
}

/** A card's `rest:` key, checked as a google.api.HttpRule (either field-name spelling), back as proto-named JSON. */
function cardRule(rest: JsonObject, api: CompiledApi, fail: (problem: string) => ApiCardError): JsonObject {
  try {
    const rule = fromJson(api.httpRuleSchema, rest);
    return toJson(api.httpRuleSchema, rule, { useProtoFieldName: true }) as JsonObject;
  } catch (err) {
    throw fail(`rest: ${(err as Error).message.replace('cannot decode message google.api.HttpRule from JSON: ', '')}`);
  }
}

/** Replace `{{i}}` in every string of a request template with the request's index in the pool. */
export function renderIndex(value: JsonValue, i: number): JsonValue {
  if (typeof value === 'string') return value.replace(/\{\{\s*i\s*\}\}/g, String(i));
  if (Array.isArray(value)) return value.map((v) => renderIndex(v, i));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderIndex(v, i)]));
  }
  return value;
}

/**
 * A field path in proto names or JSON names ("note.update_time", "note.updateTime") -> JSON names,
 * through singular messages, repeated messages and maps of messages (their elements' fields).
 */
export function resolveFieldPath(message: DescMessage, fieldPath: string, fail: (problem: string) => Error): string {
  const out: string[] = [];
  let current: DescMessage | undefined = message;
  for (const part of fieldPath.split('.')) {
    if (!current) throw fail(`${out.join('.')} has no fields`);
    const field: DescField | undefined = current.fields.find((f) => f.name === part || f.jsonName === part);
    if (!field) throw fail(`${current.typeName} has no field ${part}`);
    out.push(field.jsonName);
    current = field.fieldKind === 'message' ? field.message
      : field.fieldKind === 'list' && field.listKind === 'message' ? field.message
      : field.fieldKind === 'map' && field.mapKind === 'message' ? field.message
      : undefined;
  }
  return out.join('.');
}
