/**
 * http1-engine: exact counts and bytes against the real REST server, every
 * failure kind against hostile servers, the open-loop schedule, and the point
 * of the open loop: a server stall of known length shows in the open-loop p99
 * and is hidden (coordinated omission) by a closed loop at the same load.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { buildHttp1Request, http1Engine, Http1ResponseParser } from '../../bench/drivers/http1-engine.ts';
import type { LoadOptions } from '../../bench/types.ts';
import { ADD, loadOptions, payloadOf } from '../helpers/drivers.ts';
import { startServers, type Servers } from '../helpers/servers.ts';
import { startRestServer } from '../../servers/rest-server.ts';
import { createSelfSignedTls } from '../../servers/tls.ts';

/** Add against `url`, 4 in flight on 4 connections (HTTP/1.1 has one call in flight per connection). */
function options(url: string, extra: Partial<LoadOptions> = {}): LoadOptions {
  return loadOptions({ protocol: 'rest', url }, { concurrency: 4, connections: 4, ...extra });
}

/** A raw TCP server for misbehaving peers; returns its URL and a close function. */
async function tcpServer(onSocket: (socket: net.Socket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function httpServer(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('http1-engine against the REST server', () => {
  let servers: Servers;
  before(async () => {
    servers = await startServers();
  });
  after(async () => {
    await servers.close();
  });

  test('closed loop with `requests`: exact call count, all 200, exact bytes sent', async () => {
    const result = await http1Engine.run(options(servers.restUrl, { requests: 500, concurrency: 8, connections: 8 }));
    assert.equal(result.failure, undefined);
    assert.equal(result.calls, 500);
    assert.equal(result.errors, 0);
    assert.deepEqual(result.statusCounts, { '200': 500 });
    assert.equal(result.latencyUs.totalCount, 500);
    const requestBytes = buildHttp1Request(new URL('/v1/add', servers.restUrl), ADD.json).length;
    assert.equal(result.socketBytes?.sent, 500 * requestBytes);
    // Every answer is at least a status line plus {"value":30}.
    assert.ok(result.socketBytes!.received > 500 * 30);
    assert.ok(result.elapsedS > 0);
  });

  test('a request the server rejects counts as its HTTP status and as an error', async () => {
    const result = await http1Engine.run(options(servers.restUrl, { requests: 50, payload: payloadOf('add', { a: 'x', b: 1 }) }));
    assert.deepEqual(result.statusCounts, { '400': 50 });
    assert.equal(result.errors, 50);
  });

  test('duration mode ends on time and reports progress', async () => {
    const progress: number[] = [];
    const result = await http1Engine.run(options(servers.restUrl, { durationS: 0.6, onProgress: (p) => progress.push(p.calls) }));
    assert.ok(result.calls > 0);
    assert.equal(result.errors, 0);
    assert.ok(result.elapsedS >= 0.5 && result.elapsedS < 3, `elapsed ${result.elapsedS}`);
    assert.ok(progress.length >= 1);
  });

  test('open loop: calls follow the schedule (rate × duration)', async () => {
    const result = await http1Engine.run(options(servers.restUrl, { rate: 200, durationS: 1, concurrency: 4 }));
    assert.equal(result.errors, 0);
    // 200 calls are due in 1 s; a loaded machine may start a few late but never more.
    assert.ok(result.calls >= 150 && result.calls <= 201, `calls ${result.calls}`);
  });

  test('open loop with `requests` stops at that count', async () => {
    const result = await http1Engine.run(options(servers.restUrl, { rate: 1_000, requests: 120, concurrency: 4 }));
    assert.equal(result.calls, 120);
    assert.deepEqual(result.statusCounts, { '200': 120 });
  });

  test('abort ends the run early with what was measured', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await http1Engine.run(options(servers.restUrl, { durationS: 30, signal: controller.signal }));
    assert.equal(result.failure, 'aborted');
    assert.ok(result.elapsedS < 5);
    assert.ok(result.calls > 0);
  });

  test('rejects a gRPC target', async () => {
    await assert.rejects(
      http1Engine.run({ ...options(servers.restUrl), target: { protocol: 'grpc', host: '127.0.0.1', port: servers.grpcPort } }),
      /REST targets only/,
    );
  });
});

describe('http1-engine over TLS', () => {
  test('speaks HTTPS/1.1 to the REST server and starts its clock after the TLS handshake', async () => {
    const rest = await startRestServer({ host: '127.0.0.1', port: 0, tls: await createSelfSignedTls('127.0.0.1') });
    // A relay that holds each connection's first bytes (the TLS ClientHello) for HOLD_MS, as a long path would.
    const HOLD_MS = 400;
    const relay = await tcpServer((socket) => {
      const upstream = net.connect({ host: '127.0.0.1', port: rest.port, noDelay: true });
      socket.setNoDelay(true);
      upstream.on('error', () => socket.destroy());
      socket.pause();
      setTimeout(() => {
        socket.pipe(upstream);
        upstream.pipe(socket);
        socket.resume();
      }, HOLD_MS);
    });
    try {
      const result = await http1Engine.run(options(relay.url.replace('http:', 'https:'), { requests: 20 }));
      assert.equal(result.failure, undefined);
      assert.deepEqual(result.statusCounts, { '200': 20 });
      // 20 calls on loopback take milliseconds; a clock that counted connecting would show the whole hold.
      assert.ok(result.elapsedS < HOLD_MS / 1000, `elapsed ${result.elapsedS} s includes connecting`);
      assert.ok(result.latencyUs.maxValue < HOLD_MS * 1000, `max latency ${result.latencyUs.maxValue} µs includes connecting`);
    } finally {
      await relay.close();
      await rest.close(100);
    }
  });
});

describe('http1-engine against hostile servers', () => {
  test('a server that never answers: every call is a timeout', async () => {
    const server = await tcpServer(() => {});
    try {
      const result = await http1Engine.run(options(server.url, { durationS: 0.7, timeoutMs: 150, concurrency: 2 }));
      assert.ok((result.statusCounts.timeout ?? 0) >= 4, JSON.stringify(result.statusCounts));
      assert.deepEqual(Object.keys(result.statusCounts), ['timeout']);
      assert.equal(result.errors, result.calls);
    } finally {
      await server.close();
    }
  });

  test('a server that drops the connection on each request: connection-error, the run goes on', async () => {
    const server = await tcpServer((socket) => socket.once('data', () => socket.destroy()));
    try {
      const result = await http1Engine.run(options(server.url, { durationS: 0.5, concurrency: 2 }));
      assert.ok((result.statusCounts['connection-error'] ?? 0) >= 2, JSON.stringify(result.statusCounts));
      assert.equal(result.errors, result.calls);
      assert.equal(result.failure, undefined);
    } finally {
      await server.close();
    }
  });

  test('garbage instead of a status line: connection-error', async () => {
    const server = await tcpServer((socket) => socket.on('data', () => socket.write('HELLO THERE\r\n\r\n')));
    try {
      const result = await http1Engine.run(options(server.url, { requests: 10, concurrency: 1 }));
      assert.deepEqual(result.statusCounts, { 'connection-error': 10 });
    } finally {
      await server.close();
    }
  });

  test('connection: close, chunked bodies and 503s are parsed and counted', async () => {
    let n = 0;
    const server = await httpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        n++;
        if (n % 3 === 0) {
          res.writeHead(200, { connection: 'close', 'content-length': '2' }).end('{}');
        } else if (n % 3 === 1) {
          res.writeHead(200, { 'transfer-encoding': 'chunked' });
          res.write('{"val');
          res.end('ue":30}');
        } else {
          res.writeHead(503, { 'content-length': '0' }).end();
        }
      });
    });
    try {
      const result = await http1Engine.run(options(server.url, { requests: 90, concurrency: 1 }));
      assert.equal(result.calls, 90);
      assert.deepEqual(result.statusCounts, { '200': 60, '503': 30 });
      assert.equal(result.errors, 30);
    } finally {
      await server.close();
    }
  });

  test('a server that closes its keep-alive connection as the 5th request arrives: each such request is sent once more, 0 errors', async () => {
    // The race of an idle keep-alive timeout, made certain: the request crosses the server's close.
    let accepted = 0;
    let closedUnanswered = 0;
    const server = await tcpServer((socket) => {
      accepted++;
      let requests = 0;
      socket.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf('POST '); at >= 0; at = chunk.indexOf('POST ', at + 1)) {
          requests++;
          if (requests === 5) {
            closedUnanswered++;
            socket.destroy();
            return;
          }
          socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"value":30}');
        }
      });
    });
    try {
      const result = await http1Engine.run(options(server.url, { requests: 100, concurrency: 2, connections: 2 }));
      assert.deepEqual(result.statusCounts, { '200': 100 });
      assert.equal(result.errors, 0);
      assert.equal(result.latencyUs.totalCount, 100);
      assert.ok(closedUnanswered >= 20, `${closedUnanswered} connections closed on a request`);
      assert.equal(result.retried, closedUnanswered);
      assert.equal(result.connectionsOpened, accepted);
    } finally {
      await server.close();
    }
  });

  test('a server that closes keep-alive connections idle for 30 ms: the engine reconnects (or retries), 0 errors', async () => {
    // node:http cannot be asked for this: Node 20 adds about a second to keepAliveTimeout.
    let accepted = 0;
    const server = await tcpServer((socket) => {
      accepted++;
      socket.setTimeout(30, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf('POST '); at >= 0; at = chunk.indexOf('POST ', at + 1)) {
          socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"value":30}');
        }
      });
    });
    try {
      // 20 calls/s over 2 connections: a connection idles 50-100 ms between calls, past the 30 ms limit
      // (a slower machine only idles longer). A close that crosses a request is retried; one while idle reconnects.
      const result = await http1Engine.run(options(server.url, { requests: 30, rate: 20, concurrency: 2, connections: 2 }));
      assert.deepEqual(result.statusCounts, { '200': 30 });
      assert.equal(result.errors, 0);
      assert.ok(accepted > 2, `${accepted} connections`);
      // A lane may be reconnecting when the last call ends: the server accepted it, the engine never used it.
      const opened = result.connectionsOpened ?? 0;
      assert.ok(opened <= accepted && opened >= accepted - 2, `opened ${opened}, accepted ${accepted}`);
      assert.ok((result.retried ?? 0) >= 0 && (result.retried ?? 0) <= accepted);
    } finally {
      await server.close();
    }
  });

  test('nothing listening: the run fails at once with a reason', async () => {
    const server = await tcpServer(() => {});
    const url = server.url;
    await server.close();
    const result = await http1Engine.run(options(url, { durationS: 5 }));
    assert.equal(result.calls, 0);
    assert.match(result.failure ?? '', /cannot connect/);
  });
});

