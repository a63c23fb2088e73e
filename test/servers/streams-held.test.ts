/**
 * 1,000 concurrent streams on each bidi transport, all open at once: every
 * stream gets its first total before any stream sends its second value, then
 * every stream finishes with the right totals and no errors. gRPC: 1,000
 * streams on one HTTP/2 connection (the server's max_concurrent_streams);
 * NDJSON and WebSocket: 1,000 connections.
 */
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { connectH2, fdLimit, startServers, type Servers } from '../helpers/servers.ts';
import { grpcRawStream, http1RawStream, webSocketStream, type RawStream } from '../helpers/stream-clients.ts';

const STREAMS = 1_000;
/** Both ends of 1,000 connections live in this process, plus node's own. */
const FDS_NEEDED = 2 * STREAMS + 200;
const limit = fdLimit();
const skip = !(limit >= FDS_NEEDED) ? `open-file limit is ${limit}, need ${FDS_NEEDED} (raise it with ulimit -n ${FDS_NEEDED})` : false;

describe('streams: 1,000 held at once on every bidi transport', { skip }, () => {
  let servers: Servers;
  let session: http2.ClientHttp2Session;

  before(async () => {
    servers = await startServers();
    session = await connectH2(servers.grpcAddress);
  });
  after(async () => {
    session.close();
    await servers.close();
  });

  const open: Record<string, () => RawStream> = {
    grpc: () => grpcRawStream(session, 'RunningSum'),
    ndjson: () => http1RawStream({ port: servers.restPort, path: '/v1/running-sum' }),
    websocket: () => webSocketStream(`ws://127.0.0.1:${servers.restPort}/v1/running-sum`),
  };
  for (const [transport, openStream] of Object.entries(open)) {
    test(transport, async () => {
      const streams = Array.from({ length: STREAMS }, openStream);
      streams.forEach((stream, i) => stream.send(i));
      const first = await Promise.all(streams.map((stream) => stream.next()));
      assert.deepEqual(first, streams.map((_, i) => i));
      for (const stream of streams) {
        stream.send(1);
        stream.end();
      }
      const ends = await Promise.all(streams.map((stream) => stream.done));
      ends.forEach((end, i) => assert.deepEqual({ values: end.values, error: end.error }, { values: [i, i + 1], error: undefined }));
    });
  }
});
