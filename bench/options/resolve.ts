/**
 * `npm run bench` options, resolved once: flags (flags.ts: each given flag's
 * value read and checked) -> defaults (the profile's or --sweep's scenario
 * set, profiles.ts, and those that follow from other flags, here) -> the rules
 * between flags (rules.ts, a table) -> one BenchOptions, every field set.
 * Nothing downstream falls back to a default again. A bad flag is a
 * UsageError naming it and what it accepts (the CLI prints it on one line and
 * exits 2, before any load).
 */
import os from 'node:os';
import { isOperation, isStreamOperation, STREAM_OPERATIONS, type StreamOperation } from '../../servers/calculator.ts';
import { UsageError } from '../../shared/usage-error.ts';
import { PROTOCOLS } from '../types.ts';
import type { BenchCommand, BenchCommandName, BenchOptions, DriverCatalog, OptionsEnvironment } from './bench-options.ts';
import { resolveDrivers } from './driver-choice.ts';
import { readFlags, USAGE, type Flags } from './flags.ts';
import {
  DEFAULT_CONNECTION_CALLS, DEFAULT_OUT_DIR, DEFAULT_PROFILE, DEFAULT_SHAPE, DEFAULT_STALL_TIMEOUT_S, DEFAULT_TIMEOUT_MS, DEFAULT_WIRE_CALLS,
  PROFILES, scenarioSet, type ProxyKind,
} from './profiles.ts';
import { brokenRule, RULES, type Rule } from './rules.ts';
import { DEFAULT_SLO_REPEATS, defaultSloStepS } from './slo.ts';
import { dedupe } from './values.ts';

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

/** What the command line of `command` asks for: the usage (--help), or a bench with every option resolved. */
export function parseBenchCommand(
  argv: readonly string[],
  catalog: DriverCatalog,
  env: OptionsEnvironment = { canPin: os.cpus().length >= 2 },
  command: BenchCommandName = 'bench',
): BenchCommand {
  return resolveCommand(argv, catalog, env, command);
}

/** parseBenchCommand with the rules as a parameter: the rules' test leaves one row out to see it is the one refusing. */
export function resolveCommand(
  argv: readonly string[],
  catalog: DriverCatalog,
  env: OptionsEnvironment,
  command: BenchCommandName = 'bench',
  rules: readonly Rule[] = RULES,
): BenchCommand {
  const typed = readFlags(argv, { nowMs: env.nowMs ?? Date.now() });
  if (typed.help) return { kind: 'help', usage: USAGE };
  const given = command === 'streams' ? asStreamsFlags(typed) : typed;
  const { options, openLoopFlag, behindLink } = withDefaults(given, catalog, env);
  const broken = brokenRule({ o: options, given, openLoopFlag, behindLink, env }, rules);
  if (broken !== null) throw new UsageError(broken.message);
  return { kind: 'run', options };
}

/**
 * bench:streams' flags in the bench's terms. Its --rate is per stream, as a
 * stream's pace is usually stated: the bench's is over all streams, the
 * profile's (or --streams) many. Its --ops defaults to every stream operation
 * the pacing applies to: a rate leaves out prefix-sums (one request, answered
 * at the server's pace), a held run without a rate runs running-sum.
 */
function asStreamsFlags(given: Flags): Flags {
  const ops = given.ops ?? STREAM_OPERATIONS.filter((op) => (given.rate !== undefined ? op !== 'prefix-sums' : given.duration === undefined || op === 'running-sum'));
  const streams = given.streams ?? PROFILES[given.profile ?? DEFAULT_PROFILE].streams;
  return { ...given, ops, ...(given.rate === undefined ? {} : { rate: given.rate * streams }) };
}

/**
 * Every option from the flags given and the defaults: the scenario set's for
 * the flags that shape the matrix, the fixed ones, and those that follow
 * from other flags (drivers, the default run's stream scenario, held
 * streams, the proxy's balance). Total over any flags: the rules judge after.
 */
