/**
 * `npm run bench` options: the one place where command-line input is checked.
 * Everything past resolveBenchOptions() works with typed, validated values;
 * a bad flag becomes a UsageError naming the flag and what it accepts
 * (the CLI prints its message on one line and exits 2, before any load).
 */
import os from 'node:os';
import { DEFAULT_GRPC_CONNECTIONS } from '../scenario/connections.ts';
import { parseArgs } from 'node:util';
import { isOperation, isStreamOperation, LIMITS, OPERATIONS, STREAM_OPERATIONS, type Operation, type StreamOperation } from '../../servers/calculator.ts';
import { PROTOCOLS, STREAM_TRANSPORTS, TRANSPORTS_OF_KIND, type Protocol, type StreamKind, type StreamTransport } from '../types.ts';
import { COMPRESSIONS, type Compression } from '../scenario/compression.ts';
import { contenderNames, getContender } from '../../servers/contenders/index.ts';
import { DurationError, durationMs, durationSeconds } from './duration.ts';
import { DEFAULT_SLO_REPEATS, defaultSloStepS, MAX_SLO_REPEATS, MIN_SLO_STEP_S, parseSlo, SloSyntaxError, type Slo } from './slo.ts';
import type { SegmentInfo } from '../results/record.ts';
import { NetworkSpecError, parseNetworkList, type NetworkCondition } from './network.ts';
import { parseArgsUsageError, UsageError } from '../../shared/usage-error.ts';

export { UsageError };

export const PROFILE_NAMES = ['quick', 'standard', 'full'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export const VALUE_SHAPE_NAMES = ['int', 'money', 'double'] as const;
export type ShapeName = (typeof VALUE_SHAPE_NAMES)[number];

/** A profile: the dimensions of its scenario matrix and how long each run lasts. */
export interface Profile {
  /** Operations; `sum` expands over `sizes`. */
  ops: readonly Operation[];
  /** Number of values per Sum call. */
  sizes: readonly number[];
  /** In-flight calls for the binary operations. */
  concurrency: readonly number[];
  /** In-flight calls for sum (a payload sweep needs fewer points); defaults to `concurrency`. */
  sumConcurrency?: readonly number[];
  /** Value shapes for sum (every size x every shape); defaults to [DEFAULT_SHAPE]. */
  shapes?: readonly ShapeName[];
  durationS: number;
  warmupS: number;
  /** Stream scenarios: streams open at once, and messages each carries (closed loop). */
  streams: number;
  messagesPerStream: number;
}

export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  /** CI and tests: two scenarios, about 10 s of wall time in all. */
  quick: { ops: ['add', 'sum'], sizes: [1_000], concurrency: [16], durationS: 1.5, warmupS: 0.5, streams: 8, messagesPerStream: 1_000 },
  /**
   * The default: the concurrency sweep on add and four points of the payload
   * sweep on sum (small and big bodies, JSON-friendly ints and full doubles),
   * about 75 s. `--sweep payload` runs the whole sweep.
   */
  standard: {
    ops: ['add', 'sum'],
    sizes: [10, 10_000],
    shapes: ['int', 'double'],
    concurrency: [1, 16, 64, 256],
    sumConcurrency: [16],
    durationS: 3,
    warmupS: 1,
    streams: 16,
    messagesPerStream: 2_000,
  },
  /** Every operation at every concurrency, the payload sweep at every concurrency, longer runs. */
  full: {
    ops: ['add', 'subtract', 'multiply', 'divide', 'sum'],
    sizes: [10, 1_000, 10_000],
    concurrency: [1, 16, 64, 256],
    durationS: 10,
    warmupS: 2,
    streams: 16,
    messagesPerStream: 2_000,
  },
};

export const DEFAULT_PROFILE: ProfileName = 'standard';
export const DEFAULT_OUT_DIR = 'results';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_TRIALS = 1;
export const DEFAULT_SHAPE: ShapeName = 'double';
/** gRPC multiplexes every in-flight call on this many connections unless --connections says otherwise. */
/** Calls the wire-sampling pass sends per scenario and protocol (fewer for big payloads, see scenarios.ts). */
export const DEFAULT_WIRE_CALLS = 1_000;
/** Calls per kind (new connection / kept-alive) of the connection-cost pass (bench/run/connection-cost.ts). */
export const DEFAULT_CONNECTION_CALLS = 50;
/** No call completed for this long: the server stopped answering (bench/run/stall-watchdog.ts). */
export const DEFAULT_STALL_TIMEOUT_S = 5;
export const DEFAULT_DRIVERS: Readonly<Record<Protocol, string>> = { grpc: 'grpc-engine', rest: 'autocannon' };
/**
 * Defaults with --rate (open loop) and behind an emulated link (--network):
 * autocannon times each call from its actual send (coordinated omission), and
 * its clock starts before its connections are up, so behind a 70 ms link a 1 s
 * run spends 7% of its time connecting (14% with TLS) while the gRPC engine
 * connects first. http1-engine times calls from their due time and connects
 * before its clock starts, as the gRPC engine does; what a new connection
 * costs is the connection-cost pass's figure.
 */
export const OPEN_LOOP_DEFAULT_DRIVERS: Readonly<Record<Protocol, string>> = { grpc: 'grpc-engine', rest: 'http1-engine' };
/** `--driver clients`: the client libraries an application would use ("what an application's client pays"). */
export const DRIVER_ALIASES: Readonly<Record<string, Readonly<Record<Protocol, string>>>> = {
  clients: { grpc: 'grpc-js-client', rest: 'undici-client' },
};
export const MAX_RATE = 1_000_000;
export const MAX_CONCURRENCY = 10_000;

