/**
 * The google.api.http expander (bench/api/http-rule.ts): the examples of http.proto's own comments,
 * the encoding rules, and google-gax's client-side transcode() as an independent oracle.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { fromJson, toJson, type JsonObject } from '@bufbuild/protobuf';
import { expandRequest, parsePathTemplate } from '../../bench/api/http-rule.ts';
import { GOOGLE_PROTOS_DIR } from '../../bench/api/compile.ts';
import { expand, fixtureApi, method, MESSAGING_PROTO, PROTOS, SHOP_PROTO } from './helpers.ts';

const api = fixtureApi();
const pkg = 'callbench.test.v1';

describe('the examples in google/api/http.proto', () => {
  it('GET /v1/{name=messages/*} -> GET /v1/messages/123456', () => {
    const r = expand(api, `${pkg}.PathExample/GetMessage`, { name: 'messages/123456' });
    assert.deepEqual([r.verb, r.path, r.body], ['GET', '/v1/messages/123456', null]);
  });

  it('fields not bound by the path become query parameters, nested ones as sub.subfield', () => {
    const r = expand(api, `${pkg}.QueryExample/GetMessage`, { messageId: '123456', revision: '2', sub: { subfield: 'foo' } });
    assert.deepEqual([r.verb, r.path, r.body], ['GET', '/v1/messages/123456?revision=2&sub.subfield=foo', null]);
  });

  it('body: "message" sends that field as the body', () => {
    const r = expand(api, `${pkg}.BodyFieldExample/UpdateMessage`, { messageId: '123456', message: { text: 'Hi!' } });
    assert.deepEqual([r.verb, r.path, JSON.parse(r.body!)], ['PATCH', '/v1/messages/123456', { text: 'Hi!' }]);
  });

  it('body: "*" sends every field the path did not bind, and no query', () => {
    const r = expand(api, `${pkg}.BodyStarExample/UpdateMessage`, { messageId: '123456', text: 'Hi!' });
    assert.deepEqual([r.verb, r.path, JSON.parse(r.body!)], ['PATCH', '/v1/messages/123456', { text: 'Hi!' }]);
  });

  it('additional_bindings: binding 1 is the first additional one', () => {
    const request = { messageId: '123456', userId: 'me' };
    assert.equal(expand(api, `${pkg}.BindingsExample/GetMessage`, { messageId: '123456' }).path, '/v1/messages/123456');
    assert.equal(expand(api, `${pkg}.BindingsExample/GetMessage`, request, 1).path, '/v1/users/me/messages/123456');
    // On the main binding the user_id the path does not take goes to the query.
    assert.equal(expand(api, `${pkg}.BindingsExample/GetMessage`, request, 0).path, '/v1/messages/123456?userId=me');
  });

  it('a nested field in the path: /v1/messages/{message_id}/{sub.subfield}', () => {
    const r = expand(api, `${pkg}.NestedPathExample/GetMessage`, { messageId: '123456', sub: { subfield: 'foo' }, revision: '3' });
    assert.equal(r.path, '/v1/messages/123456/foo?revision=3');
  });
});

describe('encoding rules', () => {
  it('a single-segment variable escapes / and reserved characters; a ** variable keeps /', () => {
    const single = expand(api, `${pkg}.Shop/Lookup`, { name: 'a/b c?d#e' });
    assert.deepEqual([single.verb, single.path], ['SEARCH', '/v1/lookup/a%2Fb%20c%3Fd%23e']);
    const deep = expand(api, `${pkg}.Shop/GetItem`, { name: 'x/y z/é' }, 1);
    assert.equal(deep.path, '/v1/items/x/y%20z/%C3%A9');
  });

  it('a custom verb follows the path; response_body is carried', () => {
    const r = expand(api, `${pkg}.Shop/GetPrice`, { name: 'shops/1/items/7' });
    assert.deepEqual([r.path, r.responseBody], ['/v1/shops/1/items/7:price', 'price_micros']);
    const post = expand(api, `${pkg}.Shop/GetItem`, { name: 'shops/1/items/7' }, 2);
    assert.deepEqual([post.verb, post.path, post.body], ['POST', '/v1/shops/1/items/7:get', '{}']);
  });

  it('query values are proto3 JSON scalars: repeated, enums by name, int64 digits, well-known types, percent-encoded', () => {
    const r = expand(api, `${pkg}.Shop/ListItems`, {
      parent: 'shops/1', pageSize: 10, kinds: ['BOOK', 2], filter: { text: 'a b&c=d', inStock: true },
      readMask: 'name,updateTime', minPriceMicros: '9007199254740993', since: '2024-01-02T03:04:05Z', ids: ['1', '2'],
    });
    const [p, q] = r.path.split('?') as [string, string];
    assert.equal(p, '/v1/shops/1/items');
    assert.deepEqual([...new URLSearchParams(q)], [
      ['pageSize', '10'], ['kinds', 'BOOK'], ['kinds', 'GAME'], ['filter.text', 'a b&c=d'], ['filter.inStock', 'true'],
      ['readMask', 'name,updateTime'], ['minPriceMicros', '9007199254740993'], ['since', '2024-01-02T03:04:05Z'],
      ['ids', '1'], ['ids', '2'],
    ]);
    for (const pair of q.split('&')) {
      assert.match(pair, /^[\w.]+=(?:[-_.~0-9A-Za-z]|%[0-9A-F]{2})*$/, 'only unreserved characters are left unescaped');
    }
  });

  it('defaults are left out of the query, as proto3 JSON leaves them out', () => {
    const r = expand(api, `${pkg}.Shop/ListItems`, { parent: 'shops/1', pageSize: 0, pageToken: '', filter: { inStock: false } });
    assert.equal(r.path, '/v1/shops/1/items');
  });

  it('fields bound by the path are left out of the body', () => {
    const r = expand(api, `${pkg}.Shop/UpdateItem`, { item: { name: 'shops/1/items/2', title: 't' }, updateMask: 'title' });
    assert.deepEqual([r.verb, r.path, JSON.parse(r.body!)], ['PATCH', '/v1/shops/1/items/2?updateMask=title', { title: 't' }]);
  });

  it('refuses a value that does not match the variable, an unset path field, a map in the query', () => {
    assert.throws(() => expand(api, `${pkg}.Shop/GetItem`, { name: 'users/1' }), /field name is "users\/1", which does not match shops\/\*\/items\/\* in \/v1\/\{name=shops\/\*\/items\/\*\}/);
    assert.throws(() => expand(api, `${pkg}.Shop/GetItem`, {}), /field name is not set, and the path \/v1\/\{name=shops\/\*\/items\/\*\} needs it/);
    assert.throws(() => expand(api, `${pkg}.Shop/GetItem`, { name: 'shops/1/items/..' }), /\.\. segment/);
    // CreateItem with no body: its item (with a map) would have to go to the query.
    const create = method(api, `${pkg}.Shop/CreateItem`);
    const noBody = { verb: 'POST', pathTemplate: '/v1/{parent=shops/*}/items', body: null, responseBody: null };
    const json = toJson(create.input, fromJson(create.input, { parent: 'shops/1', item: { labels: { a: 'b' } } })) as JsonObject;
    assert.throws(() => expandRequest(noBody, parsePathTemplate(noBody.pathTemplate), create.input, json),
      /field item\.labels is a map and cannot be a query parameter; send it in the body/);
  });

  it('parses the template grammar and rejects what it cannot expand', () => {
    assert.deepEqual(parsePathTemplate('/v1/{name=projects/*/locations/**}:undelete'), {
      segments: [{ kind: 'literal', value: 'v1' }, { kind: 'variable', fieldPath: ['name'], segments: ['projects', '*', 'locations', '**'] }],
      verb: 'undelete',
    });
    assert.deepEqual(parsePathTemplate('/v1/{a.b_c}/x:y'), {
      segments: [{ kind: 'literal', value: 'v1' }, { kind: 'variable', fieldPath: ['a', 'b_c'], segments: ['*'] }, { kind: 'literal', value: 'x' }],
      verb: 'y',
    });
    assert.throws(() => parsePathTemplate('v1/x'), /does not start with \//);
    assert.throws(() => parsePathTemplate('/v1/{name'), /unclosed/);
    assert.throws(() => parsePathTemplate('/v1/*/x'), /bare \* outside a variable/);
    assert.throws(() => parsePathTemplate('/v1/{a}{b}'), /text right after a variable/);
  });
});

