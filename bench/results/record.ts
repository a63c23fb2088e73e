/**
 * The results file, as TypeScript types. `results/schema.json` is the same
 * contract as JSON Schema (renderers, CI and outside tools read it); bump
 * SCHEMA_VERSION on any incompatible change. Numbers are numbers (never
 * formatted strings); a figure that could not be measured is null, not guessed.
 */
import type { CountUnit, DriverWireReport, MethodKind, Protocol, StreamTransport } from '../types.ts';

/**
 * 4: stream rows (unit 'message', transport, firstMessageMs, gapMs), the method
 * and API a row measured, its place (TLS, and room for a proxy and replicas),
 * per-replica counts, the proxy's CPU, retried calls and connections opened; `operation` is any
 * name (an API card's call), no longer the calculator's list.
 */
export const SCHEMA_VERSION = 4;
/** Versions bench/results/read.ts accepts: 1 is 2 without `network` (every run on loopback), 2 is 3 without `capacity` (no --slo search), 3 is 4 without stream rows and methods. */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3, 4];

export interface ResultsFile {
  /** SCHEMA_VERSION when written by this bench; a file read back may be an older readable version. */
  schemaVersion: number;
  environment: Environment;
  runs: RunRecord[];
  /** --contenders runs: every contender asked for, with its conformance verdict (a failing one has no runs). Absent otherwise. */
  contenders?: ContenderReport[];
  /** A folder written by `npm run bench:merge`: the segment folders it was built from. Absent otherwise. */
  merge?: MergeInfo;
  /** --api: the card the run benched and the services it names. Absent: the calculator. */
  api?: { card: string; services: string[] };
}

/** The method a row measured (bench/types.ts ApiMethod): its service, name, kind and both protocols' routes. */
export interface MethodRecord {
  /** package.Service. */
  api: string;
  name: string;
  kind: MethodKind;
  grpcPath: string;
  restVerb: string;
  restPathTemplate: string;
}

/**
 * Where the calls went: TLS or cleartext, and what stood between generator and
 * servers. The network condition stays in `network`. proxy, replicas and
 * balance are null on a direct path.
 */
export interface PlaceRecord {
  tls: boolean;
  /** 'nginx', 'haproxy', or a user's config's name; null: direct. */
  proxy: string | null;
  /** Server processes per protocol behind the proxy; null: one, direct. */
  replicas: number | null;
  /** How a proxy spreads load: TCP connections (l4) or requests (l7); null without one. */
  balance: 'l4' | 'l7' | null;
}

/** One replica's share of a run's measured window (--replicas). */
export interface ReplicaRecord {
  pid: number;
  calls: number;
  /** CPU per 1,000 of this replica's calls; null when it served none. */
  cpuMsPer1kCalls: number | null;
}

/** Which part of the load a segmented run (`--segment K/N`) generated. */
export interface SegmentInfo {
  /** 1-based. */
  index: number;
  count: number;
}

/** When a measured run began and ended (ISO instants, ms), as the generator's clock saw them. */
export interface MeasuredWindow {
  start: string;
  end: string;
}

export interface MergeInfo {
  segments: number;
  inputs: Array<{ segment: number; dir: string; host: string | null; date: string; gitCommit: string | null }>;
}

/** One segment's part of a merged run: its own figures, kept next to the merged ones. */
export interface SegmentRun {
  index: number;
  host: string | null;
  window: MeasuredWindow | null;
  status: 'completed' | 'failed';
  requests: number;
  rps: number;
  p99Ms: number | null;
  client: { cpuPercent: number; cpuUsPerCall: number | null; bound: boolean };
}

/** A merged run whose segments' windows are further apart than this % of the run is flagged (WindowSkew.flagged). */
export const SKEW_FLAG_PERCENT = 5;

/** How far apart the segments' measured windows were, against the run's length. */
export interface WindowSkew {
  startMs: number;
  endMs: number;
  /** The larger of the two, in % of the mean measured run. */
  percent: number;
  /** percent above SKEW_FLAG_PERCENT: the segments did not load the server together. */
  flagged: boolean;
}

/** Which server of servers/contenders/ a row measured, by the factors the factorial report separates (wire, encoding, implementation). */
export interface ContenderInfo {
  name: string;
  wire: 'http1' | 'h2';
  encoding: 'json' | 'protobuf';
  implementation: string;
  /** The language of the server (servers/contenders/types.ts Language). Absent: 'node'. */
  language?: 'node' | 'go';
  /** The default server of its protocol (express for REST, grpc-js for gRPC). Absent: false. */
  isDefault?: boolean;
}

export interface ContenderReport extends ContenderInfo {
  /** Passed servers/contenders/conformance.ts and was measured; false: reported, not measured. */
  measured: boolean;
  conformance: { passed: boolean; cases: number; failures: string[] };
  /** Why it was not measured when conformance was not the reason (did not start); null otherwise. */
  failure: string | null;
}