export const SWEEP_NAMES = ['payload', 'network'] as const;
export type SweepName = (typeof SWEEP_NAMES)[number];
/**
 * `--sweep payload`: Sum over both protocols at these sizes x every shape, at
 * one concurrency; the full profile adds 100,000 values. Flags still override
 * (--sizes, --shape, --concurrency, --compression).
 */
export const PAYLOAD_SWEEP = {
  sizes: [1, 10, 100, 1_000, 10_000] as readonly number[],
  fullExtraSizes: [100_000] as readonly number[],
  shapes: VALUE_SHAPE_NAMES as readonly ShapeName[],
  concurrency: 16,
};
/**
 * `--sweep network`: a small scenario set (add at 1 and 64 in flight, sum of
 * 10,000 doubles at 16) under every built-in network profile, with and without
 * TLS, two trials each, short runs (bench/report/network-sweep.ts says where
 * the winner changes).
 * Flags still override (--network, --trials, --duration, --warmup, --tls).
 */
export const NETWORK_SWEEP = {
  network: 'loopback,lan,cross-zone,cross-region,mobile,lossy',
  concurrency: [1, 64] as readonly number[],
  sumConcurrency: [16] as readonly number[],
  sizes: [10_000] as readonly number[],
  trials: 2,
  /** Every condition in cleartext, then over TLS (--tls: TLS only). */
  tlsPasses: [false, true] as readonly boolean[],
  // 144 runs in the 5-minute budget: short runs (behind a slow link a run still lasts two rounds of its calls).
  durationS: 1,
  warmupS: 0.25,
};
export const MAX_TRIALS = 100;

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

/** What the command line asks for: the usage text, or a bench with every option resolved. */
export type BenchCommand = { kind: 'help'; usage: string } | { kind: 'run'; options: BenchOptions };

/**
 * The bench's old name for the one usage error (shared/usage-error.ts), kept
 * while bench/run/ and the tests outside test/options/ still import it.
 * @deprecated import UsageError.
 */
export { UsageError as BenchUsageError };

export const USAGE = `usage: npm run bench -- [options]
  --profile quick|standard|full   scenario set (default ${DEFAULT_PROFILE})
  --protocols grpc,rest           protocols to run
  --api card.yaml                 bench your own API: a .proto, its google.api.http REST mapping and the calls
                                  to make (docs/your-api.md); with --grpc-target and --rest-target
  --ops add,subtract,multiply,divide,sum[,running-sum,sum-stream,prefix-sums]
  --streams N --messages N        stream scenarios: streams at once, messages each (default: profile's)
  --transport grpc,ndjson,sse,websocket   stream transports (default: every one that serves the method)
  --sizes 10,1000,10000           values per sum call
  --concurrency 1,16,64           calls in flight
  --duration D  --warmup D        measured run / warm-up: 3 (seconds), 3s, 500ms, 1m, 1m30s
  --connections N                 TCP connections for both protocols (default: gRPC ${DEFAULT_GRPC_CONNECTIONS}, REST one per call in flight)
  --trials N                      repeat every scenario N times, protocols interleaved
  --shape int,money,double        sum value shape(s) (default: profile, else ${DEFAULT_SHAPE})
  --sweep payload                 sum at 1..10,000 values (100,000 in full) x every shape, at 16 in flight
  --sweep network                 add at 1 and 64 in flight, sum of 10,000 at 16, under every network profile, cleartext and TLS (root)
  --compression none,gzip         gzip requests (and accept gzip responses); both = a dimension (default none)
  --wire-calls N                  calls of the byte-counting pass (0 = skip)
  --driver NAME[,NAME]            load generator(s): h2load (both protocols), clients (grpc-js-client + undici-client),
                                  http1-engine, or rest=NAME,grpc=NAME (default grpc-engine + autocannon)
  --rate N                        open loop: N calls/s per protocol, latency from each call's due time
                                  (--concurrency caps calls in flight; REST defaults to http1-engine)
  --grpc-target host:port         bench a running gRPC server (none is started; docs/bench-your-server.md)
  --rest-target http://host:port  bench a running REST server (none is started)
  --grpc-pid N --rest-pid N       the target's process, for server CPU and memory (default: found from its port when local)
  --grpc-port N --rest-port N     ports of the started servers (default 0 = free)
  --contenders all|NAME[,NAME]    bench these servers of servers/contenders/ (npm run serve:contender -- --list)
                                  instead of the default pair (grpc-js, express); 2x2 factorial report (docs/contenders.md)
  --out DIR                       results folder (default ${DEFAULT_OUT_DIR}/)
  --timeout MS|D                  per-call deadline: milliseconds, or 2s, 500ms (default ${DEFAULT_TIMEOUT_MS})
  --pin / --no-pin                taskset servers to CPU 0 and the runner to CPU 1
  --no-streams                    leave out the default run's stream scenario (running-sum on every transport)
  --progress auto|plain|none
  --tls                           both servers over TLS (gRPC h2 via ALPN, REST HTTPS/1.1), self-signed cert
  --connection-calls N            calls per kind of the connection-cost pass (default ${DEFAULT_CONNECTION_CALLS}, 0 = skip)
  --stall-timeout D               fail a run when no call completes for D (default ${DEFAULT_STALL_TIMEOUT_S}s, 0 = off)
  --slo 'p99<10ms[,errors<0.1%]'  capacity: per scenario and protocol, the highest open-loop rate meeting the objective
                                  (a step search; --concurrency caps calls in flight; docs/capacity.md)
  --slo-repeats N                 run N searches each, answer their median with every answer kept (default ${DEFAULT_SLO_REPEATS})
  --slo-step D                    measured length of one search step (default half of --duration)
  --segment K/N                   generate share K of N of every scenario's load (needs the targets; bench:merge joins them);
                                  a profile's concurrencies below N are left out
  --start-at ISO|+S               start the first measured run at an instant (2026-12-01T10:00:00Z) or S seconds from now (+30s)
  --network NAME[,NAME...]        run every scenario under each network condition (root): loopback (default), lan,
                                  cross-zone, cross-region, mobile, lossy, or a spec like rtt=40ms+rate=10mbit+loss=1%
                                  (fields rtt, jitter, rate or up/down, loss; docs/network.md)
  --max-connection-age D          the bench's servers close each connection once it is D old (gRPC GOAWAY,
  --max-connection-calls N        REST connection: close), or after N calls on it; retried calls are counted
  --proxy nginx|haproxy[,direct]  put a proxy the bench starts between generator and servers (both protocols);
                                  several places run in turn, e.g. nginx,direct for the proxy tax (docs/proxies.md)
  --proxy-config FILE             run your own config for that proxy, with {{grpc_listen}}, {{grpc_servers}}, ... filled in
  --replicas N                    server processes per protocol behind the proxy (default 1)
  --balance l4|l7                 the proxy spreads TCP connections (l4) or requests (l7, default)`;

