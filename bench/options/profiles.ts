/**
 * The bench's profiles and defaults: what a run is when a flag is not given
 * (the scenario sets of quick, standard and full, of --sweep payload and
 * --sweep network), the bounds of the numeric flags, and the defaults that
 * follow from other flags (the drivers of an open loop).
 */
import type { Operation, StreamOperation } from '../../servers/calculator.ts';
import { TRANSPORTS_OF_KIND, type Protocol, type StreamKind, type StreamTransport } from '../types.ts';
import { parseNetworkList, type NetworkCondition } from './network.ts';

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

/**
 * The defaults of the flags that shape the scenario matrix: a profile's, or
 * --sweep's on top of it. A flag given overrides its field (resolve.ts).
 */
export interface ScenarioSet {
  ops: readonly Operation[];
  sizes: readonly number[];
  concurrency: readonly number[];
  sumConcurrency: readonly number[];
  shapes: readonly ShapeName[];
  durationS: number;
  warmupS: number;
  trials: number;
  network: Array<NetworkCondition | null>;
  /** TLS settings without --tls: cleartext, or cleartext then TLS for --sweep network. */
  tlsPasses: readonly boolean[];
  streams: number;
  messagesPerStream: number;
}

export function scenarioSet(name: ProfileName, sweep: SweepName | null): ScenarioSet {
  const profile = PROFILES[name];
  const set: ScenarioSet = {
    ops: profile.ops,
    sizes: profile.sizes,
    concurrency: profile.concurrency,
    sumConcurrency: profile.sumConcurrency ?? profile.concurrency,
    shapes: profile.shapes ?? [DEFAULT_SHAPE],
    durationS: profile.durationS,
    warmupS: profile.warmupS,
    trials: DEFAULT_TRIALS,
    network: [null],
    tlsPasses: [false],
    streams: profile.streams,
    messagesPerStream: profile.messagesPerStream,
  };
  if (sweep === 'payload') {
    const sizes = name === 'full' ? [...PAYLOAD_SWEEP.sizes, ...PAYLOAD_SWEEP.fullExtraSizes] : PAYLOAD_SWEEP.sizes;
    return { ...set, ops: ['sum'], sizes, sumConcurrency: [PAYLOAD_SWEEP.concurrency], shapes: PAYLOAD_SWEEP.shapes };
  }
  if (sweep === 'network') {
    const { concurrency, sumConcurrency, sizes, trials, tlsPasses, durationS, warmupS } = NETWORK_SWEEP;
    return { ...set, ops: ['add', 'sum'], sizes, concurrency, sumConcurrency, shapes: [DEFAULT_SHAPE], durationS, warmupS, trials, network: parseNetworkList(NETWORK_SWEEP.network), tlsPasses };
  }
  return set;
}

/** --progress: in place on a TTY unless CI=true, plain lines, or none. */
export const PROGRESS_MODES = ['auto', 'plain', 'none'] as const;

/** Proxies the bench can start in front of its servers (bench/host/proxy.ts). */
export const PROXY_KINDS = ['nginx', 'haproxy'] as const;
export type ProxyKind = (typeof PROXY_KINDS)[number];
/** What a proxy spreads over the replicas: TCP connections (l4) or requests (l7: HTTP/2 streams, HTTP/1.1 requests). */
export type Balance = 'l4' | 'l7';
export const MAX_REPLICAS = 16;

/** The calculator's streams by kind: running-sum bidi, sum-stream client streaming, prefix-sums server streaming. */
export const STREAM_KIND: Readonly<Record<StreamOperation, StreamKind>> = { 'running-sum': 'bidi', 'sum-stream': 'client-stream', 'prefix-sums': 'server-stream' };

/** Which transports serve which stream operation: those of its kind (bench/types.ts TRANSPORTS_OF_KIND). */
export const TRANSPORTS_BY_OPERATION: Readonly<Record<StreamOperation, readonly StreamTransport[]>> = {
  'running-sum': TRANSPORTS_OF_KIND[STREAM_KIND['running-sum']],
  'sum-stream': TRANSPORTS_OF_KIND[STREAM_KIND['sum-stream']],
  'prefix-sums': TRANSPORTS_OF_KIND[STREAM_KIND['prefix-sums']],
};

export const MAX_SEGMENTS = 1_000;
