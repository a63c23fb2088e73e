/**
 * The servers generated from a card (servers/generated/), over real sockets on 127.0.0.1: one request
 * message goes to the gRPC server as protobuf and to the REST server through its google.api.http
 * mapping (path + query + a partial body, as bench/api/http-rule.ts expands it); both echo what they
 * got, and the REST server's rebuilt message must equal, field by field, the one the gRPC server
 * received (and the card's). Then error answers, routing failures and the equivalence check.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { equals, fromBinary, fromJson, toJson, type DescMessage, type JsonObject, type Message } from '@bufbuild/protobuf';
import { checkEquivalence, loadApiCard, type ApiCard, type PreparedCall } from '../../bench/api/index.ts';
import { diffJson } from '../../bench/api/equivalence.ts';
import { loadGeneratedApi, type GeneratedApi } from '../../servers/generated/api.ts';
import { startGeneratedGrpcServer } from '../../servers/generated/grpc.ts';
import { startGeneratedRestServer } from '../../servers/generated/rest.ts';
import type { RunningServer } from '../../servers/server-options.ts';
import { REPO_ROOT } from '../helpers/bench.ts';

const CARD = path.join(REPO_ROOT, 'test', 'fixtures', 'api', 'echo.yaml');

interface GrpcAnswer {
  code: number;
  details: string;
  message: Message | null;
}

/** One unary call with grpc-js's generic client, the request as its protobuf bytes. */
function grpcCall(address: string, call: PreparedCall, bytes: Uint8Array): Promise<GrpcAnswer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      call.grpcPath,
      (b: Buffer) => b,
      (b: Buffer) => fromBinary(call.output, b),
      Buffer.from(bytes),
      (error, message) => {
        client.close();
        resolve(error ? { code: error.code, details: error.details, message: null } : { code: 0, details: '', message: message ?? null });
      },
    );
  });
}

/** One HTTP/1.1 request with the path sent exactly as given (already percent-encoded). */
function restCall(url: string, verb: string, rawPath: string, body: Buffer | null): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname: base.hostname,
        port: base.port,
        method: verb,
        path: rawPath,
        agent: false,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

function jsonOf(schema: DescMessage, message: Message, registry: GeneratedApi['registry']): JsonObject {
  return toJson(schema, message, { registry }) as JsonObject;
}