/** Known load generators per protocol; filled in by the registry so options need not import drivers. */
export type DriverCatalog = Readonly<Record<string, readonly Protocol[]>>;

export interface OptionsEnvironment {
  canPin: boolean;
  /** Drivers that can run an open loop (bench/drivers/index.ts openLoopDriverNames); given, --rate is checked here (the runner checks again). */
  openLoopDrivers?: readonly string[];
  /** The clock a relative --start-at (+30s) counts from, ms (tests fix it). */
  nowMs?: number;
}

/** Resolves the options of a bench run; --help is a usage error here (the CLI asks parseBenchCommand). */
export function resolveBenchOptions(
  argv: readonly string[],
  catalog: DriverCatalog,
  env: OptionsEnvironment = { canPin: os.cpus().length >= 2 },
): BenchOptions {
  const command = parseBenchCommand(argv, catalog, env);
  if (command.kind === 'help') throw new UsageError('--help prints the usage; it runs nothing');
  return command.options;
}

/**
 * The one place defaults are applied: after this, every option is set and
 * checked, and nothing downstream falls back to a default again.
 */
export function parseBenchCommand(
  argv: readonly string[],
  catalog: DriverCatalog,
  env: OptionsEnvironment = { canPin: os.cpus().length >= 2 },
): BenchCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        profile: { type: 'string' },
        protocols: { type: 'string' },
        protocol: { type: 'string' },
        ops: { type: 'string' },
        api: { type: 'string' },
        transport: { type: 'string' },
        streams: { type: 'string' },
        messages: { type: 'string' },
        sizes: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        trials: { type: 'string' },
        shape: { type: 'string' },
        sweep: { type: 'string' },
        compression: { type: 'string' },
        'wire-calls': { type: 'string' },
        driver: { type: 'string' },
        rate: { type: 'string' },
        'grpc-target': { type: 'string' },
        'rest-target': { type: 'string' },
        'grpc-pid': { type: 'string' },
        'rest-pid': { type: 'string' },
        'grpc-port': { type: 'string' },
        'rest-port': { type: 'string' },
        out: { type: 'string' },
        timeout: { type: 'string' },
        pin: { type: 'boolean' },
        'no-pin': { type: 'boolean' },
        'no-streams': { type: 'boolean' },
        progress: { type: 'string' },
        contenders: { type: 'string' },
        tls: { type: 'boolean' },
        'connection-calls': { type: 'string' },
        'stall-timeout': { type: 'string' },
        slo: { type: 'string' },
        'slo-repeats': { type: 'string' },
        'slo-step': { type: 'string' },
        segment: { type: 'string' },
        'start-at': { type: 'string' },
        network: { type: 'string' },
        'max-connection-age': { type: 'string' },
        'max-connection-calls': { type: 'string' },
        proxy: { type: 'string' },
        'proxy-config': { type: 'string' },
        replicas: { type: 'string' },
        balance: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // parseArgs' messages are long; keep the first sentence and point at --help.
    throw parseArgsUsageError(error, ' (see --help)');
  }
  if (values.help) return { kind: 'help', usage: USAGE };

  const profileName = oneOf('--profile', values.profile ?? DEFAULT_PROFILE, PROFILE_NAMES);
  const profile = PROFILES[profileName];

  const protocolText = values.protocols ?? values.protocol;
  const protocols = protocolText === undefined ? [...PROTOCOLS] : listOf('--protocols', protocolText, PROTOCOLS);

  const sweep = values.sweep === undefined ? null : oneOf('--sweep', values.sweep, SWEEP_NAMES);
  if (sweep === 'payload' && values.ops !== undefined) {
    throw new UsageError('--sweep payload runs sum only; drop --ops (or drop --sweep and choose --ops, --sizes, --shape)');
  }
  const networkSweep = sweep === 'network';
  if (networkSweep) {
    const clash = ['ops', 'sizes', 'concurrency', 'shape'].filter((flag) => values[flag as 'ops'] !== undefined);
    if (clash.length > 0) throw new UsageError(`--sweep network runs its own scenario set; drop ${clash.map((f) => `--${f}`).join(', ')} (or drop --sweep and use --network)`);
  }
  const sweepSizes = profileName === 'full' ? [...PAYLOAD_SWEEP.sizes, ...PAYLOAD_SWEEP.fullExtraSizes] : [...PAYLOAD_SWEEP.sizes];
  const askedOps = values.ops === undefined ? null : parseList('--ops', values.ops);
  for (const op of askedOps ?? []) {
    if (!isOperation(op) && !isStreamOperation(op)) throw new UsageError(`--ops: unknown operation "${op}"; allowed: ${[...OPERATIONS, ...STREAM_OPERATIONS].join(', ')}`);
  }
  const ops =
    networkSweep
      ? (['add', 'sum'] as Operation[])
      : sweep === 'payload'
      ? (['sum'] as Operation[])
      : askedOps === null
      ? [...profile.ops]
      : askedOps.filter(isOperation);
  const askedStreamOps = (askedOps ?? []).filter(isStreamOperation);
  const sizes =
    values.sizes === undefined
      ? networkSweep
        ? [...NETWORK_SWEEP.sizes]
        : sweep === 'payload'
        ? sweepSizes
        : [...profile.sizes]
      : intList('--sizes', values.sizes, 1, LIMITS.maxValues);
  const concurrency =
    values.concurrency === undefined
      ? networkSweep
        ? [...NETWORK_SWEEP.concurrency]
        : [...profile.concurrency]
      : intList('--concurrency', values.concurrency, 1, MAX_CONCURRENCY);
  const sumConcurrency =
    values.concurrency !== undefined
      ? concurrency
      : networkSweep
        ? [...NETWORK_SWEEP.sumConcurrency]
        : sweep === 'payload'
        ? [PAYLOAD_SWEEP.concurrency]
        : [...(profile.sumConcurrency ?? profile.concurrency)];

  const durationS = values.duration === undefined ? (networkSweep ? NETWORK_SWEEP.durationS : profile.durationS) : seconds('--duration', values.duration, 0.1);
  const warmupS = values.warmup === undefined ? (networkSweep ? NETWORK_SWEEP.warmupS : profile.warmupS) : seconds('--warmup', values.warmup, 0);
  const connections = values.connections === undefined ? null : integer('--connections', values.connections, 1, MAX_CONCURRENCY);
  const trials = values.trials === undefined ? (networkSweep ? NETWORK_SWEEP.trials : DEFAULT_TRIALS) : integer('--trials', values.trials, 1, MAX_TRIALS);
  const shapes =
    values.shape !== undefined
      ? listOf('--shape', values.shape, VALUE_SHAPE_NAMES)
      : networkSweep
        ? [DEFAULT_SHAPE]
        : sweep === 'payload'
        ? [...PAYLOAD_SWEEP.shapes]
        : [...(profile.shapes ?? [DEFAULT_SHAPE])];
  const shape = shapes.includes(DEFAULT_SHAPE) ? DEFAULT_SHAPE : shapes[0]!;
  const compression = values.compression === undefined ? (['none'] as Compression[]) : listOf('--compression', values.compression, COMPRESSIONS);
  const wireCalls = values['wire-calls'] === undefined ? DEFAULT_WIRE_CALLS : integer('--wire-calls', values['wire-calls'], 0, 1_000_000);
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Math.round(usageDuration(() => durationMs('--timeout', values.timeout!, { minMs: 1, maxMs: 600_000, bareUnit: 'ms' })));

  const rate = values.rate === undefined ? null : positiveNumber('--rate', values.rate, MAX_RATE);
  const slo = values.slo === undefined ? null : sloOption(values.slo);
  if (slo !== null && rate !== null) throw new UsageError('--slo searches for the rate itself; drop --rate');
  if (slo !== null && trials > 1) throw new UsageError('--slo runs one search per scenario and protocol; drop --trials');
  if (slo === null && (values['slo-repeats'] !== undefined || values['slo-step'] !== undefined)) throw new UsageError('--slo-repeats and --slo-step shape a --slo search; add --slo');
  const sloRepeats = values['slo-repeats'] === undefined ? DEFAULT_SLO_REPEATS : integer('--slo-repeats', values['slo-repeats'], 1, MAX_SLO_REPEATS);
  const sloStepS = values['slo-step'] === undefined ? defaultSloStepS(durationS) : seconds('--slo-step', values['slo-step'], MIN_SLO_STEP_S);
  // A search's steps are as many as it takes, so they fit neither a fixed schedule nor a share of a fixed rate.
  if (slo !== null && (values.segment !== undefined || values['start-at'] !== undefined)) {
    throw new UsageError('--slo runs its own steps on one generator; drop --segment and --start-at');
  }
  // A capacity search runs open-loop steps, so it takes the open-loop drivers and their checks.
  const openLoopFlag = slo !== null ? '--slo' : rate !== null ? '--rate' : null;
  const network = values.network === undefined ? (networkSweep ? parseNetwork(NETWORK_SWEEP.network) : [null]) : parseNetwork(values.network);
  const api = values.api === undefined ? null : values.api;
  if (api !== null) {
    if (api.trim() === '') throw new UsageError('--api must name a card file (YAML or JSON)');
    const clash = ['ops', 'sizes', 'shape', 'sweep', 'contenders', 'transport', 'streams', 'messages'].filter((flag) => values[flag as 'ops'] !== undefined);
    if (values.compression !== undefined && values.compression !== 'none') clash.push('compression');
    if (clash.length > 0) throw new UsageError(`--api benches the card's calls; drop ${clash.map((flag) => `--${flag}`).join(', ')}`);
  }
  const { drivers, notes: driverNotes } = resolveDrivers(values.driver, catalog, openLoopFlag, network.some((condition) => condition !== null), api !== null);
  if (openLoopFlag !== null && env.openLoopDrivers !== undefined) {
    for (const protocol of protocols) {
      if (!env.openLoopDrivers.includes(drivers[protocol])) throw new UsageError(openLoopRefusal(drivers[protocol], env.openLoopDrivers, openLoopFlag));
    }
  }
  const grpcTarget = values['grpc-target'] === undefined ? null : parseGrpcTarget(values['grpc-target']);
  const restTarget = values['rest-target'] === undefined ? null : parseRestTarget(values['rest-target']);
  const grpcPid = values['grpc-pid'] === undefined ? null : targetPid('--grpc-pid', values['grpc-pid'], grpcTarget !== null, '--grpc-target');
  const restPid = values['rest-pid'] === undefined ? null : targetPid('--rest-pid', values['rest-pid'], restTarget !== null, '--rest-target');
  const grpcPort = values['grpc-port'] === undefined ? 0 : integer('--grpc-port', values['grpc-port'], 0, 65_535);
  const restPort = values['rest-port'] === undefined ? 0 : integer('--rest-port', values['rest-port'], 0, 65_535);
  const tls = values.tls === true;
  const tlsPasses = networkSweep && !tls ? [...NETWORK_SWEEP.tlsPasses] : [tls];
  if (tls && restTarget !== null && !restTarget.startsWith('https:')) {
    throw new UsageError(`--tls: --rest-target must then be an https:// origin, got "${restTarget}"`);
  }
  const connectionCalls =
    values['connection-calls'] === undefined ? DEFAULT_CONNECTION_CALLS : integer('--connection-calls', values['connection-calls'], 0, 10_000);
  const stallTimeoutS = values['stall-timeout'] === undefined ? DEFAULT_STALL_TIMEOUT_S : seconds('--stall-timeout', values['stall-timeout'], 0);

  const segment = values.segment === undefined ? null : parseSegment(values.segment);
  if (segment !== null) {
    const missing = protocols.filter((protocol) => (protocol === 'grpc' ? grpcTarget === null : restTarget === null));
    if (missing.length > 0) {
      throw new UsageError(
        `--segment: every segment must load the same running servers; give ${missing.map((p) => `--${p}-target`).join(' and ')} (or leave ${missing.join(', ')} out with --protocols)`,
      );
    }
  }
  const startAt = values['start-at'] === undefined ? null : parseStartAt(values['start-at'], env.nowMs ?? Date.now());
  // A profile's calls in flight below the segment count cannot be shared out: left out. Asked for with --concurrency, they are an error (bench/scenario/segment.ts).
  const segmentable = (list: number[]): number[] =>
    segment === null || values.concurrency !== undefined ? list : list.filter((c) => c >= segment.count);

  if (values.pin && values['no-pin']) throw new UsageError('--pin and --no-pin: choose one');
  const pin = values['no-pin'] ? false : (values.pin ?? env.canPin);
  const progress = oneOf('--progress', values.progress ?? 'auto', ['auto', 'plain', 'none'] as const);
  const outDir = values.out ?? DEFAULT_OUT_DIR;
  if (outDir.trim() === '') throw new UsageError('--out must name a folder');

  if (ops.length === 0 && askedStreamOps.length === 0) throw new UsageError('--ops: give at least one operation');
  // The default run ends with running-sum on every transport (unless --no-streams or a setting the stream scenario leaves to unary runs).
  const streamScenario =
    !values['no-streams'] &&
    api === null &&
    values.ops === undefined &&
    sweep === null &&
    protocols.length === PROTOCOLS.length &&
    grpcTarget === null &&
    restTarget === null &&
    values.contenders === undefined &&
    !tls &&
    rate === null &&
    slo === null &&
    segment === null &&
    startAt === null &&
    values.proxy === undefined &&
    network.every((condition) => condition === null);
  const streamOps: StreamOperation[] = streamScenario ? ['running-sum'] : dedupe(askedStreamOps);
  const transports = values.transport === undefined ? null : listOf('--transport', values.transport, STREAM_TRANSPORTS);
  const streams = values.streams === undefined ? profile.streams : integer('--streams', values.streams, 1, MAX_CONCURRENCY);
  const explicitMessages = values.messages === undefined ? null : integer('--messages', values.messages, 1, LIMITS.maxStreamMessages);
  // An open loop (or a capacity search's steps) is a schedule over time: its streams are held for the run's duration unless --messages says otherwise.
  // So is a stream scenario given a --duration: its streams are held open that long (bench:streams' --duration).
  const held = rate !== null || slo !== null || (values.duration !== undefined && streamOps.length > 0 && !streamScenario);
  const messagesPerStream = explicitMessages ?? (held ? null : profile.messagesPerStream);
  checkStreamRules({ streamOps, transports, messagesPerStream, rate: rate !== null, slo: slo !== null, contenders: values.contenders !== undefined, exclusive: ops.length === 0 && values.messages !== undefined && values.duration !== undefined, flags: { transport: values.transport, streams: values.streams, messages: values.messages } });
  if (network.some((condition) => condition !== null)) {
    // Servers the bench starts (its pair, the contenders) move behind the link; running targets cannot.
    const clash = [grpcTarget !== null && '--grpc-target', restTarget !== null && '--rest-target'].filter(Boolean);
    if (clash.length > 0) throw new UsageError(`--network runs the bench's own servers behind the emulated link; drop ${clash.join(', ')}`);
  }
  const contenders = values.contenders === undefined ? null : parseContenders(values.contenders);
  if (contenders !== null) {
    const clash = [
      protocolText !== undefined && '--protocols',
      grpcTarget !== null && '--grpc-target',
      restTarget !== null && '--rest-target',
      compression.includes('gzip') && '--compression gzip',
      tls && '--tls',
      segment !== null && '--segment',
    ].filter(Boolean);
    if (clash.length > 0) {
      throw new UsageError(`--contenders picks the servers and protocols itself and measures uncompressed cleartext calls; drop ${clash.join(', ')}`);
    }
  }

  const place = resolvePlace(values, { grpcTarget, restTarget, contenders: values.contenders !== undefined, tls, streamOps: askedStreamOps });

  const options: BenchOptions = {
    profile: profileName,
    protocols,
    ops: dedupe(ops),
    api,
    streamOps,
    transports,
    streams,
    messagesPerStream,
    sizes: dedupe(sizes),
    concurrency: dedupe(segmentable(concurrency)),
    sumConcurrency: dedupe(segmentable(sumConcurrency)),
    durationS,
    warmupS,
    connections,
    trials,
    outDir,
    timeoutMs,
    shape,
    shapes,
    compression,
    sweep,
    wireCalls,
    drivers,
    rate,
    driverNotes,
    grpcTarget,
    restTarget,
    grpcPid,
    restPid,
    grpcPort,
    restPort,
    tls: tlsPasses[0]!,
    tlsPasses,
    connectionCalls,
    stallTimeoutS,
    slo,
    sloRepeats,
    sloStepS,
    pin,
    progress,
    contenders,
    segment,
    startAt,
    network,
    streamScenario,
    ...place,
  };
  return { kind: 'run', options };
}

