/**
 * `npm run bench:streams`: the streaming methods on gRPC and on each of REST's
 * ways to stream, side by side in one run, measured per message.
 *
 *   npm run bench:streams -- --ops running-sum,sum-stream,prefix-sums --streams 16 --messages 2000
 *   npm run bench:streams -- --ops running-sum --transport grpc,websocket
 *   npm run bench:streams -- --ops running-sum,sum-stream --rate 1000 --streams 16 --duration 5s
 *
 * Closed loop by default (running-sum: one value in flight per stream); with
 * --rate, open loop: each stream sends a value every 1/rate s and latency runs
 * from each value's due time. --duration holds the streams open for that long
 * instead of --messages values each.
 *
 * The servers run as child processes pinned to one CPU, this generator on the
 * other (taskset, when there are 2+ CPUs). For each operation and transport: a
 * short pass through the counting proxy gives bytes per message on the wire
 * (everything each way, connection set-up included, / messages), then the
 * measured run gives messages/s, per-message HDR percentiles, the cost of a new
 * stream and CPU per 1,000 messages of server and generator. A row is flagged
 * client-bound by the unary rule: the generator used 90% of a core or more
 * while the server used less than 80% of its own, so the generator, not the
 * server, set the pace. (Both near a full core is the server's limit: one
 * read and one write per message cost each end about the same.) Records go to results/streams-<time>.json.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isClientBound } from '../results/client-bound.ts';
import { isStreamOperation, LIMITS, STREAM_OPERATIONS, type StreamOperation } from '../../servers/calculator.ts';
import { pacingRefusal, runStreamLoad, type StreamLength, type StreamLoadResult } from '../drivers/streams/run.ts';
import { STREAM_TRANSPORTS, TRANSPORTS_OF, type StreamTarget, type StreamTransport } from '../drivers/streams/types.ts';
import { applyPinning, serverPinPrefix } from '../host/pinning.ts';
import { durationMs, formatDuration } from '../options/duration.ts';
import { DEFAULT_PROFILE, PROFILE_NAMES, PROFILES, type ProfileName } from '../options/options.ts';
import { startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { collectEnvironment } from '../results/environment.ts';
import { summarizeLatency } from '../results/latency.ts';
import { renderStreamTable } from '../report/streams.ts';
import { STREAM_RECORD_SCHEMA_VERSION, type StreamRecord, type StreamsFile } from '../results/stream-record.ts';
import { writeFileAtomic } from '../results/write.ts';
import { startCountingProxy } from '../wire/proxy.ts';

export interface StreamBenchOptions {
  ops: StreamOperation[];
  /** null: every transport that serves the operation. */
  transports: StreamTransport[] | null;
  streams: number;
  /** Values per stream, or how long each stream is held open. */
  length: StreamLength;
  /** Open loop: values per second per stream; null: closed loop. */
  rate: number | null;
  connections: number;
  /** Streams and messages per stream of the counting-proxy pass. */
  wireStreams: number;
  wireMessages: number;
  /** Servers on CPU 0, the generator on CPU 1 (when the machine has two). */
  pin: boolean;
  outDir: string;
}

/**
 * What each profile of `npm run bench` means for streams: concurrent streams,
 * values per stream (closed loop), and how long an open-loop run holds its
 * streams when neither --messages nor --duration is given (the profile's
 * unary duration, so `--profile quick --rate N` stays quick).
 */
const STREAM_PROFILES: Readonly<Record<ProfileName, { streams: number; messages: number; durationMs: number }>> = {
  quick: { streams: 8, messages: 1_000, durationMs: PROFILES.quick.durationS * 1_000 },
  standard: { streams: 16, messages: 2_000, durationMs: PROFILES.standard.durationS * 1_000 },
  full: { streams: 16, messages: 2_000, durationMs: PROFILES.full.durationS * 1_000 },
};
/** Per stream: above this, a value is due more often than every 10 µs, finer than the generator's timers can keep. */
const MAX_STREAM_RATE = 100_000;

const USAGE = `usage: bench:streams [--ops ${STREAM_OPERATIONS.join(',')}] [--transport ${STREAM_TRANSPORTS.join(',')}] [--streams 16] [--messages 2000 | --duration 5s] [--rate N per stream] [--connections 1] [--profile ${PROFILE_NAMES.join('|')}] [--no-pin] [--out results]`;