describe('servers generated from a card', () => {
  let api: GeneratedApi;
  let card: ApiCard;
  let grpcServer: RunningServer;
  let restServer: RunningServer;
  const callNamed = (name: string) => card.calls.find((c) => c.name === name)!;

  before(async () => {
    api = loadGeneratedApi(CARD);
    card = await loadApiCard(CARD);
    grpcServer = await startGeneratedGrpcServer(api, { host: '127.0.0.1', port: 0 });
    restServer = await startGeneratedRestServer(api, { host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await grpcServer?.close(0);
    await restServer?.close(0);
  });

  /** Both protocols, the call's first request; returns what each server echoed. */
  async function echoBoth(name: string): Promise<{ call: PreparedCall; sent: Message; grpc: Message; rest: JsonObject; restText: string }> {
    const call = callNamed(name);
    const request = call.requests[0]!;
    const g = await grpcCall(grpcServer.address, call, request.protobuf);
    assert.equal(g.code, 0, `${name} gRPC: ${g.details}`);
    const r = await restCall(restServer.address, call.rest.verb, request.restPath, request.restBody);
    assert.equal(r.status, 200, `${name} REST ${call.rest.verb} ${request.restPath}: ${r.text}`);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    return { call, sent: request.message, grpc: g.message!, rest: JSON.parse(r.text) as JsonObject, restText: r.text };
  }

  test('path + query + a partial body: the REST server rebuilds the message the gRPC server received, field by field', async () => {
    const { call, sent, grpc, rest, restText } = await echoBoth('Echo');
    const request = call.requests[0]!;
    // The request really went through every part of the mapping.
    const [pathPart, query] = request.restPath.split('?') as [string, string];
    assert.equal(pathPart, '/v1/shelves/7/records/9007199254740993:echo');
    const params = new URLSearchParams(query);
    assert.deepEqual(params.getAll('kinds'), ['BOOK', 'GAME', 'BOOK']);
    assert.deepEqual(params.getAll('sizes'), ['9007199254740993', '0', '-1']);
    assert.equal(params.get('filter.range.low'), '-9007199254740995');
    assert.equal(params.get('filter.tag'), 'a b&c/ü+%');
    assert.deepEqual(params.getAll('filter.names'), ['x', 'y z', '']);
    assert.equal(params.get('headline'), 'Title: one/two?');
    assert.ok(!params.has('details.labels') && !params.has('details'), query);
    const body = JSON.parse(request.restBody!.toString()) as JsonObject;
    assert.deepEqual(Object.keys(body).sort(), ['kindsById', 'labels', 'note', 'parts']);

    const schema = call.input;
    const rebuilt = fromJson(schema, rest, { registry: api.registry });
    // The gRPC server got what was sent, and the REST server rebuilt the same message.
    assert.ok(equals(schema, grpc, sent), 'gRPC echo differs from the request sent');
    assert.equal(diffJson(jsonOf(schema, grpc, api.registry), jsonOf(schema, rebuilt, api.registry), '', []), null);
    assert.ok(equals(schema, rebuilt, grpc), 'REST rebuilt a different message');
    // Field by field, on the values themselves (not only their JSON).
    const g = grpc as unknown as Record<string, unknown>;
    const r = rebuilt as unknown as Record<string, unknown>;
    const plain = (value: unknown) => (value instanceof Uint8Array ? [...value] : value); // Buffer or Uint8Array: the bytes
    for (const field of schema.fields) assert.deepEqual(plain(r[field.localName]), plain(g[field.localName]), `field ${field.name}`);
    assert.equal(r.id, 9007199254740993n);
    assert.deepEqual(r.sizes, [9007199254740993n, 0n, -1n]);
    assert.equal(r.views, 18446744073709551615n);
    assert.deepEqual(r.kinds, [1, 2, 1]);
    assert.equal(r.kind, 2);
    assert.equal(r.stock, 0); // proto3 optional: an explicit zero survives the query string
    assert.equal(r.enabled, false); // a wrapper at its default is still set
    const filter = r.filter as { tag: string; names: string[]; range: { low: bigint; high: number } };
    assert.deepEqual([filter.tag, filter.names, filter.range.low, filter.range.high], ['a b&c/ü+%', ['x', 'y z', ''], -9007199254740995n, -3]);
    const details = r.details as { labels: Record<string, string>; kindsById: Record<string, number>; parts: { name: string; size: bigint }[] };
    assert.deepEqual(details.labels, { color: 'red', 'with space': 'ü' });
    assert.deepEqual(details.kindsById, { '9007199254740997': 2, '-1': 1 });
    assert.equal(details.parts[0]!.size, 18446744073709551615n);
    // proto3 JSON as @bufbuild/protobuf writes it: int64 as strings, enums by name, defaults left out.
    assert.equal(restText, JSON.stringify(jsonOf(call.output, grpc, api.registry)));
    assert.match(restText, /"id":"9007199254740993"/);
    assert.ok(!restText.includes('"ratio":0,') && !restText.includes('"size":"0"'), restText);
  });

  test('body "*" and a GET with response_body rebuild the same message', async () => {
    const put = await echoBoth('echo-put');
    assert.equal(put.call.requests[0]!.restPath, '/v1/shelves/7/records/9007199254740993');
    const rebuilt = fromJson(put.call.input, put.rest, { registry: api.registry });
    assert.ok(equals(put.call.input, rebuilt, put.grpc) && equals(put.call.input, put.grpc, put.sent));

    const get = await echoBoth('echo-get');
    assert.equal(get.call.requests[0]!.restBody, null);
    assert.ok(equals(get.call.input, get.grpc, get.sent));
    // The REST answer is the response_body field alone: the filter, rebuilt from filter.* parameters.
    assert.deepEqual(get.rest, { tag: 't', range: { low: '1', high: 2 }, names: ['a', 'b'] });
    assert.deepEqual(get.rest, jsonOf(get.call.output, get.grpc, api.registry).filter);
  });

  test('a multi-segment variable keeps its slashes, a single-segment one carries them escaped', async () => {
    const many = await echoBoth('Find');
    assert.equal(many.call.requests[0]!.restPath, '/v1/a/b%20c/%C3%BC%252F:find');
    const one = await echoBoth('find-escaped');
    assert.equal(one.call.requests[0]!.restPath, '/v2/paths/a%2Fb%20c%2F%C3%BC%252F');
    for (const { rest, grpc } of [many, one]) {
      assert.deepEqual(rest, { name: 'a/b c/ü%2F' });
      assert.deepEqual(jsonOf(many.call.output, grpc, api.registry), { name: 'a/b c/ü%2F' });
    }
  });

  test('an error in the card: the gRPC status, and on REST its HTTP status with grpc-gateway\'s body', async () => {
    const call = callNamed('Fail');
    const request = call.requests[0]!;
    const g = await grpcCall(grpcServer.address, call, request.protobuf);
    assert.deepEqual([g.code, g.details], [grpc.status.NOT_FOUND, 'no such record']);
    const r = await restCall(restServer.address, call.rest.verb, request.restPath, request.restBody);
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.text), { code: 5, message: 'no such record' });
  });

  test('no route is 404, another verb 405, a bad value 400, each with a status body', async () => {
    const none = await restCall(restServer.address, 'GET', '/v1/nothing/here', null);
    assert.equal(none.status, 404);
    assert.equal((JSON.parse(none.text) as { code: number }).code, 5);
    const verb = await restCall(restServer.address, 'PATCH', '/v1/shelves/7/records/1', null);
    assert.equal(verb.status, 405);
    assert.equal(verb.headers.allow, 'PUT, GET');
    const bad = await restCall(restServer.address, 'GET', '/v1/shelves/7/records/not-a-number', null);
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.text) as { code: number }).code, 3);
    const badQuery = await restCall(restServer.address, 'GET', '/v1/shelves/7/records/1?stock=many', null);
    assert.equal(badQuery.status, 400);
    const badBody = await restCall(restServer.address, 'PUT', '/v1/shelves/7/records/1', Buffer.from('{"id":'));
    assert.equal(badBody.status, 400);
    // A parameter that names no field is ignored, as grpc-gateway ignores it.
    const unknown = await restCall(restServer.address, 'GET', '/v1/shelves/7/records/1?nope=1&filter.nope=2', null);
    assert.equal(unknown.status, 200, unknown.text);
  });

  test('the bench\'s equivalence check passes against the generated pair', async () => {
    const difference = await checkEquivalence(card, { grpc: { host: '127.0.0.1', port: grpcServer.port }, rest: { url: restServer.address } });
    assert.equal(difference, null);
  });

  test('a response that is not the method\'s answer type is refused in one line naming the call', () => {
    assert.throws(
      () => loadGeneratedApi(path.join(REPO_ROOT, 'test', 'fixtures', 'api', 'echo-bad-response.yaml')),
      (error: Error) => /call Find: response is not a valid callbench\.test\.v1\.Path/.test(error.message) && !error.message.includes('\n'),
    );
  });
});
