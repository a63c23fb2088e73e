/**
 * bench/api/compile.ts writes FileDescriptorProtos itself from protobufjs's parse; the Buf compiler
 * (`buf build`, a devDependency) is the oracle: for the fixture protos, every message, field
 * (number, type, label, json_name, oneof, proto3 optional), map entry, enum and method must come out
 * as buf writes them, and so must each method's google.api.http rule.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { createFileRegistry, fromBinary, toJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { GOOGLE_PROTOS_DIR, httpRuleJson } from '../../bench/api/compile.ts';
import { fixtureApi, PROTOS, tempDir } from './helpers.ts';

const BUF = path.join(path.dirname(GOOGLE_PROTOS_DIR), '.bin', 'buf');
const tmp = tempDir();
after(() => tmp.remove());

it('the descriptors match what buf build writes', { skip: existsSync(BUF) ? false : `no ${BUF} (npm install installs @bufbuild/buf)` }, () => {
  // A buf workspace of two modules, the fixtures and google-proto-files, by symlink.
  const ws = path.join(tmp.dir, 'ws');
  mkdirSync(ws);
  symlinkSync(PROTOS, path.join(ws, 'fixtures'));
  symlinkSync(GOOGLE_PROTOS_DIR, path.join(ws, 'googleapis'));
  writeFileSync(path.join(ws, 'buf.yaml'), 'version: v2\nmodules:\n  - path: fixtures\n  - path: googleapis\n');
  const out = path.join(tmp.dir, 'buf.binpb');
  execFileSync(BUF, ['build', '.', '--path', 'fixtures/callbench', '-o', out, '--as-file-descriptor-set', '--exclude-source-info'], { cwd: ws, stdio: 'pipe' });
  const bufSet = fromBinary(FileDescriptorSetSchema, readFileSync(out));
  const bufRegistry = createFileRegistry(bufSet);

  const ours = fixtureApi();
  const names = ours.fileDescriptorSet.file.map((f) => f.name).filter((n) => !n.startsWith('google/protobuf/'));
  assert.deepEqual(names.filter((n) => n.startsWith('callbench/')).sort(), ['callbench/test/v1/messaging.proto', 'callbench/test/v1/shop.proto']);
  for (const name of names) {
    const mine = ours.fileDescriptorSet.file.find((f) => f.name === name)!;
    const theirs = bufSet.file.find((f) => f.name === name);
    assert.ok(theirs, `buf compiled ${name} too`);
    for (const dep of mine.dependency) assert.ok(theirs.dependency.includes(dep), `${name} imports ${dep}`);
    assert.deepEqual(normalize(toJson(FileDescriptorProtoSchema, mine)), normalize(toJson(FileDescriptorProtoSchema, theirs)), name);
  }

  // The http rules, read back from each side's MethodOptions (ours re-encoded from protobufjs's parsedOptions).
  let rules = 0;
  for (const service of ours.registry.getFile('callbench/test/v1/shop.proto')!.services) {
    for (const m of service.methods) {
      const theirs = bufRegistry.getService(service.typeName)!.methods.find((x) => x.name === m.name)!;
      assert.deepEqual(httpRuleJson(m, ours), httpRuleJson(theirs, ours), `${service.typeName}/${m.name}`);
      if (httpRuleJson(m, ours)) rules++;
    }
  }
  assert.equal(rules, 8, 'eight Shop methods have a rule');
});

/**
 * What a request's encoding depends on, with what it does not left out: options other than
 * map_entry and packed (buf keeps file options such as go_package; ours carries none), the
 * dependency list (checked above as a subset: ours lists the files whose types are used), and the
 * order of nested types (protoc interleaves map entries with nested messages as declared).
 */
function normalize(json: JsonValue): JsonValue {
  if (Array.isArray(json)) return json.map(normalize);
  if (json === null || typeof json !== 'object') return json;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === 'dependency' || key === 'sourceCodeInfo') continue;
    if (key === 'options') {
      const kept = Object.fromEntries(Object.entries(value as JsonObject).filter(([k]) => k === 'mapEntry' || k === 'packed'));
      if (Object.keys(kept).length) out.options = kept;
      continue;
    }
    out[key] = key === 'nestedType'
      ? (normalize(value) as JsonObject[]).sort((a, b) => String(a.name).localeCompare(String(b.name)))
      : normalize(value);
  }
  return out;
}
