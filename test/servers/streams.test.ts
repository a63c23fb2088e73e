/**
 * Stream conformance: one table of streams, run over real sockets on every
 * transport that serves the method, with raw clients (hand-framed HTTP/2 for
 * gRPC, hand-chunked HTTP/1.1 for NDJSON and SSE, ws for WebSocket). Every
 * transport must give the same totals in the same order, and the same error
 * code and text; then each transport's own shape of that error, and the limits.
 */
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { LIMITS, type StreamOperation } from '../../servers/calculator.ts';
import { TOO_LARGE_MESSAGE } from '../../servers/grpc-status.ts';
import { STREAM_METHOD_NAMES } from '../../servers/proto.ts';
import { connectH2, rawHttp, startServers, type Servers } from '../helpers/servers.ts';
import {
  grpcPrefixSums,
  grpcRawStream,
  http1RawStream,
  webSocketStream,
  type Message,
  type RawStream,
  type StreamEnd,
} from '../helpers/stream-clients.ts';

type Transport = 'grpc' | 'ndjson' | 'websocket';
type Expected = { values: number[]; error?: { code: string; message: string } };

const TRANSPORTS: Record<'running-sum' | 'sum-stream', Transport[]> = {
  'running-sum': ['grpc', 'ndjson', 'websocket'],
  'sum-stream': ['grpc', 'ndjson'],
};

const required: Expected['error'] = { code: 'INVALID_ARGUMENT', message: 'field "value" is required' };
const notFinite: Expected['error'] = { code: 'INVALID_ARGUMENT', message: 'field "value" must be a finite number' };
const OVERFLOW: Expected['error'] = { code: 'OUT_OF_RANGE', message: 'result is outside the range of a double (overflow)' };
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
const prefix = (values: number[]): number[] => values.map((_, i) => values.slice(0, i + 1).reduce((a, b) => a + b, 0));

const CASES: Array<{ name: string; op: 'running-sum' | 'sum-stream'; messages: Message[]; expect: Expected }> = [
  { name: 'running totals 1 2 3', op: 'running-sum', messages: [1, 2, 3], expect: { values: [1, 3, 6] } },
  { name: 'fractions keep double arithmetic', op: 'running-sum', messages: [0.1, 0.2], expect: { values: [0.1, 0.30000000000000004] } },
  { name: 'negatives and zero', op: 'running-sum', messages: [-7.5, 0, 2.25], expect: { values: [-7.5, -7.5, -5.25] } },
  { name: '1,000 values in order', op: 'running-sum', messages: range(1_000), expect: { values: prefix(range(1_000)) } },
  { name: 'an empty stream has no answers and no error', op: 'running-sum', messages: [], expect: { values: [] } },
  { name: 'a missing value ends the stream after the totals before it', op: 'running-sum', messages: [1, { missing: true }, 3], expect: { values: [1], error: required } },
  { name: 'Infinity (JSON: 1e999) ends the stream', op: 'running-sum', messages: [1, 2, Infinity, 4], expect: { values: [1, 3], error: notFinite } },
  { name: 'a running total that overflows ends the stream', op: 'running-sum', messages: [1e308, 1e308, 1], expect: { values: [1e308], error: OVERFLOW } },
  { name: 'sum-stream total', op: 'sum-stream', messages: [1, 2, 3.5], expect: { values: [6.5] } },
  { name: 'sum-stream of 10,000 values', op: 'sum-stream', messages: range(10_000), expect: { values: [50_005_000] } },
  { name: 'sum-stream of nothing is an error, as sum of nothing is', op: 'sum-stream', messages: [], expect: { values: [], error: { code: 'INVALID_ARGUMENT', message: 'stream must carry at least 1 number' } } },
  { name: 'sum-stream with a missing value', op: 'sum-stream', messages: [1, { missing: true }], expect: { values: [], error: required } },
  { name: 'sum-stream with -Infinity', op: 'sum-stream', messages: [-Infinity], expect: { values: [], error: notFinite } },
  { name: 'sum-stream overflow', op: 'sum-stream', messages: [1e308, 1e308], expect: { values: [], error: OVERFLOW } },
];