describe('http1-engine at the end of a run against a server that stops answering', () => {
  /** Answers the first `answered` requests, then holds every later one open without a word. */
  async function stopsAfter(answered: number): Promise<{ url: string; close: () => Promise<void>; requests: () => number }> {
    let requests = 0;
    const server = await httpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (requests++ < answered) res.writeHead(200, { 'content-length': '12' }).end('{"value":30}');
      });
    });
    return { ...server, requests: () => requests };
  }

  // The deadline (5 s) is longer than the drain grace (1 s): only the end of the run can settle the stuck calls.
  test('closed loop: every call still unanswered after the drain grace is a timeout, its age the latency', async () => {
    const server = await stopsAfter(100);
    try {
      const result = await http1Engine.run(options(server.url, { concurrency: 4, durationS: 0.4 }));
      assert.deepEqual(result.statusCounts, { '200': 100, timeout: 4 });
      assert.equal(result.errors, 4);
      assert.equal(result.latencyUs.totalCount, 104);
      assert.ok(result.latencyUs.maxValue >= 1_000_000, `max ${result.latencyUs.maxValue} µs`);
    } finally {
      await server.close();
    }
  });

  test('open loop: calls sent and unanswered are timeouts; calls due but never sent are not counted', async () => {
    const server = await stopsAfter(40);
    try {
      // 200 calls/s for 1 s and 16 slots: the slots fill up once the server goes quiet, ~140 more come due unsent.
      const result = await http1Engine.run(options(server.url, { rate: 200, durationS: 1, concurrency: 16 }));
      assert.deepEqual(result.statusCounts, { '200': 40, timeout: 16 });
      assert.equal(result.errors, 16);
      assert.equal(server.requests(), 56);
    } finally {
      await server.close();
    }
  });
});

