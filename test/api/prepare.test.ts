/**
 * Prepared requests (bench/api/prepare.ts): both encodings of each request, made once, following the
 * proto3 JSON spec where it is easy to get wrong, and the request pool. protobufjs decodes the
 * binary as an independent reader.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { GOOGLE_PROTOS_DIR } from '../../bench/api/compile.ts';
import { loadApiCard, type PreparedCall } from '../../bench/api/index.ts';
import { PROTOS, SHOP_PROTO, shopCard, tempDir } from './helpers.ts';

const tmp = tempDir();
after(() => tmp.remove());

// protobufjs, loaded on its own, reads the bytes @bufbuild/protobuf wrote.
const root = new protobuf.Root();
root.resolvePath = (_o, target) => (path.isAbsolute(target) ? target : path.join(target.startsWith('google/') ? GOOGLE_PROTOS_DIR : PROTOS, target));
root.loadSync(SHOP_PROTO);
const ItemType = root.lookupType('callbench.test.v1.Item');
const CreateItemRequest = root.lookupType('callbench.test.v1.CreateItemRequest');

let cardNo = 0;
async function prepare(call: object, text?: string): Promise<PreparedCall> {
  const file = tmp.write(`card${cardNo++}.yaml`, text ?? shopCard([call as never]));
  return (await loadApiCard(file)).calls[0]!;
}
/** A CreateItem call (body: "item"): the REST body is exactly the item's proto3 JSON. */
async function itemBody(item: object): Promise<{ json: unknown; bytes: Uint8Array }> {
  const call = await prepare({ method: 'callbench.test.v1.Shop/CreateItem', request: { parent: 'shops/1', item } });
  const r = call.requests[0]!;
  const decoded = CreateItemRequest.decode(r.protobuf) as unknown as { item?: protobuf.Message };
  return { json: JSON.parse(r.restBody!.toString()), bytes: decoded.item ? ItemType.encode(decoded.item).finish() : new Uint8Array() };
}

describe('proto3 JSON and binary of a request', () => {
  it('int64 above 2^53 stays exact: a JSON string, and the same digits in the binary (even unquoted in YAML)', async () => {
    const call = await prepare({}, `proto: ${SHOP_PROTO}\nimportPaths: [${PROTOS}]\ncalls:\n  - method: callbench.test.v1.Shop/CreateItem\n    request: { parent: shops/1, item: { priceMicros: 9007199254740993, views: 18446744073709551615 } }\n`);
    const r = call.requests[0]!;
    assert.deepEqual(JSON.parse(r.restBody!.toString()), { priceMicros: '9007199254740993', views: '18446744073709551615' });
    const decoded = CreateItemRequest.toObject(CreateItemRequest.decode(r.protobuf), { longs: String }) as { item: { priceMicros: string; views: string } };
    assert.equal(decoded.item.priceMicros, '9007199254740993');
    assert.equal(decoded.item.views, '18446744073709551615');
  });

  it('enums are names (a number in the card becomes its name), bytes are base64', async () => {
    const { json } = await itemBody({ kind: 2, kinds: ['BOOK', 1], blob: 'AQID/w==' });
    assert.deepEqual(json, { kind: 'GAME', kinds: ['BOOK', 'BOOK'], blob: 'AQID/w==' });
    const call = await prepare({ method: 'callbench.test.v1.Shop/CreateItem', request: { parent: 'shops/1', item: { blob: 'AQID/w==' } } });
    const decoded = CreateItemRequest.decode(call.requests[0]!.protobuf) as unknown as { item: { blob: Uint8Array } };
    assert.deepEqual([...decoded.item.blob], [1, 2, 3, 255]);
  });

  it('maps: string and int32 keys are JSON strings, message values nest', async () => {
    const { json } = await itemBody({ labels: { b: '2', a: '1' }, relatedItems: { 7: { title: 'seven' } } });
    assert.deepEqual(json, { labels: { b: '2', a: '1' }, relatedItems: { '7': { title: 'seven' } } });
  });

  it('NaN and ±Infinity doubles are the strings "NaN", "Infinity", "-Infinity"', async () => {
    for (const value of ['NaN', 'Infinity', '-Infinity']) {
      const { json, bytes } = await itemBody({ score: value });
      assert.deepEqual(json, { score: value });
      const score = (ItemType.decode(bytes) as unknown as { score: number }).score;
      assert.equal(String(score), value);
    }
  });

  it('defaults are left out of both encodings even when the card sets them', async () => {
    const { json, bytes } = await itemBody({ title: '', priceMicros: '0', kind: 'KIND_UNSPECIFIED', score: 0, tags: [], labels: {}, blob: '' });
    assert.deepEqual(json, {});
    assert.equal(bytes.length, 0);
  });

  it('a proto3 optional field keeps an explicit zero; a oneof member keeps its zero', async () => {
    const { json, bytes } = await itemBody({ stock: 0, warehouse: 0 });
    assert.deepEqual(json, { stock: 0, warehouse: 0 });
    const decoded = ItemType.decode(bytes) as unknown as Record<string, unknown>;
    assert.ok(Object.hasOwn(decoded, 'stock') && Object.hasOwn(decoded, 'warehouse'), 'both fields are on the wire');
  });

  it('json_name is the JSON key; the card may use it or the proto name', async () => {
    assert.deepEqual((await itemBody({ SKU: 'A-1' })).json, { SKU: 'A-1' });
    assert.deepEqual((await itemBody({ sku: 'A-1' })).json, { SKU: 'A-1' });
  });

  it('well-known types take their JSON forms', async () => {
    const { json, bytes } = await itemBody({
      updateTime: '2024-01-02T03:04:05.500Z', ttl: '1.5s', limit: 7, extra: { a: [1, 'x', null, true], b: { c: 2 } },
    });
    assert.deepEqual(json, { updateTime: '2024-01-02T03:04:05.500Z', ttl: '1.500s', limit: 7, extra: { a: [1, 'x', null, true], b: { c: 2 } } });
    const decoded = ItemType.toObject(ItemType.decode(bytes), { longs: String }) as { updateTime: { seconds: string; nanos: number }; limit: { value: number } };
    assert.deepEqual(decoded.updateTime, { seconds: String(Date.UTC(2024, 0, 2, 3, 4, 5) / 1000), nanos: 500_000_000 });
    assert.deepEqual(decoded.limit, { value: 7 });
  });

  it('an unknown request field is refused with its name, in one line', async () => {
    await assert.rejects(prepare({ method: 'callbench.test.v1.Shop/CreateItem', request: { parent: 'shops/1', item: { titel: 'x' } } }),
      (err: Error) => /call CreateItem: request 0: .*key "titel" is unknown/.test(err.message) && !err.message.includes('\n'));
  });
});

