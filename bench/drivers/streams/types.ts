/**
 * The stream load generator's one small interface: a transport opens streams
 * and reports each answer; the runner (run.ts) drives the three stream shapes
 * over any of them the same way and measures per message.
 */
import type { StreamOperation } from '../../../servers/calculator.ts';

/** gRPC (HTTP/2) and REST's three ways to stream over HTTP/1.1. */
export const STREAM_TRANSPORTS = ['grpc', 'ndjson', 'sse', 'websocket'] as const;
export type StreamTransport = (typeof STREAM_TRANSPORTS)[number];

/** Which transports serve which operation (REST: SSE is server streaming only, WebSocket is the bidi path). */
export const TRANSPORTS_OF: Readonly<Record<StreamOperation, readonly StreamTransport[]>> = {
  'running-sum': ['grpc', 'ndjson', 'websocket'],
  'sum-stream': ['grpc', 'ndjson'],
  'prefix-sums': ['grpc', 'ndjson', 'sse'],
};

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
}

export interface StreamTarget {
  host: string;
  /** The gRPC server's port for 'grpc', the REST server's for the others. */
  port: number;
}
