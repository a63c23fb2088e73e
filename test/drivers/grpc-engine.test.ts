/**
 * grpc-engine on real sockets: against the grpc-js calculator server (results,
 * exact counts, TLS) and against scripted HTTP/2 servers built on raw `net`
 * that misbehave on purpose (errors, trailers-only, GOAWAY, RST_STREAM, tiny
 * flow-control windows, one stream at a time, silence, dropped connections).
 * Assertions are on counts and large effects, never on speed.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { LoadResult } from '../../bench/types.ts';
import { grpcEngine, type GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import { CONNECTION_PREFACE, encodeFrame, ErrorCode, Flag, FrameType, Setting } from '../../bench/drivers/http2/frame.ts';
import { HpackDecoder } from '../../bench/drivers/http2/hpack-decoder.ts';
import { huffmanEncode } from '../../bench/drivers/http2/huffman.ts';
import { writeInteger } from '../../bench/drivers/http2/hpack-request-encoder.ts';
import { toGhzReport } from '../../bench/drivers/ghz-report.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { createSelfSignedTls } from '../../servers/tls.ts';
import { decodeResult, encodeRequest, messageTypes } from '../../servers/proto.ts';
import type { Operation } from '../../servers/calculator.ts';

// ---------- helpers ----------

function payload(operation: Operation, input: object): GrpcEngineOptions['payload'] {
  return { operation, payloadValues: null, input, json: Buffer.from(JSON.stringify(input)), protobuf: encodeRequest(operation, input) };
}

function options(port: number, extra: Partial<GrpcEngineOptions>): GrpcEngineOptions {
  return {
    target: { protocol: 'grpc', host: '127.0.0.1', port },
    payload: payload('add', { a: 20, b: 10 }),
    concurrency: 8,
    connections: 1,
    durationS: 1,
    timeoutMs: 5_000,
    ...extra,
  };
}

const run = (o: GrpcEngineOptions): Promise<LoadResult> => grpcEngine.run(o);

function resultMessage(value: number): Buffer {
  const { Result } = messageTypes();
  const message = Result.encode({ value }).finish();
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/**
 * Response HPACK encoder in the style of nghttp2: the first time a field is
 * sent it is inserted into the dynamic table with a Huffman-coded value, later
 * it is a one-byte index. Tables here stay far below 4 KB, so nothing is evicted.
 */
class ResponseEncoder {
  private inserted: string[] = [];

  encode(fields: Array<[string, string]>, plain = false): Buffer {
    const out: number[] = [];
    for (const [name, value] of fields) {
      if (name === ':status' && value === '200') {
        out.push(0x88);
        continue;
      }
      const key = `${name}\0${value}`;
      const at = this.inserted.lastIndexOf(key);
      if (at >= 0 && !plain) {
        writeInteger(out, 0x80, 7, 62 + (this.inserted.length - 1 - at));
        continue;
      }
      if (plain) {
        // Literal without indexing, raw strings.
        out.push(0x00);
        pushString(out, Buffer.from(name), false);
        pushString(out, Buffer.from(value), false);
      } else {
        out.push(0x40);
        pushString(out, huffmanEncode(name), true);
        pushString(out, huffmanEncode(value), true);
        this.inserted.push(key);
      }
    }
    return Buffer.from(out);
  }
}

function pushString(out: number[], bytes: Buffer, huffman: boolean): void {
  writeInteger(out, huffman ? 0x80 : 0x00, 7, bytes.length);
  for (const b of bytes) out.push(b);
}

interface ScriptedRequest {
  streamId: number;
  headers: Map<string, string>;
  body: Buffer;
  /** Requests seen on this connection before this one. */
  index: number;
}

interface Script {
  settings?: Array<[number, number]>;
  /** Answer one complete request (END_STREAM received). Default: a correct Add/Sum answer. */
  onRequest?: (conn: ScriptedConnection, request: ScriptedRequest) => void;
  /** Called once the server's SETTINGS are sent. */
  onConnect?: (conn: ScriptedConnection) => void;
}

class ScriptedConnection {
  readonly encoder = new ResponseEncoder();
  readonly decoder = new HpackDecoder();
  requests = 0;
  openStreams = 0;
  maxOpenStreams = 0;
  maxDataFrame = 0;
  resets: number[] = [];
  /** Error code of each RST_STREAM in `resets`, and of each GOAWAY the client sent. */
  resetCodes: number[] = [];
  goawayCodes: number[] = [];
  flowViolation = false;
  settingsAcked = false;
  pingAcks: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private bodies = new Map<number, Buffer[]>();
  private headers = new Map<number, Map<string, string>>();
  private window = 65_535;
  private streamWindows = new Map<number, number>();
  private initialWindow: number;

