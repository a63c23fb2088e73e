/**
 * google.api.HttpRule -> the REST twin of one request: verb, path with query, body.
 *
 * The rules are those of google/api/http.proto ("gRPC Transcoding"), applied on the client side:
 * - path variables `{field}`, `{field=shelves/*}`, `{field=**}`, nested `{a.b}` take the field's
 *   proto3 JSON scalar form; a single-segment variable percent-encodes everything but
 *   `[-_.~0-9a-zA-Z]` (so `/` becomes %2F), a multi-segment one keeps `/`;
 * - `body: "*"` sends every field the path did not bind; `body: "field"` sends that top-level field;
 *   no body: nothing;
 * - every other field becomes a query parameter named by its JSON field path (`filter.inStock`),
 *   a repeated one repeated (`kinds=BOOK&kinds=GAME`), values in proto3 JSON scalar form
 *   (int64 as digits, enums by name, bytes base64, Timestamp/Duration/FieldMask/wrappers in their
 *   JSON string form), percent-encoded; fields at their default are left out, as proto3 JSON leaves
 *   them out;
 * - fields bound by the path are left out of the body and the query.
 * Everything works on the message's proto3 JSON (from @bufbuild/protobuf's toJson), so path, query
 * and body agree with one another and with the spec's JSON mapping. Query parameter names use the
 * JSON names (lowerCamelCase or json_name), as Google's REST APIs document them and as the
 * transcoders (Envoy, ESP, grpc-gateway) accept them.
 *
 * Errors are plain Error with a one-line message; prepare.ts adds the card and call.
 */
import type { DescField, DescMessage, JsonObject, JsonValue } from '@bufbuild/protobuf';

/** One binding of an HttpRule: the main rule or one of its additional_bindings. */
export interface HttpBinding {
  /** GET, PUT, POST, DELETE, PATCH, or a custom rule's kind as written. */
  verb: string;
  /** The path template as written, e.g. "/v1/{name=shelves/*}:undelete". */
  pathTemplate: string;
  /** "*", a top-level request field's proto name, or null for no body. */
  body: string | null;
  /** A top-level response field's proto name whose JSON is the whole REST answer, or null. */
  responseBody: string | null;
}

/**
 * The bindings of a rule given as proto-named JSON (what compile.ts's httpRuleJson returns, or a card's
 * `rest:` key after @bufbuild/protobuf has validated it): the main rule first, then additional_bindings.
 */
export function bindingsOf(rule: JsonObject): HttpBinding[] {
  const extra = Array.isArray(rule.additional_bindings) ? (rule.additional_bindings as JsonObject[]) : [];
  return [bindingOf(rule), ...extra.map(bindingOf)];
}

const VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;

function bindingOf(rule: JsonObject): HttpBinding {
  const body = typeof rule.body === 'string' && rule.body !== '' ? rule.body : null;
  const responseBody = typeof rule.response_body === 'string' && rule.response_body !== '' ? rule.response_body : null;
  for (const verb of VERBS) {
    if (typeof rule[verb] === 'string') return { verb: verb.toUpperCase(), pathTemplate: rule[verb] as string, body, responseBody };
  }
  const custom = rule.custom as JsonObject | undefined;
  if (custom && typeof custom.kind === 'string' && custom.kind !== '' && typeof custom.path === 'string') {
    return { verb: custom.kind, pathTemplate: custom.path, body, responseBody };
  }
  throw new Error('the HTTP rule has no verb (get, put, post, delete, patch or custom { kind, path })');
}

// ---- path templates -----------------------------------------------------------------------------

/** A path template segment: a literal, or a variable bound to a request field. */
export type TemplateSegment =
  | { kind: 'literal'; value: string }
  | {
      kind: 'variable';
      /** Proto field names, outermost first: `{book.name}` -> ["book", "name"]. */
      fieldPath: string[];
      /** The variable's own segments ("*", "**" or literals); ["*"] when written `{field}`. */
      segments: string[];
    };

export interface PathTemplate {
  segments: TemplateSegment[];
  /** The custom verb after the last segment (`:undelete`), without the colon, or null. */
  verb: string | null;
}

/**
 * Parse a template by the grammar in http.proto:
 *   Template = "/" Segments [ Verb ] ; Segment = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ; Verb = ":" LITERAL ;
 */
