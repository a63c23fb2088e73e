/**
 * The rules between flags, as one table: each row a condition over the
 * resolved options and the flags as given, and the one line that refuses it.
 * resolve.ts applies the first row that holds, after every flag's value was
 * read and every default applied; a rule never sets a value (the defaults
 * that follow from other flags are in resolve.ts). Rows are in the order a
 * run with several problems reports them: the scenario set first, then load,
 * targets, streams, and where the calls go.
 */
import { STREAM_OPERATIONS, type StreamOperation } from '../../servers/calculator.ts';
import type { BenchOptions, OptionsEnvironment } from './bench-options.ts';
import { openLoopRefusal } from './driver-choice.ts';
import type { FlagName, Flags } from './flags.ts';
import { MAX_RATE, TRANSPORTS_BY_OPERATION, type ProxyKind } from './profiles.ts';

/** What a rule sees. */
export interface RuleInput {
  /** The options, every default applied. */
  o: BenchOptions;
  /** The flags as given (undefined: not given). */
  given: Flags;
  /** The flag asking for an open loop (--slo, --rate), or null. */
  openLoopFlag: '--slo' | '--rate' | null;
  /** Some condition of --network is an emulated link, not loopback. */
  behindLink: boolean;
  env: OptionsEnvironment;
}

export interface Rule {
  /** The row's name (the rules' test keys its example by it). */
  id: string;
  when: (input: RuleInput) => boolean;
  /** One line naming the flags and what to drop or add. */
  error: string | ((input: RuleInput) => string);
}

const flagsGiven = (given: Flags, names: readonly FlagName[]): string[] => names.filter((name) => given[name] !== undefined).map((name) => `--${name}`);
const targets = ({ o }: RuleInput): string[] => [o.grpcTarget !== null && '--grpc-target', o.restTarget !== null && '--rest-target'].filter((flag): flag is string => flag !== false);
const proxyKinds = ({ o }: RuleInput): ProxyKind[] => o.proxies.filter((place): place is ProxyKind => place !== 'direct');
const otherStreamOps = ({ o }: RuleInput): StreamOperation[] => o.streamOps.filter((op) => op !== 'running-sum');
const notOpenLoop = ({ o, env }: RuleInput): string | undefined => o.protocols.map((protocol) => o.drivers[protocol]).find((driver) => !env.openLoopDrivers!.includes(driver));
const apiClash = ({ given }: RuleInput): string[] => [
  ...flagsGiven(given, ['ops', 'sizes', 'shape', 'sweep', 'contenders', 'transport', 'streams', 'messages']),
  ...(given.compression !== undefined && given.compression.some((c) => c !== 'none') ? ['--compression'] : []),
];
const contendersClash = (input: RuleInput): string[] => {
  const { o, given } = input;
  return [
    ...(given.protocols !== undefined || given.protocol !== undefined ? ['--protocols'] : []),
    ...targets(input),
    ...(o.compression.includes('gzip') ? ['--compression gzip'] : []),
    ...(o.segment !== null ? ['--segment'] : []),
  ];
};
const serverShapers = ({ o }: RuleInput): string[] =>
  [o.proxies.length > 0 && '--proxy', o.maxConnectionAgeMs !== null && '--max-connection-age', o.maxConnectionCalls !== null && '--max-connection-calls'].filter(
    (flag): flag is string => flag !== false,
  );
/** Servers the bench does not start from servers/serve.ts: running targets, contenders. */
const startedElsewhere = (input: RuleInput): string[] => [...targets(input), ...(input.o.contenders !== null ? ['--contenders'] : [])];
const missingTargets = ({ o }: RuleInput) => o.protocols.filter((protocol) => (protocol === 'grpc' ? o.grpcTarget === null : o.restTarget === null));
const streamFlags = ({ given }: RuleInput): string[] => flagsGiven(given, ['transport', 'streams', 'messages']);

