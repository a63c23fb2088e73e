/**
 * The example notes API (examples/notes/) end to end over real sockets: every
 * method on both protocols, gRPC through @grpc/grpc-js and REST through fetch
 * with requests written by hand from each method's `google.api.http` rule.
 *
 * Both answers are read by one conformant proto3 runtime (@bufbuild/protobuf,
 * from the descriptor set protoc writes next to the stubs): the gRPC answer's
 * bytes with fromBinary, the REST body with fromJson, and the two messages
 * must be equal field by field (`equals`), apart from the times a write
 * stamps from the server's clock. The REST body must also be canonical proto3
 * JSON (what toJson writes back for it: lowerCamelCase, defaults left out,
 * int64 as strings). Errors must carry the same code and message on both. The
 * REST server's own byte counts (rest_server.py --stats) must grow by exactly
 * the bytes a raw client wrote and read.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  clearField,
  createFileRegistry,
  equals,
  fromBinary,
  fromJson,
  isFieldSet,
  toBinary,
  toJson,
  type DescMessage,
  type DescMethod,
  type DescService,
  type JsonObject,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml } from 'yaml';
import { NOTES_CARD, NOTES_DIR, notesPairMissing, startNotesPair, type NotesPair, type RestStats } from '../helpers/notes-pair.ts';

/** One call, as the gRPC request in proto3 JSON and as the REST request its annotation maps it to. */
interface Call {
  label: string;
  method: string;
  request: JsonObject;
  rest: { method: string; path: string; body?: JsonObject };
  /** Answer fields (JSON names) set from the server's clock: present on both, not compared. */
  ignore?: string[];
}

const NOTE_FOR_CREATE = { title: 'note 0', body: 'Created by the bench.', tags: ['bench'], labels: { source: 'callbench' } };

// The card's calls first (the card test checks they are here), then more of each mapping.
const CALLS: Call[] = [
  { label: 'GetNote', method: 'GetNote', request: { name: 'users/1/notes/7' }, rest: { method: 'GET', path: '/v1/users/1/notes/7' } },
  {
    label: 'ListNotes with query parameters: pageSize, a repeated enum, a nested int64 above 2^53',
    method: 'ListNotes',
    request: { parent: 'users/1', pageSize: 4, states: ['STATE_DRAFT', 'STATE_PUBLISHED'], filter: { minId: '9007199254741994' } },
    rest: { method: 'GET', path: '/v1/users/1/notes?pageSize=4&states=STATE_DRAFT&states=STATE_PUBLISHED&filter.minId=9007199254741994' },
  },
  {
    label: 'CreateNote with the note as the body',
    method: 'CreateNote',
    request: { parent: 'users/1', note: NOTE_FOR_CREATE },
    rest: { method: 'POST', path: '/v1/users/1/notes', body: NOTE_FOR_CREATE },
    ignore: ['createTime', 'updateTime'],
  },
  {
    label: 'UpdateNote with every other field as the body',
    method: 'UpdateNote',
    request: { name: 'users/1/notes/3', title: 'Renamed', state: 'STATE_ARCHIVED', labels: { reviewed: 'yes' } },
    rest: { method: 'PATCH', path: '/v1/users/1/notes/3', body: { title: 'Renamed', state: 'STATE_ARCHIVED', labels: { reviewed: 'yes' } } },
    ignore: ['updateTime'],
  },
  { label: 'DeleteNote answers Empty', method: 'DeleteNote', request: { name: 'users/2/notes/1' }, rest: { method: 'DELETE', path: '/v1/users/2/notes/1' } },
  { label: 'GetNote of a note without author, body or labels', method: 'GetNote', request: { name: 'users/1/notes/10' }, rest: { method: 'GET', path: '/v1/users/1/notes/10' } },
  { label: 'GetNote of a short note', method: 'GetNote', request: { name: 'users/2/notes/2' }, rest: { method: 'GET', path: '/v1/users/2/notes/2' } },
  {
    label: 'ListNotes, second page, by proto field names and an enum number',
    method: 'ListNotes',
    request: { parent: 'users/1', pageSize: 4, pageToken: '4', states: ['STATE_DRAFT', 'STATE_PUBLISHED'], filter: { minId: '9007199254741994' } },
    rest: { method: 'GET', path: '/v1/users/1/notes?page_size=4&page_token=4&states=STATE_DRAFT&states=2&filter.min_id=9007199254741994' },
  },
  {
    label: 'ListNotes with filter.tag and filter.titlePrefix (escaped)',
    method: 'ListNotes',
    request: { parent: 'users/1', filter: { tag: 'work', titlePrefix: 'Café ☕' } },
    rest: { method: 'GET', path: `/v1/users/1/notes?filter.tag=work&filter.titlePrefix=${encodeURIComponent('Café ☕')}` },
  },
  { label: 'ListNotes of a user without notes', method: 'ListNotes', request: { parent: 'users/3' }, rest: { method: 'GET', path: '/v1/users/3/notes' } },
  {
    label: 'CreateNote with noteId from the query',
    method: 'CreateNote',
    request: { parent: 'users/2', noteId: 'groceries', note: { title: 'Groceries', state: 'STATE_PUBLISHED', pinned: true } },
    rest: { method: 'POST', path: '/v1/users/2/notes?noteId=groceries', body: { title: 'Groceries', state: 'STATE_PUBLISHED', pinned: true } },
    ignore: ['createTime', 'updateTime'],
  },
  {
    label: 'UpdateNote setting an optional bool to false',
    method: 'UpdateNote',
    request: { name: 'users/1/notes/4', pinned: false },
    rest: { method: 'PATCH', path: '/v1/users/1/notes/4', body: { pinned: false } },
    ignore: ['updateTime'],
  },
];