  constructor(
    readonly socket: net.Socket,
    private readonly script: Script,
  ) {
    this.initialWindow = script.settings?.find(([id]) => id === Setting.INITIAL_WINDOW_SIZE)?.[1] ?? 65_535;
    const settings = Buffer.alloc(6 * (script.settings?.length ?? 0));
    script.settings?.forEach(([id, value], i) => {
      settings.writeUInt16BE(id, 6 * i);
      settings.writeUInt32BE(value, 6 * i + 2);
    });
    this.send(encodeFrame(FrameType.SETTINGS, 0, 0, settings));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    script.onConnect?.(this);
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  headersFrame(streamId: number, fields: Array<[string, string]>, endStream: boolean, plain = false): void {
    const block = this.encoder.encode(fields, plain);
    this.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), streamId, block));
  }

  /** A normal unary response: headers, message, trailers. */
  respond(streamId: number, message: Buffer, status = 0, grpcMessage = ''): void {
    this.headersFrame(streamId, [[':status', '200'], ['content-type', 'application/grpc']], false);
    this.send(encodeFrame(FrameType.DATA, 0, streamId, message));
    this.trailers(streamId, status, grpcMessage);
  }

  trailers(streamId: number, status: number, grpcMessage = ''): void {
    this.headersFrame(streamId, [['grpc-status', String(status)], ['grpc-message', grpcMessage]], true);
    this.closeStream();
  }

  closeStream(): void {
    this.openStreams--;
  }

  private onData(chunk: Buffer): void {
    let buffer = Buffer.concat([this.pending, chunk]);
    if (this.requests === 0 && this.bodies.size === 0 && buffer.subarray(0, 3).toString() === 'PRI') {
      if (buffer.length < CONNECTION_PREFACE.length) {
        this.pending = buffer;
        return;
      }
      buffer = buffer.subarray(CONNECTION_PREFACE.length);
    }
    let pos = 0;
    while (buffer.length - pos >= 9) {
      const length = buffer.readUIntBE(pos, 3);
      if (buffer.length - pos - 9 < length) break;
      const type = buffer[pos + 3];
      const flags = buffer[pos + 4];
      const id = buffer.readUInt32BE(pos + 5) & 0x7fffffff;
      this.onFrame(type, flags, id, buffer.subarray(pos + 9, pos + 9 + length));
      pos += 9 + length;
    }
    this.pending = Buffer.from(buffer.subarray(pos));
  }

  private onFrame(type: number, flags: number, id: number, body: Buffer): void {
    switch (type) {
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) this.settingsAcked = true;
        else this.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
        break;
      case FrameType.HEADERS: {
        const fields = new Map<string, string>();
        this.decoder.decode(body, 0, body.length, { onHeader: (n, v) => fields.set(n, v) });
        this.headers.set(id, fields);
        this.bodies.set(id, []);
        this.streamWindows.set(id, this.initialWindow);
        this.openStreams++;
        this.maxOpenStreams = Math.max(this.maxOpenStreams, this.openStreams);
        break;
      }
      case FrameType.DATA: {
        this.maxDataFrame = Math.max(this.maxDataFrame, body.length);
        this.window -= body.length;
        const streamWindow = (this.streamWindows.get(id) ?? 0) - body.length;
        this.streamWindows.set(id, streamWindow);
        if (this.window < 0 || streamWindow < 0) this.flowViolation = true;
        this.bodies.get(id)?.push(Buffer.from(body));
        // Credit goes back as soon as data arrives, so the window stays as small as configured.
        const credit = body.length;
        if (credit > 0 && body.length > 0) {
          const increment = Buffer.alloc(4);
          increment.writeUInt32BE(credit);
          this.window += credit;
          this.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, increment));
          if (!(flags & Flag.END_STREAM)) {
            this.streamWindows.set(id, streamWindow + credit);
            this.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, id, increment));
          }
        }
        if (flags & Flag.END_STREAM) {
          const request: ScriptedRequest = {
            streamId: id,
            headers: this.headers.get(id)!,
            body: Buffer.concat(this.bodies.get(id)!),
            index: this.requests++,
          };
          this.bodies.delete(id);
          (this.script.onRequest ?? answerCorrectly)(this, request);
        }
        break;
      }
      case FrameType.RST_STREAM:
        this.resets.push(id);
        this.resetCodes.push(body.readUInt32BE(0));
        if (this.bodies.delete(id) || this.headers.has(id)) this.closeStream();
        break;
      case FrameType.PING:
        if (flags & Flag.ACK) this.pingAcks.push(Buffer.from(body));
        break;
      case FrameType.GOAWAY:
        this.goawayCodes.push(body.readUInt32BE(4));
        break;
      default:
        break;
    }
  }
}

