/**
 * The load side's small vocabulary. Data flows one way:
 * scenario -> driver (LoadOptions in, LoadResult out) -> measurements -> result record -> renderers.
 * A driver knows how to generate load for one or more protocols and nothing about
 * servers, profiles or reports, so adding one (h2load, ghz, a client library)
 * touches no other module.
 */
import type { Histogram } from 'hdr-histogram-js';

export type Protocol = 'grpc' | 'rest';
export const PROTOCOLS: readonly Protocol[] = ['grpc', 'rest'];

/** Where the load goes. gRPC is h2c (HTTP/2 over cleartext TCP) unless `tls` is set. */
export type Target =
  | { protocol: 'grpc'; host: string; port: number; tls?: boolean }
  | { protocol: 'rest'; url: string; call?: HttpCall };

/** How a method's messages flow (gRPC's four kinds). */
export type MethodKind = 'unary' | 'client-stream' | 'server-stream' | 'bidi';

/**
 * A method as the load side sees it: its names and where each protocol sends
 * it, nothing of what it computes. An API card (bench/api/) or the
 * calculator's scenario layer (bench/scenario/) fills it in; generators only
 * read the paths.
 */
export interface ApiMethod {
  /** The service, `package.Service`: 'calculator.v1.Calculator'. */
  api: string;
  /** The method's name in its service: 'Add'. */
  name: string;
  kind: MethodKind;
  /** HTTP/2 :path of the gRPC call: '/calculator.v1.Calculator/Add'. */
  grpcPath: string;
  /** The REST twin (google.api.http): verb and path template, e.g. POST '/v1/add', GET '/v1/{name=users/*\/notes/*}'. */
  rest: { verb: string; pathTemplate: string };
  /** The .proto files that describe it, for generators that need the schema (ghz); absent when none is known. */
  schema?: { protoFiles: readonly string[]; importPaths: readonly string[] };
}

/**
 * How a non-gRPC call is spelled when it is not the default REST call
 * (HTTP/1.1, the method's REST verb and path, application/json): a contender's
 * (servers/contenders/), e.g. JSON over h2c, a protobuf body, or Connect's
 * unary protocol. Absent = the default REST call. Success is judged by the HTTP
 * status (2xx). bench/wire/http-call.ts resolves it; drivers that honour it
 * list the wires in Driver.restWires.
 */
export interface HttpCall {
  /** 'http1', or 'h2' (cleartext, prior knowledge). */
  wire: 'http1' | 'h2';
  /** 'rest': the method's REST verb and path (CallPayload.restPath); 'grpc-path': POST to its gRPC path (Connect and gRPC-style routes). */
  route: 'rest' | 'grpc-path';
  contentType: string;
  /** Which CallPayload body goes out: the JSON text or the protobuf message (no gRPC prefix). */
  body: 'json' | 'protobuf';
}

/** One prepared request of a pool: both encodings and the REST path it goes to. */
export interface PreparedRequest {
  /** REST request body: the JSON text's UTF-8 bytes (empty when the REST twin has no body). */
  json: Buffer;
  /** gRPC request message: protobuf bytes, without the 5-byte gRPC length prefix. */
  protobuf: Uint8Array;
  /** The REST request's path and query, path variables filled: '/v1/add', '/v1/users/1/notes/7?view=FULL'. */
  restPath: string;
}

/**
 * What every call of a run sends: the same logical request, encoded for each
 * protocol, prepared before the run (generators send these bytes and never
 * marshal per call). Its own fields are the first request; `pool`, when set,
 * holds every request, sent round robin.
 */
export interface CallPayload extends PreparedRequest {
  method: ApiMethod;
  /** The request as a plain object (proto3 JSON form), for tools that take JSON and for reports. */
  input: unknown;
  /** Several distinct requests sent round robin (an API card's list or `pool`); absent: every call sends the one above. */
  pool?: readonly PreparedRequest[];
  /**
   * Set for compressed runs (bench/scenario/compression.ts): the bodies as sent, gzipped
   * once before the run. gRPC sends `protobuf` here with the compressed flag and
   * grpc-encoding; REST sends `json` here with content-encoding. Both also ask
   * for compressed responses. Only drivers with `compression: true` honour it.
   */
  compressed?: { encoding: 'gzip'; json: Buffer; protobuf: Uint8Array };
  /** A streaming method's extras for the stream generator (bench/drivers/streams/); absent: none. */
  stream?: StreamPayload;
}

/**
 * What a stream payload adds to its prepared bytes. For bidi and client
 * streams the payload's own `protobuf` / `json` is the message every send
 * carries (a gRPC frame, an NDJSON line, a WebSocket text frame); for a server
 * stream the payload (or its pool, round robin) is the one request of each
 * stream: protobuf, the JSON body, or a GET with its query.
 */
