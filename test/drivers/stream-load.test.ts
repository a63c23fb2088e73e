/**
 * The stream load generator against the real servers: every operation on every
 * transport that serves it finishes all its streams with every total right, and
 * reports per-message figures from real answers; a failing stream is counted as
 * an error with the server's text, not as messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runStreamLoad } from '../../bench/drivers/streams/run.ts';
import { TRANSPORTS_OF, type StreamTransport } from '../../bench/drivers/streams/types.ts';
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';
import { startServers, type Servers } from '../helpers/servers.ts';

describe('stream load generator', () => {
  let servers: Servers;
  const target = (transport: StreamTransport) => ({ host: '127.0.0.1', port: transport === 'grpc' ? servers.grpcPort : servers.restPort });

  before(async () => {
    servers = await startServers();
  });
  after(async () => {
    await servers.close();
  });

  for (const operation of STREAM_OPERATIONS) {
    for (const transport of TRANSPORTS_OF[operation]) {
      test(`${operation} over ${transport}: 4 streams x 300 messages`, async () => {
        const result = await runStreamLoad({ operation, transport, target: target(transport), streams: 4, messages: 300, connections: 1, serverPid: process.pid });
        assert.equal(result.firstError, null);
        assert.equal(result.errors, 0);
        assert.equal(result.messages, 1_200);
        assert.ok(result.messagesPerSecond > 0);
        // Samples per message: bidi 299 per stream (the first answer is the open cost), server streaming 299
        // inter-arrivals per stream, client streaming one per stream.
        const samples = operation === 'sum-stream' ? 4 : 4 * 299;
        assert.equal(result.latencyUs.totalCount, samples);
        assert.equal(result.openUs.totalCount, operation === 'sum-stream' ? 0 : 4);
        assert.notEqual(result.serverCpuMsPer1000, 0, 'a measured value or null, never a made-up 0');
      });
    }
  }

  test('a stream the server refuses is an error with its text, and no messages', async () => {
    // More values than prefix-sums takes: the server answers with an error before any total.
    const result = await runStreamLoad({ operation: 'prefix-sums', transport: 'grpc', target: target('grpc'), streams: 2, messages: 100_001, connections: 1, serverPid: null });
    assert.equal(result.errors, 2);
    assert.equal(result.messages, 0);
    assert.match(result.firstError ?? '', /gRPC status 3: field "values" holds 100001 numbers/);
  });

  test('an operation a transport does not serve is refused before any stream', async () => {
    await assert.rejects(
      runStreamLoad({ operation: 'sum-stream', transport: 'websocket', target: target('websocket'), streams: 1, messages: 1, connections: 1, serverPid: null }),
      /sum-stream is not served over websocket/,
    );
  });
});
