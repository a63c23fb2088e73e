/**
 * The node:http2 server of the hand-written HTTP/2 contenders (h2c, or h2 over
 * TLS with ALPN), with the stream limit of servers/grpc-server.ts.
 */
import http2 from 'node:http2';
import type { H2Server } from '../listen.ts';
import type { ServerOptions } from '../server-options.ts';
import { GRPC_SERVER_CHANNEL_OPTIONS } from '../grpc-status.ts';

/** grpc.max_concurrent_streams of grpc-server.ts, so every h2 contender offers the same concurrency. */
export const H2_MAX_CONCURRENT_STREAMS = GRPC_SERVER_CHANNEL_OPTIONS['grpc.max_concurrent_streams'] as number;

export const H2_SETTINGS: http2.Settings = { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS };

/** An HTTP/2-only server: h2c with prior knowledge, or TLS with ALPN h2 (no HTTP/1.1 fallback). */
export function createH2Server(options: ServerOptions): H2Server {
  const common = { settings: H2_SETTINGS, maxHeaderListPairs: 128 };
  return options.tls
    ? http2.createSecureServer({ ...common, key: options.tls.key, cert: options.tls.cert, allowHTTP1: false })
    : http2.createServer(common);
}
