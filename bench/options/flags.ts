/**
 * The bench's flags: the usage text, and each flag's declaration, its name,
 * its kind and the reader of its value (values.ts). readFlags() returns
 * what the user typed, each flag as a checked, typed value or undefined when
 * not given; defaults come after (resolve.ts), the rules between flags after
 * that (rules.ts).
 */
import { parseArgs } from 'node:util';
import { isOperation, isStreamOperation, LIMITS, OPERATIONS, STREAM_OPERATIONS, type Operation, type StreamOperation } from '../../servers/calculator.ts';
import { parseArgsUsageError, UsageError } from '../../shared/usage-error.ts';
import { COMPRESSIONS, DEFAULT_GRPC_CONNECTIONS } from '../types.ts';
import { PROTOCOLS, STREAM_TRANSPORTS } from '../types.ts';
import { durationMs } from '../../shared/duration.ts';
import {
  DEFAULT_CONNECTION_CALLS, DEFAULT_OUT_DIR, DEFAULT_PROFILE, DEFAULT_SHAPE, DEFAULT_STALL_TIMEOUT_S, DEFAULT_TIMEOUT_MS, MAX_CONCURRENCY, MAX_RATE,
  MAX_REPLICAS, MAX_TRIALS, PROFILE_NAMES, PROGRESS_MODES, PROXY_KINDS, SWEEP_NAMES, VALUE_SHAPE_NAMES,
} from './profiles.ts';
import { DEFAULT_SLO_REPEATS, MAX_SLO_REPEATS, MIN_SLO_STEP_S, parseSlo } from './slo.ts';
import {
  integer, intList, listOf, MAX_PID, oneOf, parseContenders, parseGrpcTarget, parseList, parseNetwork, parseRestTarget, parseSegment, parseStartAt,
  positiveNumber, seconds,
} from './values.ts';

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

/** What a flag's reader may need besides its text: the clock of a relative --start-at. */
export interface FlagContext {
  nowMs: number;
}

interface StringFlag<T> {
  type: 'string';
  read: (text: string, context: FlagContext) => T;
}
interface BooleanFlag {
  type: 'boolean';
  short?: string;
}

const text = <T>(read: (text: string, context: FlagContext) => T): StringFlag<T> => ({ type: 'string', read });
const yes: BooleanFlag = { type: 'boolean' };

/**
 * Every flag of `npm run bench` (and of bench:streams, bench:k8s's bench
 * flags), in the order their values are read: a bad value is refused by the
 * first of them, naming its flag.
 */
export const FLAGS = {
  help: { type: 'boolean', short: 'h' } as BooleanFlag,
  profile: text((t) => oneOf('--profile', t, PROFILE_NAMES)),
  protocols: text((t) => listOf('--protocols', t, PROTOCOLS)),
  /** The singular, as people type it: the same list. */
  protocol: text((t) => listOf('--protocols', t, PROTOCOLS)),
  sweep: text((t) => oneOf('--sweep', t, SWEEP_NAMES)),
  ops: text(readOps),
  sizes: text((t) => intList('--sizes', t, 1, LIMITS.maxValues)),
  concurrency: text((t) => intList('--concurrency', t, 1, MAX_CONCURRENCY)),
  duration: text((t) => seconds('--duration', t, 0.1)),
  warmup: text((t) => seconds('--warmup', t, 0)),
  connections: text((t) => integer('--connections', t, 1, MAX_CONCURRENCY)),
  trials: text((t) => integer('--trials', t, 1, MAX_TRIALS)),
  shape: text((t) => listOf('--shape', t, VALUE_SHAPE_NAMES)),
  compression: text((t) => listOf('--compression', t, COMPRESSIONS)),
  'wire-calls': text((t) => integer('--wire-calls', t, 0, 1_000_000)),
  timeout: text((t) => Math.round(durationMs('--timeout', t, { minMs: 1, maxMs: 600_000, bareUnit: 'ms' }))),
  rate: text((t) => positiveNumber('--rate', t, MAX_RATE)),
  slo: text((t) => parseSlo(t)),
  'slo-repeats': text((t) => integer('--slo-repeats', t, 1, MAX_SLO_REPEATS)),
  'slo-step': text((t) => seconds('--slo-step', t, MIN_SLO_STEP_S)),
  network: text(parseNetwork),
  api: text(nonEmpty('--api must name a card file (YAML or JSON)')),
  /** Checked against the drivers' registry when the drivers are chosen (driver-choice.ts). */
  driver: text((t) => t),
  'grpc-target': text(parseGrpcTarget),
  'rest-target': text(parseRestTarget),
  'grpc-pid': text((t) => integer('--grpc-pid', t, 1, MAX_PID)),
  'rest-pid': text((t) => integer('--rest-pid', t, 1, MAX_PID)),
  'grpc-port': text((t) => integer('--grpc-port', t, 0, 65_535)),
  'rest-port': text((t) => integer('--rest-port', t, 0, 65_535)),
  tls: yes,
  'connection-calls': text((t) => integer('--connection-calls', t, 0, 10_000)),
  'stall-timeout': text((t) => seconds('--stall-timeout', t, 0)),
  segment: text(parseSegment),
  'start-at': text((t, context) => parseStartAt(t, context.nowMs)),
  pin: yes,
  'no-pin': yes,
  progress: text((t) => oneOf('--progress', t, PROGRESS_MODES)),
  out: text(nonEmpty('--out must name a folder')),
  'no-streams': yes,
  transport: text((t) => listOf('--transport', t, STREAM_TRANSPORTS)),
  streams: text((t) => integer('--streams', t, 1, MAX_CONCURRENCY)),
  messages: text((t) => integer('--messages', t, 1, LIMITS.maxStreamMessages)),
  contenders: text(parseContenders),
  'max-connection-age': text((t) => Math.ceil(durationMs('--max-connection-age', t, { minMs: 1, maxMs: 2 ** 31 - 1 }))),
  'max-connection-calls': text((t) => integer('--max-connection-calls', t, 1, Number.MAX_SAFE_INTEGER)),
  proxy: text(readProxies),
  'proxy-config': text((t) => t),
  replicas: text((t) => integer('--replicas', t, 1, MAX_REPLICAS)),
  balance: text((t) => oneOf('--balance', t, ['l4', 'l7'] as const)),
};