export interface Environment {
  /** ISO date the run started. */
  date: string;
  node: string;
  os: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryMiB: number;
  /** Versions of the packages that shape the figures (grpc-js, express, autocannon, ...). */
  packages: Record<string, string>;
  gitCommit: string | null;
  /** The resolved options the bench ran with (profile, dimensions, durations, targets, pinning). */
  options: Record<string, unknown>;
  /** Which CPUs the servers and the load generator were pinned to, or null when not pinned. */
  pinning: { server: string; client: string } | null;
}

export interface LatencySummaryMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  stdev: number;
}

export interface LatencyPercentileMs {
  percentile: number;
  ms: number;
}

export interface WireBytesPerCall {
  /** All bytes client -> server per call, counted on a socket (headers, framing and body). */
  requestBytesPerCall: number | null;
  responseBytesPerCall: number | null;
  /** The part of the above that is not message body: HTTP headers, HTTP/2 and gRPC framing. */
  requestHeaderBytesPerCall: number | null;
  responseHeaderBytesPerCall: number | null;
  /** How the bytes were counted, e.g. 'counting-proxy' or 'h2load'. */
  countedBy: string | null;
  /**
   * The bytes as the load generator itself reported them, next to the proxy's
   * (h2load: received side only, its header/data split and HPACK saving).
   * Absent when the driver counts none.
   */
  driverReport?: DriverWireReport | null;
}

/** Bytes per call as a load generator counted them itself: defined with the drivers' vocabulary (bench/types.ts). */
export type { DriverWireReport } from '../types.ts';

/**
 * The connection-cost pass (bench/run/connection-cost.ts), once per protocol and
 * bench, copied onto each of that protocol's rows: calls on a new connection vs
 * on one kept-alive connection, sequential, and their difference.
 */
export interface ConnectionCostRecord {
  /** The connections were TLS (--tls: gRPC h2 over ALPN, REST HTTPS/1.1). */
  enabled: boolean;
  /** Negotiated TLS version ('TLSv1.3'); null without TLS or when not measured. */
  version: string | null;
  /** Timed calls of each kind (0: the pass was skipped). */
  calls: number;
  /** Median ms of one call on a new connection: connect, handshake(s), call, response. */
  newConnectionCallMs: number | null;
  /** Median ms of one call on a kept-alive connection. */
  keptAliveCallMs: number | null;
  /** newConnectionCallMs - keptAliveCallMs: connection set-up (TCP, TLS handshake when enabled, HTTP/2 preface and SETTINGS for gRPC). */
  handshakeMs: number | null;
  /** Payload bytes a new connection moves beyond its call, each way (TLS handshake, HTTP/2 preface/SETTINGS/GOAWAY), counted by the proxy. */
  handshakeBytes: { request: number; response: number } | null;
}