export const RULES: readonly Rule[] = [
  // The scenario set.
  {
    id: 'sweep payload, --ops',
    when: ({ o, given }) => o.sweep === 'payload' && given.ops !== undefined,
    error: '--sweep payload runs sum only; drop --ops (or drop --sweep and choose --ops, --sizes, --shape)',
  },
  {
    id: 'sweep network, scenario flags',
    when: ({ o, given }) => o.sweep === 'network' && flagsGiven(given, ['ops', 'sizes', 'concurrency', 'shape']).length > 0,
    error: ({ given }) => `--sweep network runs its own scenario set; drop ${flagsGiven(given, ['ops', 'sizes', 'concurrency', 'shape']).join(', ')} (or drop --sweep and use --network)`,
  },
  // Load: a capacity search, an open loop.
  {
    // bench:streams' --rate is per stream: over all its streams it may pass the bench's bound.
    id: 'rate above the bound',
    when: ({ o }) => o.rate !== null && o.rate > MAX_RATE,
    error: ({ o }) => `--rate: ${o.rate} messages/s over ${o.streams} streams is above ${MAX_RATE}; lower --rate or --streams`,
  },
  { id: 'slo, rate', when: ({ o }) => o.slo !== null && o.rate !== null, error: '--slo searches for the rate itself; drop --rate' },
  { id: 'slo, trials', when: ({ o }) => o.slo !== null && o.trials > 1, error: '--slo runs one search per scenario and protocol; drop --trials' },
  {
    id: 'slo-repeats or slo-step without slo',
    when: ({ o, given }) => o.slo === null && (given['slo-repeats'] !== undefined || given['slo-step'] !== undefined),
    error: '--slo-repeats and --slo-step shape a --slo search; add --slo',
  },
  {
    // A search's steps are as many as it takes, so they fit neither a fixed schedule nor a share of a fixed rate.
    id: 'slo, segment or start-at',
    when: ({ o }) => o.slo !== null && (o.segment !== null || o.startAt !== null),
    error: '--slo runs its own steps on one generator; drop --segment and --start-at',
  },
  { id: 'api, scenario flags', when: (input) => input.o.api !== null && apiClash(input).length > 0, error: (input) => `--api benches the card's calls; drop ${apiClash(input).join(', ')}` },
  {
    // Checked here when the registry's open-loop drivers are known (the runner checks again).
    id: 'open loop, driver without one',
    when: (input) => input.openLoopFlag !== null && input.env.openLoopDrivers !== undefined && notOpenLoop(input) !== undefined,
    error: (input) => openLoopRefusal(notOpenLoop(input)!, input.env.openLoopDrivers!, input.openLoopFlag!),
  },
  // Targets: running servers the bench does not start.
  {
    id: 'grpc-pid without grpc-target',
    when: ({ o }) => o.grpcPid !== null && o.grpcTarget === null,
    error: '--grpc-pid names the process of --grpc-target; give --grpc-target too (the servers the bench starts are measured anyway)',
  },
  {
    id: 'rest-pid without rest-target',
    when: ({ o }) => o.restPid !== null && o.restTarget === null,
    error: '--rest-pid names the process of --rest-target; give --rest-target too (the servers the bench starts are measured anyway)',
  },
  {
    id: 'tls, http rest-target',
    when: ({ o, given }) => given.tls === true && o.restTarget !== null && !o.restTarget.startsWith('https:'),
    error: ({ o }) => `--tls: --rest-target must then be an https:// origin, got "${o.restTarget}"`,
  },
  {
    id: 'segment without targets',
    when: (input) => input.o.segment !== null && missingTargets(input).length > 0,
    error: (input) =>
      `--segment: every segment must load the same running servers; give ${missingTargets(input).map((p) => `--${p}-target`).join(' and ')} (or leave ${missingTargets(input).join(', ')} out with --protocols)`,
  },
  { id: 'pin, no-pin', when: ({ given }) => given.pin === true && given['no-pin'] === true, error: '--pin and --no-pin: choose one' },
  // Streams: a pacing their method cannot take (bench/drivers/streams/run.ts), capacity on the bidi stream only, no contenders.
  {
    id: 'messages and duration, streams only',
    when: ({ o, given }) => o.ops.length === 0 && given.messages !== undefined && given.duration !== undefined,
    error: '--messages and --duration are exclusive for a run of streams only: a stream carries --messages values or is held for --duration',
  },
  {
    id: 'stream flags without a stream operation',
    when: (input) => input.o.streamOps.length === 0 && streamFlags(input).length > 0,
    error: (input) => `${streamFlags(input).join(', ')} apply to stream operations; add one to --ops (${STREAM_OPERATIONS.join(', ')})`,
  },
  {
    id: 'streams, contenders',
    when: ({ o }) => o.streamOps.length > 0 && o.contenders !== null,
    error: '--contenders serve unary calls; run stream operations without --contenders',
  },
  {
    id: 'slo on a stream other than running-sum',
    when: (input) => input.o.slo !== null && otherStreamOps(input).length > 0,
    error: (input) => `--slo on streams searches running-sum's messages/s at a per-message latency; ${otherStreamOps(input).join(', ')} has no per-message latency to hold`,
  },
  {
    id: 'prefix-sums, rate or slo',
    when: ({ o }) => o.streamOps.includes('prefix-sums') && (o.rate !== null || o.slo !== null),
    error: "prefix-sums takes no --rate or --slo: it is one request of --messages values, answered at the server's pace",
  },
  {
    id: 'prefix-sums without messages',
    when: ({ o }) => o.streamOps.includes('prefix-sums') && o.messagesPerStream === null,
    error: 'prefix-sums needs --messages: it is one request of that many values',
  },
  {
    id: 'sum-stream held without rate',
    when: ({ o }) => o.streamOps.includes('sum-stream') && o.messagesPerStream === null && o.rate === null && o.slo === null,
    error: 'sum-stream held for a duration needs a --rate: a client stream has no answer per value to pace a closed loop',
  },
  {
    id: 'transport serving none of the stream operations',
    when: ({ o }) => o.streamOps.length > 0 && o.transports !== null && !o.streamOps.some((op) => TRANSPORTS_BY_OPERATION[op].some((t) => o.transports!.includes(t))),
    error: ({ o }) => `--transport ${o.transports!.join(',')}: none of them serves ${o.streamOps.join(', ')}`,
  },
  // Where the calls go: servers the bench starts (its pair, the contenders) move behind the link; running targets cannot.
  {
    id: 'network, targets',
    when: (input) => input.behindLink && targets(input).length > 0,
    error: (input) => `--network runs the bench's own servers behind the emulated link; drop ${targets(input).join(', ')}`,
  },
  {
    id: 'contenders, what they choose',
    when: (input) => input.o.contenders !== null && contendersClash(input).length > 0,
    error: (input) => `--contenders picks the servers and protocols itself and measures uncompressed calls; drop ${contendersClash(input).join(', ')}`,
  },
  {
    id: 'proxy-config without one proxy',
    when: (input) => input.o.proxyConfig !== null && proxyKinds(input).length !== 1,
    error: '--proxy-config is the config of one proxy: give --proxy nginx|haproxy (with or without direct)',
  },
  {
    id: 'replicas or balance without proxy',
    when: (input) => proxyKinds(input).length === 0 && (input.given.replicas !== undefined || input.given.balance !== undefined || input.o.proxyConfig !== null),
    error: '--replicas, --balance and --proxy-config put servers behind a proxy: add --proxy nginx or --proxy haproxy',
  },
  {
    id: 'balance with proxy-config',
    when: ({ o, given }) => o.proxyConfig !== null && given.balance !== undefined,
    error: '--balance: with --proxy-config your config decides how the proxy balances; drop --balance',
  },
  {
    id: 'server shapes, targets or contenders',
    when: (input) => serverShapers(input).length > 0 && startedElsewhere(input).length > 0,
    error: (input) => `${serverShapers(input).join(', ')} shape the servers the bench starts; drop ${startedElsewhere(input).join(', ')}`,
  },
];

/** The first rule the options break, or null. */
export function brokenRule(input: RuleInput, rules: readonly Rule[] = RULES): { rule: Rule; message: string } | null {
  const rule = rules.find((row) => row.when(input));
  if (rule === undefined) return null;
  return { rule, message: typeof rule.error === 'string' ? rule.error : rule.error(input) };
}
