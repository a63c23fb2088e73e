/**
 * How many TCP connections a run opens. One rule for the scenario matrix and
 * every driver: never more connections than calls in flight (a connection
 * without a call would sit idle and only add handshakes).
 */
import { DEFAULT_GRPC_CONNECTIONS, type Protocol } from '../types.ts';

/** The connections a driver opens for `inFlight` calls when asked for `connections`. */
export function usableConnections(connections: number, inFlight: number): number {
  return Math.max(1, Math.min(Math.floor(connections), Math.floor(inFlight)));
}

/**
 * gRPC: DEFAULT_GRPC_CONNECTIONS. REST: one keep-alive connection per call in
 * flight, HTTP/1.1 having no multiplexing. `override` (--connections N) sets both.
 */
export function connectionsFor(protocol: Protocol, concurrency: number, override: number | null): number {
  const wanted = override ?? (protocol === 'grpc' ? DEFAULT_GRPC_CONNECTIONS : concurrency);
  return usableConnections(wanted, concurrency);
}
