/**
 * Backpressure: a client that stops reading must not grow the server's memory.
 * The servers run as a child process (servers/serve.ts) so their RSS is theirs
 * alone. On every transport, clients open streams, stop reading, and push far
 * more than the server could answer into its socket buffers; the server must
 * stop reading them (the unsent bytes pile up on the client side, not the
 * server's) and its RSS must stay well below what it would hold if it kept
 * reading and queueing answers. Then a slow reader gets every answer, in order.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { spawnServe, type ServeChild } from '../helpers/servers.ts';
import { grpcPrefixSums, grpcRawStream, http1RawStream, webSocketStream, type RawStream } from '../helpers/stream-clients.ts';

const STREAMS = 2;
/** Messages each stalled stream is asked to take: ~5 MB of NDJSON, more as queued answers. */
const MESSAGES = 400_000;
const BLOCK = 10_000;
/** Server RSS may grow by this much while its clients are stalled (socket buffers, parser state, GC slack). */
const RSS_GROWTH_LIMIT_BYTES = 40 * 1024 * 1024;

function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Samples the server's RSS for `ms` and returns the highest reading. */
async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = rssBytes(pid);
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await sleep(50);
    peak = Math.max(peak, rssBytes(pid));
  }
  return peak;
}

describe('streams: a client that stops reading does not grow the server', { skip: process.platform !== 'linux' ? 'reads RSS from /proc (Linux only)' : false }, () => {
  let serve: ServeChild;
  /** A fresh HTTP/2 connection per test: a stalled one is not reused. */
  let session: http2.ClientHttp2Session;
  let restPort: number;

  beforeEach(async () => {
    // The stalled client's own HTTP/2 session holds what the server does not take: let it (Node's default is 10 MB).
    session = http2.connect(`http://${serve.grpcAddress}`, { maxSessionMemory: 200 });
    await new Promise((resolve) => session.once('remoteSettings', resolve));
  });
  afterEach(() => session.destroy());

  before(async () => {
    // A generous start-up time: a loaded machine can take tens of seconds to load the modules.
    serve = await spawnServe(['--grpc-port', '0', '--rest-port', '0'], { timeoutMs: 120_000 });
    restPort = Number(new URL(serve.restUrl!).port);
  });
  after(async () => {
    await serve.stop();
  });

  const bidi: Record<string, () => RawStream> = {
    'gRPC RunningSum': () => grpcRawStream(session, 'RunningSum'),
    'NDJSON running-sum': () => http1RawStream({ port: restPort, path: '/v1/running-sum' }),
    'WebSocket running-sum': () => webSocketStream(`ws://127.0.0.1:${restPort}/v1/running-sum`),
  };
  for (const [name, open] of Object.entries(bidi)) {
    test(`${name}: stalled readers, bounded server; then a slow reader gets every total`, async (t) => {
      const pid = serve.child.pid!;
      const before = rssBytes(pid);
      const streams = Array.from({ length: STREAMS }, open);
      const ndjson = name.startsWith('NDJSON');
      for (const stream of streams) {
        stream.pauseReading();
        for (let sent = 0; sent < MESSAGES; sent += BLOCK) {
          if (ndjson) stream.sendRaw('{"value":1}\n'.repeat(BLOCK - 1) + '{"value":1}');
          else for (let i = 0; i < BLOCK; i++) stream.send(1);
        }
      }
      const peak = await peakRss(pid, 1_500);
      // Unsent bytes on the client's side (what a server that kept reading would hold instead); a
      // diagnostic, not an assertion: how much sits in the kernel's socket buffers varies by machine.
      const backlog = streams.reduce((sum, stream) => sum + stream.backlogBytes(), 0);
      t.diagnostic(`server RSS +${((peak - before) / 1e6).toFixed(1)} MB; client backlog ${(backlog / 1e6).toFixed(1)} MB`);
      assert.ok(peak - before < RSS_GROWTH_LIMIT_BYTES, `server RSS grew by ${((peak - before) / 1e6).toFixed(1)} MB while stalled`);
      for (const stream of streams.slice(1)) stream.destroy();

      // A slow reader: reads resume in small steps and every total arrives, in order.
      const [slow] = streams;
      slow!.resumeReading();
      let expected = 0;
      for (let i = 0; i < 2_000; i++) {
        expected += 1;
        assert.equal(await slow!.next(), expected);
        if (i % 500 === 0) {
          slow!.pauseReading();
          await sleep(20);
          slow!.resumeReading();
        }
      }
      slow!.destroy();
    });
  }

  const server: Record<string, (values: number[]) => RawStream> = {
    'gRPC PrefixSums': (values) => grpcPrefixSums(session, values),
    'NDJSON prefix-sums': (values) => http1RawStream({ port: restPort, path: '/v1/prefix-sums', body: JSON.stringify({ values }) }),
    'SSE prefix-sums': (values) => http1RawStream({ port: restPort, path: '/v1/prefix-sums', body: JSON.stringify({ values }), accept: 'text/event-stream' }),
  };
  for (const [name, open] of Object.entries(server)) {
    test(`${name}: 10 stalled readers of 100,000 totals each, bounded server`, async (t) => {
      const pid = serve.child.pid!;
      const values = new Array<number>(100_000).fill(1);
      const before = rssBytes(pid);
      const streams = Array.from({ length: 10 }, () => open(values));
      for (const stream of streams) stream.pauseReading();
      const peak = await peakRss(pid, 1_500);
      t.diagnostic(`server RSS +${((peak - before) / 1e6).toFixed(1)} MB`);
      // 10 x 100,000 answers are >= 20 MB on the wire, several times that as queued strings and buffers.
      assert.ok(peak - before < RSS_GROWTH_LIMIT_BYTES, `server RSS grew by ${((peak - before) / 1e6).toFixed(1)} MB while stalled`);
      const [first, ...rest] = streams;
      for (const stream of rest) stream.destroy();
      first!.resumeReading();
      const end = await first!.done;
      assert.equal(end.error, undefined);
      assert.equal(end.values.length, 100_000);
      assert.equal(end.values.at(-1), 100_000);
    });
  }
});
