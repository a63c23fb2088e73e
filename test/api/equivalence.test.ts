/**
 * The equivalence check (bench/api/equivalence.ts) against two small servers of the fixture shop
 * API on real sockets: gRPC on node:http2 (h2c) and REST on node:http, both answering from one store.
 * A planted difference on one side must come back as one line naming the call, the field path and
 * both values; a status that does not map must be caught too.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { create, fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonObject, type Message } from '@bufbuild/protobuf';
import { checkEquivalence, loadApiCard, writingCallsWarning, type ApiCard } from '../../bench/api/index.ts';
import { shopCard, tempDir } from './helpers.ts';

const tmp = tempDir();
const S = 'callbench.test.v1.Shop';
const calls = {
  get: { method: `${S}/GetItem`, request: { name: 'shops/1/items/1' } },
  list: { method: `${S}/ListItems`, request: { parent: 'shops/1' } },
  create: { method: `${S}/CreateItem`, name: 'create-item', request: { parent: 'shops/1', item: { title: 'new' }, itemId: 'n{{i}}' }, pool: 2, ignore: ['update_time'] },
  price: { method: `${S}/GetPrice`, request: { name: 'shops/1/items/1' } },
  watch: { method: `${S}/WatchItems`, request: { parent: 'shops/1' } },
  missing: { method: `${S}/GetItem`, name: 'get-missing', request: { name: 'shops/1/items/404' } },
};

/** What one side does differently, planted per test. */
interface Plants {
  restPriceMicros?: string;
  restSecondTitle?: string;
  restNotFoundStatus?: number;
  restPriceBody?: string;
}
let plants: Plants = {};
const seenAuthorization: string[] = [];

// ---- the shop, one store for both servers ----------------------------------------------------------

let card: ApiCard; // the card's registry gives the servers their message types
const type = (name: string): DescMessage => card.registry.getMessage(`callbench.test.v1.${name}`)!;
const store: JsonObject[] = [
  { name: 'shops/1/items/1', title: 'one', priceMicros: '120', kind: 'BOOK', labels: { a: 'b' }, score: 'NaN' },
  { name: 'shops/1/items/2', title: 'two', priceMicros: '9007199254740993', tags: ['x', 'y'], stock: 0 },
];
type Answer = { code: number; message?: string; items: Message[] };

function shop(method: string, request: JsonObject, protocol: 'grpc' | 'rest'): Answer {
  const item = (json: JsonObject) => fromJson(type('Item'), json);
  switch (method) {
    case 'GetItem':
    case 'GetPrice': {
      const found = store.find((i) => i.name === request.name);
      return found ? { code: 0, items: [item(found)] } : { code: 5, message: `no item ${request.name}`, items: [] };
    }
    case 'ListItems':
    case 'WatchItems':
      return { code: 0, items: store.map(item) };
    case 'CreateItem': {
      // Each protocol stamps its own time: the difference `ignore: [update_time]` is there for.
      const stamp = protocol === 'grpc' ? '2024-01-01T00:00:00Z' : '2024-01-01T00:00:01Z';
      return { code: 0, items: [item({ ...(request.item as JsonObject), name: `${request.parent}/items/${request.itemId}`, updateTime: stamp })] };
    }
  }
  return { code: 12, message: 'unimplemented', items: [] };
}

// ---- gRPC: node:http2, h2c -------------------------------------------------------------------------

const grpcServer = http2.createServer();
grpcServer.on('stream', (stream, headers) => {
  const method = String(headers[':path']).split('/').pop()!;
  seenAuthorization.push(`grpc ${headers.authorization}`);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    const m = card.calls.find((c) => c.method === method)!;
    const request = toJson(m.input, fromBinary(m.input, Buffer.concat(chunks).subarray(5))) as JsonObject;
    const answer = shop(method, request, 'grpc');
    if (answer.code !== 0) {
      // Trailers-only, as gRPC servers answer an error.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(answer.code), 'grpc-message': encodeURIComponent(answer.message!) }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const list = method === 'ListItems' ? [create(type('ListItemsResponse'), { items: answer.items as never })] : answer.items;
    for (const msg of list) {
      const bytes = toBinary(m.output, msg);
      const frame = Buffer.alloc(5 + bytes.length);
      frame.writeUInt32BE(bytes.length, 1);
      frame.set(bytes, 5);
      stream.write(frame);
    }
    stream.end();
  });
});

// ---- REST: node:http -------------------------------------------------------------------------------