export function parsePathTemplate(template: string): PathTemplate {
  if (!template.startsWith('/')) throw new Error(`path template "${template}" does not start with /`);
  // The verb is a ':' after the last '/' and the last '}' (a ':' inside a literal segment before them is text).
  const tail = Math.max(template.lastIndexOf('/'), template.lastIndexOf('}'));
  const colon = template.indexOf(':', tail + 1);
  const verb = colon >= 0 ? template.slice(colon + 1) : null;
  if (verb === '') throw new Error(`path template "${template}" has an empty verb after ':'`);
  const body = colon >= 0 ? template.slice(1, colon) : template.slice(1);

  const segments: TemplateSegment[] = [];
  let i = 0;
  while (i <= body.length) {
    if (body[i] === '{') {
      const close = body.indexOf('}', i);
      if (close < 0) throw new Error(`path template "${template}" has an unclosed {`);
      const inner = body.slice(i + 1, close);
      if (inner.includes('{')) throw new Error(`path template "${template}" nests a variable in a variable`);
      const eq = inner.indexOf('=');
      const fieldPath = (eq < 0 ? inner : inner.slice(0, eq)).trim().split('.');
      if (fieldPath.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) {
        throw new Error(`path template "${template}" has a bad field path "${inner}"`);
      }
      const varSegments = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      if (varSegments.some((s) => s === '')) throw new Error(`path template "${template}" has an empty segment in {${inner}}`);
      segments.push({ kind: 'variable', fieldPath, segments: varSegments });
      i = close + 1;
    } else {
      let end = body.indexOf('/', i);
      if (end < 0) end = body.length;
      const value = body.slice(i, end);
      if (value === '') throw new Error(`path template "${template}" has an empty segment`);
      if (value.includes('{') || value.includes('}')) throw new Error(`path template "${template}" mixes a literal and a variable in one segment`);
      if (value === '*' || value === '**') {
        throw new Error(`path template "${template}" has a bare ${value} outside a variable: no request field fills it`);
      }
      segments.push({ kind: 'literal', value });
      i = end;
    }
    if (i < body.length && body[i] !== '/') throw new Error(`path template "${template}" has text right after a variable`);
    i++; // the '/'
  }
  return { segments, verb };
}

// ---- checks against the message types -----------------------------------------------------------

/**
 * Check a binding against the request and response types once, before any request is rendered:
 * path fields exist and are singular scalars or enums, the body field and response_body field exist
 * at the top level.
 */
export function checkBinding(binding: HttpBinding, template: PathTemplate, input: DescMessage, output: DescMessage): void {
  for (const seg of template.segments) {
    if (seg.kind !== 'variable') continue;
    let message = input;
    seg.fieldPath.forEach((name, k) => {
      const field = fieldByProtoName(message, name);
      const where = seg.fieldPath.slice(0, k + 1).join('.');
      if (!field) throw new Error(`path variable {${seg.fieldPath.join('.')}}: ${message.typeName} has no field ${name}`);
      const last = k === seg.fieldPath.length - 1;
      if (field.fieldKind === 'list' || field.fieldKind === 'map') throw new Error(`path variable {${where}} is a repeated or map field`);
      if (!last) {
        if (field.fieldKind !== 'message') throw new Error(`path variable {${seg.fieldPath.join('.')}}: ${where} is not a message`);
        message = field.message;
      } else if (field.fieldKind === 'message') {
        throw new Error(`path variable {${where}} is a message; it must be a string, number, bool or enum field`);
      }
    });
  }
  if (binding.body !== null && binding.body !== '*' && !fieldByProtoName(input, binding.body)) {
    throw new Error(`body "${binding.body}": ${input.typeName} has no field ${binding.body}`);
  }
  if (binding.responseBody !== null && !fieldByProtoName(output, binding.responseBody)) {
    throw new Error(`response_body "${binding.responseBody}": ${output.typeName} has no field ${binding.responseBody}`);
  }
}

export function fieldByProtoName(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name);
}

// ---- expansion ---------------------------------------------------------------------------------

export interface RestRequest {
  /** The path with its query string, e.g. "/v1/shelves/1/books?pageSize=10". */
  path: string;
  /** The JSON text of the body, or null for no body. */
  body: string | null;
}

/**
 * Expand one request. `json` is the request's proto3 JSON as @bufbuild/protobuf's toJson writes it
 * (defaults left out, JSON names as keys).
 */