export interface StreamPayload {
  /**
   * A server stream whose request says how many answers it gets (the
   * calculator's prefix-sums: N values, N running totals): the request for a
   * stream of `messages`, built once before the run. Absent: the payload's
   * request, answered with as many messages as the server decides.
   */
  requestOf?(messages: number): PreparedRequest;
  /** Checks the answers' values; absent: the generator only counts and times them. */
  answers?: StreamAnswers;
}

/**
 * The scenario layer's check of a stream's answers: the generator counts and
 * times messages and knows nothing of what they mean.
 */
export interface StreamAnswers {
  /**
   * One answer of a stream: `index` is its place in the stream (0-based),
   * `message` its bytes (protobuf for gRPC; the JSON text for NDJSON, SSE and
   * WebSocket, a grpc-gateway `{"result": ...}` line unwrapped), `sent` the
   * messages this stream has sent so far (bidi, client stream). Returns why it
   * is wrong, or null.
   */
  check(index: number, message: Buffer, encoding: 'protobuf' | 'json', sent: number): string | null;
}

/** gRPC (HTTP/2) and REST's three ways to stream over HTTP/1.1: newline-delimited JSON, server-sent events, WebSocket. */
export const STREAM_TRANSPORTS = ['grpc', 'ndjson', 'sse', 'websocket'] as const;
export type StreamTransport = (typeof STREAM_TRANSPORTS)[number];

/** The kinds of method that stream. */
export type StreamKind = Exclude<MethodKind, 'unary'>;

/**
 * Which transports carry which kind: gRPC all three; over HTTP/1.1 NDJSON all
 * three (a chunked request body that lasts, answered while it is sent), SSE
 * only answers (server streaming), WebSocket the bidi path.
 */
export const TRANSPORTS_OF_KIND: Readonly<Record<StreamKind, readonly StreamTransport[]>> = {
  bidi: ['grpc', 'ndjson', 'websocket'],
  'client-stream': ['grpc', 'ndjson'],
  'server-stream': ['grpc', 'ndjson', 'sse'],
};

/** What a row counts: calls (unary) or messages (streams: each value sent or answer received). */
export type CountUnit = 'call' | 'message';

/**
 * A streaming run's shape (LoadOptions.stream): `concurrency` streams at once
 * on this transport, each carrying `messagesPerStream` messages, or held open
 * for the run's durationS when null. `rate` is then messages/s over all streams.
 */
export interface StreamLoad {
  transport: StreamTransport;
  messagesPerStream: number | null;
}

export interface LoadOptions {
  target: Target;
  payload: CallPayload;
  /** A streaming method's run: its transport and length. Absent: unary calls. */
  stream?: StreamLoad;
  /** Calls in flight at once (closed loop), spread over `connections`; for a stream run, streams open at once. */
  concurrency: number;
  /** TCP connections to open; gRPC multiplexes concurrency/connections streams on each. */
  connections: number;
  /** How long to run, in seconds. Ignored when `requests` is set. */
  durationS: number;
  /** Stop after this many calls instead of after `durationS`. */
  requests?: number;
  /**
   * Open loop: start calls on a fixed schedule of `rate` calls/s (at most
   * `concurrency` in flight) and measure latency from each call's intended
   * start, so a stall is not hidden by coordinated omission. Unset: closed loop.
   */
  rate?: number;
  /** Per-call deadline in ms; a call past it counts as a `timeout` error. */
  timeoutMs: number;
  /**
   * After the duration, how long calls still in flight may take to finish and
   * be counted (at most their deadline); the rest are timeouts. Unset: 1 s, so
   * a server that stalls at the end of a run does not hold the bench for a
   * whole timeout. Behind a slow link one call can take seconds: the runner
   * then gives them their whole deadline. Drivers without a drain ignore it.
   * Calls cut by the grace count as 'timeout' errors.
   */
  drainGraceMs?: number;
  /** Extra request headers / gRPC metadata. */
  metadata?: Readonly<Record<string, string>>;
  /** Aborting ends the run early; the driver resolves with what it measured. */
  signal?: AbortSignal;
  /** Called about every 250 ms with the calls completed so far. */
  onProgress?: (progress: { calls: number; elapsedS: number }) => void;
  /**
   * Command prefix for drivers that run the load generator as a child process
   * (h2load), e.g. ['taskset', '-c', '1'] to pin it to the generator's CPU.
   * In-process drivers ignore it.
   */
  prefix?: string[];
}

