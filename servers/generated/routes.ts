/**
 * The reverse of bench/api/http-rule.ts: an HTTP request -> the method it maps to and the request message,
 * by the same google.api.http rules (google/api/http.proto, "gRPC Transcoding"), server side:
 * - the path is matched against each binding's template, segment by segment (`*` one segment, `**`
 *   any number, literals as written, a custom verb `:verb` after the last segment); a single-segment
 *   variable is percent-decoded whole (`%2F` is a `/` in the value), a multi-segment one segment by
 *   segment and joined with `/`, which undoes the expander's encoding exactly;
 * - `body: "*"` is the whole request but the path fields; `body: "field"` is that top-level field;
 * - every query parameter (`pageSize=4`, `states=A&states=B`, `filter.minId=9`) sets the field its
 *   dotted name reaches (JSON or proto names), repeated fields collecting every value; parameters that
 *   name no field are ignored, as grpc-gateway ignores them; with `body: "*"` there are none;
 * - path variables win over body and query, the body over the query.
 * Path and query values are text; each becomes the proto3 JSON form of its field (a bool, an enum by
 * name or number, the rest as strings, which proto3 JSON parsers accept for every number type), and
 * @bufbuild/protobuf's fromJson then builds and checks the message, so a bad value is refused with
 * the field's name, as a JSON body with that value would be.
 */
import type { DescField, DescMessage, JsonObject, JsonValue } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import type { HttpBinding, PathTemplate } from '../../bench/api/http-rule.ts';
import type { GeneratedMethod } from './method.ts';

/** One pattern token: a literal segment, or `*` / `**`, with the path variable (index) it belongs to, if any. */
interface Token {
  kind: 'literal' | 'one' | 'any';
  value: string;
  variable: number | null;
}

export interface RestRoute {
  method: GeneratedMethod;
  binding: HttpBinding;
  template: PathTemplate;
  /** Literal segments, for the match order (more literals: more specific). */
  literals: number;
  tokens: Token[];
  /** Each path variable: its proto field path and whether it spans one segment (`{x}`, `{x=*}`) or more. */
  variables: { fieldPath: string[]; single: boolean }[];
}

export function compileRoute(method: GeneratedMethod, binding: HttpBinding, template: PathTemplate): RestRoute {
  const tokens: Token[] = [];
  const variables: RestRoute['variables'] = [];
  for (const seg of template.segments) {
    if (seg.kind === 'literal') {
      tokens.push({ kind: 'literal', value: seg.value, variable: null });
      continue;
    }
    const index = variables.length;
    variables.push({ fieldPath: seg.fieldPath, single: seg.segments.length === 1 && seg.segments[0] === '*' });
    for (const s of seg.segments) tokens.push({ kind: s === '*' ? 'one' : s === '**' ? 'any' : 'literal', value: s, variable: index });
  }
  return { method, binding, template, literals: tokens.filter((t) => t.kind === 'literal').length, tokens, variables };
}

/** A route the path matched, with each variable's decoded value (by the route's variable index). */
export interface RouteMatch {
  route: RestRoute;
  values: string[];
}

/**
 * The routes whose template matches `rawPath` (no query string), in route order. The caller picks the
 * first with the request's verb, and answers 405 when only other verbs match.
 */
export function matchPath(routes: readonly RestRoute[], rawPath: string): RouteMatch[] {
  const matches: RouteMatch[] = [];
  for (const route of routes) {
    let path = rawPath;
    if (route.template.verb !== null) {
      const suffix = `:${route.template.verb}`;
      if (!path.endsWith(suffix)) continue;
      path = path.slice(0, -suffix.length);
    }
    if (!path.startsWith('/')) continue;
    const parts = path.slice(1).split('/');
    const spans: [number, number][] = route.variables.map(() => [-1, -1]);
    if (!matchTokens(route.tokens, 0, parts, 0, spans)) continue;
    try {
      const values = route.variables.map((v, i) => {
        const [from, to] = spans[i]!;
        const own = parts.slice(from, to);
        return v.single ? decodeURIComponent(own[0]!) : own.map((p) => decodeURIComponent(p)).join('/');
      });
      matches.push({ route, values });
    } catch {
      // A malformed %-escape: this route cannot have produced the path.
    }
  }
  return matches;
}

