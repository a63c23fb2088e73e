/**
 * The calculator over gRPC (HTTP/2, protobuf) with @grpc/grpc-js, the service
 * loaded from the .proto at run time, plus the standard grpc.health.v1 service.
 */
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { calculate, LIMITS, OPERATIONS, prefixSums, RunningTotal, type Operation } from './calculator.ts';
import { CalcError, type ErrorCode } from './errors.ts';
import { loadCalculatorService, METHOD_NAMES, SERVICE_NAME, STREAM_METHOD_NAMES } from './proto.ts';
import { startIdleTimer } from './streams.ts';
import type { RunningServer, ServerOptions } from './server-options.ts';
import { describeListenError, validateConnectionLimits } from './server-options.ts';
import { closeGracefully } from './listen.ts';

/** grpc-status of each calculator error code (the contenders' gRPC transports use this table too). */
export const GRPC_STATUS: Readonly<Record<ErrorCode, grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  NOT_FOUND: grpc.status.NOT_FOUND,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  INTERNAL: grpc.status.INTERNAL,
};

/**
 * Compression: grpc-js inflates gzip/deflate requests by itself (grpc-encoding +
 * compressed flag; the receive limit applies to the inflated size). Responses
 * are never compressed by the grpc-js 1.14 server whatever the client's
 * grpc-accept-encoding says: its serializeMessage always writes flag 0 and the
 * response headers say grpc-encoding: identity. 'grpc.default_compression_algorithm'
 * is read only by the client channel's compression filter, so it is not set here
 * (it would do nothing). test/scenario/compression.test.ts pins this behaviour.
 *
 * Limits set deliberately rather than left to library defaults (see README, "Limits").
 * Streams per connection are capped so one client cannot make the server hold
 * unbounded state; 1,000 covers the heaviest bench shape (256 in flight on one connection).
 */
export const GRPC_SERVER_CHANNEL_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': LIMITS.maxBodyBytes,
  'grpc.max_send_message_length': LIMITS.maxBodyBytes,
  'grpc.max_concurrent_streams': 1000,
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

type PartialStatus = Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0];

/** The text REST's 413 carries; gRPC's message-too-large status is rewritten to it. */
export const TOO_LARGE_MESSAGE = `request body is larger than the limit of ${LIMITS.maxBodyBytes} bytes`;
/** gRPC's answer to bytes that do not decode as the request message (grpc-js says INTERNAL). */
export const NOT_PROTOBUF_MESSAGE = 'request body is not a valid protobuf message';

/** gRPC's answer to a stream that ended before one whole request message arrived (REST says the same). */
export const INCOMPLETE_MESSAGE = 'request body was incomplete';
export const EXTRA_MESSAGE = 'request body must hold exactly one message';

/**
 * Statuses grpc-js produces by itself, before or instead of our handler, reworded
 * so both protocols say the same thing for the same failure, and so a client's
 * fault is never reported as the server's (INTERNAL) or as a missing method
 * (UNIMPLEMENTED):
 * - a message over grpc.max_receive_message_length: RESOURCE_EXHAUSTED
 *   "Received message larger than max (N vs M)" -> REST's 413 text;
 * - bytes protobufjs cannot decode: INTERNAL "Error deserializing request"
 *   -> INVALID_ARGUMENT;
 * - a gzip/deflate message that does not inflate: INTERNAL -> INVALID_ARGUMENT;
 * - a unary call whose stream ends before a whole message (truncated prefix or
 *   body, no DATA at all): UNIMPLEMENTED "Received no request message for server
 *   streaming method ..." -> INVALID_ARGUMENT, REST's text for a cut-off body;
 * - a second message on a unary call: UNIMPLEMENTED -> INVALID_ARGUMENT;
 * - an unparsable grpc-timeout header: INTERNAL -> INVALID_ARGUMENT, same text.
 * Everything else (UNIMPLEMENTED for unknown methods and unsupported
 * grpc-encoding, DEADLINE_EXCEEDED, our handler's statuses) passes unchanged.
 */
export function rewriteTransportStatus(status: PartialStatus): PartialStatus {
  const details = status.details ?? '';
  const { RESOURCE_EXHAUSTED, INTERNAL, UNIMPLEMENTED, INVALID_ARGUMENT } = grpc.status;
  if (status.code === RESOURCE_EXHAUSTED && /^Received message (larger than max|that decompresses to a size larger)/.test(details)) {
    return { ...status, details: TOO_LARGE_MESSAGE };
  }
  if (status.code === INTERNAL && details.startsWith('Error deserializing request')) {
    return { ...status, code: INVALID_ARGUMENT, details: NOT_PROTOBUF_MESSAGE };
  }
  if (status.code === INTERNAL && details === 'Failed to decompress message') {
    return { ...status, code: INVALID_ARGUMENT, details: 'request body could not be decompressed' };
  }
  if (status.code === UNIMPLEMENTED && details.startsWith('Received no request message')) {
    return { ...status, code: INVALID_ARGUMENT, details: INCOMPLETE_MESSAGE };
  }
  if (status.code === UNIMPLEMENTED && details.startsWith('Received a second request message')) {
    return { ...status, code: INVALID_ARGUMENT, details: EXTRA_MESSAGE };
  }
  if (status.code === INTERNAL && details.startsWith('Invalid grpc-timeout value')) {
    return { ...status, code: INVALID_ARGUMENT };
  }
  return status;
}