export interface LoadResult {
  /** Calls completed, successful or not. */
  calls: number;
  errors: number;
  /**
   * Outcome counts keyed by status: gRPC status names ('OK', 'INVALID_ARGUMENT', ...),
   * HTTP statuses ('200', '503', ...) or transport failures ('timeout',
   * 'connection-error', 'goaway', 'stream-reset', ...).
   */
  statusCounts: Record<string, number>;
  /** Wall time from first call started to last call finished, in seconds. */
  elapsedS: number;
  /** Per-call latency in microseconds (HDR histogram; never an array of samples). */
  latencyUs: Histogram;
  /** Bytes this driver moved on its own sockets, when it can count them; null otherwise. */
  socketBytes: { sent: number; received: number } | null;
  /** Why the run ended early, if it did (server gone, aborted). */
  failure?: string;
  /**
   * CPU time (user + system, µs) of the load generator when it is not this
   * process (h2load runs as a child): the runner then uses it instead of its own
   * process.cpuUsage() for client CPU and client-bound. Absent/null: the runner's own CPU.
   */
  clientCpuUs?: number | null;
  /**
   * Bytes per call as the load generator itself counted them (h2load: received
   * side only, with its HPACK "space savings"). The runner keeps the proxy's
   * counts as the row's figures (comparable across drivers) and stores this
   * next to them (wire.driverReport); without a proxy pass it is the row's figures.
   */
  wireFromDriver?: DriverWireReport | null;
  /**
   * Which status the driver reads. 'http-status-only' for gRPC means grpc-status
   * (a trailer) is not seen: a failed gRPC call counts as HTTP '200' (h2load).
   * Absent: the protocol's own status (grpc-status for gRPC, HTTP status for REST).
   */
  statusChecked?: 'grpc-status' | 'http-status-only';
  /** 'message' for a stream run: `calls` counts messages and `latencyUs` is per message (absent: 'call'). */
  unit?: CountUnit;
  /** Stream runs: a new stream -> its first answer, µs (absent or empty when the kind has no such moment). */
  firstMessageUs?: Histogram;
  /** Stream runs of a server stream: the gap between consecutive answers, µs. */
  gapUs?: Histogram;
  /** The first error's text (a stream that failed, a wrong answer). */
  firstError?: string | null;
  /**
   * Calls (or streams) sent again on a new connection because the server never
   * processed them (above a GOAWAY's last-stream-id, REFUSED_STREAM, or an idle
   * keep-alive connection closed before any byte of the answer). Counted once
   * per re-send, not as errors. Absent: the driver does not retry.
   */
  retried?: number;
  /** TCP connections the driver established over the run, the first ones included. Absent: not counted. */
  connectionsOpened?: number;
}

/** Bytes per call as a load generator counted them itself (h2load's `traffic:` line). */
export interface DriverWireReport {
  /** The driver that counted, e.g. 'h2load'. */
  countedBy: string;
  /** null where the driver does not count that direction (h2load counts only what it receives). */
  requestBytesPerCall: number | null;
  responseBytesPerCall: number | null;
  requestHeaderBytesPerCall: number | null;
  /** Everything but the message body: headers (HPACK-compressed for HTTP/2), framing, gRPC prefix. */
  responseHeaderBytesPerCall: number | null;
  /** HPACK's saving on response headers as the driver reports it (0 for HTTP/1.1); null when unknown. */
  headerSpaceSavingsPercent: number | null;
}

export interface Driver {
  /** Short name shown in every result row: 'grpc-engine', 'autocannon', 'h2load', ... */
  readonly name: string;
  readonly protocols: readonly Protocol[];
  /** Sends CallPayload.compressed when it is set (the runner refuses --compression gzip otherwise). */
  readonly compression?: boolean;
  /** Honours LoadOptions.rate (open loop, latency from each call's due time); the registry sets it for built-in drivers. */
  readonly openLoop?: boolean;
  /** Why this driver cannot run on this machine (a binary missing, and how to install it), or null. */
  unavailable?(): string | null;
  /**
   * Wires on which it drives REST targets that carry a Target.call (contenders).
   * Unset: it drives only the default REST call, if any.
   */
  readonly restWires?: readonly ('http1' | 'h2')[];
  /** Sends CallPayload.pool round robin; without it the runner refuses a payload with several requests. */
  readonly pools?: boolean;
  run(options: LoadOptions): Promise<LoadResult>;
}

/** LoadOptions.drainGraceMs when unset. */
export const DEFAULT_DRAIN_GRACE_MS = 1_000;

/** How a scenario's bodies go on the wire (--compression): as encoded, or gzipped (bench/scenario/compression.ts). */
export const COMPRESSIONS = ['none', 'gzip'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** gRPC's default: one HTTP/2 connection multiplexing every call in flight (bench/scenario/connections.ts). */
export const DEFAULT_GRPC_CONNECTIONS = 1;
