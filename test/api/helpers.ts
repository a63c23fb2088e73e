/**
 * Shared plumbing of the API-card tests: the fixture protos, cards written to a temp directory,
 * and one-call REST expansion straight from a compiled method.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromJson, toJson, type DescMethod, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { compileApi, httpRuleJson, type CompiledApi } from '../../bench/api/compile.ts';
import { bindingsOf, checkBinding, expandRequest, parsePathTemplate, type HttpBinding, type RestRequest } from '../../bench/api/http-rule.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/api/', import.meta.url));
export const PROTOS = path.join(FIXTURES, 'protos');
export const SHOP_PROTO = path.join(PROTOS, 'callbench/test/v1/shop.proto');
export const MESSAGING_PROTO = path.join(PROTOS, 'callbench/test/v1/messaging.proto');
export const SHOP_CARD = path.join(FIXTURES, 'shop.yaml');

let compiled: CompiledApi | undefined;
/** shop.proto and messaging.proto, compiled once per test file. */
export function fixtureApi(): CompiledApi {
  compiled ??= compileApi({ kind: 'proto', files: [SHOP_PROTO, MESSAGING_PROTO], importPaths: [PROTOS] }, 'fixtures');
  return compiled;
}

export function method(api: CompiledApi, name: string): DescMethod {
  const [service, m] = name.split('/') as [string, string];
  const found = api.registry.getService(service)?.methods.find((x) => x.name === m);
  if (!found) throw new Error(`no method ${name} in the fixtures`);
  return found;
}

/** Expand one request (proto3 JSON) with a method's own google.api.http rule, binding N. */
export function expand(api: CompiledApi, methodName: string, request: JsonObject, binding = 0): RestRequest & HttpBinding {
  const m = method(api, methodName);
  const chosen = bindingsOf(httpRuleJson(m, api)!)[binding]!;
  const template = parsePathTemplate(chosen.pathTemplate);
  checkBinding(chosen, template, m.input, m.output);
  const json = toJson(m.input, fromJson(m.input, request)) as JsonObject;
  return { ...chosen, ...expandRequest(chosen, template, m.input, json) };
}

/** A temp directory for cards; remove() when done. */
export function tempDir(): { dir: string; write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callbench-api-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A card as JSON text (a card is YAML or JSON) over the fixture protos, by absolute paths. */
export function shopCard(calls: JsonValue[], extra: JsonObject = {}): string {
  return JSON.stringify({ proto: SHOP_PROTO, importPaths: [PROTOS], ...extra, calls });
}
