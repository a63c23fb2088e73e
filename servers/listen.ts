/**
 * Binding a server and closing it gracefully, shared by the REST and gRPC
 * servers and the hand-written contenders, so every server reports its address
 * and bounds its shutdown the same way.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RunningServer, ServerOptions } from './server-options.ts';
import { describeListenError } from './server-options.ts';

export type Http1Server = http.Server | https.Server;
export type H2Server = http2.Http2Server | http2.Http2SecureServer;

/**
 * Starts a graceful close (`close` calls `done` when it has finished); if it
 * has not finished after graceMs, `cut` ends what is still open, so a client
 * that never finishes cannot hold the shutdown.
 */
export function closeGracefully(graceMs: number, close: (done: () => void) => void, cut: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(cut, graceMs);
    close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Listens on options.host:options.port; a bind failure becomes one readable line. Returns the bound port. */
export async function bindServer(server: Http1Server | H2Server, options: ServerOptions, label: string): Promise<number> {
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

export async function listenHttp1(server: Http1Server, options: ServerOptions, label: string): Promise<RunningServer> {
  const port = await bindServer(server, options, label);
  return {
    protocol: 'rest',
    host: options.host,
    port,
    address: formatAddress(options, port, 'url'),
    close: (graceMs = 5_000) =>
      // close() waits for in-flight requests and drops idle keep-alive sockets;
      // after the grace period the remaining ones are cut.
      closeGracefully(
        graceMs,
        (done) => {
          server.close(() => done());
          server.closeIdleConnections();
        },
        () => server.closeAllConnections(),
      ),
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
  const port = await bindServer(server, options, label);
  return {
    protocol,
    host: options.host,
    port,
    address: formatAddress(options, port, protocol === 'grpc' ? 'host-port' : 'url'),
    close: (graceMs = 5_000) =>
      // session.close() sends GOAWAY and lets open streams finish; destroy() bounds the wait.
      closeGracefully(
        graceMs,
        (done) => {
          server.close(() => done());
          for (const session of sessions) session.close();
        },
        () => {
          for (const session of sessions) session.destroy();
        },
      ),
  };
}