/** Backtracking match of tokens[ti..] against parts[pi..]; records each variable's [from, to) span of parts. */
function matchTokens(tokens: readonly Token[], ti: number, parts: readonly string[], pi: number, spans: [number, number][]): boolean {
  if (ti === tokens.length) return pi === parts.length;
  const token = tokens[ti]!;
  const mark = (from: number, to: number) => {
    if (token.variable === null) return;
    const span = spans[token.variable]!;
    if (span[0] < 0 || from < span[0]) span[0] = from;
    span[1] = Math.max(span[1], to);
  };
  if (token.kind === 'any') {
    for (let end = parts.length; end >= pi; end--) {
      const saved = spans.map((s) => [...s] as [number, number]);
      mark(pi, end);
      // A variable made of `**` alone that took no segment still starts (and ends) here.
      if (matchTokens(tokens, ti + 1, parts, end, spans)) return true;
      saved.forEach((s, i) => (spans[i] = s));
    }
    return false;
  }
  if (pi >= parts.length) return false;
  const part = parts[pi]!;
  if (token.kind === 'literal' ? safeDecode(part) !== token.value : part === '') return false;
  const saved = spans.map((s) => [...s] as [number, number]);
  mark(pi, pi + 1);
  if (matchTokens(tokens, ti + 1, parts, pi + 1, spans)) return true;
  saved.forEach((s, i) => (spans[i] = s));
  return false;
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** A request that cannot become the method's request message: answered 400 INVALID_ARGUMENT. */
export class RequestMappingError extends Error {}

/**
 * The request message's proto3 JSON from the matched path, the query parameters and the parsed JSON
 * body (undefined when the request had none). fromJson() turns it into the message.
 */
export function requestJson(match: RouteMatch, query: URLSearchParams, body: JsonValue | undefined): JsonObject {
  const { route } = match;
  const input = route.method.input;
  const json: JsonObject = {};
  const bodyRule = route.binding.body;
  if (bodyRule !== '*') {
    for (const [key, value] of query) setQueryParameter(input, json, key, value);
  }
  if (bodyRule === '*') {
    if (body !== undefined) {
      if (!isObject(body)) throw new RequestMappingError(`the body must be a JSON object (the ${input.typeName} message)`);
      Object.assign(json, body);
    }
  } else if (bodyRule !== null && body !== undefined) {
    const field = input.fields.find((f) => f.name === bodyRule)!;
    delete json[field.name];
    json[field.jsonName] = body;
  }
  route.variables.forEach((variable, i) => setPathVariable(input, json, variable.fieldPath, match.values[i]!));
  return json;
}

function setPathVariable(input: DescMessage, json: JsonObject, fieldPath: readonly string[], text: string): void {
  let message = input;
  let node = json;
  fieldPath.forEach((name, k) => {
    const field = message.fields.find((f) => f.name === name)!;
    // The body may have named the field by its proto name: one key per field, the JSON name.
    if (field.name !== field.jsonName) delete node[field.name];
    if (k === fieldPath.length - 1) {
      node[field.jsonName] = textToJson(field, text);
      return;
    }
    const child = node[field.jsonName];
    node = isObject(child) ? child : (node[field.jsonName] = {});
    message = (field as DescField & { fieldKind: 'message' }).message;
  });
}

/** Message types whose proto3 JSON is one string, number or bool (the expander writes them as one parameter). */
const SCALAR_JSON_TYPES = new Set([
  'google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue', 'google.protobuf.StringValue', 'google.protobuf.BytesValue',
]);

function setQueryParameter(input: DescMessage, json: JsonObject, key: string, text: string): void {
  let message = input;
  let node = json;
  const names = key.split('.');
  for (let k = 0; k < names.length; k++) {
    const name = names[k]!;
    const field = message.fields.find((f) => f.jsonName === name || f.name === name);
    if (!field) return; // names no field: ignored
    const last = k === names.length - 1;
    const where = names.slice(0, k + 1).join('.');
    if (field.fieldKind === 'map') throw new RequestMappingError(`query parameter ${key}: ${where} is a map, which a query parameter cannot set`);
    if (field.fieldKind === 'message' && !SCALAR_JSON_TYPES.has(field.message.typeName)) {
      if (last) throw new RequestMappingError(`query parameter ${key}: ${where} is a message; name one of its fields (${where}.<field>)`);
      const child = node[field.jsonName];
      node = isObject(child) ? child : (node[field.jsonName] = {});
      message = field.message;
      continue;
    }
    if (!last) throw new RequestMappingError(`query parameter ${key}: ${where} has no fields`);
    if (field.fieldKind === 'list') {
      if (field.listKind === 'message' && !SCALAR_JSON_TYPES.has(field.message.typeName)) {
        throw new RequestMappingError(`query parameter ${key}: ${where} is a repeated message, which a query parameter cannot set`);
      }
      const list = node[field.jsonName];
      if (Array.isArray(list)) list.push(textToJson(field, text));
      else node[field.jsonName] = [textToJson(field, text)];
    } else {
      node[field.jsonName] = textToJson(field, text);
    }
  }
}

/** A path or query value (text) as the proto3 JSON value of its field (or list element). */
function textToJson(field: DescField, text: string): JsonValue {
  const kind = field.fieldKind === 'list' ? field.listKind : field.fieldKind;
  if (kind === 'enum') return /^-?\d+$/.test(text) ? Number(text) : text;
  if (kind === 'scalar') {
    const scalar = field.fieldKind === 'list' || field.fieldKind === 'scalar' ? field.scalar : null;
    if (scalar === ScalarType.BOOL) return text === 'true' ? true : text === 'false' ? false : text;
    return text;
  }
  if (kind === 'message') {
    const message = field.fieldKind === 'list' || field.fieldKind === 'message' ? field.message : null;
    if (message?.typeName === 'google.protobuf.BoolValue') return text === 'true' ? true : text === 'false' ? false : text;
  }
  return text;
}

/** The JSON of a response_body field that is not set: its default, as the field's own JSON would be. */
export function defaultFieldJson(field: DescField): JsonValue {
  switch (field.fieldKind) {
    case 'list': return [];
    case 'map':
    case 'message': return {};
    case 'enum': return field.enum.values[0]?.name ?? 0;
    case 'scalar':
      if (field.scalar === ScalarType.BOOL) return false;
      if (field.scalar === ScalarType.STRING || field.scalar === ScalarType.BYTES) return '';
      if ([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64].includes(field.scalar)) return '0';
      return 0;
  }
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