/**
 * A server interceptor that applies rewriteTransportStatus. grpc-js 1.14 sends
 * these statuses from its innermost call object (BaseServerInterceptingCall calls
 * its own `this.sendStatus`), so they never pass down through an interceptor's
 * responder. Being first in the chain, this interceptor receives that innermost
 * object and wraps `sendStatus` on the instance, which the internal call site
 * then uses. test/servers/hostile-input.test.ts pins the result, so a grpc-js upgrade
 * that changes this path shows up as a failing test, not as silently different text.
 */
export const statusRewriter: grpc.ServerInterceptor = (_method, call) => {
  const send = call.sendStatus.bind(call);
  call.sendStatus = (status) => send(rewriteTransportStatus(status));
  return new grpc.ServerInterceptingCall(call);
};

/** Counts each call the server takes (ServerOptions.onCall). */
export function countingInterceptor(onCall: () => void): grpc.ServerInterceptor {
  return (_method, call) => {
    onCall();
    return new grpc.ServerInterceptingCall(call);
  };
}

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

type Result = { value: number };

function grpcError(error: CalcError): Partial<grpc.StatusObject> {
  return { code: GRPC_STATUS[error.code], details: error.message };
}

/**
 * Backpressure, the same in the three stream handlers: when write() says the
 * outgoing side is full (the client reads slower than we answer; HTTP/2 flow
 * control holds our DATA), reading stops until 'drain'. grpc-js reads the
 * request stream only on demand, so a paused call leaves the client's messages
 * in its own flow-control window: nothing piles up in the server.
 */
function writeOrPause(call: grpc.ServerDuplexStream<unknown, Result>, result: Result, onDrain: () => void): void {
  if (call.write(result)) return;
  call.pause();
  call.once('drain', () => {
    onDrain();
    call.resume();
  });
}

/** RunningSum: every Number answered at once with the total so far. */
function runningSumHandler(idleMs: number | undefined): grpc.handleBidiStreamingCall<unknown, Result> {
  return (call) => {
    const running = new RunningTotal();
    let ended = false;
    const finish = (error?: CalcError): void => {
      if (ended) return;
      ended = true;
      idle.stop();
      call.removeListener('data', onData);
      // 'error' on a grpc-js server stream sets the status and ends the call after the writes queued before it.
      if (error) call.emit('error', grpcError(error));
      else call.end();
    };
    const idle = startIdleTimer(finish, idleMs);
    const onData = (message: unknown): void => {
      idle.touch();
      try {
        writeOrPause(call, { value: running.add(message) }, idle.touch);
      } catch (reason) {
        finish(CalcError.from(reason));
      }
    };
    call.on('data', onData);
    call.on('end', () => finish());
    call.on('cancelled', () => idle.stop());
  };
}

/** SumStream: the total when the client half-closes. */
function sumStreamHandler(idleMs: number | undefined): grpc.handleClientStreamingCall<unknown, Result> {
  return (call, callback) => {
    const running = new RunningTotal();
    let ended = false;
    const finish = (error?: CalcError): void => {
      if (ended) return;
      ended = true;
      idle.stop();
      call.removeListener('data', onData);
      if (error) {
        callback(grpcError(error));
        return;
      }
      try {
        callback(null, { value: running.result() });
      } catch (reason) {
        callback(grpcError(CalcError.from(reason)));
      }
    };
    const idle = startIdleTimer(finish, idleMs);
    const onData = (message: unknown): void => {
      idle.touch();
      try {
        running.add(message);
      } catch (reason) {
        finish(CalcError.from(reason));
      }
    };
    call.on('data', onData);
    call.on('end', () => finish());
    call.on('cancelled', () => idle.stop());
  };
}

/** PrefixSums: one Result per value; the request is checked whole before the first answer. */
const prefixSumsHandler: grpc.handleServerStreamingCall<unknown, Result> = (call) => {
  let totals: Iterator<number>;
  try {
    totals = prefixSums(call.request)[Symbol.iterator]();
  } catch (reason) {
    call.emit('error', grpcError(CalcError.from(reason)));
    return;
  }
  // Writes until the stream is full, then waits for 'drain': at most a window's worth is buffered.
  const pump = (): void => {
    try {
      for (let next = totals.next(); !next.done; next = totals.next()) {
        if (!call.write({ value: next.value })) {
          call.once('drain', pump);
          return;
        }
      }
      call.end();
    } catch (reason) {
      call.emit('error', grpcError(CalcError.from(reason)));
    }
  };
  call.on('cancelled', () => call.removeListener('drain', pump));
  pump();
};

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