describe('the request pool', () => {
  it('pool: N renders {{i}} as 0..N-1 in every string', async () => {
    const call = await prepare({ method: 'callbench.test.v1.Shop/CreateItem', name: 'create', pool: 3, request: { parent: 'shops/{{i}}', item: { title: 'item {{i}} of {{ i }}' } } });
    assert.equal(call.name, 'create');
    assert.deepEqual(call.requests.map((r) => r.restPath), ['/v1/shops/0/items', '/v1/shops/1/items', '/v1/shops/2/items']);
    assert.deepEqual(call.requests.map((r) => JSON.parse(r.restBody!.toString()).title), ['item 0 of 0', 'item 1 of 1', 'item 2 of 2']);
  });

  it('a request list goes round robin when the pool is larger', async () => {
    const call = await prepare({ method: 'callbench.test.v1.Shop/GetItem', pool: 5, request: [{ name: 'shops/1/items/a{{i}}' }, { name: 'shops/1/items/b{{i}}' }] });
    assert.deepEqual(call.requests.map((r) => r.restPath), ['/v1/shops/1/items/a0', '/v1/shops/1/items/b1', '/v1/shops/1/items/a2', '/v1/shops/1/items/b3', '/v1/shops/1/items/a4']);
  });

  it('a prepared call names its method, gRPC path, kind and REST mapping; the protobuf has no gRPC prefix', async () => {
    const call = await prepare({ method: 'callbench.test.v1.Shop/GetPrice', request: { name: 'shops/1/items/7' } });
    assert.deepEqual(
      { name: call.name, api: call.api, method: call.method, grpcPath: call.grpcPath, kind: call.kind, rest: call.rest },
      {
        name: 'GetPrice', api: 'callbench.test.v1.Shop', method: 'GetPrice', grpcPath: '/callbench.test.v1.Shop/GetPrice', kind: 'unary',
        rest: { verb: 'GET', pathTemplate: '/v1/{name=shops/*/items/*}:price', body: null, responseBody: 'price_micros' },
      },
    );
    const bytes = call.requests[0]!.protobuf;
    assert.deepEqual(root.lookupType('callbench.test.v1.GetItemRequest').toObject(root.lookupType('callbench.test.v1.GetItemRequest').decode(bytes)), { name: 'shops/1/items/7' });
    assert.equal(call.requests[0]!.restBody, null);
  });

  it('a server stream is prepared; client-streaming and bidi methods are refused in one line', async () => {
    assert.equal((await prepare({ method: 'callbench.test.v1.Shop/WatchItems', request: { parent: 'shops/1' } })).kind, 'server-stream');
    await assert.rejects(prepare({ method: 'callbench.test.v1.Shop/Upload', rest: { post: '/v1/upload', body: '*' } }),
      /call Upload: callbench\.test\.v1\.Shop\/Upload is a client-streaming method: no REST mapping in google\.api\.http covers it/);
    await assert.rejects(prepare({ method: 'callbench.test.v1.Shop/Chat' }), /call Chat: .* is a bidirectional-streaming method/);
  });

  it('the card\'s rest: key maps a method without google.api.http, in either field spelling', async () => {
    const call = await prepare({ method: 'callbench.test.v1.Shop/Unmapped', request: { name: 'n 1' }, rest: { custom: { kind: 'QUERY', path: '/v2/{name}' }, responseBody: 'title' } });
    assert.deepEqual([call.rest.verb, call.requests[0]!.restPath, call.rest.responseBody], ['QUERY', '/v2/n%201', 'title']);
  });
});
