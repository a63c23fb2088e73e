/**
 * servers/contenders/go-contenders.ts: both Go contenders built from a clean
 * cache (a temporary directory), then held to the conformance table over real
 * sockets, over TLS too, with their streams spot-checked: the Go servers must
 * answer as the Node ones do. Skips with one line without go or Debian's Go packages.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkContenderConformance } from '../../servers/contenders/conformance.ts';
import { goContenderBinary, goSourceHash, goUnavailable, startGoContender, type GoContenderName } from '../../servers/contenders/go-contenders.ts';
import { getContender } from '../../servers/contenders/index.ts';
import { frameGrpcMessage } from '../../servers/grpc-frame.ts';
import { decodeResult, encodeNumber, grpcMethodPath } from '../../servers/proto.ts';
import type { RunningServer } from '../../servers/server-options.ts';
import { createSelfSignedTls } from '../../servers/tls.ts';

const HOST = '127.0.0.1';
const NAMES: readonly GoContenderName[] = ['grpc-go', 'go-net-http'];
const skip = goUnavailable() ?? false;

describe('Go contenders', { skip }, () => {
  let cacheDir: string;
  before(() => {
    cacheDir = mkdtempSync(path.join(os.tmpdir(), 'callbench-go-cache-'));
  });
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  test('built from a clean cache, once, under a hash of the sources', async () => {
    assert.deepEqual(readdirSync(cacheDir), []);
    const binaries = await Promise.all(NAMES.map((name) => goContenderBinary(name, cacheDir)));
    const hash = goSourceHash();
    assert.deepEqual(binaries.map((binary) => path.basename(binary)), NAMES.map((name) => `${name}-${hash}`));
    assert.ok(binaries.every((binary) => existsSync(binary)));
    // Only the binaries are left (each build's tree is removed), and a second call reuses them.
    assert.deepEqual(readdirSync(cacheDir).sort(), binaries.map((binary) => path.basename(binary)).sort());
    assert.equal(await goContenderBinary('grpc-go', cacheDir), binaries[0]);
  });

  for (const name of NAMES) {
    test(`${name} passes the conformance table`, async () => {
      const contender = getContender(name);
      const server = await startGoContender(name, { host: HOST, port: 0 }, { cacheDir });
      try {
        assert.equal(server.protocol, contender.client.style === 'grpc' ? 'grpc' : 'rest');
        const result = await checkContenderConformance(contender, server.address);
        assert.deepEqual(result.failures, []);
        assert.ok(result.cases >= 20, `${result.cases} cases`);
      } finally {
        await server.close(1_000);
      }
    });

    test(`${name} passes it over TLS, with the certificate the others get`, async () => {
      const server = await startGoContender(name, { host: HOST, port: 0, tls: await createSelfSignedTls(HOST) }, { cacheDir });
      try {
        const address = name === 'grpc-go' ? `https://${server.address}` : server.address;
        if (name === 'go-net-http') assert.match(server.address, /^https:\/\//);
        const result = await checkContenderConformance(getContender(name), address);
        assert.deepEqual(result.failures, []);
      } finally {
        await server.close(1_000);
      }
    });
  }

  test('a port in use is one line naming it, and no server', async () => {
    const first = await startGoContender('go-net-http', { host: HOST, port: 0 }, { cacheDir });
    try {
      await assert.rejects(startGoContender('go-net-http', { host: HOST, port: first.port }, { cacheDir }), new RegExp(`port ${first.port} on ${HOST} is already in use`));
    } finally {
      await first.close(1_000);
    }
  });

  describe('streams', () => {
    const servers: Partial<Record<GoContenderName, RunningServer>> = {};
    before(async () => {
      for (const name of NAMES) servers[name] = await startGoContender(name, { host: HOST, port: 0, streamIdleMs: 300 }, { cacheDir });
    });
    after(async () => {
      for (const server of Object.values(servers)) await server?.close(1_000);
    });

    test('grpc-go RunningSum answers each value with the total, and an overflow with OUT_OF_RANGE', async () => {
      const { messages, status, message } = await grpcStream(servers['grpc-go']!.address, 'running-sum', [1.5, 2, 3.25, Number.MAX_VALUE, Number.MAX_VALUE]);
      assert.deepEqual(messages, [1.5, 3.5, 6.75, Number.MAX_VALUE]);
      assert.equal(status, '11');
      assert.equal(message, 'result is outside the range of a double (overflow)');
    });

    test('grpc-go SumStream answers the total once the client half-closes', async () => {
      const { messages, status } = await grpcStream(servers['grpc-go']!.address, 'sum-stream', [1, 2, 3]);
      assert.deepEqual(messages, [6]);
      assert.equal(status, '0');
    });

    test('grpc-go ends a silent stream with DEADLINE_EXCEEDED', async () => {
      const { status, message } = await grpcStream(servers['grpc-go']!.address, 'running-sum', [1], { keepOpen: true });
      assert.equal(status, '4');
      assert.equal(message, 'stream carried no message for 300 ms');
    });

    test('go-net-http NDJSON running-sum answers each line, and a bad one with an error line', async () => {
      const lines = await ndjsonRunningSum(servers['go-net-http']!.address, ['{"value":1}', '{"value":2.5}', '', '{"value":"x"}']);
      assert.deepEqual(lines, ['{"value":1}', '{"value":3.5}', '{"error":{"code":"INVALID_ARGUMENT","message":"field \\"value\\" must be a number, got string"}}']);
    });

    test('go-net-http prefix-sums as Server-Sent Events', async () => {
      const body = await post(servers['go-net-http']!.address, '/v1/prefix-sums', '{"values":[1,2,3]}', { accept: 'text/event-stream' });
      assert.equal(body.contentType, 'text/event-stream');
      assert.equal(body.text, 'data: {"value":1}\n\ndata: {"value":3}\n\ndata: {"value":6}\n\n');
    });
  });
});

async function grpcStream(
  address: string,
  operation: 'running-sum' | 'sum-stream',
  values: number[],
  { keepOpen = false } = {},
): Promise<{ messages: number[]; status: string | undefined; message: string | undefined }> {
  const session = http2.connect(`http://${address}`);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': grpcMethodPath(operation), 'content-type': 'application/grpc', te: 'trailers' });
      let buffered = Buffer.alloc(0);
      const messages: number[] = [];
      stream.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
          messages.push(decodeResult(buffered.subarray(5, 5 + buffered.readUInt32BE(1))));
          buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
        }
      });
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on('response', (headers) => (trailers = headers));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('error', reject);
      stream.on('close', () => resolve({ messages, status: trailers['grpc-status'] as string | undefined, message: trailers['grpc-message'] as string | undefined }));
      for (const value of values) stream.write(frameGrpcMessage(Buffer.from(encodeNumber(value))));
      if (!keepOpen) stream.end();
    });
  } finally {
    session.close();
  }
}

/** Sends NDJSON lines one at a time, each after the answer to the last (a blank line has none), on one chunked request. */
function ndjsonRunningSum(address: string, lines: string[]): Promise<string[]> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/running-sum', headers: { 'content-type': 'application/x-ndjson' }, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        pending += text;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        answers.push(...parts);
        sendNext();
      });
      res.on('end', () => resolve(answers));
    });
    let next = 0;
    const sendNext = (): void => {
      if (next === lines.length) return;
      // Blank lines are skipped by the server: send them with the line after.
      let chunk = '';
      while (next < lines.length) {
        chunk += `${lines[next]}\n`;
        if (lines[next++] !== '') break;
      }
      if (chunk !== '') req.write(chunk);
      if (next === lines.length) req.end();
    };
    req.flushHeaders();
    sendNext();
  });
}

function post(address: string, pathname: string, body: string, headers: Record<string, string>): Promise<{ contentType: string; text: string }> {
  const url = new URL(address);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: pathname, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ contentType: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