export function parseStreamBenchArgs(argv: string[]): StreamBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ops: { type: 'string' },
      transport: { type: 'string' },
      streams: { type: 'string' },
      messages: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      connections: { type: 'string', default: '1' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      out: { type: 'string', default: 'results' },
      'no-pin': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!(PROFILE_NAMES as readonly string[]).includes(values.profile)) throw new Error(`--profile: "${values.profile}" is not a profile (${PROFILE_NAMES.join(', ')})`);
  const profile = STREAM_PROFILES[values.profile as ProfileName];
  if (values.messages !== undefined && values.duration !== undefined) {
    throw new Error('--messages and --duration are exclusive: a stream carries --messages values or is held for --duration');
  }
  const count = (text: string, flag: string, max: number): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) throw new Error(`${flag} must be an integer from 1 to ${max}, got "${text}"`);
    return value;
  };
  let rate: number | null = null;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (values.rate.trim() === '' || !Number.isFinite(rate) || rate < 1 || rate > MAX_STREAM_RATE) {
      throw new Error(`--rate must be a number of messages per second per stream from 1 to ${MAX_STREAM_RATE}, got "${values.rate}"`);
    }
  }
  // An open loop is a schedule over time: without a length it lasts the profile's duration, not a count of values.
  const length: StreamLength =
    values.messages !== undefined
      ? { messages: count(values.messages, '--messages', LIMITS.maxValues) }
      : values.duration !== undefined
        ? { durationMs: durationMs('--duration', values.duration, { minMs: 100, maxMs: 3_600_000 }) }
        : rate !== null
          ? { durationMs: profile.durationMs }
          : { messages: profile.messages };
  if (rate !== null && length.durationMs !== undefined && rate * (length.durationMs / 1_000) > LIMITS.maxStreamMessages) {
    throw new Error(`--rate ${rate} for ${formatDuration(length.durationMs)} is more than the servers' ${LIMITS.maxStreamMessages} messages per stream`);
  }
  const pacing = { rate: rate !== null, duration: length.durationMs !== undefined };
  let ops: StreamOperation[];
  if (values.ops === undefined) {
    // Every operation the pacing applies to: `--rate 1000` alone runs the client-sending ones, not an error.
    ops = STREAM_OPERATIONS.filter((op) => pacingRefusal(op, pacing) === null);
  } else {
    ops = [];
    for (const op of values.ops.split(',').map((name) => name.trim())) {
      if (!isStreamOperation(op)) throw new Error(`--ops: "${op}" is not a stream operation (${STREAM_OPERATIONS.join(', ')})`);
      const refusal = pacingRefusal(op, pacing);
      if (refusal !== null) throw new Error(`--ops: ${refusal}`);
      ops.push(op);
    }
  }
  const transports = values.transport === undefined ? null : values.transport.split(',').map((name) => name.trim());
  for (const name of transports ?? []) {
    if (!(STREAM_TRANSPORTS as readonly string[]).includes(name)) throw new Error(`--transport: "${name}" is not one of ${STREAM_TRANSPORTS.join(', ')}`);
  }
  return {
    ops,
    transports: transports as StreamTransport[] | null,
    streams: values.streams === undefined ? profile.streams : count(values.streams, '--streams', 10_000),
    length,
    rate,
    connections: count(values.connections, '--connections', 1_000),
    wireStreams: 2,
    wireMessages: Math.min(length.messages ?? Infinity, 200),
    pin: !values['no-pin'],
    outDir: values.out,
  };
}

/** "16 streams x 2000 messages", "16 streams for 5s, 1000 msg/s each". */
function describeLoad(options: StreamBenchOptions): string {
  const length = options.length.messages !== undefined ? ` x ${options.length.messages} messages` : ` for ${formatDuration(options.length.durationMs)}`;
  return `${options.streams} streams${length}${options.rate === null ? '' : `, ${options.rate} msg/s each`}`;
}

function targetOf(server: ServerProcess): StreamTarget {
  if (server.target.protocol === 'grpc') return { host: server.target.host, port: server.target.port };
  const url = new URL(server.target.url);
  return { host: url.hostname, port: Number(url.port) };
}

async function wireBytes(
  operation: StreamOperation,
  transport: StreamTransport,
  upstream: StreamTarget,
  options: StreamBenchOptions,
): Promise<{ request: number | null; response: number | null }> {
  const proxy = await startCountingProxy(upstream, transport === 'grpc' ? 'http2' : 'http1');
  try {
    const result = await runStreamLoad({
      operation,
      transport,
      target: { host: proxy.host, port: proxy.port },
      streams: options.wireStreams,
      messages: options.wireMessages,
      connections: 1,
      serverPid: null,
    });
    // Lets the close frames that follow the last answer reach the counters.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const counts = proxy.counts();
    const per = (bytes: number): number | null => (result.messages > 0 ? bytes / result.messages : null);
    return { request: per(counts.request.totalBytes), response: per(counts.response.totalBytes) };
  } finally {
    await proxy.close();
  }
}

