/**
 * grpc-engine against scripted HTTP/2 servers (test/helpers/http2-scripted.ts)
 * that misbehave on purpose: HPACK with Huffman and dynamic indexing, PING,
 * errors, trailers-only, CONTINUATION, RST_STREAM, GOAWAY, dropped connections,
 * tiny flow-control windows, one stream at a time, silence; and servers that
 * break RFC 9113's frame rules (connection and stream errors). Assertions are
 * on counts and on what the server saw, never on speed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoadResult } from '../../bench/types.ts';
import { grpcEngine, type GrpcEngineOptions } from '../../bench/drivers/grpc-engine.ts';
import { encodeFrame, ErrorCode, Flag, FrameType, Setting } from '../../bench/drivers/http2/frame.ts';
import { decodeResult } from '../../servers/proto.ts';
import { grpcEngineOptions, payloadOf } from '../helpers/drivers.ts';
import { answerCorrectly, goawayFrame, resultMessage, scriptedServer, twoStepGoaway, withServer, type Script } from '../helpers/http2-scripted.ts';

const run = (o: GrpcEngineOptions): Promise<LoadResult> => grpcEngine.run(o);

const sumOf = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

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
        const result = await run(grpcEngineOptions(server.port, { requests: 500, metadata: { 'X-Tenant': 'bench' } }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 300 }));
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
    const result = await run(grpcEngineOptions(server.port, { durationS: 0.8 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 400 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 300 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 200 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 400 }));
        assert.equal(result.calls, 400);
        assert.deepEqual(result.statusCounts, { OK: 300, 'stream-reset': 100 });
      },
    );
  });

  it('sends calls refused by a GOAWAY again on a new connection, counted as retried', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index === 50) {
            // Answer this one, refuse everything after it, then hang up.
            answerCorrectly(conn, request);
            conn.send(goawayFrame(request.streamId));
            setTimeout(() => conn.socket.destroy(), 50);
          } else if (request.index < 50) {
            answerCorrectly(conn, request);
          }
          // After the GOAWAY the server ignores requests (the ones already on their way when it went).
        },
      },
      async (s) => {
        const result = await run(grpcEngineOptions(s.port, { requests: 300, concurrency: 8 }));
        assert.deepEqual(result.statusCounts, { OK: 300 });
        assert.equal(result.errors, 0);
        assert.ok(s.connections.length >= 2, 'reconnected');
        // Every connection goes away after its 51st call: 300 calls take 6, each refusing what it held.
        assert.ok((result.retried ?? 0) >= 1, `retried ${result.retried}`);
        assert.equal(result.connectionsOpened, s.connections.length);
      },
    );
  });

  for (const [label, extra] of [
    ['closed loop', {}],
    ['open loop', { rate: 4_000, concurrency: 32 }],
  ] as const) {
    it(`${label}: a two-step GOAWAY (2^31-1, then the real id) mid-burst: the streams above the id are retried, none fails`, async () => {
      const script = twoStepGoaway(100);
      await withServer(script, async (server) => {
        const result = await run(grpcEngineOptions(server.port, { requests: 400, concurrency: 32, timeoutMs: 10_000, ...extra }));
        const refused = [...script.refused.values()].flat();
        assert.ok(refused.length >= 1, 'the server held streams above its last-stream-id');
        assert.deepEqual(result.statusCounts, { OK: 400 });
        assert.equal(result.errors, 0);
        assert.equal(result.calls, 400);
        assert.equal(result.latencyUs.totalCount, 400, 'one latency per call, retried or not');
        assert.equal(result.retried, refused.length, `refused ${JSON.stringify([...script.refused.values()])}`);
        // 400 calls, each connection shut down after 100 answered: 4 or 5 connections, each counted once.
        assert.equal(result.connectionsOpened, server.connections.length);
        assert.ok(server.connections.length >= 4, `${server.connections.length} connections`);
      });
    });
  }

  it('a refused call of a pool is sent again with its own request, not the next one', async () => {
    const bodies: string[] = [];
    await withServer(
      {
        onRequest: (conn, request) => {
          bodies.push(request.body.toString('hex'));
          if (request.index === 0) {
            const code = Buffer.alloc(4);
            code.writeUInt32BE(ErrorCode.REFUSED_STREAM);
            conn.send(encodeFrame(FrameType.RST_STREAM, 0, request.streamId, code));
            conn.closeStream();
          } else answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const first = payloadOf('add', { a: 1, b: 2 });
        const second = payloadOf('add', { a: 10, b: 20 });
        const payload = { ...first, pool: [first, second] };
        const result = await run(grpcEngineOptions(server.port, { payload, requests: 2, concurrency: 1 }));
        assert.deepEqual(result.statusCounts, { OK: 2 });
        assert.equal(result.retried, 1);
        const [a, b] = [first, second].map((p) => Buffer.from(p.protobuf).toString('hex'));
        // Bodies carry the 5-byte gRPC prefix: compare the message after it.
        assert.deepEqual(bodies.map((hex) => hex.slice(10)), [a, a, b]);
      },
    );
  });

  it('a call reset with REFUSED_STREAM before any answer is sent again; other resets stay errors', async () => {
    await withServer(
      {
        onRequest: (conn, request) => {
          if (request.index % 10 === 5) {
            const code = Buffer.alloc(4);
            code.writeUInt32BE(ErrorCode.REFUSED_STREAM);
            conn.send(encodeFrame(FrameType.RST_STREAM, 0, request.streamId, code));
            conn.closeStream();
          } else answerCorrectly(conn, request);
        },
      },
      async (server) => {
        const result = await run(grpcEngineOptions(server.port, { requests: 200, concurrency: 4 }));
        assert.deepEqual(result.statusCounts, { OK: 200 });
        // Requests 5, 15, 25, ... of the connection's 200 + retried are refused once each.
        assert.ok((result.retried ?? 0) >= 20, `retried ${result.retried}`);
        assert.equal(result.connectionsOpened, 1);
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
        const result = await run(grpcEngineOptions(server.port, { requests: 600, concurrency: 8 }));
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
          grpcEngineOptions(server.port, {
            payload: payloadOf('sum', { values }),
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
      const result = await run(grpcEngineOptions(server.port, { payload: payloadOf('sum', { values }), concurrency: 2, requests: 6 }));
      assert.deepEqual(result.statusCounts, { OK: 6 });
      assert.equal(server.connections[0].maxDataFrame, 16_384);
      assert.equal(server.connections[0].flowViolation, false);
    });
  });

  it('keeps at most MAX_CONCURRENT_STREAMS in flight per connection', async () => {
    await withServer({ settings: [[Setting.MAX_CONCURRENT_STREAMS, 1]] }, async (server) => {
      const result = await run(grpcEngineOptions(server.port, { requests: 200, concurrency: 16 }));
      assert.deepEqual(result.statusCounts, { OK: 200 });
      assert.equal(server.connections[0].maxOpenStreams, 1);
    });
  });

  it('times out calls on a server that stops answering, and cancels their streams', async () => {
    await withServer(
      { onRequest: (conn, request) => (request.index < 20 ? answerCorrectly(conn, request) : undefined) },
      async (server) => {
        const result = await run(grpcEngineOptions(server.port, { requests: 60, concurrency: 10, timeoutMs: 200 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 100, concurrency: 4 }));
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
          const result = await run(grpcEngineOptions(server.port, { requests: 100, concurrency: 4 }));
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
        const result = await run(grpcEngineOptions(server.port, { requests: 200, concurrency: 16, timeoutMs: 2_000 }));
        assert.deepEqual(result.statusCounts, { OK: 200 });
        assert.equal(server.connections.length, 1);
        assert.equal(server.connections[0].maxOpenStreams, 4);
      },
    );
  });
});