/** Proxies the bench can start in front of its servers (bench/host/proxy.ts). */
export const PROXY_KINDS = ['nginx', 'haproxy'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];
/** What a proxy spreads over the replicas: TCP connections (l4) or requests (l7: HTTP/2 streams, HTTP/1.1 requests). */
export type Balance = 'l4' | 'l7';
export const MAX_REPLICAS = 16;

/**
 * --proxy, --proxy-config, --replicas, --balance and the servers' connection limits: where the calls go
 * (bench/host/proxy.ts). They shape the bench's own servers, so they refuse targets and contenders; the
 * proxy speaks cleartext to the generator, and stream scenarios run direct.
 */
function resolvePlace(
  values: Record<string, string | boolean | undefined>,
  context: { grpcTarget: GrpcTargetOption | null; restTarget: string | null; contenders: boolean; tls: boolean; streamOps: readonly StreamOperation[] },
): Pick<BenchOptions, 'maxConnectionAgeMs' | 'maxConnectionCalls' | 'proxies' | 'proxyConfig' | 'replicas' | 'balance'> {
  const text = (flag: string): string | undefined => values[flag] as string | undefined;
  const maxConnectionAgeMs =
    text('max-connection-age') === undefined ? null : Math.ceil(usageDuration(() => durationMs('--max-connection-age', text('max-connection-age')!, { minMs: 1, maxMs: 2 ** 31 - 1 })));
  const maxConnectionCalls = text('max-connection-calls') === undefined ? null : integer('--max-connection-calls', text('max-connection-calls')!, 1, Number.MAX_SAFE_INTEGER);
  const proxies = text('proxy') === undefined ? [] : listOf('--proxy', text('proxy')!, [...PROXY_KINDS, 'direct'] as const);
  const kinds = proxies.filter((p): p is ProxyKind => p !== 'direct');
  if (text('proxy') !== undefined && kinds.length === 0) throw new UsageError(`--proxy must name a proxy (${PROXY_KINDS.join(', ')}), with or without direct`);
  const proxyConfig = text('proxy-config') ?? null;
  if (proxyConfig !== null && kinds.length !== 1) throw new UsageError(`--proxy-config is the config of one proxy: give --proxy ${PROXY_KINDS.join('|')} (with or without direct)`);
  const replicas = text('replicas') === undefined ? 1 : integer('--replicas', text('replicas')!, 1, MAX_REPLICAS);
  const askedBalance = text('balance') === undefined ? null : oneOf('--balance', text('balance')!, ['l4', 'l7'] as const);
  if (kinds.length === 0 && (text('replicas') !== undefined || askedBalance !== null || proxyConfig !== null)) {
    throw new UsageError('--replicas, --balance and --proxy-config put servers behind a proxy: add --proxy nginx or --proxy haproxy');
  }
  if (proxyConfig !== null && askedBalance !== null) throw new UsageError('--balance: with --proxy-config your config decides how the proxy balances; drop --balance');
  const shapesServers = kinds.length > 0 || maxConnectionAgeMs !== null || maxConnectionCalls !== null;
  if (shapesServers) {
    const flags = [kinds.length > 0 && '--proxy', maxConnectionAgeMs !== null && '--max-connection-age', maxConnectionCalls !== null && '--max-connection-calls'].filter(Boolean).join(', ');
    const clash = [context.grpcTarget !== null && '--grpc-target', context.restTarget !== null && '--rest-target', context.contenders && '--contenders'].filter(Boolean);
    if (clash.length > 0) throw new UsageError(`${flags} shape the servers the bench starts; drop ${clash.join(', ')}`);
  }
  if (kinds.length > 0 && context.tls) throw new UsageError('--proxy: the proxy speaks cleartext to the generator; drop --tls');
  if (kinds.length > 0 && context.streamOps.length > 0) throw new UsageError(`--proxy: stream scenarios run direct; drop ${context.streamOps.join(', ')} from --ops`);
  return { maxConnectionAgeMs, maxConnectionCalls, proxies, proxyConfig, replicas, balance: kinds.length === 0 || proxyConfig !== null ? null : (askedBalance ?? 'l7') };
}

