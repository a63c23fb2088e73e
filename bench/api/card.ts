/**
 * Read and validate an API card (YAML or JSON; YAML is a superset of JSON, so one parser reads both).
 * validateCard() is the one place that checks every key and fills the defaults; what it returns
 * (CardSpec) has every field resolved, and nothing downstream applies a default again. Paths are
 * resolved against the card's directory. Checks that need the protos (method names, request fields,
 * the REST mapping) are prepare.ts's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import { ApiCardError } from './errors.ts';
import type { ProtoSource } from './compile.ts';
import { GRPC_STATUS_TABLE } from './status-map.ts';

/** A card with every default applied. */
export interface CardSpec {
  /** The card file as the caller named it. */
  file: string;
  source: ProtoSource;
  /** Header / metadata names lower-cased. */
  metadata: Record<string, string>;
  calls: CallSpec[];
}

export interface CallSpec {
  /** "package.Service/Method". */
  method: string;
  /** Scenario name: the card's `name`, else the method's name. */
  name: string;
  /** Request templates (proto3 JSON), sent round robin; [{}] when the card gives none. */
  requests: JsonValue[];
  /** How many requests to render (`pool`), else one per template. */
  poolSize: number;
  /** The card's `rest:` rule (HttpRule fields, proto or JSON names), or null to read google.api.http. */
  rest: JsonObject | null;
  /** Response field paths the equivalence check skips, as written. */
  ignore: string[];
  /** 0 = the main rule, N = additional_bindings[N-1]. */
  binding: number;
  /** What servers generated from the card (servers/generated/) answer to the method; null: the card says nothing. */
  response: CardResponse | null;
}

/**
 * A call's `response:`: the answer message in proto3 JSON, or an error (`{ error: NOT_FOUND, message: "..." }`,
 * a google.rpc.Code name other than OK). Only servers generated from the card read it; a card's own servers
 * answer what they answer.
 */
export type CardResponse = { kind: 'message'; json: JsonObject } | { kind: 'error'; code: number; codeName: string; message: string };

const CARD_KEYS = ['proto', 'protoset', 'importPaths', 'metadata', 'calls'];
const CALL_KEYS = ['method', 'name', 'request', 'pool', 'rest', 'ignore', 'binding', 'response'];
/** Upper bound on `pool`: every request is rendered and encoded in memory before the run. */
export const MAX_POOL = 1_000_000;