export function expandRequest(binding: HttpBinding, template: PathTemplate, input: DescMessage, json: JsonObject): RestRequest {
  const bound: string[][] = []; // JSON-name paths of the fields the path took
  let path = '';
  for (const seg of template.segments) {
    if (seg.kind === 'literal') {
      path += '/' + seg.value;
      continue;
    }
    const { jsonPath, value } = lookup(input, json, seg.fieldPath);
    bound.push(jsonPath);
    const name = seg.fieldPath.join('.');
    if (value === undefined || value === '') {
      throw new Error(`field ${name} is not set, and the path ${binding.pathTemplate} needs it`);
    }
    const text = scalarText(value);
    const single = seg.segments.length === 1 && seg.segments[0] === '*';
    if (!single && !segmentsRegExp(seg.segments).test(text)) {
      throw new Error(`field ${name} is "${text}", which does not match ${seg.segments.join('/')} in ${binding.pathTemplate}`);
    }
    const parts = single ? [text] : text.split('/');
    if (parts.some((p) => p === '.' || p === '..')) throw new Error(`field ${name} is "${text}": a . or .. segment would change the path`);
    path += '/' + parts.map(encodeStrict).join('/');
  }
  if (template.verb !== null) path += ':' + template.verb;

  const rest = withoutPaths(json, bound);
  let body: JsonValue | null = null;
  let query: JsonObject = {};
  if (binding.body === '*') {
    body = rest;
  } else if (binding.body !== null) {
    const field = fieldByProtoName(input, binding.body)!;
    body = rest[field.jsonName] ?? emptyJson(field);
    query = { ...rest };
    delete query[field.jsonName];
  } else {
    query = rest;
  }
  const params: [string, string][] = [];
  queryParams(input, query, '', params);
  const queryString = params.map(([k, v]) => `${encodeStrict(k)}=${encodeStrict(v)}`).join('&');
  return { path: queryString ? `${path}?${queryString}` : path, body: body === null ? null : JSON.stringify(body) };
}

/** Percent-encode all but RFC 3986's unreserved characters `[-_.~0-9a-zA-Z]`. */
export function encodeStrict(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function lookup(input: DescMessage, json: JsonObject, fieldPath: string[]): { jsonPath: string[]; value: JsonValue | undefined } {
  let message = input;
  let node: JsonValue | undefined = json;
  const jsonPath: string[] = [];
  for (const name of fieldPath) {
    const field = fieldByProtoName(message, name)!;
    jsonPath.push(field.jsonName);
    node = node !== null && typeof node === 'object' && !Array.isArray(node) ? node[field.jsonName] : undefined;
    if (field.fieldKind === 'message') message = field.message;
  }
  return { jsonPath, value: node };
}

function scalarText(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function segmentsRegExp(segments: string[]): RegExp {
  const parts = segments.map((s) => (s === '**' ? '.*' : s === '*' ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}$`);
}

/** A deep copy of `json` without the given JSON-name paths; emptied parent objects stay (as {}), like the message they stand for. */
function withoutPaths(json: JsonObject, paths: string[][]): JsonObject {
  const copy = structuredClone(json);
  for (const p of paths) {
    let node: JsonValue | undefined = copy;
    for (const key of p.slice(0, -1)) {
      node = node !== null && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined;
    }
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) delete node[p[p.length - 1]!];
  }
  return copy;
}

function emptyJson(field: DescField): JsonValue {
  switch (field.fieldKind) {
    case 'list': return [];
    case 'map':
    case 'message': return {};
    case 'enum': return field.enum.values[0]?.name ?? 0;
    case 'scalar': return defaultScalarJson(field.scalar);
  }
}

function defaultScalarJson(scalar: number): JsonValue {
  // ScalarType: 8 bool, 9 string, 12 bytes, 3/4/6/16/18 64-bit integers (strings in JSON).
  if (scalar === 8) return false;
  if (scalar === 9 || scalar === 12) return '';
  if ([3, 4, 6, 16, 18].includes(scalar)) return '0';
  return 0;
}

/** Message types whose proto3 JSON is one string, number or bool: one query parameter each. */
const SCALAR_JSON_TYPES = new Set([
  'google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask',
  'google.protobuf.DoubleValue', 'google.protobuf.FloatValue', 'google.protobuf.Int64Value',
  'google.protobuf.UInt64Value', 'google.protobuf.Int32Value', 'google.protobuf.UInt32Value',
  'google.protobuf.BoolValue', 'google.protobuf.StringValue', 'google.protobuf.BytesValue',
]);

function queryParams(message: DescMessage, json: JsonObject, prefix: string, out: [string, string][]): void {
  for (const field of message.fields) {
    const value = json[field.jsonName];
    if (value === undefined) continue;
    const name = prefix + field.jsonName;
    const refuse = (what: string) => new Error(`field ${name} is ${what} and cannot be a query parameter; send it in the body (body: "*" or body: "<field>")`);
    if (field.fieldKind === 'map') throw refuse('a map');
    if (field.fieldKind === 'list') {
      if (field.listKind === 'message' && !SCALAR_JSON_TYPES.has(field.message.typeName)) throw refuse('a repeated message');
      for (const item of value as JsonValue[]) out.push([name, scalarText(item)]);
    } else if (field.fieldKind === 'message') {
      if (SCALAR_JSON_TYPES.has(field.message.typeName)) out.push([name, scalarText(value)]);
      else if (field.message.typeName.startsWith('google.protobuf.')) throw refuse(`a ${field.message.typeName}`);
      else queryParams(field.message, value as JsonObject, name + '.', out);
    } else {
      out.push([name, scalarText(value)]);
    }
  }
}