const STREAM: Call = {
  label: 'StreamNotes',
  method: 'StreamNotes',
  request: { parent: 'users/1', filter: { titlePrefix: 'Meeting' } },
  rest: { method: 'GET', path: '/v1/users/1/notes:stream?filter.titlePrefix=Meeting' },
};

/** Failing calls: the same gRPC code and message on both, and the HTTP status grpc-gateway maps the code to. */
const ERRORS: (Call & { code: grpc.status; http: number })[] = [
  { label: 'GetNote of an unknown note', method: 'GetNote', request: { name: 'users/1/notes/999' }, rest: { method: 'GET', path: '/v1/users/1/notes/999' }, code: grpc.status.NOT_FOUND, http: 404 },
  { label: 'DeleteNote of an unknown note', method: 'DeleteNote', request: { name: 'users/2/notes/9' }, rest: { method: 'DELETE', path: '/v1/users/2/notes/9' }, code: grpc.status.NOT_FOUND, http: 404 },
  { label: 'ListNotes of an unknown user', method: 'ListNotes', request: { parent: 'users/99' }, rest: { method: 'GET', path: '/v1/users/99/notes' }, code: grpc.status.NOT_FOUND, http: 404 },
  {
    label: 'CreateNote without a title',
    method: 'CreateNote',
    request: { parent: 'users/1', note: { body: 'no title' } },
    rest: { method: 'POST', path: '/v1/users/1/notes', body: { body: 'no title' } },
    code: grpc.status.INVALID_ARGUMENT,
    http: 400,
  },
  { label: 'StreamNotes of an unknown user', method: 'StreamNotes', request: { parent: 'users/99' }, rest: { method: 'GET', path: '/v1/users/99/notes:stream' }, code: grpc.status.NOT_FOUND, http: 404 },
];

const missing = notesPairMissing();

