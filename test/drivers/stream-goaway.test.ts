/**
 * The stream generator's gRPC transport (bench/drivers/streams/grpc.ts) when
 * the server ends its connection mid-burst with a two-step GOAWAY (2^31-1,
 * then the real last-stream-id; test/helpers/http2-scripted.ts): streams above
 * the id were never processed and are opened again on a new connection, their
 * bytes written again; none fails. The REST stream transports open a connection
 * per stream and never reuse one, so there is nothing of theirs to retry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame, FrameType } from '../../bench/drivers/http2/frame.ts';
import { runStreamLoad } from '../../bench/drivers/streams/run.ts';
import { buildStreamPayload } from '../../bench/scenario/matrix.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { messageTypes } from '../../servers/proto.ts';
import { resultMessage, twoStepGoaway, withServer, type ScriptedConnection, type ScriptedRequest } from '../helpers/http2-scripted.ts';
import { startServers } from '../helpers/servers.ts';

/** PrefixSums by hand: one Result per running total, then OK trailers. */
function answerPrefixSums(conn: ScriptedConnection, request: ScriptedRequest): void {
  const { Numbers } = messageTypes();
  const { values } = Numbers.decode(request.body.subarray(5)) as unknown as { values: number[] };
  conn.headersFrame(request.streamId, [[':status', '200'], ['content-type', 'application/grpc']], false);
  let total = 0;
  for (const value of values) {
    total += value;
    conn.send(encodeFrame(FrameType.DATA, 0, request.streamId, resultMessage(total)));
  }
  conn.trailers(request.streamId, 0);
}

describe('stream generator (gRPC) and connection lifetimes', () => {
  test('a two-step GOAWAY after 10 of 40 prefix-sums streams: the streams above the id are retried, 0 errors', async () => {
    const script = twoStepGoaway(10, undefined, answerPrefixSums);
    await withServer(script, async (server) => {
      const result = await runStreamLoad({ payload: buildStreamPayload('prefix-sums'), transport: 'grpc', target: { host: '127.0.0.1', port: server.port }, streams: 40, messages: 5, connections: 1, serverPid: null });
      const refused = [...script.refused.values()].flat();
      assert.equal(result.firstError, null);
      assert.equal(result.errors, 0);
      assert.equal(result.messages, 40 * 5);
      assert.ok(refused.length >= 1, 'the server left streams above its last-stream-id');
      assert.equal(result.retried, refused.length, `refused per connection: ${JSON.stringify([...script.refused.values()])}`);
      assert.equal(result.connectionsOpened, server.connections.length);
      assert.ok(server.connections.length >= 2);
    });
  });

  test('against our gRPC server with maxConnectionCalls 10: 30 running-sum streams, 0 errors, streams spread over new connections', async () => {
    const server = await startGrpcServer({ host: '127.0.0.1', port: 0, maxConnectionCalls: 10 });
    try {
      const result = await runStreamLoad({ payload: buildStreamPayload('running-sum'), transport: 'grpc', target: { host: '127.0.0.1', port: server.port }, streams: 30, messages: 20, connections: 1, serverPid: null });
      assert.equal(result.firstError, null);
      assert.equal(result.errors, 0);
      assert.equal(result.messages, 30 * 20);
      // All 30 open at once: the first connection takes 10 and refuses 20, the next takes 10 of those and
      // refuses 10, the third takes the rest (a stream is refused at most twice, under the limit of 3).
      assert.ok((result.connectionsOpened ?? 0) >= 3, `${result.connectionsOpened} connections`);
      assert.ok((result.retried ?? 0) >= 1, `retried ${result.retried}`);
    } finally {
      await server.close(1_000);
    }
  });

  test('REST streams: one connection per stream, nothing retried', async () => {
    const servers = await startServers('127.0.0.1');
    try {
      const result = await runStreamLoad({ payload: buildStreamPayload('running-sum'), transport: 'ndjson', target: { host: '127.0.0.1', port: servers.restPort }, streams: 4, messages: 10, connections: 1, serverPid: null });
      assert.equal(result.errors, 0);
      assert.equal(result.retried, 0);
      assert.equal(result.connectionsOpened, 4);
    } finally {
      await servers.close();
    }
  });
});
