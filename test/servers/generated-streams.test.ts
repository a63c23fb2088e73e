/**
 * A server stream on the servers generated from a card (servers/generated/): the notes card's
 * StreamNotes lists its 4 notes under `response: { stream: [...] }`, and both generated servers
 * answer that sequence, in order (gRPC messages; REST grpc-gateway's `{"result": ...}` lines), so the
 * bench's equivalence check passes message by message. A single message is sent STREAM_ANSWERS times;
 * a pair whose two sequences differ is caught at the message that differs; a list on a unary method,
 * an empty list and a list item of the wrong type are refused in one line naming the call.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, fromJson, toBinary, type JsonObject, type Message } from '@bufbuild/protobuf';
import { checkEquivalence, loadApiCard, type ApiCard, type PreparedCall } from '../../bench/api/index.ts';
import { loadGeneratedApi, STREAM_ANSWERS, type GeneratedApi } from '../../servers/generated/api.ts';
import { startGeneratedGrpcServer } from '../../servers/generated/grpc.ts';
import { startGeneratedRestServer } from '../../servers/generated/rest.ts';
import type { RunningServer } from '../../servers/server-options.ts';
import { tempDir } from '../helpers/bench.ts';
import { NOTES_CARD, NOTES_DIR } from '../helpers/notes-pair.ts';

/** The notes the Python pair streams for { parent: "users/1", filter: { titlePrefix: "Meeting" } }, in order. */
const STREAMED = ['users/1/notes/1', 'users/1/notes/6', 'users/1/notes/7', 'users/1/notes/12'];

/** Every message of one server stream, over grpc-js's generic client. */
function grpcStream(address: string, call: PreparedCall, bytes: Uint8Array): Promise<Message[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const stream = client.makeServerStreamRequest(call.grpcPath, (b: Buffer) => b, (b: Buffer) => fromBinary(call.output, b), Buffer.from(bytes));
  const messages: Message[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (message: Message) => messages.push(message));
    stream.on('error', (error) => {
      client.close();
      reject(error);
    });
    stream.on('end', () => {
      client.close();
      resolve(messages);
    });
  });
}

/** The REST answer of a server stream: its status and its NDJSON lines, parsed. */
function restStream(url: string, rawPath: string): Promise<{ status: number; type: string; lines: JsonObject[] }> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: base.hostname, port: base.port, method: 'GET', path: rawPath, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const lines = text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as JsonObject);
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), lines });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A card of the notes API with StreamNotes alone and the given `response:` lines (YAML, indented under the call). */
function streamNotesCard(response: string[], method = 'StreamNotes', request = '{ parent: "users/1", filter: { titlePrefix: "Meeting" } }'): string {
  const file = path.join(tempDir('callbench-stream-card-'), 'card.yaml');
  writeFileSync(
    file,
    [
      `proto: ${JSON.stringify(path.join(NOTES_DIR, 'protos', 'notes', 'v1', 'notes.proto'))}`,
      `importPaths: [${JSON.stringify(path.join(NOTES_DIR, 'protos'))}]`,
      'calls:',
      `  - method: notes.v1.Notes/${method}`,
      `    request: ${request}`,
      ...(response.length > 0 ? ['    response:', ...response.map((line) => `      ${line}`)] : []),
      '',
    ].join('\n'),
  );
  return file;
}

interface Pair {
  grpc: RunningServer;
  rest: RunningServer;
  close(): Promise<void>;
}

async function startPair(grpcApi: GeneratedApi, restApi: GeneratedApi = grpcApi): Promise<Pair> {
  const grpcServer = await startGeneratedGrpcServer(grpcApi, { host: '127.0.0.1', port: 0 });
  const restServer = await startGeneratedRestServer(restApi, { host: '127.0.0.1', port: 0 });
  return {
    grpc: grpcServer,
    rest: restServer,
    close: async () => {
      await Promise.all([grpcServer.close(0), restServer.close(0)]);
    },
  };
}