function answerCorrectly(conn: ScriptedConnection, request: ScriptedRequest): void {
  const path = request.headers.get(':path')!;
  const message = request.body.subarray(5);
  const { Operands, Numbers } = messageTypes();
  let value: number;
  if (path.endsWith('/Sum')) {
    value = (Numbers.decode(message) as unknown as { values: number[] }).values.reduce((a, b) => a + b, 0);
  } else {
    const { a, b } = Operands.decode(message) as unknown as { a: number; b: number };
    value = a + b;
  }
  conn.respond(request.streamId, resultMessage(value));
}

interface ScriptedServer {
  port: number;
  connections: ScriptedConnection[];
  close(): Promise<void>;
}

async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const connections: ScriptedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections.push(new ScriptedConnection(socket, script));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function withServer(script: Script, body: (server: ScriptedServer) => Promise<void>): Promise<void> {
  const server = await scriptedServer(script);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

const sumOf = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

// ---------- against the grpc-js calculator ----------

describe('grpc-engine against the grpc-js calculator server', () => {
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  before(async () => {
    server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
  });
  after(() => server.close(100));

  it('completes exactly `requests` calls with correct results and non-zero latency', async () => {
    const results: number[] = [];
    const progress: number[] = [];
    const result = await run(
      options(server.port, {
        concurrency: 16,
        connections: 2,
        requests: 3_000,
        onResponseMessage: (message) => results.push(decodeResult(message)),
        onProgress: ({ calls }) => progress.push(calls),
      }),
    );
    assert.equal(result.calls, 3_000);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { OK: 3_000 });
    assert.equal(results.length, 3_000);
    assert.ok(results.every((value) => value === 30));
    assert.equal(result.latencyUs.totalCount, 3_000);
    assert.ok(result.latencyUs.minNonZeroValue >= 1 && result.latencyUs.mean > 10, 'latency recorded in µs');
    assert.ok(result.elapsedS > 0);
    assert.ok(result.socketBytes!.sent > 3_000 * 20 && result.socketBytes!.received > 3_000 * 20);
  });

  it('maps server errors to gRPC status names (INVALID_ARGUMENT for division by zero)', async () => {
    const result = await run(
      options(server.port, { payload: payload('divide', { a: 1, b: 0 }), requests: 200 }),
    );
    assert.equal(result.calls, 200);
    assert.equal(result.errors, 200);
    assert.deepEqual(result.statusCounts, { INVALID_ARGUMENT: 200 });
  });

  it('sends a 10,000-value Sum over the server flow-control window', async () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i + 0.5);
    const results: number[] = [];
    const result = await run(
      options(server.port, {
        payload: payload('sum', { values }),
        concurrency: 4,
        requests: 40,
        onResponseMessage: (m) => results.push(decodeResult(m)),
      }),
    );
    assert.deepEqual(result.statusCounts, { OK: 40 });
    assert.ok(results.every((v) => v === values.reduce((a, b) => a + b, 0)));
  });

  it('runs for durationS and aborts early on signal', async () => {
    const progress: Array<{ calls: number; elapsedS: number }> = [];
    const timed = await run(options(server.port, { durationS: 0.6, onProgress: (p) => progress.push(p) }));
    assert.ok(timed.calls > 0 && timed.errors === 0);
    assert.ok(progress.length >= 1 && progress.length <= 4, `progress calls: ${progress.length}`);
    assert.ok(progress.every((p, i) => i === 0 || p.calls >= progress[i - 1].calls));
    assert.ok(timed.elapsedS > 0.3 && timed.elapsedS < 2.5, `elapsed ${timed.elapsedS}`);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const aborted = await run(options(server.port, { durationS: 30, signal: controller.signal }));
    assert.ok(Date.now() - started < 5_000);
    assert.ok(aborted.calls > 0);
    assert.equal(aborted.failure, 'aborted');
  });

  it('opens a new connection when a connection runs out of stream ids', async () => {
    const result = await run(options(server.port, { requests: 500, concurrency: 4, maxStreamsPerConnection: 50 }));
    assert.deepEqual(result.statusCounts, { OK: 500 });
  });

  it('reports a clear failure when nothing listens', async () => {
    const closed = await scriptedServer({});
    const port = closed.port;
    await closed.close();
    const result = await run(options(port, { requests: 10 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /cannot connect/);
  });
});