/**
 * What stream scenarios refuse, in one line each: a pacing their method cannot
 * take (bench/drivers/streams/run.ts), capacity on anything but the bidi
 * stream, contenders (their servers serve unary calls only), and stream flags
 * without a stream operation.
 */
function checkStreamRules(input: {
  streamOps: readonly StreamOperation[];
  transports: readonly StreamTransport[] | null;
  messagesPerStream: number | null;
  rate: boolean;
  slo: boolean;
  contenders: boolean;
  /** --messages and --duration both given to a run with no unary scenario (--duration then has nothing else to time). */
  exclusive: boolean;
  flags: Record<'transport' | 'streams' | 'messages', string | undefined>;
}): void {
  const { streamOps } = input;
  if (input.exclusive) throw new UsageError('--messages and --duration are exclusive for a run of streams only: a stream carries --messages values or is held for --duration');
  if (streamOps.length === 0) {
    const given = Object.entries(input.flags).filter(([, value]) => value !== undefined).map(([flag]) => `--${flag}`);
    if (given.length > 0) throw new UsageError(`${given.join(', ')} apply to stream operations; add one to --ops (${STREAM_OPERATIONS.join(', ')})`);
    return;
  }
  if (input.contenders) throw new UsageError('--contenders serve unary calls; run stream operations without --contenders');
  if (input.slo) {
    const other = streamOps.filter((op) => op !== 'running-sum');
    if (other.length > 0) throw new UsageError(`--slo on streams searches running-sum's messages/s at a per-message latency; ${other.join(', ')} has no per-message latency to hold`);
  }
  for (const op of streamOps) {
    if (op === 'prefix-sums' && (input.rate || input.slo)) throw new UsageError('prefix-sums takes no --rate or --slo: it is one request of --messages values, answered at the server\'s pace');
    if (op === 'prefix-sums' && input.messagesPerStream === null) throw new UsageError('prefix-sums needs --messages: it is one request of that many values');
    if (op === 'sum-stream' && input.messagesPerStream === null && !input.rate && !input.slo) {
      throw new UsageError('sum-stream held for a duration needs a --rate: a client stream has no answer per value to pace a closed loop');
    }
  }
  if (input.transports !== null) {
    const served = streamOps.filter((op) => TRANSPORTS_BY_OPERATION[op].some((transport) => input.transports!.includes(transport)));
    if (served.length === 0) throw new UsageError(`--transport ${input.transports.join(',')}: none of them serves ${streamOps.join(', ')}`);
  }
}

