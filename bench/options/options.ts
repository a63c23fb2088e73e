/**
 * `npm run bench` options: the one place where command-line input is checked.
 * Everything past resolveBenchOptions() works with typed, validated values;
 * a bad flag becomes a UsageError naming the flag and what it accepts
 * (the CLI prints its message on one line and exits 2, before any load).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { isOperation, isStreamOperation, LIMITS, OPERATIONS, STREAM_OPERATIONS, type Operation, type StreamOperation } from '../../servers/calculator.ts';
import { PROTOCOLS, STREAM_TRANSPORTS, type StreamTransport } from '../types.ts';
import { COMPRESSIONS, type Compression } from '../scenario/compression.ts';
import { durationMs } from './duration.ts';
import { DEFAULT_SLO_REPEATS, defaultSloStepS, MAX_SLO_REPEATS, MIN_SLO_STEP_S } from './slo.ts';
import { parseArgsUsageError, UsageError } from '../../shared/usage-error.ts';
import type { BenchCommand, BenchOptions, DriverCatalog, GrpcTargetOption, OptionsEnvironment } from './bench-options.ts';
import { USAGE } from './flags.ts';
import {
  DEFAULT_CONNECTION_CALLS, DEFAULT_OUT_DIR, DEFAULT_PROFILE, DEFAULT_SHAPE, DEFAULT_STALL_TIMEOUT_S, DEFAULT_TIMEOUT_MS, DEFAULT_TRIALS,
  DEFAULT_WIRE_CALLS, MAX_CONCURRENCY, MAX_RATE, MAX_REPLICAS, MAX_TRIALS, NETWORK_SWEEP, PAYLOAD_SWEEP, PROFILE_NAMES, PROFILES, PROXY_KINDS,
  SWEEP_NAMES, TRANSPORTS_BY_OPERATION, VALUE_SHAPE_NAMES, type ProxyKind,
} from './profiles.ts';
import {
  dedupe, integer, intList, listOf, oneOf, parseContenders, parseGrpcTarget, parseList, parseNetwork, parseRestTarget, parseSegment, parseStartAt,
  positiveNumber, seconds, sloOption, targetPid, usageDuration,
} from './values.ts';
import { openLoopRefusal, resolveDrivers } from './driver-choice.ts';

export { UsageError };
export * from './bench-options.ts';
export * from './profiles.ts';
export { USAGE } from './flags.ts';
export { parseGrpcTarget, parseRestTarget, parseSegment, parseStartAt } from './values.ts';
export { openLoopRefusal } from './driver-choice.ts';

/**
 * The bench's old name for the one usage error (shared/usage-error.ts), kept
 * while bench/run/ and the tests outside test/options/ still import it.
 * @deprecated import UsageError.
 */
export { UsageError as BenchUsageError };

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
