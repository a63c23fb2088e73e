/**
 * `npm run bench:streams`: the streaming methods on gRPC and on each of REST's
 * ways to stream, side by side in one run, measured per message.
 *
 *   npm run bench:streams -- --ops running-sum,sum-stream,prefix-sums --streams 16 --messages 2000
 *   npm run bench:streams -- --ops running-sum --transport grpc,websocket
 *
 * The servers run as child processes pinned to one CPU, this generator on the
 * other (taskset, when there are 2+ CPUs). For each operation and transport: a
 * short pass through the counting proxy gives bytes per message on the wire
 * (everything each way, connection set-up included, / messages), then the
 * measured run gives messages/s, per-message HDR percentiles, the cost of a new
 * stream and CPU per 1,000 messages of server and generator. A row whose
 * generator spent more CPU per message than the server is flagged client-bound:
 * it may measure the generator. Records go to results/streams-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isStreamOperation, STREAM_OPERATIONS, type StreamOperation } from '../../servers/calculator.ts';
import { runStreamLoad, type StreamLoadResult } from '../drivers/streams/run.ts';
import { STREAM_TRANSPORTS, TRANSPORTS_OF, type StreamTarget, type StreamTransport } from '../drivers/streams/types.ts';
import { applyPinning, serverPinPrefix } from '../host/pinning.ts';
import { startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { summarizeLatency } from '../results/latency.ts';
import { startCountingProxy } from '../wire/proxy.ts';

export const STREAM_RECORD_SCHEMA_VERSION = 1;

export interface StreamBenchOptions {
  ops: StreamOperation[];
  /** null: every transport that serves the operation. */
  transports: StreamTransport[] | null;
  streams: number;
  messages: number;
  connections: number;
  /** Streams and messages per stream of the counting-proxy pass. */
  wireStreams: number;
  wireMessages: number;
  outDir: string;
}

const USAGE = `usage: bench:streams [--ops ${STREAM_OPERATIONS.join(',')}] [--transport ${STREAM_TRANSPORTS.join(',')}] [--streams 16] [--messages 2000] [--connections 1] [--out results]`;

export function parseStreamBenchArgs(argv: string[]): StreamBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ops: { type: 'string', default: STREAM_OPERATIONS.join(',') },
      transport: { type: 'string' },
      streams: { type: 'string', default: '16' },
      messages: { type: 'string', default: '2000' },
      connections: { type: 'string', default: '1' },
      out: { type: 'string', default: 'results' },
    },
    strict: true,
  });
  const ops = values.ops.split(',').map((op) => op.trim());
  for (const op of ops) if (!isStreamOperation(op)) throw new Error(`--ops: "${op}" is not a stream operation (${STREAM_OPERATIONS.join(', ')})`);
  const transports = values.transport === undefined ? null : values.transport.split(',').map((name) => name.trim());
  for (const name of transports ?? []) {
    if (!(STREAM_TRANSPORTS as readonly string[]).includes(name)) throw new Error(`--transport: "${name}" is not one of ${STREAM_TRANSPORTS.join(', ')}`);
  }
  const count = (text: string, flag: string, max: number): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1 || value > max) throw new Error(`${flag} must be an integer from 1 to ${max}, got "${text}"`);
    return value;
  };
  const messages = count(values.messages, '--messages', 100_000);
  return {
    ops: ops as StreamOperation[],
    transports: transports as StreamTransport[] | null,
    streams: count(values.streams, '--streams', 10_000),
    messages,
    connections: count(values.connections, '--connections', 1_000),
    wireStreams: 2,
    wireMessages: Math.min(messages, 200),
    outDir: values.out,
  };
}

