/**
 * Binding and graceful closing, shared by the hand-written contenders: a
 * node:http(s) server with the limits of servers/rest-server.ts, or a
 * node:http2 server (h2c, or h2 over TLS with ALPN) with the stream limit of
 * servers/grpc-server.ts.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import { describeListenError } from '../server-options.ts';
import { GRPC_SERVER_CHANNEL_OPTIONS } from '../grpc-server.ts';
import { answerClientError, REST_SERVER_LIMITS } from '../rest-server.ts';

/** grpc.max_concurrent_streams of grpc-server.ts, so every h2 contender offers the same concurrency. */
export const H2_MAX_CONCURRENT_STREAMS = GRPC_SERVER_CHANNEL_OPTIONS['grpc.max_concurrent_streams'] as number;

export const H2_SETTINGS: http2.Settings = { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS };

export type Http1Server = http.Server | https.Server;
export type H2Server = http2.Http2Server | http2.Http2SecureServer;

export function createHttp1Server(options: ServerOptions, listener: http.RequestListener): Http1Server {
  // requireHostHeader off: Node's own 400 for a missing host has no body; the handler answers it (rest-protocol.ts hostReply).
  const serverOptions = { maxHeaderSize: REST_SERVER_LIMITS.maxHeaderBytes, requireHostHeader: false };
  const server = options.tls
    ? https.createServer({ ...serverOptions, key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(serverOptions, listener);
  server.keepAliveTimeout = REST_SERVER_LIMITS.keepAliveTimeoutMs;
  server.headersTimeout = REST_SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = REST_SERVER_LIMITS.requestTimeoutMs;
  // What node's parser rejects (malformed request, header overflow, timeout) gets express's JSON error too.
  server.on('clientError', answerClientError);
  return server;
}

/** An HTTP/2-only server: h2c with prior knowledge, or TLS with ALPN h2 (no HTTP/1.1 fallback). */
export function createH2Server(options: ServerOptions): H2Server {
  const common = { settings: H2_SETTINGS, maxHeaderListPairs: 128 };
  return options.tls
    ? http2.createSecureServer({ ...common, key: options.tls.key, cert: options.tls.cert, allowHTTP1: false })
    : http2.createServer(common);
}

async function bind(server: http.Server | https.Server | H2Server, options: ServerOptions, label: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(describeListenError(label, options, error))));
    server.listen(options.port, options.host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** What a client dials: a URL for HTTP-style clients, host:port for gRPC (as startGrpcServer reports). */
export function formatAddress(options: ServerOptions, port: number, kind: 'url' | 'host-port'): string {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  if (kind === 'host-port') return `${options.host}:${port}`;
  return `${options.tls ? 'https' : 'http'}://${host}:${port}`;
}

export async function listenHttp1(
  server: Http1Server,
  options: ServerOptions,
  label: string,
): Promise<RunningServer> {
  const port = await bind(server, options, label);
  return {
    protocol: 'rest',
    host: options.host,
    port,
    address: formatAddress(options, port, 'url'),
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

export async function listenH2(
  server: H2Server,
  options: ServerOptions,
  label: string,
  protocol: RunningServer['protocol'],
): Promise<RunningServer> {
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  const port = await bind(server, options, label);
  return {
    protocol,
    host: options.host,
    port,
    address: formatAddress(options, port, protocol === 'grpc' ? 'host-port' : 'url'),
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        // session.close() sends GOAWAY and lets open streams finish; destroy() bounds the wait.
        const timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const session of sessions) session.close();
      }),
  };
}