function recordOf(result: StreamLoadResult, wire: { request: number | null; response: number | null }): StreamRecord {
  const clientMs = result.clientCpuUsPer1000 === null ? null : result.clientCpuUsPer1000 / 1000;
  // ms per 1,000 messages x messages/s = ms of CPU per s; / 10 = % of a core.
  const percentOfCore = (msPer1000: number | null): number | null => (msPer1000 === null ? null : Math.round((msPer1000 * result.messagesPerSecond) / 100) / 100);
  return {
    schemaVersion: STREAM_RECORD_SCHEMA_VERSION,
    operation: result.operation,
    transport: result.transport,
    streams: result.streams,
    mode: result.rate === null ? 'closed' : 'open',
    ratePerStream: result.rate,
    messagesPerStream: result.messagesPerStream,
    durationS: result.durationMs === null ? null : result.durationMs / 1_000,
    elapsedS: result.elapsedS,
    messages: result.messages,
    errors: result.errors,
    firstError: result.firstError,
    messagesPerSecond: Math.round(result.messagesPerSecond),
    latencyMs: summarizeLatency(result.latencyUs),
    openMs: summarizeLatency(result.openUs),
    requestBytesPerMessage: wire.request,
    responseBytesPerMessage: wire.response,
    serverCpuMsPer1000: result.serverCpuMsPer1000,
    clientCpuMsPer1000: clientMs,
    clientCpuPercent: percentOfCore(clientMs),
    serverCpuPercent: percentOfCore(result.serverCpuMsPer1000),
    clientBound: clientMs !== null && isClientBound(percentOfCore(clientMs)!, percentOfCore(result.serverCpuMsPer1000)),
  };
}

/** Values per stream of the warm-up before each measured operation and transport. */
const WARMUP_MESSAGES = 1_000;

export async function runStreamBench(options: StreamBenchOptions, log: (line: string) => void): Promise<StreamsFile> {
  const started = new Date();
  const { pinning, note } = applyPinning(options.pin);
  if (note) log(note);
  const prefix = serverPinPrefix(pinning);
  const servers = await Promise.all((['grpc', 'rest'] as const).map((protocol) => startServerProcess({ protocol, prefix })));
  const [grpc, rest] = servers as [ServerProcess, ServerProcess];
  const records: StreamRecord[] = [];
  try {
    for (const operation of options.ops) {
      for (const transport of TRANSPORTS_OF[operation]) {
        if (options.transports && !options.transports.includes(transport)) continue;
        const server = transport === 'grpc' ? grpc : rest;
        const target = targetOf(server);
        log(`${operation} over ${transport}: ${describeLoad(options)}`);
        const wire = await wireBytes(operation, transport, target, options);
        // Unmeasured, closed loop: the first streams of an operation run the generator's and the server's code
        // cold, and a cold generator looks client-bound (prefix-sums over SSE: 1.6x the server's CPU per message).
        await runStreamLoad({ operation, transport, target, streams: options.streams, messages: WARMUP_MESSAGES, connections: options.connections, serverPid: null });
        const result = await runStreamLoad({
          operation,
          transport,
          target,
          streams: options.streams,
          ...options.length,
          rate: options.rate ?? undefined,
          connections: options.connections,
          serverPid: server.pid,
        });
        records.push(recordOf(result, wire));
      }
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
  return { schemaVersion: STREAM_RECORD_SCHEMA_VERSION, environment: collectEnvironment({ ...options }, pinning, started), records };
}

/** Flags of `npm run bench` that carry over to streams as they are (--profile: see STREAM_PROFILES). */
const SHARED_FLAGS = new Set(['--ops', '--transport', '--streams', '--messages', '--duration', '--rate', '--connections', '--profile', '--out', '--no-pin']);

/**
 * `npm run bench -- --ops running-sum,...`: when every --ops entry is a stream
 * operation, the bench's arguments as bench:streams takes them; null when the
 * run is not a stream run. Unary and stream operations in one run, or a
 * unary-only flag, are refused with one line.
 */
export function streamArgsOfBench(argv: string[]): string[] | null {
  const opsAt = argv.findIndex((arg) => arg === '--ops' || arg.startsWith('--ops='));
  if (opsAt < 0) return null;
  const opsText = argv[opsAt]!.includes('=') ? argv[opsAt]!.slice('--ops='.length) : (argv[opsAt + 1] ?? '');
  const ops = opsText.split(',').map((op) => op.trim());
  const streamOps = ops.filter(isStreamOperation);
  if (streamOps.length === 0) return null;
  if (streamOps.length !== ops.length) throw new Error('--ops: stream operations (running-sum, sum-stream, prefix-sums) run apart from unary ones; give one kind per run');
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!SHARED_FLAGS.has(flag)) throw new Error(`${flag} does not apply to stream runs (they take ${[...SHARED_FLAGS].join(', ')})`);
    if (flag === '--no-pin') {
      args.push(flag);
      continue;
    }
    const value = inline ?? argv[++i];
    args.push(flag, value ?? '');
  }
  return args;
}

/** bench:streams with `argv`; returns the exit code (2 bad usage, 1 a stream failed). */
export async function runStreamCli(argv: string[]): Promise<number> {
  let options: StreamBenchOptions;
  try {
    options = parseStreamBenchArgs(argv);
  } catch (error) {
    console.error(`error: ${(error as Error).message.split('\n')[0]}\n${USAGE}`);
    return 2;
  }
  const streams = await runStreamBench(options, (line) => console.error(line));
  console.log(renderStreamTable(streams.records));
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `streams-${streams.environment.date.replace(/[:.]/g, '-')}.json`);
  writeFileAtomic(file, `${JSON.stringify(streams, null, 2)}\n`);
  console.error(`records: ${file}`);
  return streams.records.some((record) => record.errors > 0) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  runStreamCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