export interface RunRecord {
  /** Stable key of the scenario (same across runs and trials), e.g. "add/c64". */
  scenario: string;
  protocol: Protocol;
  /** Which load generator measured this row. */
  driver: string;
  /** --contenders runs: the server measured (protocol is then 'grpc' for gRPC-style contenders, 'rest' for the others); null/absent: the default server of `protocol` (express, grpc-js). */
  contender?: ContenderInfo | null;
  /** The calculator's operation (add, sum, running-sum, ...) or an API card call's name. */
  operation: string;
  /** The method measured; absent in schema 1-3 files (the calculator's). */
  method?: MethodRecord | null;
  /** What `requests`, `rps` and `latencyMs` count: calls, or a stream's messages. Absent: 'call'. */
  unit?: CountUnit;
  /** Stream rows: the transport (grpc, ndjson, sse, websocket); null or absent for unary calls. */
  transport?: StreamTransport | null;
  /** Stream rows: messages each stream carried; null when the streams were held for durationS. */
  messagesPerStream?: number | null;
  /**
   * Stream rows: a new stream -> its first answer (a new HTTP/2 stream, HTTP/1.1
   * request or WebSocket upgrade, first message included), ms; null when the kind has none.
   */
  firstMessageMs?: LatencySummaryMs | null;
  /** Server-stream rows: the gap between consecutive answers, ms (its latencyMs is null: an answer has no request of its own). */
  gapMs?: LatencySummaryMs | null;
  /** firstMessageMs and gapMs as HDR histograms (encoded as latencyHistogram), so bench:merge adds segments exactly; null when none. */
  firstMessageHistogram?: string | null;
  gapHistogram?: string | null;
  /** TLS and what stood between generator and servers; absent in schema 1-3 files (TLS then in tls.enabled). */
  place?: PlaceRecord;
  /** The first error's text when some calls or streams failed (a stream that ended early, a wrong answer); absent otherwise. */
  firstError?: string;
  /** Calls left unprocessed by a GOAWAY or lost to a closed idle connection, sent again and counted once; absent: not counted. */
  retried?: number;
  /** TCP connections the generator opened during the measured run; absent or null: not counted. */
  connectionsOpened?: number | null;
  /** Behind a proxy with --replicas: each replica's calls and CPU. Absent otherwise. */
  replicas?: ReplicaRecord[] | null;
  /** A proxy's CPU per 1,000 calls (the bench's --proxy, or a known proxy holding an external target's port), beside the servers'; absent: no proxy, null: not measured. */
  proxyCpuMsPer1kCalls?: number | null;
  /** Number of values for sum, null for binary operations. */
  payloadValues: number | null;
  /** Shape of the sum values (bench/scenario/payloads.ts); null for binary operations; absent in older files (double). */
  valueShape?: 'int' | 'money' | 'double' | null;
  /** 'gzip': requests sent gzipped, gzip responses accepted (bench/scenario/compression.ts); absent in older files (none). */
  compression?: 'none' | 'gzip';
  concurrency: number;
  connections: number;
  /** Open-loop target rate in calls/s; null for closed loop. */
  rate: number | null;
  /**
   * 'http-status-only': the driver did not read grpc-status (h2load), so gRPC
   * errors carried in trailers are not detected. Absent: the protocol's own status was read.
   */
  statusChecked?: 'grpc-status' | 'http-status-only';
  /** What a reader must know about how this row was measured (driver limits, driver choice). Absent: none. */
  notes?: string[];
  /** 1-based trial number when a scenario is repeated. */
  trial: number;
  durationS: number;
  status: 'completed' | 'failed';
  /** Why a failed run failed (server died, unreachable, ...); null when completed. */
  failure: string | null;
  /** Calls completed (successful or not). */
  requests: number;
  errors: number;
  statusCounts: Record<string, number>;
  /** Calls per second: requests / elapsed seconds. */
  rps: number;
  latencyMs: LatencySummaryMs | null;
  /** Connection set-up vs per-call cost for this protocol (TLS or not); absent in older files, null when not measured. */
  tls?: ConnectionCostRecord | null;
  /** The emulated network the run went through (--network); null or absent (older files): loopback, no emulation. */
  network?: NetworkRecord | null;
  /** The HDR histogram read at a ladder of percentiles (50 … 99.999), for latency curves. */
  latencyPercentilesMs?: LatencyPercentileMs[] | null;
  wire: WireBytesPerCall;
  /** Size of one request and one response message body in this protocol's encoding. */
  body: { requestBytes: number; responseBytes: number };
  /** null fields when the target was external (not started by the runner). */
  server: { cpuMsPer1kCalls: number | null; peakRssMiB: number | null };
  client: {
    /** Load generator CPU time / wall time, in % of one core. */
    cpuPercent: number;
    cpuUsPerCall: number | null;
    /** The generator was near a full core while the server was not: the run measures the client. */
    bound: boolean;
    /** Whose CPU the figures are: the runner process (in-process drivers) or the driver's own process (h2load). Absent in older files: runner. */
    cpuOf?: 'runner' | 'driver-process';
  };
  /** The measured run's latencies (µs) in HDR's compressed base64 form (bench/results/histogram.ts); null with no call; absent in schema 1 files. */
  latencyHistogram?: string | null;
  /** When the measured run began and ended; null when it did not run; absent in schema 1 files. */
  window?: MeasuredWindow | null;
  /** The generator's host name (a merged run: the segments' hosts, comma-separated); absent in schema 1 files. */
  host?: string;
  /** --segment K/N: this run generated share K of N of the scenario's load (concurrency, connections and rate are the share's). Null: all of it. */
  segment?: SegmentInfo | null;
  /** A merged run (bench:merge): each segment's own figures. Absent otherwise. */
  segments?: SegmentRun[];
  /** A merged run: how far apart the segments' windows were. Absent otherwise. */
  skew?: WindowSkew;
  /** --slo: the capacity search of this scenario and protocol (bench/run/capacity.ts); the row's own figures are its confirmation run. Absent otherwise. */
  capacity?: CapacityRecord;
}

