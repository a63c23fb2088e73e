/**
 * A byte-counting TCP proxy: listens on a free loopback port, forwards every
 * connection to the upstream unchanged, and feeds each direction's bytes to a
 * passive parser (HTTP/1.1 or HTTP/2) that splits them into header/framing and
 * body. Only the wire-sampling pass goes through it, never a measured run.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { addCounts, emptyCounts, type StreamCounts, type WireParser } from './counts.ts';
import { Http1Parser } from './http1.ts';
import { Http2Parser } from './http2.ts';

/** 'http2' carries gRPC messages; 'http2-plain' any body over h2 (a contender's JSON over h2c). */
export type WireProtocol = 'http1' | 'http2' | 'http2-plain';

export interface ProxyCounts {
  /** Client -> server. */
  request: StreamCounts;
  /** Server -> client. */
  response: StreamCounts;
  connections: number;
}

export interface CountingProxy {
  host: string;
  port: number;
  counts(): ProxyCounts;
  close(): Promise<void>;
}

export function makeParser(protocol: WireProtocol, direction: 'request' | 'response'): WireParser {
  if (protocol === 'http1') return new Http1Parser(direction === 'response');
  return new Http2Parser(direction === 'request', protocol === 'http2');
}

export async function startCountingProxy(upstream: { host: string; port: number }, protocol: WireProtocol): Promise<CountingProxy> {
  const pairs: { request: WireParser; response: WireParser }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const parsers = { request: makeParser(protocol, 'request'), response: makeParser(protocol, 'response') };
    pairs.push(parsers);
    const upstreamSocket = net.connect(upstream.port, upstream.host);
    sockets.add(client).add(upstreamSocket);
    client.setNoDelay(true);
    upstreamSocket.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      parsers.request.push(chunk);
      if (!upstreamSocket.write(chunk)) client.pause();
    });
    upstreamSocket.on('drain', () => client.resume());
    upstreamSocket.on('data', (chunk: Buffer) => {
      parsers.response.push(chunk);
      if (!client.write(chunk)) upstreamSocket.pause();
    });
    client.on('drain', () => upstreamSocket.resume());
    const closeBoth = (): void => {
      client.destroy();
      upstreamSocket.destroy();
    };
    client.on('end', () => upstreamSocket.end());
    upstreamSocket.on('end', () => client.end());
    client.on('error', closeBoth).on('close', () => {
      sockets.delete(client);
      closeBoth();
    });
    upstreamSocket.on('error', closeBoth).on('close', () => {
      sockets.delete(upstreamSocket);
      closeBoth();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    counts: () => ({
      request: pairs.reduce((sum, pair) => addCounts(sum, pair.request.counts), emptyCounts()),
      response: pairs.reduce((sum, pair) => addCounts(sum, pair.response.counts), emptyCounts()),
      connections: pairs.length,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
