/**
 * The calculator over gRPC (HTTP/2, protobuf) with @grpc/grpc-js, the service
 * loaded from the .proto at run time, plus the standard grpc.health.v1 service.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { calculate, LIMITS, OPERATIONS, type Operation } from './calculator.ts';
import { CalcError, type ErrorCode } from './errors.ts';
import { loadCalculatorService, METHOD_NAMES, SERVICE_NAME } from './proto.ts';
import type { RunningServer, ServerOptions } from './server-options.ts';
import { describeListenError } from './server-options.ts';

const GRPC_STATUS: Readonly<Record<ErrorCode, grpc.status>> = {
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
export function getServer(): grpc.Server {
  const server = new grpc.Server(GRPC_SERVER_CHANNEL_OPTIONS);
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const operation of OPERATIONS) implementation[METHOD_NAMES[operation]] = unaryHandler(operation);
  server.addService(loadCalculatorService().service, implementation);
  new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' }).addToServer(server);
  return server;
}

export async function startGrpcServer(options: ServerOptions): Promise<RunningServer> {
  const server = getServer();
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ private_key: options.tls.key, cert_chain: options.tls.cert }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${formatHost(options.host)}:${options.port}`, credentials, (error, boundPort) =>
      error ? reject(new Error(describeListenError('gRPC', options, error))) : resolve(boundPort),
    );
  });
  return {
    protocol: 'grpc',
    host: options.host,
    port,
    address: `${options.host}:${port}`,
    close: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        // tryShutdown lets in-flight calls finish; forceShutdown bounds the wait.
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