describe('Http1ResponseParser', () => {
  test('finds every response when fed one byte at a time', () => {
    const wire = Buffer.from(
      'HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n{"value":30}' +
        'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n',
      'latin1',
    );
    const parser = new Http1ResponseParser();
    const statuses: number[] = [];
    for (let i = 0; i < wire.length; i++) parser.feed(wire.subarray(i, i + 1), (status) => statuses.push(status));
    assert.deepEqual(statuses, [200, 400, 204]);
    assert.equal(parser.error, null);
    assert.ok(parser.idle);
  });
});

describe('open loop vs closed loop around a server stall', () => {
  const STALL_MS = 400;

  /** Answers after SERVICE_MS, except that once, 600 ms after its first request, it holds every answer for STALL_MS. */
  const SERVICE_MS = 1;
  async function stallingServer(): Promise<{ url: string; close: () => Promise<void> }> {
    let firstAt = 0;
    let stallUntil = 0;
    let stalled = false;
    return httpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const now = Date.now();
        firstAt ||= now;
        if (!stalled && now - firstAt >= 600) {
          stalled = true;
          stallUntil = now + STALL_MS;
        }
        const answer = (): void => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '12' }).end('{"value":30}');
        };
        setTimeout(answer, Math.max(SERVICE_MS, stallUntil - now));
      });
    });
  }

  test('at the same load, open-loop p99 shows the stall; closed loop hides it', async (t) => {
    const openServer = await stallingServer();
    const closedServer = await stallingServer();
    try {
      // Closed loop, one call at a time: the stall holds that one call, and the calls it would have sent meanwhile are never sent.
      const closed = await http1Engine.run(options(closedServer.url, { durationS: 2, concurrency: 1 }));
      // Open loop at the calls/s the closed loop reached: the same load on a fixed schedule; calls due during the stall wait.
      const rate = Math.round(closed.calls / closed.elapsedS);
      const open = await http1Engine.run(options(openServer.url, { rate, durationS: 2, concurrency: 16 }));
      assert.equal(open.errors, 0);
      assert.equal(closed.errors, 0);
      const openP99 = open.latencyUs.getValueAtPercentile(99) / 1000;
      const closedP99 = closed.latencyUs.getValueAtPercentile(99) / 1000;
      const closedMax = closed.latencyUs.maxValue / 1000;
      t.diagnostic(`closed: ${closed.calls} calls, p99 ${closedP99} ms, max ${closedMax} ms; open at ${rate}/s: ${open.calls} calls, p99 ${openP99} ms`);
      assert.ok(open.calls >= rate * 2 * 0.8, `open loop fell behind its schedule: ${open.calls} calls at ${rate}/s`);
      // The closed loop did see the stall, in its one slot...
      assert.ok(closedMax >= STALL_MS * 0.75, `closed max ${closedMax} ms`);
      // ...but its p99 does not, while the open loop's p99 is most of the stall (calls due during it waited).
      assert.ok(openP99 >= STALL_MS * 0.5, `open p99 ${openP99} ms`);
      assert.ok(openP99 >= 5 * closedP99, `open p99 ${openP99} ms vs closed p99 ${closedP99} ms`);
    } finally {
      await openServer.close();
      await closedServer.close();
    }
  });
});