export interface StreamRecord {
  schemaVersion: number;
  operation: StreamOperation;
  transport: StreamTransport;
  streams: number;
  messagesPerStream: number;
  messages: number;
  errors: number;
  firstError: string | null;
  messagesPerSecond: number;
  /** Per message, ms: bidi round trip; sum-stream last value -> total; prefix-sums inter-arrival. */
  latencyMs: ReturnType<typeof summarizeLatency>;
  /** New stream -> its first answer, ms; null for sum-stream. */
  openMs: ReturnType<typeof summarizeLatency>;
  /** Bytes on the wire per message, each way, from the counting proxy's pass; null if it carried none. */
  requestBytesPerMessage: number | null;
  responseBytesPerMessage: number | null;
  serverCpuMsPer1000: number | null;
  clientCpuMsPer1000: number | null;
  /** The generator spent more CPU per message than the server: the row may measure the generator. */
  clientBound: boolean;
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
  return {
    schemaVersion: STREAM_RECORD_SCHEMA_VERSION,
    operation: result.operation,
    transport: result.transport,
    streams: result.streams,
    messagesPerStream: result.messagesPerStream,
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
    clientBound: clientMs !== null && result.serverCpuMsPer1000 !== null && clientMs > result.serverCpuMsPer1000,
  };
}

export function renderStreamTable(records: StreamRecord[]): string {
  const fixed = (value: number | null | undefined, digits: number): string => (value === null || value === undefined ? '-' : value.toFixed(digits));
  const header = ['operation', 'transport', 'msgs/s', 'p50 ms', 'p99 ms', 'open p50 ms', 'req B/msg', 'resp B/msg', 'server CPU ms/1k', 'client CPU ms/1k', 'errors', ''];
  const rows = records.map((r) => [
    r.operation,
    r.transport,
    String(r.messagesPerSecond),
    fixed(r.latencyMs?.p50, 3),
    fixed(r.latencyMs?.p99, 3),
    fixed(r.openMs?.p50, 3),
    fixed(r.requestBytesPerMessage, 1),
    fixed(r.responseBytesPerMessage, 1),
    fixed(r.serverCpuMsPer1000, 1),
    fixed(r.clientCpuMsPer1000, 1),
    String(r.errors),
    r.clientBound ? 'client-bound' : '',
  ]);
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export async function runStreamBench(options: StreamBenchOptions, log: (line: string) => void): Promise<StreamRecord[]> {
  const { pinning, note } = applyPinning(true);
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
        log(`${operation} over ${transport}: ${options.streams} streams x ${options.messages} messages`);
        const wire = await wireBytes(operation, transport, target, options);
        const result = await runStreamLoad({
          operation,
          transport,
          target,
          streams: options.streams,
          messages: options.messages,
          connections: options.connections,
          serverPid: server.pid,
        });
        records.push(recordOf(result, wire));
      }
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
  return records;
}

/** `--profile quick` of `npm run bench` for streams: a short pass of every method on every transport. */
const QUICK_STREAM_ARGS = ['--streams', '8', '--messages', '1000'];
/** Flags of `npm run bench` that carry over to streams as they are. */
const SHARED_FLAGS = new Set(['--ops', '--transport', '--streams', '--messages', '--connections', '--out']);

/**
 * `npm run bench -- --ops running-sum,...`: when every --ops entry is a stream
 * operation, the bench's arguments as bench:streams takes them (--profile quick
 * becomes a short run); null when the run is not a stream run. Unary and stream
 * operations in one run, or a unary-only flag, are refused with one line.
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
    const value = inline ?? argv[++i];
    if (flag === '--profile') {
      if (value === 'quick') args.push(...QUICK_STREAM_ARGS);
      else if (value !== 'full') throw new Error(`--profile: "${value}" is not a profile (quick, full)`);
      continue;
    }
    if (!SHARED_FLAGS.has(flag)) throw new Error(`${flag} does not apply to stream runs (they take ${[...SHARED_FLAGS, '--profile'].join(', ')})`);
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
  const records = await runStreamBench(options, (line) => console.error(line));
  console.log(renderStreamTable(records));
  mkdirSync(options.outDir, { recursive: true });
  const file = path.join(options.outDir, `streams-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ schemaVersion: STREAM_RECORD_SCHEMA_VERSION, records }, null, 2)}\n`);
  console.error(`records: ${file}`);
  return records.some((record) => record.errors > 0) ? 1 : 0;
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