describe('the notes example: a grpcio server and an http.server REST server answer alike', { skip: missing ?? false }, () => {
  let pair: NotesPair;
  let service: DescService;
  let client: grpc.Client;
  before(async () => {
    pair = await startNotesPair();
    const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(pair.descriptorSetPath)));
    service = registry.getService('notes.v1.Notes')!;
    client = new grpc.Client(pair.grpcTarget, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await pair?.stop();
  });

  const methodOf = (name: string): DescMethod => {
    const method = service.methods.find((m) => m.name === name);
    assert.ok(method, `no method ${name} in notes.v1.Notes`);
    return method;
  };

  const grpcPath = (method: DescMethod): string => `/${service.typeName}/${method.name}`;
  const serialize = (method: DescMethod) => (message: Message) => Buffer.from(toBinary(method.input, message));
  const deserialize = (method: DescMethod) => (bytes: Buffer) => fromBinary(method.output, bytes);

  function grpcUnary(call: Call): Promise<Message> {
    const method = methodOf(call.method);
    const request = fromJson(method.input, call.request);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(grpcPath(method), serialize(method), deserialize(method), request, (error, answer) => (error ? reject(error) : resolve(answer!)));
    });
  }

  function grpcStream(call: Call): Promise<Message[]> {
    const method = methodOf(call.method);
    const stream = client.makeServerStreamRequest(grpcPath(method), serialize(method), deserialize(method), fromJson(method.input, call.request));
    const messages: Message[] = [];
    return new Promise((resolve, reject) => {
      stream.on('data', (message: Message) => messages.push(message));
      stream.on('error', reject);
      stream.on('end', () => resolve(messages));
    });
  }

  async function restCall(call: Call): Promise<{ status: number; contentType: string | null; text: string }> {
    const init: RequestInit = { method: call.rest.method };
    if (call.rest.body) {
      init.body = JSON.stringify(call.rest.body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await fetch(pair.restTarget + call.rest.path, init);
    return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
  }

  /** The REST body as a message, after checking it is canonical proto3 JSON. */
  function parseRest(schema: DescMessage, json: JsonValue, label: string): Message {
    const message = fromJson(schema, json);
    assert.deepEqual(json, toJson(schema, message), `${label}: the REST body is proto3 JSON as a conformant runtime writes it`);
    return message;
  }

  function assertSame(schema: DescMessage, fromGrpc: Message, fromRest: Message, call: Call): void {
    for (const name of call.ignore ?? []) {
      const field = schema.fields.find((f) => f.jsonName === name);
      assert.ok(field, `${call.label}: no field ${name} in ${schema.typeName}`);
      for (const [protocol, message] of [['gRPC', fromGrpc], ['REST', fromRest]] as const) {
        assert.ok(isFieldSet(message, field), `${call.label}: ${protocol} answer sets ${name}`);
        clearField(message, field);
      }
    }
    const shown = (message: Message) => JSON.stringify(toJson(schema, message));
    assert.ok(equals(schema, fromGrpc, fromRest), `${call.label}: gRPC answered ${shown(fromGrpc)}\nREST answered ${shown(fromRest)}`);
  }

  for (const call of CALLS) {
    test(`${call.label}: the REST answer parsed as proto3 JSON equals the gRPC answer`, async () => {
      const method = methodOf(call.method);
      const [fromGrpc, rest] = await Promise.all([grpcUnary(call), restCall(call)]);
      assert.equal(rest.status, 200, rest.text);
      assert.equal(rest.contentType, 'application/json');
      assertSame(method.output, fromGrpc, parseRest(method.output, JSON.parse(rest.text) as JsonValue, call.label), call);
    });
  }

  test('the answers mean what the API says (not only alike): int64 above 2^53, defaults left out, writes not stored', async () => {
    const note = JSON.parse((await restCall(CALLS[0]!)).text) as JsonObject;
    assert.equal(note.id, '9007199254741999'); // a string: 2^53 + 1007 has no exact double
    assert.notEqual(String(Number(note.id)), note.id);
    const unpinned = JSON.parse((await restCall(CALLS.find((c) => c.label.includes('optional bool'))!)).text) as JsonObject;
    assert.equal(unpinned.pinned, undefined, 'pinned: false is a default, left out');
    const list = JSON.parse((await restCall(CALLS[1]!)).text) as { notes: JsonObject[]; nextPageToken: string; totalSize: number };
    assert.deepEqual(list.notes.map((n) => n.name), ['users/1/notes/4', 'users/1/notes/5', 'users/1/notes/8', 'users/1/notes/9']);
    assert.equal(list.nextPageToken, '4');
    assert.equal(list.totalSize, 5);
    // DeleteNote and UpdateNote changed nothing: the seeded notes read the same afterwards.
    const deleted = await restCall({ label: 'get', method: 'GetNote', request: {}, rest: { method: 'GET', path: '/v1/users/2/notes/1' } });
    assert.equal(deleted.status, 200);
    const updated = JSON.parse((await restCall({ label: 'get', method: 'GetNote', request: {}, rest: { method: 'GET', path: '/v1/users/1/notes/3' } })).text) as JsonObject;
    assert.equal(updated.title, 'Reading list 3');
  });

  test('StreamNotes: the same notes in the same order, NDJSON lines of {"result": <Note>} over REST', async () => {
    const method = methodOf(STREAM.method);
    const [fromGrpc, rest] = await Promise.all([grpcStream(STREAM), restCall(STREAM)]);
    assert.equal(rest.status, 200, rest.text);
    assert.ok(rest.text.endsWith('\n'), 'every line ends with a newline');
    const lines = rest.text.split('\n').slice(0, -1);
    const fromRest = lines.map((line, i) => {
      const frame = JSON.parse(line) as JsonObject;
      assert.deepEqual(Object.keys(frame), ['result'], `line ${i + 1}: ${line}`);
      return parseRest(method.output, frame.result!, `${STREAM.label} line ${i + 1}`);
    });
    assert.equal(fromGrpc.length, 4);
    assert.equal(fromRest.length, fromGrpc.length);
    fromGrpc.forEach((message, i) => assertSame(method.output, message, fromRest[i]!, { ...STREAM, label: `${STREAM.label} message ${i + 1}` }));
  });

  for (const call of ERRORS) {
    test(`${call.label}: gRPC ${grpc.status[call.code]} and HTTP ${call.http} with the same code and message`, async () => {
      const grpcCall = call.method === 'StreamNotes' ? grpcStream(call) : grpcUnary(call);
      const [grpcError, rest] = await Promise.all([grpcCall.then(() => assert.fail('gRPC call succeeded'), (error: grpc.ServiceError) => error), restCall(call)]);
      assert.equal(grpcError.code, call.code, grpcError.message);
      assert.equal(rest.status, call.http, rest.text);
      assert.equal(rest.contentType, 'application/json');
      assert.deepEqual(JSON.parse(rest.text), { code: call.code, message: grpcError.details });
    });
  }

  test('card.yaml names every method once, with requests and ignored fields the schema knows, and its calls are tested here', () => {
    const card = parseYaml(readFileSync(NOTES_CARD, 'utf8')) as {
      proto: string;
      importPaths: string[];
      calls: { method: string; request: JsonObject | JsonObject[]; ignore?: string[]; pool?: number }[];
    };
    assert.equal(path.resolve(NOTES_DIR, card.proto), path.join(NOTES_DIR, 'protos', 'notes', 'v1', 'notes.proto'));
    assert.deepEqual(card.importPaths, ['protos']);
    assert.deepEqual(card.calls.map((c) => c.method).sort(), service.methods.map((m) => `${service.typeName}/${m.name}`).sort());
    for (const entry of card.calls) {
      const method = methodOf(entry.method.split('/')[1]!);
      for (const name of entry.ignore ?? []) assert.ok(method.output.fields.some((f) => f.jsonName === name), `${entry.method}: ignore ${name}`);
      for (const template of Array.isArray(entry.request) ? entry.request : [entry.request]) {
        const request = JSON.parse(JSON.stringify(template).replaceAll('{{i}}', '0')) as JsonObject;
        fromJson(method.input, request); // throws on a field or value the request type does not have
        const tested = [...CALLS, STREAM].find((c) => c.method === method.name && JSON.stringify(c.request) === JSON.stringify(request));
        assert.ok(tested, `${entry.method}: the card's request ${JSON.stringify(request)} is one this test sends`);
        assert.deepEqual(entry.ignore ?? [], tested.ignore ?? []);
      }
    }
  });

  test("the REST server's byte counts grow by exactly the bytes a client wrote and read (4 pipelined requests, headers included)", async () => {
    const before = await pair.readRestStats();
    const { hostname, port } = new URL(pair.restTarget);
    const host = `Host: ${hostname}:${port}\r\n`;
    const body = JSON.stringify({ title: 'counted' });
    const request = Buffer.from(
      `GET /v1/users/1/notes/7 HTTP/1.1\r\n${host}\r\n` +
        `POST /v1/users/1/notes HTTP/1.1\r\n${host}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}` +
        `GET /v1/users/1/notes/999 HTTP/1.1\r\n${host}\r\n` +
        `GET /v1/users/1/notes:stream?filter.titlePrefix=Meeting HTTP/1.1\r\n${host}connection: close\r\n\r\n`,
    );
    const answer = await exchange(Number(port), request);
    const after = await pair.readRestStats();
    // Status lines (a body does not end with a newline: the next answer follows it on the same line).
    const statuses = [...answer.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) [A-Za-z ]+\r\n/g)].map((match) => Number(match[1]));
    assert.deepEqual(statuses, [200, 200, 404, 200]);
    assert.deepEqual(difference(after, before), { received: request.length, sent: answer.length, connections: 1, requests: 4 });
  });

  test('the REST server writes its last counts as it exits', async () => {
    const last = await pair.readRestStats();
    const final = await pair.stop();
    assert.deepEqual(final, last); // nothing moved since: the idle fetch connections send nothing
  });
});

function difference(after: RestStats, before: RestStats): RestStats {
  return { received: after.received - before.received, sent: after.sent - before.sent, connections: after.connections - before.connections, requests: after.requests - before.requests };
}

/** Writes `request` on a new connection and resolves with every byte read until the server closes it. */
function exchange(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
