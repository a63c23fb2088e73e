/**
 * Every contender passes the conformance table over real sockets (the
 * calculator is the oracle), the runner does catch a contender that answers
 * differently, the few protocol rules outside the table hold, and
 * docs/contenders.md's example contender is the file it says it is.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { grpcMethodPath, SERVICE_NAME } from '../../servers/proto.ts';
import { createHttp1Server, startRestServer } from '../../servers/rest-server.ts';
import type { RunningServer } from '../../servers/server-options.ts';
import { casesFor, checkContenderConformance, CONFORMANCE_CASES } from '../../servers/contenders/conformance.ts';
import { frameGrpcMessage } from '../../bench/wire/grpc-frame.ts';
import { CONTENDERS, contenderLanguage, getContender, type Contender } from '../../servers/contenders/index.ts';
import { listenHttp1 } from '../../servers/listen.ts';
import { restHttp1Listener } from '../../servers/contenders/node-http.ts';
import { JSON_CODEC } from '../../servers/contenders/rest-protocol.ts';

const HOST = '127.0.0.1';

describe('registry', () => {
  test('names are unique and every contender says how it is called', () => {
    const names = CONTENDERS.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    for (const contender of CONTENDERS) {
      assert.ok(['http1', 'h2'].includes(contender.wire), contender.name);
      assert.ok(['json', 'protobuf'].includes(contender.encoding), contender.name);
      assert.equal(contender.client.style === 'rest-json', contender.encoding === 'json', contender.name);
      assert.equal(typeof contender.start, 'function');
    }
  });

  test('the defaults are the default pair (express, grpc-js)', () => {
    assert.equal(getContender('express').start, startRestServer);
    assert.equal(getContender('grpc-js').start, startGrpcServer);
    assert.deepEqual(CONTENDERS.filter((c) => c.isDefault).map((c) => c.name), ['express', 'grpc-js']);
  });

  test('both wire protocols are covered with both encodings', () => {
    for (const wire of ['http1', 'h2'] as const) {
      for (const encoding of ['json', 'protobuf'] as const) {
        assert.ok(CONTENDERS.some((c) => c.wire === wire && c.encoding === encoding), `${wire} × ${encoding}`);
      }
    }
  });

  test('an unknown name is refused with the known ones listed', () => {
    assert.throws(() => getContender('nope'), /unknown contender "nope"; known: express, /);
  });

  test('serve-contender --list prints every contender', () => {
    const script = fileURLToPath(new URL('../../servers/contenders/serve-contender.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', script, '--list'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(result.status, 0, result.stderr);
    for (const contender of CONTENDERS) assert.match(result.stdout, new RegExp(`^${contender.name}\\b.*\\b${contender.wire}\\b.*\\b${contender.encoding}\\b`, 'm'));
  });

  test("docs/contenders.md's example is test/fixtures/example-contender.ts, byte for byte", () => {
    const doc = readFileSync(new URL('../../docs/contenders.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Add your own server\n'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    assert.equal(block, readFileSync(new URL('../fixtures/example-contender.ts', import.meta.url), 'utf8'));
  });
});

describe('conformance', () => {
  test('the table holds the issue-8 cases', () => {
    const names = CONFORMANCE_CASES.map((c) => c.name).join('\n');
    for (const pattern of [/add 20,10/, /divide by zero/, /missing operand/, /NaN/, /overflow/, /sum of 1 value/, /sum of 10,000 values/, /sum of 0 values/, /over maxValues/]) {
      assert.match(names, pattern);
    }
    // NaN/Infinity only where the encoding carries them.
    assert.ok(!casesFor(getContender('express')).some((c) => c.name === 'NaN operand'));
    assert.ok(casesFor(getContender('grpc-js')).some((c) => c.name === 'NaN operand'));
  });

  for (const contender of CONTENDERS) {
    // The Go contenders need Debian's Go packages (test/servers/go-contenders.test.ts builds them from a clean cache).
    test(`${contender.name} (${contender.wire}, ${contender.encoding}) passes`, { skip: contender.unavailable?.() ?? false }, async () => {
      const server = await contender.start({ host: HOST, port: 0 });
      try {
        const result = await checkContenderConformance(contender, server.address);
        assert.deepEqual(result.failures, []);
        assert.equal(result.passed, true);
        assert.ok(result.cases >= 20, `${result.cases} cases`);
      } finally {
        await server.close(1_000);
      }
    });
  }

  test('a contender that answers differently is reported, not passed', async () => {
    const offByOne = { ...JSON_CODEC, encodeResult: (value: number) => JSON_CODEC.encodeResult(value + 1) };
    const broken: Contender = {
      ...getContender('node-http'),
      name: 'off-by-one',
      start: (options) => listenHttp1(createHttp1Server(options, restHttp1Listener(offByOne)), options, 'off-by-one'),
    };
    const server = await broken.start({ host: HOST, port: 0 });
    try {
      const result = await checkContenderConformance(broken, server.address);
      assert.equal(result.passed, false);
      assert.ok(result.failures.some((f) => f === 'off-by-one: add 20,10: expected value 30, got value 31'), result.failures.join('\n'));
      // Errors are untouched by the bug, so only the successful cases fail.
      assert.ok(!result.failures.some((f) => f.includes('divide by zero')));
    } finally {
      await server.close(1_000);
    }
  });

  test('a contender that is not listening fails every case, without throwing', async () => {
    const result = await checkContenderConformance(getContender('node-http'), `http://${HOST}:1`);
    assert.equal(result.passed, false);
    assert.equal(result.failures.length, result.cases);
    assert.match(result.failures[0]!, /call failed/);
  });
});

function h2Request(
  address: string,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  const session = http2.connect(address.startsWith('http') ? address : `http://${address}`);
  return new Promise((resolve, reject) => {
    session.on('error', reject);
    const stream = session.request(headers, { endStream: !body });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      session.close();
      resolve({ headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    if (body) stream.end(body);
  });
}

describe('gRPC rules outside the table', () => {
  const grpcContenders = CONTENDERS.filter((c) => c.client.style === 'grpc');
  const servers = new Map<string, RunningServer>();
  before(async () => {
    for (const contender of grpcContenders) servers.set(contender.name, await contender.start({ host: HOST, port: 0 }));
  });
  after(async () => {
    await Promise.all([...servers.values()].map((server) => server.close(1_000)));
  });

  for (const name of ['grpc-js', 'connect-grpc', 'node-http2-grpc']) {
    test(`${name}: unknown method is UNIMPLEMENTED, a non-gRPC content-type is HTTP 415`, async () => {
      const address = servers.get(name)!.address;
      const unknown = await h2Request(
        address,
        { ':method': 'POST', ':path': `/${SERVICE_NAME}/Power`, 'content-type': 'application/grpc', te: 'trailers' },
        frameGrpcMessage(new Uint8Array()),
      );
      const status = unknown.trailers['grpc-status'] ?? unknown.headers['grpc-status'];
      assert.equal(status, '12');
      const wrongType = await h2Request(
        address,
        { ':method': 'POST', ':path': grpcMethodPath('add'), 'content-type': 'application/json' },
        Buffer.from('{"a":1,"b":2}'),
      );
      assert.equal(wrongType.headers[':status'], 415);
    });
  }

  for (const name of ['grpc-js', 'connect-grpc', 'node-http2-grpc']) {
    test(`${name}: a stream with no message, or two, is INVALID_ARGUMENT with grpc-server.ts's text`, async () => {
      const address = servers.get(name)!.address;
      const headers = { ':method': 'POST', ':path': grpcMethodPath('add'), 'content-type': 'application/grpc', te: 'trailers' };
      const none = await h2Request(address, headers, Buffer.alloc(0));
      assert.equal(none.trailers['grpc-status'] ?? none.headers['grpc-status'], '3');
      assert.equal(decodeURIComponent(String(none.trailers['grpc-message'] ?? none.headers['grpc-message'])), 'request body was incomplete');
      const message = frameGrpcMessage(new Uint8Array([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
      const two = await h2Request(address, headers, Buffer.concat([message, message]));
      assert.equal(two.trailers['grpc-status'] ?? two.headers['grpc-status'], '3');
      assert.equal(decodeURIComponent(String(two.trailers['grpc-message'] ?? two.headers['grpc-message'])), 'request body must hold exactly one message');
    });
  }
});

describe('REST rules outside the table', () => {
  for (const name of ['express', 'fastify', 'node-http']) {
    test(`${name}: a body over the limit is refused at once and the connection closes`, async () => {
      const server = await getContender(name).start({ host: HOST, port: 0 });
      try {
        const response = await new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
          const req = http.request(
            { host: HOST, port: server.port, method: 'POST', path: '/v1/sum', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
            },
          );
          req.on('error', reject);
          req.write('{"values":[1'); // the rest never comes: the answer must not wait for it
        });
        assert.equal(response.status, 413);
        assert.equal(response.connection, 'close');
        assert.equal(JSON.parse(response.body).error.code, 'RESOURCE_EXHAUSTED');
      } finally {
        await server.close(500);
      }
    });
  }
});

describe('requests node:http rejects before any handler', () => {
  // Go's net/http answers what its parser rejects itself (400, text/plain), before any handler: a documented gap of go-net-http.
  for (const name of CONTENDERS.filter((c) => c.wire === 'http1' && contenderLanguage(c) === 'node').map((c) => c.name)) {
    test(`${name} answers a malformed request line with express's JSON error (answerClientError)`, async () => {
      const server = await getContender(name).start({ host: HOST, port: 0 });
      try {
        const { port } = new URL(server.address);
        const text = await new Promise<string>((resolve) => {
          const socket = net.connect(Number(port), HOST, () => socket.write('GARBAGE /\r\n\r\n'));
          let out = '';
          socket.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
          socket.on('close', () => resolve(out)).on('error', () => resolve(out));
        });
        assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
        assert.match(text, /connection: close\r\n/i);
        assert.ok(text.endsWith('\r\n\r\n{"error":{"code":"INVALID_ARGUMENT","message":"malformed HTTP request"}}'), text);
      } finally {
        await server.close(1_000);
      }
    });
  }
});