describe('a server stream on the servers generated from a card', () => {
  let api: GeneratedApi;
  let card: ApiCard;
  let pair: Pair;
  let call: PreparedCall;
  before(async () => {
    api = loadGeneratedApi(NOTES_CARD);
    card = await loadApiCard(NOTES_CARD);
    call = card.calls.find((c) => c.method === 'StreamNotes')!;
    pair = await startPair(api);
  });
  after(async () => {
    await pair?.close();
  });

  test('StreamNotes answers the card\'s listed notes, in order, on gRPC and on REST, message for message', async () => {
    const method = api.methods.get(call.grpcPath)!;
    assert.equal(method.stream?.length, 4, method.source);
    const request = call.requests[0]!;
    const grpcMessages = await grpcStream(pair.grpc.address, call, request.protobuf);
    assert.deepEqual(grpcMessages.map((m) => (m as unknown as { name: string }).name), STREAMED);
    const rest = await restStream(pair.rest.address, request.restPath);
    assert.equal(rest.status, 200);
    assert.match(rest.type, /^application\/json/);
    assert.deepEqual(rest.lines.map((line) => Object.keys(line)), STREAMED.map(() => ['result']), 'one {"result": <Note>} a line');
    assert.equal(rest.lines.length, grpcMessages.length);
    rest.lines.forEach((line, i) => {
      // The REST message parsed as proto3 JSON is the gRPC message, byte for byte once encoded.
      const parsed = fromJson(call.output, line.result as JsonObject, { registry: api.registry });
      assert.deepEqual(toBinary(call.output, parsed), toBinary(call.output, grpcMessages[i]!), `message ${i + 1}`);
      assert.deepEqual(toBinary(call.output, grpcMessages[i]!), toBinary(call.output, method.stream![i]!), `message ${i + 1} is the card's`);
    });
  });

  test('the bench\'s equivalence check passes on the whole notes card against the generated pair', async () => {
    const difference = await checkEquivalence(card, { grpc: { host: '127.0.0.1', port: pair.grpc.port }, rest: { url: pair.rest.address } });
    assert.equal(difference, null);
  });

  test('one message, not a list: the stream sends it STREAM_ANSWERS times', async () => {
    const file = streamNotesCard(['{ name: "users/1/notes/1", title: "Meeting notes 1" }']);
    const single = loadGeneratedApi(file);
    const singleCard = await loadApiCard(file);
    const singleCall = singleCard.calls[0]!;
    assert.equal(single.methods.get(singleCall.grpcPath)!.stream, null);
    const singlePair = await startPair(single);
    try {
      const messages = await grpcStream(singlePair.grpc.address, singleCall, singleCall.requests[0]!.protobuf);
      assert.equal(messages.length, STREAM_ANSWERS);
      assert.ok(messages.every((m) => (m as unknown as { title: string }).title === 'Meeting notes 1'));
      const rest = await restStream(singlePair.rest.address, singleCall.requests[0]!.restPath);
      assert.equal(rest.lines.length, STREAM_ANSWERS);
    } finally {
      await singlePair.close();
    }
  });

  test('two sequences that differ are caught at the message that differs', async () => {
    const notes = ['  - { name: "users/1/notes/1", title: "one" }', '  - { name: "users/1/notes/2", title: "two" }'];
    const forward = loadGeneratedApi(streamNotesCard(['stream:', ...notes]));
    const reversedFile = streamNotesCard(['stream:', ...[...notes].reverse()]);
    const reversed = loadGeneratedApi(reversedFile);
    const mixed = await startPair(forward, reversed);
    try {
      const difference = await checkEquivalence(await loadApiCard(reversedFile), { grpc: { host: '127.0.0.1', port: mixed.grpc.port }, rest: { url: mixed.rest.address } });
      assert.ok(difference !== null, 'a different order is a difference');
      assert.match(difference, /StreamNotes/);
      assert.ok(!difference.includes('\n'), difference);
    } finally {
      await mixed.close();
    }
  });

  test('a list on a unary method, an empty list and a list item of the wrong type are refused in one line', () => {
    const refused: Array<[string, RegExp]> = [
      [streamNotesCard(['stream: [{ name: "users/1/notes/1" }]'], 'GetNote', '{ name: "users/1/notes/1" }'), /call GetNote: response: \{ stream: \[\.\.\.\] \} lists a server stream's messages, and notes\.v1\.Notes\/GetNote is a unary method/],
      [streamNotesCard(['stream: []']), /call StreamNotes: response: \{ stream: \[\] \} lists no message/],
      [streamNotesCard(['stream: [{ name: "users/1/notes/1" }, { nope: 1 }]']), /call StreamNotes: response stream\[1\] is not a valid notes\.v1\.Note/],
      [streamNotesCard(['stream: [{ name: "users/1/notes/1" }, 7]']), /call StreamNotes: response stream\[1\] must be a notes\.v1\.Note in proto3 JSON/],
    ];
    for (const [file, expected] of refused) {
      assert.throws(() => loadGeneratedApi(file), (error: Error) => expected.test(error.message) && !error.message.includes('\n'), String(expected));
    }
  });
});