function withDefaults(given: Flags, catalog: DriverCatalog, env: OptionsEnvironment) {
  const profile = given.profile ?? DEFAULT_PROFILE;
  const sweep = given.sweep ?? null;
  const set = scenarioSet(profile, sweep);
  const askedOps = given.ops ?? null;
  const ops = askedOps === null || sweep !== null ? [...set.ops] : askedOps.filter(isOperation);
  const askedStreamOps = dedupe((askedOps ?? []).filter(isStreamOperation));
  const protocols = given.protocols ?? given.protocol ?? [...PROTOCOLS];
  const tls = given.tls === true;
  const network = given.network ?? set.network;
  const behindLink = network.some((condition) => condition !== null);
  const rate = given.rate ?? null;
  const slo = given.slo ?? null;
  // A capacity search runs open-loop steps, so it takes the open-loop drivers and their checks.
  const openLoopFlag = slo !== null ? '--slo' : rate !== null ? '--rate' : null;
  const api = given.api ?? null;
  const { drivers, notes: driverNotes } = resolveDrivers(given.driver, catalog, openLoopFlag, behindLink, api !== null);
  const grpcTarget = given['grpc-target'] ?? null;
  const restTarget = given['rest-target'] ?? null;
  const segment = given.segment ?? null;
  const startAt = given['start-at'] ?? null;
  const concurrency = given.concurrency ?? [...set.concurrency];
  // A profile's calls in flight below the segment count cannot be shared out: left out. Asked for with --concurrency, they are an error (bench/scenario/segment.ts).
  const segmentable = (list: number[]): number[] => (segment === null || given.concurrency !== undefined ? list : list.filter((c) => c >= segment.count));
  const shapes = given.shape ?? [...set.shapes];
  const durationS = given.duration ?? set.durationS;

  // The default run ends with running-sum on every transport, unless --no-streams or a setting the stream scenario leaves to unary runs.
  const streamScenario =
    given['no-streams'] === undefined &&
    api === null &&
    askedOps === null &&
    sweep === null &&
    protocols.length === PROTOCOLS.length &&
    grpcTarget === null &&
    restTarget === null &&
    given.contenders === undefined &&
    !tls &&
    rate === null &&
    slo === null &&
    segment === null &&
    startAt === null &&
    given.proxy === undefined &&
    !behindLink;
  const streamOps: StreamOperation[] = streamScenario ? ['running-sum'] : askedStreamOps;
  // An open loop (or a capacity search's steps) is a schedule over time: its streams are held for the run's duration unless --messages says otherwise.
  // So is a stream scenario given a --duration: its streams are held open that long (bench:streams' --duration).
  const held = rate !== null || slo !== null || (given.duration !== undefined && streamOps.length > 0 && !streamScenario);
  const proxies = given.proxy ?? [];
  const proxyConfig = given['proxy-config'] ?? null;
  const behindProxy = proxies.some((place): place is ProxyKind => place !== 'direct');

  const options: BenchOptions = {
    profile,
    protocols,
    ops: dedupe(ops),
    api,
    streamOps,
    transports: given.transport ?? null,
    streams: given.streams ?? set.streams,
    messagesPerStream: given.messages ?? (held ? null : set.messagesPerStream),
    sizes: dedupe(given.sizes ?? [...set.sizes]),
    concurrency: dedupe(segmentable(concurrency)),
    sumConcurrency: dedupe(segmentable(given.concurrency ?? [...set.sumConcurrency])),
    durationS,
    warmupS: given.warmup ?? set.warmupS,
    connections: given.connections ?? null,
    trials: given.trials ?? set.trials,
    outDir: given.out ?? DEFAULT_OUT_DIR,
    timeoutMs: given.timeout ?? DEFAULT_TIMEOUT_MS,
    shape: shapes.includes(DEFAULT_SHAPE) ? DEFAULT_SHAPE : shapes[0]!,
    shapes,
    compression: given.compression ?? ['none'],
    sweep,
    wireCalls: given['wire-calls'] ?? DEFAULT_WIRE_CALLS,
    drivers,
    rate,
    driverNotes,
    grpcTarget,
    restTarget,
    grpcPid: given['grpc-pid'] ?? null,
    restPid: given['rest-pid'] ?? null,
    grpcPort: given['grpc-port'] ?? 0,
    restPort: given['rest-port'] ?? 0,
    tls: tls || set.tlsPasses[0]!,
    tlsPasses: tls ? [true] : [...set.tlsPasses],
    connectionCalls: given['connection-calls'] ?? DEFAULT_CONNECTION_CALLS,
    stallTimeoutS: given['stall-timeout'] ?? DEFAULT_STALL_TIMEOUT_S,
    slo,
    sloRepeats: given['slo-repeats'] ?? DEFAULT_SLO_REPEATS,
    sloStepS: given['slo-step'] ?? defaultSloStepS(durationS),
    pin: given['no-pin'] ? false : (given.pin ?? env.canPin),
    progress: given.progress ?? 'auto',
    contenders: given.contenders ?? null,
    segment,
    startAt,
    network,
    streamScenario,
    maxConnectionAgeMs: given['max-connection-age'] ?? null,
    maxConnectionCalls: given['max-connection-calls'] ?? null,
    proxies,
    proxyConfig,
    replicas: given.replicas ?? 1,
    balance: !behindProxy || proxyConfig !== null ? null : (given.balance ?? 'l7'),
  };
  return { options, openLoopFlag, behindLink } as const;
}