const restServer = http.createServer((req, res) => {
  seenAuthorization.push(`rest ${req.headers.authorization}`);
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = new URL(req.url!, 'http://x');
    const p = decodeURIComponent(url.pathname);
    const send = (status: number, body: string) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    const json = (msg: Message) => toJson(type('Item'), msg) as JsonObject;
    let match: RegExpMatchArray | null;
    if (req.method === 'GET' && (match = p.match(/^\/v1\/(shops\/[^/]+\/items\/[^/:]+)(:price)?$/))) {
      const answer = shop(match[2] ? 'GetPrice' : 'GetItem', { name: match[1]! }, 'rest');
      if (answer.code !== 0) return send(plants.restNotFoundStatus ?? 404, JSON.stringify({ error: { code: 404, message: answer.message } }));
      const item = json(answer.items[0]!);
      if (match[2]) return send(200, plants.restPriceBody ?? JSON.stringify(item.priceMicros));
      if (plants.restPriceMicros) item.priceMicros = plants.restPriceMicros;
      return send(200, JSON.stringify(item));
    }
    if (req.method === 'GET' && (match = p.match(/^\/v1\/(shops\/[^/]+)\/items(:watch)?$/))) {
      const items = shop('ListItems', { parent: match[1]! }, 'rest').items.map(json);
      if (plants.restSecondTitle) items[1]!.title = plants.restSecondTitle;
      // A server stream as newline-delimited {"result": ...}, as grpc-gateway writes it.
      if (match[2]) return send(200, items.map((i) => JSON.stringify({ result: i })).join('\n') + '\n');
      return send(200, JSON.stringify({ items }));
    }
    if (req.method === 'POST' && (match = p.match(/^\/v1\/(shops\/[^/]+)\/items$/))) {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as JsonObject;
      const answer = shop('CreateItem', { parent: match[1]!, item: body, itemId: url.searchParams.get('itemId') }, 'rest');
      return send(200, JSON.stringify(json(answer.items[0]!)));
    }
    send(404, '{}');
  });
});

let targets: Parameters<typeof checkEquivalence>[1];
before(async () => {
  await new Promise<void>((r) => grpcServer.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => restServer.listen(0, '127.0.0.1', r));
  targets = {
    grpc: { host: '127.0.0.1', port: (grpcServer.address() as AddressInfo).port },
    rest: { url: `http://127.0.0.1:${(restServer.address() as AddressInfo).port}` },
  };
});
after(async () => {
  await new Promise((r) => grpcServer.close(r));
  await new Promise((r) => restServer.close(r));
  tmp.remove();
});
beforeEach(() => { plants = {}; });

let cardNo = 0;
async function loadCard(list: object[]): Promise<ApiCard> {
  card = await loadApiCard(tmp.write(`eq${cardNo++}.json`, shopCard(list as never, { metadata: { Authorization: 'Bearer t0k' } })));
  return card;
}

describe('checkEquivalence', () => {
  it('servers that agree pass: unary, a list, a write with an ignored field, response_body, a server stream, an agreeing error', async () => {
    const c = await loadCard([calls.get, calls.list, calls.create, calls.price, calls.watch, calls.missing]);
    seenAuthorization.length = 0;
    assert.equal(await checkEquivalence(c, targets), null);
    assert.equal(seenAuthorization.length, 12, 'one call per protocol per call');
    assert.deepEqual(new Set(seenAuthorization), new Set(['grpc Bearer t0k', 'rest Bearer t0k']), 'the card\'s metadata goes on every call');
  });

  it('a field one server answers differently is named with both values', async () => {
    const c = await loadCard([calls.list, calls.get]);
    plants.restPriceMicros = '121';
    assert.equal(await checkEquivalence(c, targets),
      `api card ${c.file}: call GetItem (${S}/GetItem): field priceMicros differs: gRPC "120", REST "121"`);
  });

  it('a nested difference is named by its path', async () => {
    const c = await loadCard([calls.list]);
    plants.restSecondTitle = 'TWO';
    assert.equal(await checkEquivalence(c, targets),
      `api card ${c.file}: call ListItems (${S}/ListItems): field items[1].title differs: gRPC "two", REST "TWO"`);
  });

  it('a field left out by one side (the default) against a value', async () => {
    const c = await loadCard([{ ...calls.create, ignore: [] }]);
    const line = await checkEquivalence(c, targets);
    assert.equal(line, `api card ${c.file}: call create-item (${S}/CreateItem): field updateTime differs: gRPC "2024-01-01T00:00:00Z", REST "2024-01-01T00:00:01Z"`);
  });

  it('response_body: the REST body is the one field', async () => {
    const c = await loadCard([calls.price]);
    plants.restPriceBody = '"999"';
    assert.match((await checkEquivalence(c, targets))!, /call GetPrice \(.*\/GetPrice\): field priceMicros differs: gRPC "120", REST "999"$/);
  });

  it('a server stream compares message by message', async () => {
    const c = await loadCard([calls.watch]);
    plants.restSecondTitle = 'TWO';
    assert.match((await checkEquivalence(c, targets))!, /call WatchItems \(.*\): message 1: field title differs: gRPC "two", REST "TWO"$/);
  });

  it('an error status that does not map is caught', async () => {
    const c = await loadCard([calls.missing]);
    plants.restNotFoundStatus = 400;
    assert.equal(await checkEquivalence(c, targets),
      `api card ${c.file}: call get-missing (${S}/GetItem): gRPC answered NOT_FOUND (5) "no item shops/1/items/404", which maps to HTTP 404, but REST answered HTTP 400`);
  });

  it('a server that cannot be reached is one line too', async () => {
    const c = await loadCard([calls.get]);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const line = await checkEquivalence(c, { ...targets, grpc: { host: '127.0.0.1', port } });
    assert.match(line!, /call GetItem \(.*\): the gRPC call failed: .*ECONNREFUSED/);
  });

  it('warns in one line about calls that are not GETs', async () => {
    const c = await loadCard([calls.get, calls.create]);
    assert.equal(writingCallsWarning(c), `api card ${c.file}: create-item (POST) is not a GET: the bench sends it at full load, and your server will apply every one`);
    assert.equal(writingCallsWarning(await loadCard([calls.get])), null);
  });
});