describe('google-gax transcode() as an oracle', () => {
  // google-gax's REST fallback transcodes a protobufjs-shaped request (camelCase keys) with the
  // method's parsedOptions. Its query encoder keeps '/' and ours escapes it, both valid, so queries are
  // compared decoded. The requests hold no default values (gax would send them) and no int64 (gax
  // would see a Long), which is where the two legitimately differ.
  const gaxDir = path.dirname(createRequire(import.meta.url).resolve('google-gax'));
  const { transcode } = createRequire(import.meta.url)(path.join(gaxDir, 'transcoding.js')) as {
    transcode(request: object, parsedOptions: object[]): { httpMethod: string; url: string; queryString: string; data: unknown } | undefined;
  };
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    return target.startsWith('google/') ? path.join(GOOGLE_PROTOS_DIR, target) : path.join(PROTOS, target);
  };
  root.loadSync([SHOP_PROTO, MESSAGING_PROTO]);
  root.resolveAll();

  const cases: [string, Record<string, unknown>, number][] = [
    [`${pkg}.PathExample/GetMessage`, { name: 'messages/123456' }, 0],
    [`${pkg}.QueryExample/GetMessage`, { messageId: '12 34', sub: { subfield: 'a/b?c' } }, 0],
    [`${pkg}.BodyFieldExample/UpdateMessage`, { messageId: 'm1', message: { text: 'Hi!' } }, 0],
    [`${pkg}.BodyStarExample/UpdateMessage`, { messageId: 'm1', text: 'Hi!' }, 0],
    [`${pkg}.Shop/GetItem`, { name: 'shops/s1/items/i%1' }, 0],
    [`${pkg}.Shop/GetItem`, { name: 'deep/er/path' }, 1], // not shops/*/items/*: gax falls to the ** binding
    [`${pkg}.Shop/ListItems`, { parent: 'shops/1', pageSize: 25, pageToken: 'tok/en', filter: { text: 'x y', inStock: true } }, 0],
    [`${pkg}.Shop/CreateItem`, { parent: 'shops/9', itemId: 'new', item: { title: 'T', tags: ['a', 'b'], labels: { k: 'v' } } }, 0],
    [`${pkg}.Shop/UpdateItem`, { item: { name: 'shops/1/items/2', title: 'new title', score: 1.5 } }, 0],
    [`${pkg}.Shop/DeleteItem`, { name: 'shops/1/items/2', force: true }, 0],
  ];
  for (const [name, request, binding] of cases) {
    it(`${name.split('.').pop()} ${JSON.stringify(request)}`, () => {
      const [service, methodName] = name.split('/') as [string, string];
      const parsedOptions = root.lookupService(service).methods[methodName]!.parsedOptions!;
      const oracle = transcode(structuredClone(request), parsedOptions);
      assert.ok(oracle, 'gax found a binding');
      const ours = expand(api, name, request as never, binding);
      const [oursPath, oursQuery = ''] = ours.path.split('?') as [string, string?];
      assert.equal(ours.verb, oracle.httpMethod.toUpperCase());
      assert.equal(oursPath, oracle.url);
      assert.deepEqual([...new URLSearchParams(oursQuery)], [...new URLSearchParams(oracle.queryString)]);
      assert.deepEqual(ours.body === null ? '' : JSON.parse(ours.body), oracle.data);
    });
  }
});