/** The calculator's streams by kind: running-sum bidi, sum-stream client streaming, prefix-sums server streaming. */
export const STREAM_KIND: Readonly<Record<StreamOperation, StreamKind>> = { 'running-sum': 'bidi', 'sum-stream': 'client-stream', 'prefix-sums': 'server-stream' };

/** Which transports serve which stream operation: those of its kind (bench/types.ts TRANSPORTS_OF_KIND). */
export const TRANSPORTS_BY_OPERATION: Readonly<Record<StreamOperation, readonly StreamTransport[]>> = {
  'running-sum': TRANSPORTS_OF_KIND[STREAM_KIND['running-sum']],
  'sum-stream': TRANSPORTS_OF_KIND[STREAM_KIND['sum-stream']],
  'prefix-sums': TRANSPORTS_OF_KIND[STREAM_KIND['prefix-sums']],
};

function parseNetwork(text: string): Array<NetworkCondition | null> {
  try {
    return parseNetworkList(text);
  } catch (error) {
    if (error instanceof NetworkSpecError) throw new UsageError(`--network: ${error.message}`);
    throw error;
  }
}

export const MAX_SEGMENTS = 1_000;

/** "2/3": segment 2 of 3 (1-based). */
export function parseSegment(text: string): SegmentInfo {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SEGMENTS || index < 1 || index > count) {
    throw new UsageError(`--segment must be K/N with 1 <= K <= N <= ${MAX_SEGMENTS} (e.g. 2/3), got "${text}"`);
  }
  return { index, count };
}