/** The highest open-loop rate that met a latency objective, and every step that found it. */
export interface CapacityRecord {
  /** The objective, canonical: "p99<10ms,errors<0.1%". */
  slo: string;
  /** The highest offered calls/s that met every bound, confirmed by a longer run (--slo-repeats: the median search's); null when no rate tried met it. */
  rps: number | null;
  /**
   * The answer's spread: from the lowest answer of the searches to the highest rate that failed just above one
   * (one search: its answer and the lowest rate that failed above it). high is null when nothing failed above an
   * answer; the whole is null when no search found one. Absent in files before it.
   */
  range?: { low: number; high: number | null } | null;
  /** Each search's answer (--slo-repeats N: N of them, in order). Absent in files before it. */
  searches?: CapacitySearch[];
  /** The objective's percentiles at that rate, ms, keyed "p99", "p99.9": every run at it pooled (steps and confirmation; older files: the confirmation run). */
  latencyMs: Record<string, number> | null;
  errorsPercent: number | null;
  /** Server CPU at that rate, % of one core; null for an external server. */
  serverCpuPercent: number | null;
  /** rps / the cores the server used at that rate (its CPU %/100, at least one core); null when its CPU is unknown. */
  rpsPerServerCore: number | null;
  /** A step above the answer failed while the load generator was CPU-bound: rps is a lower bound ("at least"), not the server's figure. */
  loadGeneratorBound: boolean;
  /** What a reader must know about the answer: a confirmation that failed and stepped down, no rate meeting the objective. */
  notes: string[];
  /** Wall seconds of the whole search (all its repeats). */
  searchS: number;
  steps: CapacityStep[];
}

/** One search of --slo-repeats: its confirmed answer, the lowest rate that failed above it, its seconds. */
export interface CapacitySearch {
  rps: number | null;
  failedAboveRps: number | null;
  searchS: number;
}

export interface CapacityStep {
  /** 'probe': closed loop at the scenario's concurrency, the ceiling the search starts under; 'search': an open-loop step; 'confirm': the longer run at the answer. */
  phase: 'probe' | 'search' | 'confirm';
  /** Offered calls/s; null for the closed-loop probe. */
  rate: number | null;
  achievedRps: number;
  /** p50 and the objective's percentiles, ms, keyed "p50", "p99", "p99.9"; null when no call completed. */
  latencyMs: Record<string, number> | null;
  errorsPercent: number;
  serverCpuPercent: number | null;
  clientCpuPercent: number;
  clientBound: boolean;
  /** Completed calls/s well below the offered rate: the target (or the generator) could not keep up. */
  saturated: boolean;
  pass: boolean;
  /** Why the step failed the objective ("p99 12.3 ms > 10 ms", saturation, a run failure); empty when it passed. */
  misses: string[];
  durationS: number;
  /** --slo-repeats above 1: which search (1-based) the step belongs to. Absent: the only one. */
  search?: number;
  /**
   * The verdict the search acted on: the objective read on every run at this rate so far in this search, this one
   * included (their HDR histograms added). Absent for the probe and in files before it.
   */
  pooled?: {
    /** Runs at this rate so far. */
    runs: number;
    /** Runs left out of the pool: the one that went furthest past the objective, from three runs on. Absent: none. */
    leftOut?: number;
    latencyMs: Record<string, number> | null;
    errorsPercent: number;
    pass: boolean;
    misses: string[];
  };
}

/** One direction of the emulated link during the measured run (the forwarder's and the kernel's counters). */
export interface NetworkDirectionRecord {
  /** Packets that entered the link, and that came out at the far end. */
  packets: number;
  forwarded: number;
  /** Dropped by the random loss, by the rate limiter's full queue (tail drop), by a full device queue before the forwarder. */
  lossDrops: number;
  queueDrops: number;
  deviceDrops: number | null;
  /** All drops / packets, in %. */
  dropPercent: number | null;
  /** How late packets left against their due time, µs (null: none forwarded). */
  lateUsP50: number | null;
  lateUsP99: number | null;
}

/** The condition asked for (bench/network/conditions.ts) and what the emulated link measured. */
export interface NetworkRecord {
  /** Profile name or inline spec. */
  name: string;
  rttMs: number;
  jitterMs: number;
  /** null = unlimited. */
  upMbit: number | null;
  downMbit: number | null;
  lossPercent: number;
  measured: {
    /** TCP ping-pong through the link when it was set up: median, min, max ms. */
    rttMs: number | null;
    rttMinMs: number | null;
    rttMaxMs: number | null;
    /** Steady bulk-transfer rate each way when the link was set up, Mbit/s of TCP payload (null: not measured). */
    upMbit: number | null;
    downMbit: number | null;
    /** During the measured run: up = client to server. */
    up: NetworkDirectionRecord;
    down: NetworkDirectionRecord;
    /** TCP segments the servers' namespace retransmitted during the run (the client side's are not counted). */
    serverRetransmits: number | null;
    /** The forwarder's CPU time / wall time during the run, % of one core; at 90 or more the link may be the bottleneck. */
    emulatorCpuPercent: number | null;
    /** The forwarder ran at real-time priority. */
    realtime: boolean;
    /** Idle CPUs polled instead of halting during the run (PM QoS request; a halted vCPU wakes ~1 ms late). */
    lowLatencyIdle: boolean;
  };
}
