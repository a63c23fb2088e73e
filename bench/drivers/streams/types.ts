/**
 * The stream load generator's one small interface: a transport opens streams
 * of one method and reports each answer's bytes; the runner (run.ts) drives
 * the three stream shapes over any of them the same way, keyed by the
 * method's kind, and measures per message. Nothing here knows an API: paths
 * and messages come prepared with the payload (bench/types.ts).
 */
export { STREAM_TRANSPORTS, TRANSPORTS_OF_KIND, type StreamKind, type StreamTransport } from '../../types.ts';
import type { StreamKind } from '../../types.ts';

/** One prepared request of a server stream: protobuf (gRPC), the JSON body (empty: none) and the REST path with its query. */
export interface StreamRequest {
  protobuf: Uint8Array;
  json: Buffer;
  restPath: string;
}

/** What every stream of a run goes to and sends, prepared before the run. */
export interface StreamCall {
  kind: StreamKind;
  /** HTTP/2 :path of the gRPC method. */
  grpcPath: string;
  /**
   * The REST route: the verb of a server stream's request (GET: no body, its
   * fields in the query); bidi and client streams upload a chunked NDJSON body
   * (POST) or upgrade to a WebSocket (GET), whatever the verb.
   */
  restVerb: string;
  /** Bidi and client streams: the REST path they open; server streams take theirs from each request. */
  restPath: string;
  /** Bidi and client streams: the one message each send carries, protobuf and JSON text. */
  message: { protobuf: Uint8Array; json: Buffer };
  /** Extra request headers / gRPC metadata on every stream. */
  metadata?: Readonly<Record<string, string>>;
}

export interface StreamHandlers {
  /**
   * One answer: bytes start..end of buf (a protobuf message for gRPC; JSON text
   * otherwise, a grpc-gateway `{"result": ...}` line unwrapped). The bytes are
   * only valid during the call.
   */
  onAnswer(buf: Buffer, start: number, end: number): void;
  /** The stream ended; with the server's error text when it failed. */
  onEnd(error?: string): void;
}

export interface OpenStream {
  /** Sends the call's message once more (bidi, client streams). */
  send(): void;
  /** Half-close: no more messages. */
  end(): void;
  /** Cuts the stream (the run is over). */
  cancel(): void;
}

export interface StreamClient {
  /**
   * Starts a stream of the call; a server stream sends `request` as its one
   * message and half-closes. Sending may begin at once (the transport queues
   * until its stream is open).
   */
  open(handlers: StreamHandlers, request?: StreamRequest): OpenStream;
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