export type FlagName = keyof typeof FLAGS;

/** The flags as given: each one's checked value (true for a switch), undefined when absent. */
export type Flags = {
  readonly [K in FlagName]?: (typeof FLAGS)[K] extends StringFlag<infer T> ? T : true;
};

/**
 * Reads the command line: node's parser for the syntax (an unknown flag, a
 * missing value), then each given flag's reader, in FLAGS order. --help
 * stops there: its answer is the usage, whatever else was typed.
 */
export function readFlags(argv: readonly string[], context: FlagContext): Flags {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(FLAGS).map(([name, flag]) => [name, 'short' in flag && flag.short ? { type: flag.type, short: flag.short } : { type: flag.type }]),
    ) as Record<FlagName, { type: 'string' | 'boolean'; short?: string }>;
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs' messages are long; keep the first sentence and point at --help.
    throw parseArgsUsageError(error, ' (see --help)');
  }
  if (values.help) return { help: true };
  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(FLAGS) as Array<[FlagName, StringFlag<unknown> | BooleanFlag]>) {
    const value = values[name];
    if (value === undefined) continue;
    flags[name] = flag.type === 'string' ? (flag as StringFlag<unknown>).read(value as string, context) : true;
  }
  return flags as Flags;
}

/**
 * A bench flag's value read as the bench reads it, for the commands that pass
 * their own --profile and --trials on to a bench in a child process
 * (bench:ci, bench:baseline): refused at once, with the bench's words.
 */
export function readBenchFlag<K extends 'profile' | 'trials'>(name: K, text: string): ReturnType<(typeof FLAGS)[K]['read']> {
  return FLAGS[name].read(text, { nowMs: Date.now() }) as ReturnType<(typeof FLAGS)[K]['read']>;
}

/** --ops: the calculator's operations and streaming methods, in the order given. */
function readOps(text: string): Array<Operation | StreamOperation> {
  const ops = parseList('--ops', text);
  for (const op of ops) {
    if (!isOperation(op) && !isStreamOperation(op)) throw new UsageError(`--ops: unknown operation "${op}"; allowed: ${[...OPERATIONS, ...STREAM_OPERATIONS].join(', ')}`);
  }
  return ops as Array<Operation | StreamOperation>;
}

/** --proxy: the places to measure at, at least one of them a proxy. */
function readProxies(text: string): Array<(typeof PROXY_KINDS)[number] | 'direct'> {
  const places = listOf('--proxy', text, [...PROXY_KINDS, 'direct'] as const);
  if (places.every((place) => place === 'direct')) throw new UsageError(`--proxy must name a proxy (${PROXY_KINDS.join(', ')}), with or without direct`);
  return places;
}

function nonEmpty(refusal: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw new UsageError(refusal);
    return text;
  };
}