export function readCard(file: string): CardSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApiCardError(file, null, `cannot read the card: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    // Integers as BigInt, so an int64 written unquoted above 2^53 keeps every digit (see exactIntegers).
    raw = exactIntegers(parseYaml(text, { intAsBigInt: true }));
  } catch (err) {
    throw ApiCardError.from(err, file, null, 'not valid YAML or JSON');
  }
  return validateCard(raw, file, path.dirname(path.resolve(file)));
}

/** Check a parsed card and apply its defaults. `dir` is the directory relative paths start from. */
export function validateCard(raw: unknown, file: string, dir: string): CardSpec {
  const fail = (problem: string, call: string | null = null) => new ApiCardError(file, call, problem);
  if (!isObject(raw)) throw fail('the card must be a mapping with proto (or protoset) and calls');
  const unknown = Object.keys(raw).find((k) => !CARD_KEYS.includes(k));
  if (unknown !== undefined) throw fail(`unknown key "${unknown}" (allowed: ${CARD_KEYS.join(', ')})`);

  if ((raw.proto === undefined) === (raw.protoset === undefined)) throw fail('give exactly one of proto (a .proto path or a list) and protoset (a FileDescriptorSet)');
  const importPaths = raw.importPaths === undefined ? ['.'] : stringList(raw.importPaths, 'importPaths', fail);
  let source: ProtoSource;
  if (raw.protoset !== undefined) {
    if (typeof raw.protoset !== 'string' || raw.protoset === '') throw fail('protoset must be a file path');
    if (raw.importPaths !== undefined) throw fail('importPaths applies to proto, not to protoset (a protoset is already compiled)');
    source = { kind: 'protoset', file: path.resolve(dir, raw.protoset) };
  } else {
    const files = typeof raw.proto === 'string' ? [raw.proto] : stringList(raw.proto, 'proto', fail);
    if (!files.length || files.some((f) => f === '')) throw fail('proto must name at least one .proto file');
    source = { kind: 'proto', files: files.map((f) => path.resolve(dir, f)), importPaths: importPaths.map((p) => path.resolve(dir, p)) };
  }

  const metadata: Record<string, string> = {};
  if (raw.metadata !== undefined) {
    if (!isObject(raw.metadata)) throw fail('metadata must be a mapping of header name to string value');
    for (const [key, value] of Object.entries(raw.metadata)) {
      const name = key.toLowerCase();
      if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw fail(`metadata "${key}" is not a valid header name`);
      if (RESERVED_HEADERS.has(name) || name.startsWith('grpc-')) throw fail(`metadata "${key}" is set by the protocols themselves and cannot be overridden`);
      if (typeof value !== 'string') throw fail(`metadata "${key}" must be a string (quote it)`);
      if (/[\r\n\0]/.test(value)) throw fail(`metadata "${key}" has a line break or NUL in its value`);
      metadata[name] = value;
    }
  }

  if (!Array.isArray(raw.calls) || raw.calls.length === 0) throw fail('calls must be a non-empty list');
  const calls = raw.calls.map((c, i) => validateCall(c, i, fail));
  const seen = new Set<string>();
  for (const call of calls) {
    if (seen.has(call.name)) throw fail(`two calls are named "${call.name}"; give one of them another name (the name: key)`, call.name);
    seen.add(call.name);
  }
  return { file, source, metadata, calls };
}

/** Headers the protocols set themselves (HTTP/1.1 framing, HTTP/2 pseudo-headers, gRPC's own). */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'connection', 'host', 'te', 'user-agent', 'upgrade', 'keep-alive']);

function validateCall(raw: unknown, index: number, fail: (problem: string, call?: string | null) => ApiCardError): CallSpec {
  const label = `calls[${index}]`;
  if (!isObject(raw)) throw fail('must be a mapping with method and request', label);
  const method = raw.method;
  if (typeof method !== 'string' || !/^[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/.test(method)) {
    throw fail('method must be "package.Service/Method", e.g. notes.v1.Notes/GetNote', label);
  }
  let name = method.slice(method.indexOf('/') + 1);
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !/^[A-Za-z0-9][\w.-]*$/.test(raw.name)) {
      throw fail('name must be letters, digits, ".", "_" or "-" (it names the scenario)', label);
    }
    name = raw.name;
  }
  const at = (problem: string) => fail(problem, name);
  const unknown = Object.keys(raw).find((k) => !CALL_KEYS.includes(k));
  if (unknown !== undefined) throw at(`unknown key "${unknown}" (allowed: ${CALL_KEYS.join(', ')})`);

  const requests = raw.request === undefined ? [{}] : Array.isArray(raw.request) ? (raw.request as JsonValue[]) : [raw.request as JsonValue];
  if (!requests.length) throw at('request is an empty list');
  requests.forEach((r, i) => {
    if (!isObject(r)) throw at(`request${requests.length > 1 ? ` ${i}` : ''} must be a mapping (the request message in proto3 JSON)`);
  });
  let poolSize = requests.length;
  if (raw.pool !== undefined) {
    if (!Number.isInteger(raw.pool) || (raw.pool as number) < 1 || (raw.pool as number) > MAX_POOL) {
      throw at(`pool must be a whole number from 1 to ${MAX_POOL}`);
    }
    poolSize = raw.pool as number;
  }
  let rest: JsonObject | null = null;
  if (raw.rest !== undefined) {
    if (!isObject(raw.rest)) throw at('rest must be a mapping like { get: "/v1/{name=things/*}" } or { post: "/v1/things", body: "*" }');
    rest = raw.rest as JsonObject;
  }
  const ignore = raw.ignore === undefined ? [] : stringList(raw.ignore, 'ignore', at);
  let binding = 0;
  if (raw.binding !== undefined) {
    if (!Number.isInteger(raw.binding) || (raw.binding as number) < 0) throw at('binding must be 0 (the main rule) or N for additional_bindings[N-1]');
    binding = raw.binding as number;
  }
  const response = raw.response === undefined ? null : cardResponse(raw.response, at);
  return { method, name, requests, poolSize, rest, ignore, binding, response };
}

/** `response:` -> a message or an error; a mapping whose keys are only `error` (and `message`) is an error. */
function cardResponse(raw: unknown, at: (problem: string) => ApiCardError): CardResponse {
  if (!isObject(raw)) throw at('response must be a mapping: the answer message in proto3 JSON, or { error: NOT_FOUND, message: "..." }');
  const keys = Object.keys(raw);
  if (!('error' in raw) || keys.some((k) => k !== 'error' && k !== 'message')) return { kind: 'message', json: raw as JsonObject };
  const row = GRPC_STATUS_TABLE.find(([code, name]) => code !== 0 && name === raw.error);
  if (!row) {
    const names = GRPC_STATUS_TABLE.filter(([code]) => code !== 0).map(([, name]) => name);
    throw at(`response error must be a google.rpc.Code name other than OK (${names.join(', ')}), got ${JSON.stringify(raw.error)}`);
  }
  if (raw.message !== undefined && typeof raw.message !== 'string') throw at('response message must be a string (the error\'s text)');
  return { kind: 'error', code: row[0], codeName: row[1], message: (raw.message as string | undefined) ?? row[1] };
}

/** BigInt from the YAML reader -> a number when exact, else the digits as a string (proto3 JSON accepts both for integer fields). */
function exactIntegers(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(exactIntegers);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactIntegers(v)]));
  }
  return value;
}

function stringList(value: unknown, key: string, fail: (problem: string) => ApiCardError): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw fail(`${key} must be a list of strings`);
  return value as string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