describe('grpc-engine over TLS', () => {
  it('negotiates h2 with ALPN against the grpc-js server', async () => {
    const tls = await createSelfSignedTls('127.0.0.1');
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, tls });
    try {
      const results: number[] = [];
      const result = await run({
        ...options(server.port, { requests: 300, onResponseMessage: (m) => results.push(decodeResult(m)) }),
        target: { protocol: 'grpc', host: '127.0.0.1', port: server.port, tls: true },
      });
      assert.deepEqual(result.statusCounts, { OK: 300 });
      assert.ok(results.every((v) => v === 30));
    } finally {
      await server.close(100);
    }
  });
});

// ---------- against scripted servers ----------

describe('grpc-engine against scripted HTTP/2 servers', () => {
  it('decodes Huffman-coded, dynamically indexed responses and sends metadata', async () => {
    let seen: Map<string, string> | undefined;
    await withServer(
      {
        onRequest: (conn, request) => {
          seen ??= request.headers;
          answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 500, metadata: { 'X-Tenant': 'bench' } }));
        assert.deepEqual(result.statusCounts, { OK: 500 });
        assert.equal(seen?.get('x-tenant'), 'bench');
        assert.equal(seen?.get('te'), 'trailers');
        assert.equal(seen?.get('content-type'), 'application/grpc');
        assert.equal(seen?.get(':path'), '/calculator.v1.Calculator/Add');
      },
    );
  });

  it('acknowledges SETTINGS and PING', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index % 100 === 0) conn.send(encodeFrame(FrameType.PING, 0, 0, Buffer.from('pingpong')));
          answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 300 }));
        assert.deepEqual(result.statusCounts, { OK: 300 });
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(server.connections[0].settingsAcked, true);
        assert.equal(server.connections[0].pingAcks.length, 3);
        assert.equal(server.connections[0].pingAcks[0].toString(), 'pingpong');
      },
    );
  });

  it('reports a failure when the server goes away for good mid-run', async () => {
    const server = await scriptedServer({
      onRequest: (conn, request) => {
        if (request.index === 50) void server.close();
        else answerCorrectly(conn, request);
      },
    });
    const result = await run(options(server.port, { durationS: 0.8 }));
    assert.ok((result.statusCounts['connection-error'] ?? 0) >= 1, JSON.stringify(result.statusCounts));
    assert.match(result.failure ?? '', /lost 127\.0\.0\.1/);
  });

  it('counts grpc-status 3 as INVALID_ARGUMENT errors', async () => {
    await withServer(
      {
        onRequest: (conn, request) =>
          request.index % 2 === 0 ? conn.respond(request.streamId, resultMessage(0), 3, 'bad operand') : answerCorrectly(conn, request),
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 400 }));
        assert.equal(result.calls, 400);
        assert.deepEqual(result.statusCounts, { OK: 200, INVALID_ARGUMENT: 200 });
        assert.equal(result.errors, 200);
      },
    );
  });

  it('handles trailers-only responses (HEADERS with END_STREAM and grpc-status)', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          conn.headersFrame(
            request.streamId,
            [[':status', '200'], ['content-type', 'application/grpc'], ['grpc-status', '8'], ['grpc-message', 'slow down']],
            true,
            request.index % 3 === 0, // some plain literals too
          );
          conn.closeStream();
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 300 }));
        assert.deepEqual(result.statusCounts, { RESOURCE_EXHAUSTED: 300 });
      },
    );
  });

  it('decodes header blocks split over CONTINUATION frames', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          conn.headersFrame(request.streamId, [[':status', '200'], ['content-type', 'application/grpc']], false);
          conn.send(encodeFrame(FrameType.DATA, 0, request.streamId, resultMessage(30)));
          const block = conn.encoder.encode([['grpc-status', '0'], ['x-long', 'v'.repeat(200)]], true);
          conn.send(encodeFrame(FrameType.HEADERS, Flag.END_STREAM, request.streamId, block.subarray(0, 3)));
          conn.send(encodeFrame(FrameType.CONTINUATION, 0, request.streamId, block.subarray(3, 100)));
          conn.send(encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, request.streamId, block.subarray(100)));
          conn.closeStream();
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 200 }));
        assert.deepEqual(result.statusCounts, { OK: 200 });
      },
    );
  });

  it('counts RST_STREAM as stream-reset', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index % 4 === 0) {
            const code = Buffer.alloc(4);
            code.writeUInt32BE(2);
            conn.send(encodeFrame(FrameType.RST_STREAM, 0, request.streamId, code));
            conn.closeStream();
          } else answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 400 }));
        assert.equal(result.calls, 400);
        assert.deepEqual(result.statusCounts, { OK: 300, 'stream-reset': 100 });
      },
    );
  });

  it('counts calls refused by GOAWAY as goaway and carries on on a new connection', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index === 50) {
            // Answer this one, refuse everything after it, then hang up.
            answerCorrectly(conn, request);
            const goaway = Buffer.alloc(8);
            goaway.writeUInt32BE(request.streamId, 0);
            conn.send(encodeFrame(FrameType.GOAWAY, 0, 0, goaway));
            setTimeout(() => conn.socket.destroy(), 50);
          } else if (request.index < 50) {
            answerCorrectly(conn, request);
          }
          // After the GOAWAY the server ignores requests.
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 300, concurrency: 8 }));
        assert.equal(result.calls, 300);
        assert.ok((result.statusCounts.goaway ?? 0) >= 1, JSON.stringify(result.statusCounts));
        assert.ok(server.connections.length >= 2, 'reconnected');
        assert.equal(sumOf(result.statusCounts), 300);
        assert.ok(result.statusCounts.OK >= 250, JSON.stringify(result.statusCounts));
      },
    );
  });

  it('counts in-flight calls as connection-error when the connection drops, then reconnects', async () => {
    let dropped = false;
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index === 100 && !dropped) {
            dropped = true;
            conn.socket.destroy();
          }
          else answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const result = await run(options(server.port, { requests: 600, concurrency: 8 }));
        assert.equal(result.calls, 600);
        assert.ok((result.statusCounts['connection-error'] ?? 0) >= 1, JSON.stringify(result.statusCounts));
        assert.ok(server.connections.length >= 2);
      },
    );
  });

  it('respects tiny flow-control windows with a 10,000-value Sum split over max-size frames', async () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i);
    const expected = values.reduce((a, b) => a + b, 0);
    const results: number[] = [];
    await withServer(
      {
        // A 1,000-byte stream window: each 80 KB request needs dozens of WINDOW_UPDATEs.
        settings: [[Setting.INITIAL_WINDOW_SIZE, 1_000], [Setting.MAX_FRAME_SIZE, 16_384]],
      },
      async (server) => {
        const result = await run(
          options(server.port, {
            payload: payload('sum', { values }),
            concurrency: 3,
            requests: 12,
            onResponseMessage: (m) => results.push(decodeResult(m)),
          }),
        );
        assert.deepEqual(result.statusCounts, { OK: 12 });
        assert.ok(results.every((v) => v === expected));
        assert.equal(server.connections[0].flowViolation, false);
        assert.ok(server.connections[0].maxDataFrame <= 16_384);
      },
    );
  });

  it('splits a large request into frames of the peer SETTINGS_MAX_FRAME_SIZE', async () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i);
    await withServer({ settings: [[Setting.INITIAL_WINDOW_SIZE, 1 << 20]] }, async (server) => {
      const result = await run(options(server.port, { payload: payload('sum', { values }), concurrency: 2, requests: 6 }));
      assert.deepEqual(result.statusCounts, { OK: 6 });
      assert.equal(server.connections[0].maxDataFrame, 16_384);
      assert.equal(server.connections[0].flowViolation, false);
    });
  });

  it('keeps at most MAX_CONCURRENT_STREAMS in flight per connection', async () => {
    await withServer({ settings: [[Setting.MAX_CONCURRENT_STREAMS, 1]] }, async (server) => {
      const result = await run(options(server.port, { requests: 200, concurrency: 16 }));
      assert.deepEqual(result.statusCounts, { OK: 200 });
      assert.equal(server.connections[0].maxOpenStreams, 1);
    });
  });

  it('times out calls on a server that stops answering, and cancels their streams', async () => {
    await withServer(
      { onRequest: (conn, request) => (request.index < 20 ? answerCorrectly(conn, request) : undefined) },
      async (server) => {
        const result = await run(options(server.port, { requests: 60, concurrency: 10, timeoutMs: 200 }));
        assert.equal(result.calls, 60);
        assert.deepEqual(result.statusCounts, { OK: 20, timeout: 40 });
        assert.ok(result.latencyUs.maxValue >= 150_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(server.connections[0].resets.length >= 30, `RST_STREAM sent: ${server.connections[0].resets.length}`);
      },
    );
  });
});

