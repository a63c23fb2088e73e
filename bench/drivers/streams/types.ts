/**
 * The stream load generator's one small interface: a transport opens streams
 * and reports each answer; the runner (run.ts) drives the three stream shapes
 * over any of them the same way and measures per message.
 */
import type { StreamOperation } from '../../../servers/calculator.ts';

export { STREAM_TRANSPORTS, type StreamTransport } from '../../types.ts';

/** Which transports serve which operation: defined with the options that check --transport. */
export { TRANSPORTS_BY_OPERATION as TRANSPORTS_OF } from '../../options/options.ts';

export interface StreamHandlers {
  /** One answer: a running total (or the sum-stream total). */
  onAnswer(value: number): void;
  /** The stream ended; with the server's error text when it failed. */
  onEnd(error?: string): void;
}

export interface OpenStream {
  send(value: number): void;
  /** Half-close: no more values. */
  end(): void;
  /** Cuts the stream (the run is over). */
  cancel(): void;
}

export interface StreamClient {
  /**
   * Starts a stream of `operation`; prefix-sums sends `values` as its one request.
   * Sending may begin at once (the transport queues until its stream is open).
   */
  open(operation: StreamOperation, handlers: StreamHandlers, values?: number[]): OpenStream;
  close(): Promise<void>;
  /**
   * Streams opened again because the server never processed them (GOAWAY,
   * REFUSED_STREAM), and connections established so far. Absent: not counted.
   */
  stats?(): { retried: number; connectionsOpened: number };
}

export interface StreamTarget {
  host: string;
  /** The gRPC server's port for 'grpc', the REST server's for the others. */
  port: number;
  /** TLS (gRPC h2 over ALPN, HTTPS/1.1, wss); the bench's certificates are self-signed and not verified. */
  tls?: boolean;
}
