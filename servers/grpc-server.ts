/**
 * The calculator over gRPC (HTTP/2, protobuf) with @grpc/grpc-js, the service
 * loaded from the .proto at run time, plus the standard grpc.health.v1 service.
 * Unary handlers here, the streams' in grpc-streams.ts, what both share in
 * grpc-status.ts (as rest-server.ts, rest-streams.ts and rest-http.ts).
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { calculate, OPERATIONS, type Operation } from './calculator.ts';
import { CalcError } from './errors.ts';
import { loadCalculatorService, METHOD_NAMES, SERVICE_NAME, STREAM_METHOD_NAMES } from './proto.ts';
import type { RunningServer, ServerOptions } from './server-options.ts';
import { describeListenError, validateConnectionLimits } from './server-options.ts';
import { closeGracefully } from './listen.ts';
import { countingInterceptor, GRPC_SERVER_CHANNEL_OPTIONS, GRPC_STATUS, statusRewriter } from './grpc-status.ts';
import { prefixSumsHandler, runningSumHandler, sumStreamHandler } from './grpc-streams.ts';

function unaryHandler(operation: Operation): grpc.handleUnaryCall<unknown, { value: number }> {
  return (call, callback) => {
    try {
      callback(null, { value: calculate(operation, call.request) });
    } catch (reason) {
      const error = CalcError.from(reason);
      callback({ code: GRPC_STATUS[error.code], details: error.message });
    }
  };
}

/** A grpc-js server with the calculator and health services registered, not yet bound. */
export function getServer(options: Pick<ServerOptions, 'streamIdleMs' | 'maxConnectionAgeMs' | 'onCall'> = {}): grpc.Server {
  const age = options.maxConnectionAgeMs !== undefined ? { 'grpc.max_connection_age_ms': options.maxConnectionAgeMs } : {};
  const counting = options.onCall ? [countingInterceptor(options.onCall)] : [];
  const server = new grpc.Server({ ...GRPC_SERVER_CHANNEL_OPTIONS, ...age, interceptors: [statusRewriter, ...counting] });
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const operation of OPERATIONS) implementation[METHOD_NAMES[operation]] = unaryHandler(operation);
  implementation[STREAM_METHOD_NAMES['running-sum']] = runningSumHandler(options.streamIdleMs);
  implementation[STREAM_METHOD_NAMES['sum-stream']] = sumStreamHandler(options.streamIdleMs);
  implementation[STREAM_METHOD_NAMES['prefix-sums']] = prefixSumsHandler;
  server.addService(loadCalculatorService().service, implementation);
  new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' }).addToServer(server);
  return server;
}

/**
 * grpc-js has no calls-per-connection limit, so its HTTP/2 sessions are
 * counted here: when a session's Nth stream starts, it is closed the way
 * grpc-js closes one at max_connection_age: GOAWAY with last-stream-id 2^31-1,
 * then session.close(), whose GOAWAY names the last stream the server took.
 * Calls in flight finish; streams the client opened after that are refused
 * (RFC 9113 section 6.8), for it to send again on a new connection. grpc-js
 * keeps its node:http2 servers in a private field (`http2Servers`, 1.14): a
 * grpc-js without it is refused with a message rather than the limit ignored
 * (test/servers/connection-limits.test.ts pins it).
 */
function limitCallsPerConnection(server: grpc.Server, maxCalls: number): void {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map) || http2Servers.size === 0) {
    throw new Error('maxConnectionCalls: this grpc-js does not expose its HTTP/2 servers (http2Servers), so calls per connection cannot be counted');
  }
  const calls = new WeakMap<http2.Http2Session, number>();
  for (const http2Server of http2Servers.keys() as Iterable<http2.Http2Server>) {
    http2Server.on('stream', (stream: http2.ServerHttp2Stream) => {
      const session = stream.session;
      if (!session) return;
      const count = (calls.get(session) ?? 0) + 1;
      calls.set(session, count);
      if (count !== maxCalls) return;
      try {
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
      } catch {
        session.destroy();
        return;
      }
      session.close();
    });
  }
}

export async function startGrpcServer(options: ServerOptions): Promise<RunningServer> {
  validateConnectionLimits(options);
  return listenGrpcServer(getServer(options), options);
}

/**
 * Binds a grpc-js server with its services added (TLS when options.tls),
 * applies the calls-per-connection limit, and returns it running: the
 * calculator's server and the ones generated from an API card start the same way.
 */
export async function listenGrpcServer(server: grpc.Server, options: ServerOptions): Promise<RunningServer> {
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${formatHost(options.host)}:${options.port}`, credentials, (error, boundPort) =>
      error ? reject(new Error(describeListenError('gRPC', options, error))) : resolve(boundPort),
    );
  });
  if (options.maxConnectionCalls !== undefined) {
    try {
      limitCallsPerConnection(server, options.maxConnectionCalls);
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
  }
  return {
    protocol: 'grpc',
    host: options.host,
    port,
    address: `${options.host}:${port}`,
    close: (graceMs = 5_000) =>
      // tryShutdown lets in-flight calls finish; forceShutdown bounds the wait.
      closeGracefully(
        graceMs,
        (done) => server.tryShutdown(() => done()),
        () => server.forceShutdown(),
      ),
  };
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
