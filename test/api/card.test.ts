/**
 * Card validation (bench/api/card.ts, and the checks prepare.ts makes against the protos): every
 * problem is one ApiCardError whose message is one line naming the card, the call and the problem.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { compileApi } from '../../bench/api/compile.ts';
import { ApiCardError, loadApiCard } from '../../bench/api/index.ts';
import { PROTOS, SHOP_CARD, SHOP_PROTO, shopCard, tempDir } from './helpers.ts';

const tmp = tempDir();
after(() => tmp.remove());

let cardNo = 0;
/** Load a card text and return its error; fails the test when the card loads. */
async function errorOf(text: string): Promise<ApiCardError> {
  const file = tmp.write(`bad${cardNo++}.yaml`, text);
  try {
    await loadApiCard(file);
  } catch (err) {
    assert.ok(err instanceof ApiCardError, `an ApiCardError, got ${err}`);
    assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
    assert.ok(err.message.startsWith(`api card ${file}: `), `names the card: ${err.message}`);
    return err;
  }
  assert.fail('the card loaded');
}
const get = { method: 'callbench.test.v1.Shop/GetItem', request: { name: 'shops/1/items/1' } };

describe('card validation errors are one line', () => {
  const cases: [string, string, RegExp][] = [
    ['not a mapping', '- a\n- b\n', /the card must be a mapping/],
    ['unknown top-level key', shopCard([get], { callz: [] }), /unknown key "callz" \(allowed: proto, protoset, importPaths, metadata, calls\)/],
    ['neither proto nor protoset', JSON.stringify({ calls: [get] }), /give exactly one of proto .* and protoset/],
    ['a missing proto file', JSON.stringify({ proto: 'nope/missing.proto', calls: [get] }), /proto file .*nope\/missing\.proto not found/],
    ['a proto outside the import paths', JSON.stringify({ proto: SHOP_PROTO, importPaths: ['elsewhere'], calls: [get] }), /is not under any of importPaths/],
    ['no calls', shopCard([]), /calls must be a non-empty list/],
    ['a bad method name', shopCard([{ method: 'GetItem' }]), /call calls\[0\]: method must be "package\.Service\/Method"/],
    ['an unknown call key', shopCard([{ ...get, reqest: {} }]), /call GetItem: unknown key "reqest"/],
    ['an unknown service', shopCard([{ method: 'callbench.test.v1.Shops/GetItem' }]), /call GetItem: unknown service callbench\.test\.v1\.Shops \(the protos define .*callbench\.test\.v1\.Shop/],
    ['an unknown method', shopCard([{ method: 'callbench.test.v1.Shop/GetItems' }]), /call GetItems: unknown method callbench\.test\.v1\.Shop\/GetItems \(callbench\.test\.v1\.Shop has GetItem, ListItems/],
    ['a bad request field', shopCard([{ ...get, request: { nam: 'x' } }]), /call GetItem: request 0: .*"nam"/],
    ['a request field of the wrong type', shopCard([{ method: 'callbench.test.v1.Shop/ListItems', request: { parent: 'shops/1', pageSize: 'ten' } }]), /call ListItems: request 0: .*ListItemsRequest\.page_size .*"ten"/],
    ['a method with no REST mapping', shopCard([{ method: 'callbench.test.v1.Shop/Unmapped' }]),
      /call Unmapped: callbench\.test\.v1\.Shop\/Unmapped has no REST mapping: add a rest: key to the call .* or the option \(google\.api\.http\) to the method/],
    ['a binding that does not exist', shopCard([{ ...get, binding: 3 }]), /call GetItem: REST mapping: binding 3 does not exist: the rule has 2 additional_bindings/],
    ['a bad rest: key', shopCard([{ ...get, rest: { gett: '/x' } }]), /call GetItem: rest: .*"gett"/],
    ['a rest: body field that does not exist', shopCard([{ ...get, rest: { post: '/v1/{name=**}', body: 'item' } }]), /REST mapping: body "item": callbench\.test\.v1\.GetItemRequest has no field item/],
    ['a path variable that is not a field', shopCard([{ ...get, rest: { get: '/v1/{id}' } }]), /REST mapping: path variable \{id\}: callbench\.test\.v1\.GetItemRequest has no field id/],
    ['a request the path template cannot take', shopCard([{ ...get, request: { name: 'users/1' } }]), /call GetItem: request 0: field name is "users\/1", which does not match/],
    ['two calls with one name', shopCard([get, get]), /call GetItem: two calls are named "GetItem"; give one of them another name/],
    ['a bad pool', shopCard([{ ...get, pool: 0 }]), /call GetItem: pool must be a whole number from 1/],
    ['an ignore path that is not a response field', shopCard([{ ...get, ignore: ['updateTim'] }]), /call GetItem: ignore "updateTim": callbench\.test\.v1\.Item has no field updateTim/],
    ['metadata that is not a string', shopCard([get], { metadata: { 'x-n': 1 } }), /metadata "x-n" must be a string/],
    ['metadata the protocol owns', shopCard([get], { metadata: { 'Content-Type': 'text/plain' } }), /metadata "Content-Type" is set by the protocols themselves/],
    ['invalid YAML', 'proto: [a\n', /not valid YAML or JSON/],
  ];
  for (const [what, text, expected] of cases) {
    it(what, async () => assert.match((await errorOf(text)).message, expected));
  }

  it('a missing import', async () => {
    tmp.write('importer.proto', 'syntax = "proto3";\npackage x;\nimport "missing/thing.proto";\nmessage A { string a = 1; }\n');
    const err = await errorOf(JSON.stringify({ proto: 'importer.proto', calls: [get] }));
    assert.match(err.message, /import "missing\/thing\.proto" \(from importer\.proto\) not found in importPaths \(.*\) or google-proto-files/);
  });

  it('a proto that does not parse', async () => {
    tmp.write('broken.proto', 'syntax = "proto3";\nmessage A { string a = ; }\n');
    const err = await errorOf(JSON.stringify({ proto: 'broken.proto', calls: [get] }));
    assert.match(err.message, /cannot compile the protos: .*broken\.proto/);
  });

  it('a missing card file', async () => {
    await assert.rejects(loadApiCard(path.join(tmp.dir, 'none.yaml')), (err: Error) => err instanceof ApiCardError && /none\.yaml: cannot read the card: ENOENT/.test(err.message));
  });
});

describe('card forms', () => {
  it('the fixture card loads: defaults applied, metadata names lower-cased, paths relative to the card', async () => {
    const card = await loadApiCard(SHOP_CARD);
    assert.deepEqual(card.metadata, { authorization: 'Bearer test-token', 'x-tenant': 'shop-1' });
    assert.deepEqual(card.apis, ['callbench.test.v1.Shop']);
    assert.deepEqual(card.calls.map((c) => [c.name, c.requests.length]), [['GetItem', 3], ['ListItems', 2], ['create-item', 2], ['GetPrice', 1], ['WatchItems', 1]]);
    assert.deepEqual(card.calls[2]!.ignore, ['updateTime'], 'ignore paths become JSON names');
  });

  it('a protoset card prepares the same bytes as the .proto card', async () => {
    // The protoset is the FileDescriptorSet of the same protos, as protoc/buf would write it.
    const compiled = compileApi({ kind: 'proto', files: [SHOP_PROTO], importPaths: [PROTOS] }, 'test');
    const protoset = path.join(tmp.dir, 'shop.binpb');
    writeFileSync(protoset, toBinary(FileDescriptorSetSchema, compiled.fileDescriptorSet));
    const calls = [get, { method: 'callbench.test.v1.Shop/CreateItem', request: { parent: 'shops/1', item: { title: 't', priceMicros: '5' } } }];
    const fromProto = await loadApiCard(tmp.write('p.json', shopCard(calls)));
    const fromSet = await loadApiCard(tmp.write('s.json', JSON.stringify({ protoset: 'shop.binpb', calls })));
    for (const [a, b] of fromProto.calls.map((c, i) => [c, fromSet.calls[i]!] as const)) {
      assert.deepEqual(b.rest, a.rest);
      assert.deepEqual(b.requests.map((r) => [r.restPath, r.restBody?.toString(), Buffer.from(r.protobuf).toString('hex')]),
        a.requests.map((r) => [r.restPath, r.restBody?.toString(), Buffer.from(r.protobuf).toString('hex')]));
    }
  });

  it('a protoset that is not a FileDescriptorSet is one line', async () => {
    tmp.write('junk.binpb', 'not protobuf at all');
    const err = await errorOf(JSON.stringify({ protoset: 'junk.binpb', calls: [get] }));
    assert.match(err.message, /protoset junk\.binpb is not a binary FileDescriptorSet/);
  });
});