/** Furthest ahead --start-at may be. */
const MAX_START_AHEAD_S = 7 * 24 * 3_600;

/**
 * "2026-12-01T10:00:00Z" (an ISO instant with Z or an offset: every generator
 * must read the same instant, whatever its time zone) or "+30s" / "+2m" / "+30"
 * from `nowMs`; returns the ISO instant.
 */
export function parseStartAt(text: string, nowMs: number): string {
  const relative = /^\+(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  let ms: number;
  if (relative) {
    ms = nowMs + Number(relative[1]) * (relative[2] === 'm' ? 60_000 : 1_000);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text.trim())) {
    ms = Date.parse(text.trim());
  } else {
    ms = NaN;
  }
  if (!Number.isFinite(ms)) {
    throw new UsageError(`--start-at must be an ISO instant with its zone (2026-12-01T10:00:00Z) or +S seconds from now (+30s, +2m), got "${text}"`);
  }
  if (ms - nowMs > MAX_START_AHEAD_S * 1_000) throw new UsageError(`--start-at is more than 7 days ahead: "${text}"`);
  return new Date(ms).toISOString();
}

/** `all` (the registry), names, or both ("all,my-server"); unknown names are usage errors. */
function parseContenders(text: string): string[] {
  const names = parseList('--contenders', text).flatMap((name) => (name === 'all' ? contenderNames() : [name]));
  for (const name of names) {
    try {
      getContender(name);
    } catch (error) {
      throw new UsageError(`--contenders: ${(error as Error).message}`);
    }
  }
  return dedupe(names);
}

/**
 * `openLoopFlag`: the flag that asks for an open loop (--rate, --slo), or null
 * for a closed loop; `behindLink`: some condition of --network is not loopback.
 */