const PREFIX_CASES: Array<{ name: string; values: number[]; restBody?: string; expect: Expected }> = [
  { name: 'prefix sums 1 2 3', values: [1, 2, 3], expect: { values: [1, 3, 6] } },
  { name: 'prefix sums of 5,000 values', values: range(5_000), expect: { values: prefix(range(5_000)) } },
  { name: 'prefix sums of nothing', values: [], expect: { values: [], error: { code: 'INVALID_ARGUMENT', message: 'field "values" must hold at least 1 number' } } },
  { name: 'a non-finite value is refused before any total', values: [1, Infinity], restBody: '{"values":[1,1e999]}', expect: { values: [], error: { code: 'INVALID_ARGUMENT', message: 'field "values[1]" must be a finite number' } } },
  { name: 'an overflow ends the stream after the totals before it', values: [1, 1e308, 1e308], expect: { values: [1, 1e308], error: OVERFLOW } },
  {
    name: `more than ${LIMITS.maxValues} values`,
    values: range(LIMITS.maxValues + 1),
    expect: { values: [], error: { code: 'INVALID_ARGUMENT', message: `field "values" holds ${LIMITS.maxValues + 1} numbers, more than the limit of ${LIMITS.maxValues}` } },
  },
];

function opener(servers: Servers, session: () => http2.ClientHttp2Session) {
  return (transport: Transport, op: 'running-sum' | 'sum-stream'): RawStream => {
    if (transport === 'grpc') return grpcRawStream(session(), STREAM_METHOD_NAMES[op]);
    if (transport === 'ndjson') return http1RawStream({ port: servers.restPort, path: `/v1/${op}` });
    return webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/running-sum`);
  };
}

function neutral(end: StreamEnd): Expected {
  return end.error ? { values: end.values, error: end.error } : { values: end.values };
}

async function runStream(stream: RawStream, messages: Message[]): Promise<StreamEnd> {
  for (const message of messages) stream.send(message);
  stream.end();
  return stream.done;
}

describe('streams: the same totals and errors on every transport', () => {
  let servers: Servers;
  let session: http2.ClientHttp2Session;
  let open: ReturnType<typeof opener>;

  before(async () => {
    servers = await startServers();
    session = await connectH2(servers.grpcAddress);
    open = opener(servers, () => session);
  });
  after(async () => {
    session.close();
    await servers.close();
  });

  for (const row of CASES) {
    for (const transport of TRANSPORTS[row.op]) {
      test(`${row.op} ${transport}: ${row.name}`, async () => {
        const end = await runStream(open(transport, row.op), row.messages);
        assert.deepEqual(neutral(end), row.expect);
      });
    }
  }

  for (const row of PREFIX_CASES) {
    for (const transport of ['grpc', 'ndjson', 'sse'] as const) {
      test(`prefix-sums ${transport}: ${row.name}`, async () => {
        const stream =
          transport === 'grpc'
            ? grpcPrefixSums(session, row.values)
            : http1RawStream({
                port: servers.restPort,
                path: '/v1/prefix-sums',
                body: row.restBody ?? JSON.stringify({ values: row.values }),
                accept: transport === 'sse' ? 'text/event-stream' : undefined,
              });
        assert.deepEqual(neutral(await stream.done), row.expect);
      });
    }
  }

  for (const transport of TRANSPORTS['running-sum']) {
    test(`running-sum ${transport}: each value is answered before the next is sent and before the stream ends`, async () => {
      const stream = open(transport, 'running-sum');
      let expected = 0;
      for (const value of [5, -2, 10.5, 0.25]) {
        stream.send(value);
        expected += value;
        assert.equal(await stream.next(), expected);
      }
      stream.end();
      const end = await stream.done;
      assert.equal(end.error, undefined);
      assert.deepEqual(end.values, [5, 3, 13.5, 13.75]);
    });
  }

  describe("each transport's shape of a mid-stream error", () => {
    test('gRPC: status 3 with the text, after the totals before it', async () => {
      const end = await runStream(grpcRawStream(session, 'RunningSum'), [1, { missing: true }]);
      assert.equal(end.status, 3);
      assert.deepEqual(end.values, [1]);
    });
    test('NDJSON running-sum: 200, then a last line {"error":...}', async () => {
      const end = await runStream(http1RawStream({ port: servers.restPort, path: '/v1/running-sum' }), [1, { missing: true }, 2]);
      assert.equal(end.status, 200);
      assert.deepEqual(neutral(end), { values: [1], error: required });
    });
    test('NDJSON sum-stream: nothing was streamed yet, so the answer is 400 with the JSON error', async () => {
      const end = await runStream(http1RawStream({ port: servers.restPort, path: '/v1/sum-stream' }), [{ missing: true }]);
      assert.equal(end.status, 400);
      assert.deepEqual(end.error, required);
    });
    test('SSE: an `event: error` carrying the JSON error', async () => {
      const body = '{"values":[1e308,1e308]}';
      const response = await rawHttp(
        servers.restPort,
        `POST /v1/prefix-sums HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\naccept: text/event-stream\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      assert.equal(response.status, 200);
      assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
      assert.ok(
        response.body.includes('data: {"value":1e+308}\n\nevent: error\ndata: {"error":{"code":"OUT_OF_RANGE","message":"result is outside the range of a double (overflow)"}}\n\n'),
        response.body,
      );
    });
    test('WebSocket: the JSON error as the last message, then close 1007', async () => {
      const end = await runStream(webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/running-sum`), [2, Infinity]);
      assert.equal(end.status, 1007);
      assert.deepEqual(neutral(end), { values: [2], error: notFinite });
    });
    test('WebSocket: a binary frame is refused with close 1003', async () => {
      const stream = webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/running-sum`);
      stream.sendRaw(Buffer.from('{"value":1}'));
      const end = await stream.done;
      assert.equal(end.status, 1003);
      assert.deepEqual(end.error, { code: 'INVALID_ARGUMENT', message: 'WebSocket messages must be text frames' });
    });
    for (const transport of ['ndjson', 'websocket'] as const) {
      test(`${transport}: a message that is not JSON`, async () => {
        const stream = open(transport, 'running-sum');
        stream.send(1);
        stream.sendRaw('{"value":');
        const end = await stream.done;
        assert.deepEqual(neutral(end), { values: [1], error: { code: 'INVALID_ARGUMENT', message: 'message is not valid JSON' } });
      });
    }
    test('gRPC: bytes that are not a Number message', async () => {
      const stream = grpcRawStream(session, 'RunningSum');
      stream.sendRaw(Buffer.from([0xff, 0xff, 0xff]));
      stream.end();
      const end = await stream.done;
      assert.deepEqual(end.error, { code: 'INVALID_ARGUMENT', message: 'request body is not a valid protobuf message' });
    });
  });

  describe('refusals before the stream starts', () => {
    test('NDJSON streams need content-type application/x-ndjson (415)', async () => {
      const stream = http1RawStream({ port: servers.restPort, path: '/v1/running-sum', contentType: 'application/json' });
      stream.end();
      const end = await stream.done;
      assert.equal(end.status, 415);
      assert.deepEqual(end.error, { code: 'INVALID_ARGUMENT', message: 'content-type must be application/x-ndjson' });
    });
    test('GET /v1/running-sum without Upgrade is 405, like any non-POST call', async () => {
      const response = await rawHttp(servers.restPort, 'GET /v1/running-sum HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      assert.equal(response.status, 405);
      assert.equal(JSON.parse(response.body).error.message, 'method GET is not allowed on /v1/running-sum; use POST');
    });
    test('a WebSocket upgrade anywhere else is 404', async () => {
      const stream = webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/add`);
      await assert.rejects(stream.opened, /upgrade refused: 404/);
    });
  });

  describe('limits', () => {
    const big = (bytes: number): string => `{"value":1${' '.repeat(bytes - 11)}}`;
    test(`gRPC: a stream message over ${LIMITS.maxBodyBytes} bytes`, async () => {
      const stream = grpcRawStream(session, 'RunningSum');
      stream.send(1);
      stream.sendRaw(Buffer.alloc(LIMITS.maxBodyBytes + 1));
      stream.end();
      const end = await stream.done;
      assert.deepEqual(neutral(end), { values: [1], error: { code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE_MESSAGE } });
    });
    test(`NDJSON: a line over ${LIMITS.maxBodyBytes} bytes, refused as it crosses the limit`, async () => {
      const stream = http1RawStream({ port: servers.restPort, path: '/v1/running-sum' });
      stream.send(1);
      // No newline yet: the server must not wait for the end of the line to refuse it.
      stream.sendRaw(big(LIMITS.maxBodyBytes + 1).slice(0, -1).padEnd(LIMITS.maxBodyBytes + 100, ' '));
      const end = await stream.done;
      assert.deepEqual(neutral(end), { values: [1], error: { code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE_MESSAGE } });
    });
    test(`NDJSON: a line of exactly ${LIMITS.maxBodyBytes} bytes is accepted`, async () => {
      const end = await runStreamRaw(http1RawStream({ port: servers.restPort, path: '/v1/running-sum' }), [big(LIMITS.maxBodyBytes)]);
      assert.deepEqual(neutral(end), { values: [1] });
    });
    test(`WebSocket: a message over ${LIMITS.maxBodyBytes} bytes closes with 1009`, async () => {
      const stream = webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/running-sum`);
      stream.sendRaw(big(LIMITS.maxBodyBytes + 1));
      assert.equal((await stream.done).status, 1009);
    });
    test(`NDJSON sum-stream: more than ${LIMITS.maxStreamMessages} messages`, async () => {
      const stream = http1RawStream({ port: servers.restPort, path: '/v1/sum-stream' });
      const lines = 100_000;
      const block = `${'{"value":1}\n'.repeat(lines - 1)}{"value":1}`;
      for (let sent = 0; sent <= LIMITS.maxStreamMessages; sent += lines) stream.sendRaw(block);
      stream.end();
      const end = await stream.done;
      assert.equal(end.status, 400);
      assert.deepEqual(end.error, { code: 'INVALID_ARGUMENT', message: `stream carries more than the limit of ${LIMITS.maxStreamMessages} messages` });
    });
  });
});