describe('grpc-engine against servers that break frame rules (RFC 9113)', () => {
  const u32 = (...values: number[]): Buffer => {
    const bytes = Buffer.alloc(4 * values.length);
    values.forEach((value, i) => bytes.writeUInt32BE(value, 4 * i));
    return bytes;
  };
  const settingsPayload = (id: number, value: number): Buffer => {
    const bytes = Buffer.alloc(6);
    bytes.writeUInt16BE(id, 0);
    bytes.writeUInt32BE(value, 2);
    return bytes;
  };

  /** On the first connection, request 10 gets `frame` instead of an answer; every other request is answered. */
  const breaksOnce = (frame: (streamId: number) => Buffer): Script => {
    let sent = false;
    return {
      onRequest: (conn, request) => {
        if (!sent && request.index === 10) {
          sent = true;
          conn.send(frame(request.streamId));
        } else answerCorrectly(conn, request);
      },
    };
  };

  const connectionErrors: Array<[string, (streamId: number) => Buffer, number]> = [
    ['RST_STREAM of 3 bytes', (id) => encodeFrame(FrameType.RST_STREAM, 0, id, Buffer.alloc(3)), ErrorCode.FRAME_SIZE_ERROR],
    ['PING of 7 bytes', () => encodeFrame(FrameType.PING, 0, 0, Buffer.from('pingpon')), ErrorCode.FRAME_SIZE_ERROR],
    ['WINDOW_UPDATE of 5 bytes', () => encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(5, 1)), ErrorCode.FRAME_SIZE_ERROR],
    ['GOAWAY of 4 bytes', () => encodeFrame(FrameType.GOAWAY, 0, 0, u32(0)), ErrorCode.FRAME_SIZE_ERROR],
    ['SETTINGS of 7 bytes', () => encodeFrame(FrameType.SETTINGS, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR],
    ['SETTINGS ACK with a payload', () => encodeFrame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6)), ErrorCode.FRAME_SIZE_ERROR],
    ['connection WINDOW_UPDATE of 0', () => encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR],
    ['connection window past 2^31-1', () => encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)), ErrorCode.FLOW_CONTROL_ERROR],
  ];
  for (const [name, frame, code] of connectionErrors) {
    it(`${name}: connection error ${code} in its GOAWAY, calls on it fail, the run goes on on a new connection`, async () => {
      await withServer(breaksOnce(frame), async (server) => {
        const result = await run(options(server.port, { requests: 100, concurrency: 4 }));
        assert.equal(result.calls, 100);
        assert.equal(sumOf(result.statusCounts), 100);
        assert.ok((result.statusCounts['connection-error'] ?? 0) >= 1, JSON.stringify(result.statusCounts));
        assert.ok(result.statusCounts.OK >= 90, JSON.stringify(result.statusCounts));
        assert.ok(server.connections.length >= 2, 'reconnected');
        assert.deepEqual(server.connections[0].goawayCodes, [code]);
      });
    });
  }

  const streamErrors: Array<[string, number, number]> = [
    ['stream WINDOW_UPDATE of 0', 0, ErrorCode.PROTOCOL_ERROR],
    ['stream window past 2^31-1', 2 ** 31 - 1, ErrorCode.FLOW_CONTROL_ERROR],
  ];
  for (const [name, increment, code] of streamErrors) {
    it(`${name}: stream error ${code}, that call is a stream-reset, the connection carries on`, async () => {
      await withServer(
        {
          onRequest: (conn, request) => {
            if (request.index % 10 === 0) conn.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, request.streamId, u32(increment)));
            else answerCorrectly(conn, request);
          },
        },
        async (server) => {
          const result = await run(options(server.port, { requests: 100, concurrency: 4 }));
          assert.deepEqual(result.statusCounts, { OK: 90, 'stream-reset': 10 });
          assert.equal(server.connections.length, 1);
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.deepEqual(server.connections[0].resetCodes, Array(10).fill(code));
          assert.deepEqual(server.connections[0].goawayCodes, [ErrorCode.NO_ERROR]);
        },
      );
    });
  }

  it('a SETTINGS that raises MAX_CONCURRENT_STREAMS from 0 lets the waiting calls start', async () => {
    await withServer(
      {
        settings: [[Setting.MAX_CONCURRENT_STREAMS, 0]],
        // Answered a moment later, so the streams the client opens together are open together here.
        onRequest: (conn, request) => setImmediate(() => answerCorrectly(conn, request)),
        onConnect: (conn) => {
          setTimeout(() => conn.send(encodeFrame(FrameType.SETTINGS, 0, 0, settingsPayload(Setting.MAX_CONCURRENT_STREAMS, 4))), 100);
        },
      },
      async (server) => {
        // Nothing ends on its own while no stream may open: only the new SETTINGS can start the calls.
        const result = await run(options(server.port, { requests: 200, concurrency: 16, timeoutMs: 2_000 }));
        assert.deepEqual(result.statusCounts, { OK: 200 });
        assert.equal(server.connections.length, 1);
        assert.equal(server.connections[0].maxOpenStreams, 4);
      },
    );
  });
});