function resolveDrivers(
  text: string | undefined,
  catalog: DriverCatalog,
  openLoopFlag: string | null,
  behindLink: boolean,
  apiCard = false,
): { drivers: Record<Protocol, string>; notes: string[] } {
  const defaults = openLoopFlag === null && !behindLink && !apiCard ? DEFAULT_DRIVERS : OPEN_LOOP_DEFAULT_DRIVERS;
  const drivers: Record<Protocol, string> = { ...defaults };
  const chosen = new Set<Protocol>();
  if (text !== undefined) {
    const known = [...Object.keys(catalog), ...Object.keys(DRIVER_ALIASES)];
    for (const item of parseList('--driver', text)) {
      const [left, right] = item.includes('=') ? item.split('=', 2) : [undefined, item];
      const name = right!;
      const alias = DRIVER_ALIASES[name];
      if (alias && left === undefined) {
        for (const protocol of PROTOCOLS) {
          drivers[protocol] = alias[protocol];
          chosen.add(protocol);
        }
        continue;
      }
      const supports = catalog[name];
      if (!supports) throw new UsageError(`--driver: unknown driver "${name}"; allowed: ${known.join(', ')}`);
      if (left !== undefined) {
        const protocol = oneOf('--driver', left, PROTOCOLS);
        if (!supports.includes(protocol)) {
          throw new UsageError(`--driver: ${name} cannot drive ${protocol}; it drives ${supports.join(', ')}`);
        }
        drivers[protocol] = name;
        chosen.add(protocol);
      } else {
        for (const protocol of supports) {
          drivers[protocol] = name;
          chosen.add(protocol);
        }
      }
    }
  }
  const notes: string[] = [];
  if (!chosen.has('rest') && drivers.rest !== DEFAULT_DRIVERS.rest) {
    if (openLoopFlag !== null) {
      notes.push(
        `open loop (${openLoopFlag}): REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, which times each call from its actual send and so hides stalls (coordinated omission)`,
      );
    } else if (apiCard) {
      notes.push(`--api: REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, which sends one request body per run (a card's requests go round robin)`);
    } else if (behindLink) {
      notes.push(
        `--network: REST driven by ${drivers.rest}, not ${DEFAULT_DRIVERS.rest}, whose clock starts before its connections are up (behind a link that is one RTT of every run, two with TLS); both engines connect first`,
      );
    }
  }
  return { drivers, notes };
}

/** The one line refusing an open loop (--rate, --slo) with a driver that has none. */
export function openLoopRefusal(driver: string, openLoopDrivers: readonly string[], flag = '--rate'): string {
  const why =
    driver === 'h2load'
      ? 'its --rate paces connections, not calls, and --rps times each call from its actual send: coordinated omission'
      : driver === 'autocannon'
        ? 'it times each call from its actual send: coordinated omission'
        : 'it has no open loop';
  return `${flag}: driver ${driver} cannot run an open loop (${why}); use ${openLoopDrivers.join(', ')}, or drop ${flag}`;
}

export function parseGrpcTarget(text: string): GrpcTargetOption {
  const match = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d+)$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 1 && port <= 65_535)) {
    throw new UsageError(`--grpc-target must be host:port (e.g. 127.0.0.1:50051), got "${text}"`);
  }
  return { host: (match[1] ?? match[2])!, port };
}

export function parseRestTarget(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--rest-target must be a URL like http://127.0.0.1:3000, got "${text}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new UsageError(`--rest-target must be an http:// origin without a path, like http://127.0.0.1:3000, got "${text}"`);
  }
  return url.origin;
}

/** Linux pids go up to 2^22 (pid_max); the bench reads the servers it starts itself. */
function targetPid(flag: string, text: string, hasTarget: boolean, targetFlag: string): number {
  if (!hasTarget) throw new UsageError(`${flag} names the process of ${targetFlag}; give ${targetFlag} too (the servers the bench starts are measured anyway)`);
  return integer(flag, text, 1, 4_194_304);
}

function sloOption(text: string): Slo {
  try {
    return parseSlo(text);
  } catch (error) {
    if (error instanceof SloSyntaxError) throw new UsageError(error.message);
    throw error;
  }
}

function parseList(flag: string, text: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.length === 0 || items.some((item) => item === '')) {
    throw new UsageError(`${flag} must be a comma-separated list without empty items, got "${text}"`);
  }
  return items;
}

function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  return dedupe(parseList(flag, text).map((item) => oneOf(flag, item, allowed)));
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${flag}: unknown value "${text}"; allowed: ${allowed.join(', ')}`);
  }
  return text as T;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function intList(flag: string, text: string, min: number, max: number): number[] {
  return parseList(flag, text).map((item) => {
    const value = Number(item);
    if (!/^\d+$/.test(item) || value < min || value > max) {
      throw new UsageError(`${flag} must be a comma-separated list of whole numbers from ${min} to ${max}, got "${text}"`);
    }
    return value;
  });
}

function positiveNumber(flag: string, text: string, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`${flag} must be a number of calls per second above 0 and at most ${max}, got "${text}"`);
  }
  return value;
}

/** A duration flag kept in seconds (bench/options/duration.ts: 3, 3s, 500ms, 1m30s), at most an hour. */
function seconds(flag: string, text: string, min: number): number {
  return usageDuration(() => durationSeconds(flag, text, { minS: min, maxS: 3_600 }));
}

function usageDuration(read: () => number): number {
  try {
    return read();
  } catch (error) {
    if (error instanceof DurationError) throw new UsageError(error.message);
    throw error;
  }
}

function dedupe<T>(items: T[]): T[] {
  return [...new Set(items)];
}