async function runStreamRaw(stream: RawStream, lines: string[]): Promise<StreamEnd> {
  for (const line of lines) stream.sendRaw(line);
  stream.end();
  return stream.done;
}

describe('streams: a silent stream is ended after the idle time, on every transport', () => {
  const IDLE_MS = 300;
  let servers: Servers;
  let session: http2.ClientHttp2Session;
  let open: ReturnType<typeof opener>;
  const idle = { code: 'DEADLINE_EXCEEDED', message: `stream carried no message for ${IDLE_MS} ms` };

  before(async () => {
    servers = await startServers('127.0.0.1', { streamIdleMs: IDLE_MS });
    session = await connectH2(servers.grpcAddress);
    open = opener(servers, () => session);
  });
  after(async () => {
    session.close();
    await servers.close();
  });

  for (const [op, transports] of Object.entries(TRANSPORTS) as Array<[StreamOperation & keyof typeof TRANSPORTS, Transport[]]>) {
    for (const transport of transports) {
      test(`${op} ${transport}`, async () => {
        const stream = open(transport, op);
        // Messages closer together than the idle time keep the stream open.
        for (const value of [1, 2, 3]) {
          stream.send(value);
          await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3));
        }
        const started = Date.now();
        const end = await stream.done;
        assert.ok(Date.now() - started >= IDLE_MS / 2, 'ended by the idle timer, not at once');
        assert.deepEqual(neutral(end), { values: op === 'running-sum' ? [1, 3, 6] : [], error: idle });
        if (transport === 'websocket') assert.equal(end.status, 1008);
      });
    }
  }
});
