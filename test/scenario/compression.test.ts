/**
 * The compression dimension: gzip really goes on the wire (fewer request bytes
 * counted by the proxy, the compressed flag and grpc-encoding on gRPC frames,
 * content-encoding on REST), what each server does with responses, and the
 * REST server's gzip request bodies (inflated size limited: a zip bomb gets 413).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { grpcEngine } from '../../bench/drivers/grpc-engine.ts';
import { GRPC_GZIP_HEADERS, REST_GZIP_HEADERS, withCompression, wireBody } from '../../bench/scenario/compression.ts';
import { resolveBenchOptions } from '../../bench/options/options.ts';
import { runBench } from '../../bench/run/runner.ts';
import { buildPayload } from '../../bench/scenario/matrix.ts';
import { LIMITS } from '../../servers/calculator.ts';
import { createRestApp, REST_GZIP_MIN_BYTES } from '../../servers/rest-server.ts';
import { assertSchemaValid, tempDir, quietProgress } from '../helpers/bench.ts';
import { GRPC_DEFAULT_HEADERS, startServers, type Servers } from '../helpers/servers.ts';

const TOO_LARGE = `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`;

describe('payload compression helpers', () => {
  test('gzip forms are precomputed once and inflate back to the same bodies', () => {
    const plain = buildPayload('sum', 1_000, 'int');
    const gz = withCompression(plain, 'gzip');
    assert.equal(gz.compressed?.encoding, 'gzip');
    assert.deepEqual(zlib.gunzipSync(gz.compressed!.json), plain.json);
    assert.deepEqual(new Uint8Array(zlib.gunzipSync(gz.compressed!.protobuf)), new Uint8Array(plain.protobuf));
    assert.equal(wireBody(gz, 'grpc'), gz.compressed!.protobuf);
    assert.equal(wireBody(gz, 'rest'), gz.compressed!.json);
    assert.equal(withCompression(plain, 'none').compressed, undefined);
    assert.equal(wireBody(plain, 'rest'), plain.json);
  });
});

describe('grpc-engine sends compressed frames', () => {
  let server: http2.Http2Server;
  let port = 0;
  const seen: { headers: http2.IncomingHttpHeaders; body: Buffer }[] = [];
  before(async () => {
    // A bare HTTP/2 server that records what arrives and answers OK with an empty Result.
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        seen.push({ headers, body: Buffer.concat(chunks) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('compressed flag 1, gzip message, grpc-encoding and grpc-accept-encoding headers', async () => {
    const payload = withCompression(buildPayload('sum', 1_000, 'int'), 'gzip');
    const result = await grpcEngine.run({ target: { protocol: 'grpc', host: '127.0.0.1', port }, payload, concurrency: 2, connections: 1, durationS: 0, requests: 4, timeoutMs: 5_000 });
    assert.equal(result.errors, 0, JSON.stringify(result.statusCounts));
    assert.equal(seen.length, 4);
    for (const { headers, body } of seen) {
      assert.equal(headers['grpc-encoding'], GRPC_GZIP_HEADERS['grpc-encoding']);
      assert.equal(headers['grpc-accept-encoding'], 'gzip');
      assert.equal(body[0], 1, 'compressed flag');
      assert.equal(body.readUInt32BE(1), body.length - 5);
      assert.deepEqual(new Uint8Array(zlib.gunzipSync(body.subarray(5))), new Uint8Array(payload.protobuf));
    }
  });
});

describe('servers and compression', () => {
  let servers: Servers;
  before(async () => {
    servers = await startServers();
  });
  after(() => servers.close());

  test('grpc-js inflates a gzip request but answers uncompressed even when gzip is accepted (grpc-js 1.14 has no response compression)', async () => {
    const payload = withCompression(buildPayload('sum', 100, 'int'), 'gzip');
    const session = http2.connect(`http://127.0.0.1:${servers.grpcPort}`);
    try {
      const message = Buffer.from(payload.compressed!.protobuf);
      const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), message]);
      frame.writeUInt32BE(message.length, 1);
      const stream = session.request({ ...GRPC_DEFAULT_HEADERS, ':path': '/calculator.v1.Calculator/Sum', ...GRPC_GZIP_HEADERS });
      const chunks: Buffer[] = [];
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('response', (h) => (headers = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.end(frame);
      await new Promise<void>((resolve, reject) => {
        stream.on('close', resolve);
        stream.on('error', reject);
      });
      assert.equal(trailers['grpc-status'], '0', String(trailers['grpc-message']));
      const body = Buffer.concat(chunks);
      assert.equal(body[0], 0, 'response not compressed');
      assert.notEqual(headers['grpc-encoding'], 'gzip');
      const expected = (payload.input as { values: number[] }).values.reduce((sum, v) => sum + v, 0);
      assert.equal(body.readDoubleLE(5 + 1), expected); // Result { double value = 1; }: tag 0x09 then 8 bytes
    } finally {
      session.close();
    }
  });

  test('REST: gzip body accepted; result compressed only for clients that accept gzip and at or over the threshold', async () => {
    const body = zlib.gzipSync(JSON.stringify({ a: 20, b: 10 }));
    const gzipHeaders = { 'content-type': 'application/json', ...REST_GZIP_HEADERS };
    // Default threshold: a 13-byte result is not worth compressing.
    const small = await post(servers.restPort, '/v1/add', body, gzipHeaders);
    assert.equal(small.status, 200);
    assert.equal(small.headers['content-encoding'], undefined);
    assert.deepEqual(JSON.parse(small.body.toString()), { value: 30 });
    assert.ok(REST_GZIP_MIN_BYTES > small.body.length);

    // A response over the threshold (a long 404 message) is gzipped when accepted, plain otherwise.
    const longPath = `/v1/${'x'.repeat(300)}`;
    const accepted = await post(servers.restPort, longPath, Buffer.from('{}'), { 'content-type': 'application/json', 'accept-encoding': 'gzip' });
    assert.equal(accepted.status, 404);
    assert.equal(accepted.headers['content-encoding'], 'gzip');
    assert.equal(accepted.headers.vary, 'accept-encoding');
    const inflated = JSON.parse(zlib.gunzipSync(accepted.body).toString()) as { error: { code: string } };
    assert.equal(inflated.error.code, 'NOT_FOUND');
    assert.ok(accepted.body.length < Buffer.byteLength(JSON.stringify(inflated)));
    const plain = await post(servers.restPort, longPath, Buffer.from('{}'), { 'content-type': 'application/json' });
    assert.equal(plain.headers['content-encoding'], undefined);
    const refused = await post(servers.restPort, longPath, Buffer.from('{}'), { 'content-type': 'application/json', 'accept-encoding': 'gzip;q=0, identity' });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  test('REST with gzipMinBytes 0: every result carries content-encoding: gzip when accepted', async () => {
    const server = http.createServer(createRestApp({ gzipMinBytes: 0 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const sum = await post(port, '/v1/sum', zlib.gzipSync(JSON.stringify({ values: [1, 2, 3.5] })), { 'content-type': 'application/json', ...REST_GZIP_HEADERS });
      assert.equal(sum.status, 200);
      assert.equal(sum.headers['content-encoding'], 'gzip');
      assert.deepEqual(JSON.parse(zlib.gunzipSync(sum.body).toString()), { value: 6.5 });
      const none = await post(port, '/v1/sum', Buffer.from(JSON.stringify({ values: [1] })), { 'content-type': 'application/json' });
      assert.equal(none.headers['content-encoding'], undefined);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('REST: a zip bomb (small as sent, over the limit inflated) gets 413; bad gzip 400; br still 415', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(LIMITS.maxBodyBytes * 16, 0x20));
    assert.ok(bomb.length < LIMITS.maxBodyBytes / 10);
    const gz = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const big = await post(servers.restPort, '/v1/sum', bomb, gz);
    assert.equal(big.status, 413);
    assert.deepEqual(JSON.parse(big.body.toString()), { error: { code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE } });
    const bad = await post(servers.restPort, '/v1/add', Buffer.from('{"a":1,"b":2}'), gz);
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body.toString()), { error: { code: 'INVALID_ARGUMENT', message: 'request body could not be decompressed' } });
    const br = await post(servers.restPort, '/v1/add', Buffer.from('{"a":1,"b":2}'), { 'content-type': 'application/json', 'content-encoding': 'br' });
    assert.equal(br.status, 415);
    // The server is still fine.
    const ok = await post(servers.restPort, '/v1/add', Buffer.from('{"a":1,"b":2}'), { 'content-type': 'application/json' });
    assert.deepEqual(JSON.parse(ok.body.toString()), { value: 3 });
  });
});

describe('--compression none,gzip through runBench', () => {
  test('10,000 int values: the proxy counts fewer request bytes with gzip, for both protocols; records say gzip', async () => {
    const out = tempDir();
    const options = resolveBenchOptions(
      ['--ops', 'sum', '--sizes', '10000', '--shape', 'int', '--concurrency', '4', '--compression', 'none,gzip', '--duration', '0.3', '--warmup', '0', '--wire-calls', '50', '--out', out, '--no-pin', '--progress', 'none'],
      driverCatalog(),
    );
    const outcome = await runBench(options, { progress: quietProgress });
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    assertSchemaValid(JSON.parse(JSON.stringify(outcome.results)));
    const runs = outcome.results.runs;
    assert.deepEqual([...new Set(runs.map((r) => r.scenario))], ['sum-10000-int/c4', 'sum-10000-int-gzip/c4']);
    for (const protocol of ['grpc', 'rest'] as const) {
      const plain = runs.find((r) => r.protocol === protocol && r.compression === 'none')!;
      const gz = runs.find((r) => r.protocol === protocol && r.compression === 'gzip')!;
      assert.equal(plain.errors + gz.errors, 0, protocol);
      assert.ok(gz.wire.requestBytesPerCall! < plain.wire.requestBytesPerCall!, `${protocol}: ${gz.wire.requestBytesPerCall} vs ${plain.wire.requestBytesPerCall}`);
      // body.requestBytes is the gzip body as sent.
      const payload = withCompression(buildPayload('sum', 10_000, 'int'), 'gzip');
      assert.equal(gz.body.requestBytes, wireBody(payload, protocol).length);
      assert.ok(gz.server.cpuMsPer1kCalls !== null && gz.client.cpuUsPerCall !== null);
    }
  });

  test('a driver that cannot send compressed payloads is refused before any load', async () => {
    const options = resolveBenchOptions(['--profile', 'quick', '--compression', 'gzip', '--driver', 'grpc=h2load', '--no-pin', '--progress', 'none', '--out', tempDir()], driverCatalog());
    await assert.rejects(runBench(options, { progress: quietProgress }), /--compression gzip: driver h2load does not send compressed payloads/);
  });
});

function post(port: number, path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'content-length': String(body.length), connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
