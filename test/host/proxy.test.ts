/**
 * bench/host/proxy.ts over real sockets: nginx and HAProxy started with the
 * bench's tuned config in front of two replicas per protocol, loaded by the
 * bench's generators, each replica's calls read from its own counter
 * (servers/call-counter.ts). L4 pins gRPC's one connection to one replica while
 * REST's 16 connections spread; L7 spreads both. No timing assertion: shares
 * of calls only. Skips with one line where a proxy is not installed.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getDriver } from '../../bench/drivers/index.ts';
import { fillTemplate, knownProxyOf, placeholderValues, proxyUnavailable, startProxy, tunedTemplate, PLACEHOLDERS, type Address, type ProxyProcess } from '../../bench/host/proxy.ts';
import { startServerProcess, type ServerProcess } from '../../bench/host/server-process.ts';
import type { Balance, ProxyKind } from '../../bench/options/options.ts';
import type { Protocol, Target } from '../../bench/types.ts';
import { ADD } from '../helpers/drivers.ts';
import { tempDir } from '../helpers/bench.ts';

const address = (target: Target): Address => (target.protocol === 'grpc' ? { host: target.host, port: target.port } : { host: '127.0.0.1', port: Number(new URL(target.url).port) });

describe('proxy configs', () => {
  for (const kind of ['nginx', 'haproxy'] as const) {
    for (const balance of ['l4', 'l7'] as const) {
      for (const tls of [false, true]) {
        it(`${kind} ${balance}${tls ? ' TLS' : ''}: the tuned template uses only known placeholders and fills them all`, () => {
          const layout = { kind, balance, dir: '/tmp/x', tls, listen: { grpc: { host: '127.0.0.1', port: 1 }, rest: { host: '127.0.0.1', port: 2 } }, upstreams: { grpc: [{ host: '127.0.0.1', port: 3 }], rest: [{ host: '127.0.0.1', port: 4 }] } };
          const config = fillTemplate(tunedTemplate(kind, balance, ['grpc', 'rest'], tls), placeholderValues(layout, ''));
          assert.ok(!config.includes('{{'), config);
          assert.match(config, /127\.0\.0\.1:3/);
          assert.match(config, /127\.0\.0\.1:4/);
          // L7 over TLS names the certificate; L4 passes TLS through and names none.
          assert.equal(config.includes('/tmp/x/tls/'), tls && balance === 'l7', config);
        });
      }
    }
  }
  it('an unknown placeholder is an error naming it and the known ones', () => {
    assert.throws(() => fillTemplate('listen {{grpc_port}};', { grpc_listen: 'x' }), /unknown placeholder \{\{grpc_port\}\}; known: grpc_listen/);
    assert.ok(Object.keys(PLACEHOLDERS).includes('rest_servers'));
  });
});

async function spreadOf(kind: ProxyKind, balance: Balance, connections: { grpc: number; rest: number }): Promise<Record<Protocol, number[]> & { proxy: ProxyProcess }> {
  const replicas: Record<Protocol, ServerProcess[]> = { grpc: [], rest: [] };
  let proxy: ProxyProcess | null = null;
  try {
    for (const protocol of ['grpc', 'rest'] as const) {
      replicas[protocol] = await Promise.all([startServerProcess({ protocol }), startServerProcess({ protocol })]);
    }
    proxy = await startProxy({
      kind,
      balance,
      host: '127.0.0.1',
      upstreams: { grpc: replicas.grpc.map((r) => address(r.target)), rest: replicas.rest.map((r) => address(r.target)) },
      dir: tempDir(`callbench-${kind}-`),
    });
    const shares = { grpc: [] as number[], rest: [] as number[] };
    for (const protocol of ['grpc', 'rest'] as const) {
      const before = await Promise.all(replicas[protocol].map((r) => r.readCalls!()));
      const driver = getDriver(protocol === 'grpc' ? 'grpc-engine' : 'http1-engine', protocol);
      const result = await driver.run({ target: proxy.targets[protocol]!, payload: ADD, concurrency: 16, connections: connections[protocol], durationS: 60, requests: 2_000, timeoutMs: 10_000 });
      assert.equal(result.errors, 0, `${kind} ${balance} ${protocol}: ${JSON.stringify(result.statusCounts)}`);
      const after = await Promise.all(replicas[protocol].map((r) => r.readCalls!()));
      shares[protocol] = after.map((n, i) => n! - before[i]!);
      assert.equal(shares[protocol].reduce((a, b) => a + b, 0), 2_000, `${protocol}: every call reached a replica once`);
    }
    return { ...shares, proxy };
  } finally {
    await proxy?.stop();
    await Promise.all([...replicas.grpc, ...replicas.rest].map((r) => r.stop()));
  }
}

for (const kind of ['nginx', 'haproxy'] as const) {
  const skip = proxyUnavailable(kind, 'l4');
  describe(`${kind} in front of two replicas per protocol`, { skip: skip ?? false }, () => {
    it('l4: all of gRPC on one replica (one connection), REST on both; the proxy is known by its command name', async () => {
      const { grpc, rest, proxy } = await spreadOf(kind, 'l4', { grpc: 1, rest: 16 });
      assert.deepEqual([...grpc].sort((a, b) => a - b), [0, 2_000], `gRPC ${grpc}`);
      assert.ok(rest.every((n) => n > 0), `REST ${rest}`);
      assert.equal(proxy.pids.length >= 1, true);
      assert.equal(proxy.hasExited, true);
    });
    it('l4 with 4 gRPC connections: gRPC on both replicas too', async () => {
      const { grpc } = await spreadOf(kind, 'l4', { grpc: 4, rest: 16 });
      assert.ok(grpc.every((n) => n > 0), `gRPC ${grpc}`);
    });
    it('l7: each request balanced, both protocols on both replicas', async () => {
      const { grpc, rest } = await spreadOf(kind, 'l7', { grpc: 1, rest: 16 });
      assert.ok(grpc.every((n) => n > 0), `gRPC ${grpc}`);
      assert.ok(rest.every((n) => n > 0), `REST ${rest}`);
    });
  });
}

describe('known proxies by command name', { skip: proxyUnavailable('nginx', 'l7') ?? false }, () => {
  let proxy: ProxyProcess | null = null;
  let server: ServerProcess | null = null;
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });
  it("nginx's master and worker are found as nginx; a server is not a proxy", async () => {
    server = await startServerProcess({ protocol: 'rest' });
    proxy = await startProxy({ kind: 'nginx', balance: 'l7', host: '127.0.0.1', upstreams: { rest: [address(server.target)] }, dir: tempDir('callbench-nginx-') });
    assert.equal(proxy.pids.length, 2, 'master and one worker');
    assert.equal(knownProxyOf(proxy.pids), 'nginx');
    assert.equal(knownProxyOf([server.pid]), null);
  });
});