describe('grpc-engine at the end of a run against a server that stops answering', () => {
  // The deadline (5 s) is longer than the drain grace (1 s): only the end of the run can settle the stuck calls.
  const stopsAfter = (answered: number): Script => ({
    onRequest: (conn, request) => (request.index < answered ? answerCorrectly(conn, request) : undefined),
  });

  it('closed loop: every call still unanswered after the drain grace is a timeout, its age the latency', async () => {
    await withServer(stopsAfter(200), async (server) => {
      const result = await run(options(server.port, { concurrency: 8, durationS: 0.4 }));
      assert.deepEqual(result.statusCounts, { OK: 200, timeout: 8 });
      assert.equal(result.calls, 208);
      assert.equal(result.errors, 8);
      assert.equal(result.latencyUs.totalCount, 208);
      // Stuck from early in the run until the grace ran out: at least the grace itself.
      assert.ok(result.latencyUs.maxValue >= 1_000_000, `max ${result.latencyUs.maxValue} µs`);
      assert.ok(result.elapsedS >= 1.3, `elapsed ${result.elapsedS} s`);
    });
  });

  it('open loop: calls sent and unanswered are timeouts; calls due but never sent are not counted', async () => {
    await withServer(stopsAfter(40), async (server) => {
      // 200 calls/s for 1 s and 50 slots: the 50 slots fill up once the server goes quiet, ~100 more come due unsent.
      const result = await run(options(server.port, { concurrency: 50, rate: 200, durationS: 1 }));
      assert.deepEqual(result.statusCounts, { OK: 40, timeout: 50 });
      assert.equal(result.errors, 50);
      assert.equal(server.connections[0].requests, 90);
    });
  });
});

