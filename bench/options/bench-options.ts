/**
 * BenchOptions: a bench run's options, every one resolved (bench/options/resolve.ts);
 * the runner, the plan and the scenario matrix read them and default nothing again.
 */
import type { Operation, StreamOperation } from '../../servers/calculator.ts';
import type { Protocol, StreamTransport } from '../types.ts';
import type { Compression } from '../types.ts';
import type { SegmentInfo } from '../results/record.ts';
import type { Slo } from './slo.ts';
import type { NetworkCondition } from './network.ts';
import type { Balance, ProfileName, ProxyKind, ShapeName, SweepName } from './profiles.ts';

export interface GrpcTargetOption {
  host: string;
  port: number;
}

export interface BenchOptions {
  profile: ProfileName;
  protocols: Protocol[];
  ops: Operation[];
  /** --api: an API card (YAML or JSON) whose calls are the scenarios instead of the calculator's ops; null: the calculator. */
  api: string | null;
  /** Streaming methods (--ops running-sum,sum-stream,prefix-sums): scenarios whose rows count messages. */
  streamOps: StreamOperation[];
  /** Transports the stream scenarios run over; null: every transport that serves each method. */
  transports: StreamTransport[] | null;
  /** Streams open at once in a stream scenario (the profile's, or --streams). */
  streams: number;
  /** Messages per stream; null: the streams are held open for the measured duration (open loop and --slo, unless --messages). */
  messagesPerStream: number | null;
  sizes: number[];
  concurrency: number[];
  sumConcurrency: number[];
  durationS: number;
  warmupS: number;
  /** TCP connections for both protocols; null = per-protocol defaults (gRPC 1, REST one per in-flight call). */
  connections: number | null;
  trials: number;
  outDir: string;
  timeoutMs: number;
  /** DEFAULT_SHAPE when among `shapes`, else the first of them (kept for readers of older option records). */
  shape: ShapeName;
  /** Sum value shapes: every sum size runs with each. */
  shapes: ShapeName[];
  /** Request/response compression per scenario: 'none', 'gzip' or both (a dimension). */
  compression: Compression[];
  /** 'payload' or 'network' when --sweep chose the scenario set; null otherwise. */
  sweep: SweepName | null;
  /** Calls of the wire-sampling pass; 0 skips it. */
  wireCalls: number;
  /** Load generator per protocol (names in bench/drivers/index.ts). */
  drivers: Record<Protocol, string>;
  /** Open loop: calls/s per protocol on a fixed schedule (latency from each call's due time); null = closed loop. */
  rate: number | null;
  /** How the drivers were chosen, when a reader must know (e.g. REST on http1-engine because of --rate). */
  driverNotes: string[];
  /** Already running servers; a protocol with a target gets no server started. */
  grpcTarget: GrpcTargetOption | null;
  restTarget: string | null;
  /** The process of a target whose CPU and memory fill the server columns; null = found from its listening port when local. */
  grpcPid: number | null;
  restPid: number | null;
  /** Ports for the servers the bench starts (0 = a free port). */
  grpcPort: number;
  restPort: number;
  pin: boolean;
  /** Progress display: in-place on a TTY unless CI=true, plain lines otherwise, or none. */
  progress: 'auto' | 'plain' | 'none';
  /**
   * --contenders: servers of servers/contenders/ to bench (each started with
   * serve-contender.ts, conformance-checked, then measured); null = the design
   * card's two servers (servers/serve.ts), as without the flag.
   */
  contenders: string[] | null;
  /** --tls: the started servers (and a --grpc-target) speak TLS; REST targets say https:// themselves. */
  tls: boolean;
  /**
   * The TLS settings the bench runs every condition under, in order: [tls] for a
   * bench; [false, true] for --sweep network (cleartext, then TLS, servers
   * restarted for each), [true] for --sweep network --tls. The runner sets
   * `tls` to each in turn.
   */
  tlsPasses: boolean[];
  /** Calls per kind of the connection-cost pass (new connection vs kept-alive); 0 skips it. */
  connectionCalls: number;
  /** Seconds without a completed call before a run is failed as "server stopped answering"; 0 disables. */
  stallTimeoutS: number;
  /** --slo: search each scenario and protocol for the highest open-loop rate meeting it (bench/run/capacity.ts); null = fixed load. */
  slo: Slo | null;
  /** --slo-repeats: independent capacity searches per scenario and protocol, the answer their median (default 1). */
  sloRepeats: number;
  /** --slo-step: measured seconds of one capacity step (default half of --duration). */
  sloStepS: number;
  /** --segment K/N: generate share K of N of every scenario's load (bench/scenario/segment.ts); null: all of it. */
  segment: SegmentInfo | null;
  /** --start-at: ISO instant the first measured run starts at, later runs on a fixed schedule (bench/run/schedule.ts); null: at once. */
  startAt: string | null;
  /**
   * --network: every scenario runs under each condition in turn (bench/network/);
   * null = loopback, no emulation (the default, [null]).
   */
  network: Array<NetworkCondition | null>;
  /**
   * After the unary runs, the profile's running-sum streams on gRPC and each REST transport (bench/cli/streams.ts),
   * in the same table and "in short" lines: only in a plain default run (no --ops, both protocols, the bench's own
   * cleartext servers on loopback, closed loop, whole load) and not with --no-streams.
   */
  streamScenario: boolean;
  /** --max-connection-age / --max-connection-calls: passed to the bench's own servers (servers/serve.ts); null: no limit. */
  maxConnectionAgeMs: number | null;
  maxConnectionCalls: number | null;
  /**
   * --proxy: the places each protocol is measured at, in order: a proxy the bench starts in front of the
   * servers (bench/host/proxy.ts) or 'direct'. [] without --proxy (direct only, as before).
   */
  proxies: Array<ProxyKind | 'direct'>;
  /** --proxy-config: the user's config template for the one proxy of --proxy; null: the bench's tuned config. */
  proxyConfig: string | null;
  /** --replicas: server processes per protocol behind the proxy (1 without --proxy). */
  replicas: number;
  /** --balance: what the proxy spreads over the replicas, TCP connections (l4) or requests (l7); null without --proxy or with --proxy-config. */
  balance: Balance | null;
}

/**
 * The commands that run the bench, each reading the bench's flags:
 * `bench`, and `streams` (bench:streams), whose --rate is per stream and
 * whose --ops defaults to the stream operations (resolve.ts).
 */
export type BenchCommandName = 'bench' | 'streams';

/** What the command line asks for: the usage text, or a bench with every option resolved. */
export type BenchCommand = { kind: 'help'; usage: string } | { kind: 'run'; options: BenchOptions };

/** Known load generators per protocol; filled in by the registry so options need not import drivers. */
export type DriverCatalog = Readonly<Record<string, readonly Protocol[]>>;

export interface OptionsEnvironment {
  canPin: boolean;
  /** Drivers that can run an open loop (bench/drivers/index.ts openLoopDriverNames); given, --rate is checked here (the runner checks again). */
  openLoopDrivers?: readonly string[];
  /** The clock a relative --start-at (+30s) counts from, ms (tests fix it). */
  nowMs?: number;
}