// ---------- open vs closed loop ----------

describe('grpc-engine aborted while connecting', () => {
  it('a server that answers SETTINGS only after the abort does not restart the run', async () => {
    // Accepts TCP and says nothing (a stopped server) until the engine gives up and hangs up; then
    // sends its SETTINGS, as a server woken up at that moment would. The late SETTINGS must not start
    // the run's clock and timers: before the fix they did, and the process never exited.
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
      // The engine's close() sends GOAWAY and then ends its side.
      socket.on('end', () => socket.end(encodeFrame(FrameType.SETTINGS, 0, 0)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stalled')), 300);
      let progressAfterEnd = 0;
      let ended = false;
      const result = await run({
        ...options((server.address() as net.AddressInfo).port, { durationS: 5, signal: controller.signal }),
        onProgress: () => {
          if (ended) progressAfterEnd += 1;
        },
      });
      ended = true;
      assert.equal(result.calls, 0);
      assert.equal(result.failure, 'aborted');
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.equal(progressAfterEnd, 0, 'the run reported progress after it had ended');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('open loop measures from the intended send time', () => {
  /**
   * A server that answers each call after `serviceMs` and holds every response
   * for 300 ms once, 400 ms after its first request.
   */
  function stallingScript(serviceMs = 0): Script {
    let firstAt = 0;
    let stallUntil = 0;
    return {
      onRequest: (conn, request) => {
        const now = Date.now();
        firstAt ||= now;
        if (stallUntil === 0 && now - firstAt > 400) stallUntil = now + 300;
        const waitMs = Math.max(serviceMs, stallUntil - now);
        if (waitMs > 0) setTimeout(() => answerCorrectly(conn, request), waitMs);
        else answerCorrectly(conn, request);
      },
    };
  }

  it('at the same load, open-loop p99 shows a 300 ms stall that closed loop hides', async () => {
    let closed: LoadResult | undefined;
    let open: LoadResult | undefined;
    // Closed loop, one call at a time against a 1 ms service time: the load is whatever that gives (~500-900 calls/s).
    await withServer(stallingScript(1), async (server) => {
      closed = await run(options(server.port, { concurrency: 1, durationS: 1.5 }));
    });
    // Open loop at the calls/s the closed loop reached: the same load, now on a fixed schedule.
    const rate = Math.round(closed!.calls / closed!.elapsedS);
    await withServer(stallingScript(1), async (server) => {
      open = await run(options(server.port, { concurrency: 500, rate, durationS: 1.5 }));
    });
    const closedP99 = closed!.latencyUs.getValueAtPercentile(99);
    const openP99 = open!.latencyUs.getValueAtPercentile(99);
    const loads = `closed ${closed!.calls} calls in ${closed!.elapsedS} s, open ${open!.calls} at ${rate}/s`;
    assert.equal(closed!.errors, 0);
    assert.equal(open!.errors, 0);
    // Both saw the stall: the slowest call waited about 300 ms.
    assert.ok(closed!.latencyUs.maxValue >= 200_000, `closed max ${closed!.latencyUs.maxValue}`);
    // Closed loop: one call waited out the stall, and the calls that would have been sent meanwhile were never sent.
    assert.ok(closedP99 < 100_000, `closed p99 ${closedP99} µs (${loads})`);
    // Open loop: every call due during the stall counts its wait from its due time.
    assert.ok(openP99 >= 200_000, `open p99 ${openP99} µs (${loads})`);
    // Same load: the open loop kept its schedule, about rate × duration calls.
    const expected = rate * 1.5;
    assert.ok(open!.calls >= expected * 0.8 && open!.calls <= expected * 1.1, loads);
  });

  it('counts calls delayed by busy slots from their intended time', async () => {
    await withServer(stallingScript(), async (server) => {
      // Only 2 slots: during the stall, due calls queue for a slot; their wait counts.
      const open = await run(options(server.port, { concurrency: 2, rate: 500, durationS: 1.2 }));
      assert.equal(open.errors, 0);
      assert.ok(open.latencyUs.getValueAtPercentile(90) >= 50_000, `p90 ${open.latencyUs.getValueAtPercentile(90)}`);
    });
  });
});

describe('ghz report', () => {
  it('turns a LoadResult into ghz --format json fields (durations in ns)', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
    try {
      const runOptions = options(server.port, { requests: 500, metadata: { 'x-k': 'v' } });
      const result = await run(runOptions);
      const report = toGhzReport(result, runOptions, { call: 'calculator.v1.Calculator.Add', date: new Date(0) });
      assert.equal(report.count, 500);
      assert.deepEqual(report.statusCodeDistribution, { OK: 500 });
      assert.deepEqual(report.errorDistribution, {});
      assert.equal(report.total, Math.round(result.elapsedS * 1e9));
      assert.ok(report.fastest > 0 && report.fastest <= report.average && report.average <= report.slowest);
      assert.deepEqual(report.latencyDistribution.map((d) => d.percentage), [10, 25, 50, 75, 90, 95, 99]);
      assert.equal(report.histogram.length, 11);
      assert.equal(report.histogram.reduce((sum, b) => sum + b.count, 0), 500);
      assert.equal(report.options.host, `127.0.0.1:${server.port}`);
      assert.equal(report.options.total, 500);
      assert.equal(report.options.timeout, 5_000_000_000);
      assert.match(report.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
      const failed = toGhzReport({ ...result, statusCounts: { OK: 400, timeout: 60, INVALID_ARGUMENT: 40 } }, runOptions);
      assert.deepEqual(failed.statusCodeDistribution, { OK: 400, DeadlineExceeded: 60, InvalidArgument: 40 });
    } finally {
      await server.close(100);
    }
  });
});
