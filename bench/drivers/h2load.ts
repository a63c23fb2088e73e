/**
 * h2load (nghttp2) as a neutral load generator for both protocols: the same
 * C program drives REST over HTTP/1.1 and gRPC over HTTP/2, so neither side is
 * measured through a Node client of its own.
 *
 * - REST: `--h1`, POST of the JSON body (`-d file`, content-type header). With
 *   `-d`, h2load allows one request in flight per HTTP/1.1 connection, so it
 *   opens one connection per call in flight: `-c concurrency -m 1`.
 * - gRPC: h2c (or h2 with TLS), the request message pre-encoded as one gRPC
 *   frame (5-byte prefix + protobuf) in the `-d` file, headers
 *   `content-type: application/grpc` and `te: trailers`;
 *   `-c connections -m ceil(concurrency / connections)`.
 * - Duration `-D <ms>ms --warm-up-time 0` (the runner warms up separately), or
 *   `-n requests`.
 * - No open loop: `-r/--rate` in h2load is CONNECTIONS per rate period, not
 *   requests, and `--rps` (requests per second per client) times each request
 *   from its actual send, after it waited for a free stream, so a stall is
 *   hidden by coordinated omission. A `rate` is rejected with that reason.
 *
 * Per-call latency and status come from h2load's `--log-file` (start µs since
 * the epoch, HTTP status or -1 for a failed stream, µs to the end of the
 * response); bytes from its summary `traffic:` line.
 *
 * LIMITATIONS, kept visible in the result (`grpcStatusChecked: false`):
 * - h2load reads only the HTTP :status. A gRPC error travels in the
 *   grpc-status TRAILER of an HTTP 200 response, so h2load counts a failed
 *   gRPC call as a success ('200'). The bench's calculator calls all succeed,
 *   so the counts are right for the bench, but h2load cannot be trusted to
 *   find gRPC errors; the gRPC engine can.
 * - Requests abandoned with their connection (timeouts, resets) are not in the
 *   log; they are added from the summary counts ('timeout' /
 *   'connection-error') without a latency.
 * - h2load has no per-call deadline. With `requests` the connection
 *   inactivity timeout `-N timeoutMs` stands in for it; in duration mode no
 *   timeout is passed (h2load 1.52 aborts on `-N` with `-D` against a hung
 *   server), so a call still unanswered when the duration ends is not counted.
 * - It counts RECEIVED bytes only (responses): `traffic:` total, headers
 *   (HPACK-compressed for HTTP/2, with its "space savings") and DATA bytes.
 *
 * The CPU h2load used is measured from its own process (cutime/cstime of the
 * `sh` that waited for it, from /proc), so client-bound detection can use the
 * generator's CPU rather than the runner's.
 */
import { usableConnections } from '../scenario/connections.ts';
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WireBytesPerCall } from '../results/record.ts';
import type { Driver, LoadOptions, LoadResult, Protocol } from '../types.ts';
import { frameGrpcMessage } from '../wire/grpc-frame.ts';
import { requestLine, restBodyOf, restCallOf } from '../wire/http-call.ts';
import { abortReason, PROGRESS_INTERVAL_MS } from './schedule.ts';
import { createLatencyHistogram } from '../results/histogram.ts';
import { childrenCpuUsFromStat } from '../host/process-stats.ts';
import { round } from '../results/round.ts';

export const H2LOAD_INSTALL_HINT = 'apt-get install nghttp2-client';
/** How long past the expected end h2load may run before it is killed. */
const OVERRUN_GRACE_MS = 10_000;

/** What h2load's `traffic:` line says. h2load counts the bytes it RECEIVED (responses) only. */
export interface H2loadTraffic {
  direction: 'received';
  /** All bytes read from the sockets. */
  totalBytes: number;
  /** Response header bytes as received (HPACK-compressed for HTTP/2; trailers included). */
  headerBytes: number;
  /** Response body bytes (HTTP/2 DATA payload: for gRPC the 5-byte prefix + message). */
  dataBytes: number;
  /** HPACK's saving on headers as h2load reports it (0 for HTTP/1.1). */
  headerSpaceSavingsPercent: number;
  /** Header bytes before compression, derived from the saving; null when the saving is 100%. */
  headerBytesUncompressed: number | null;
  /** Requests the summary says completed: the divisor for per-call figures. */
  requestsDone: number;
}

/** h2load's `requests:` line. */
export interface H2loadRequestSummary {
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
}

/**
 * LoadResult plus what only this driver knows. Proposed for bench/types.ts as
 * optional fields of LoadResult (see docs/drivers.md): `clientCpuUs`,
 * `h2loadTraffic`, `grpcStatusChecked`.
 */
export interface H2loadResult extends LoadResult {
  /** CPU time (user + system) of the h2load process, µs; null where /proc is missing. */
  clientCpuUs: number | null;
  /** Response-side bytes from h2load's summary; null when it printed none (crash, abort). */
  h2loadTraffic: H2loadTraffic | null;
  /** False for gRPC: h2load cannot see grpc-status (trailers), so gRPC errors count as '200'. */
  grpcStatusChecked: boolean;
  /** The h2load command line, for the record. */
  command: string[];
  /** Connections and streams per connection actually used. */
  effective: { connections: number; streamsPerConnection: number };
}

export interface H2loadOptions extends LoadOptions {
  /** The h2load binary; default: found on PATH. */
  h2loadPath?: string;
  /** Command prefix, e.g. ['taskset', '-c', '1'] to pin h2load to a CPU. */
  prefix?: string[];
  /** h2load worker threads (-t); default 1. */
  threads?: number;
}

/** The h2load binary on PATH, or null. */
export function findH2load(): string | null {
  return findExecutable('h2load');
}

/**
 * The closed-loop shape an external load generator is given (also used by the
 * ghz driver): whole numbers, concurrency, connections and requests at least 1.
 */
export function closedLoopShape(tool: string, options: LoadOptions): { concurrency: number; requests: number | undefined } {
  const concurrency = Math.floor(options.concurrency);
  if (!(concurrency >= 1)) throw new Error(`${tool}: concurrency must be at least 1`);
  if (!(options.connections >= 1)) throw new Error(`${tool}: connections must be at least 1`);
  const requests = options.requests !== undefined ? Math.floor(options.requests) : undefined;
  if (requests !== undefined && !(requests >= 1)) throw new Error(`${tool}: requests must be at least 1`);
  return { concurrency, requests };
}

/** An executable called `name` on PATH, or null (also used by the ghz driver). */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export class H2loadMissingError extends Error {
  constructor() {
    super(`h2load is not installed (not found on PATH); install it with: ${H2LOAD_INSTALL_HINT}`);
    this.name = 'H2loadMissingError';
  }
}

export const h2loadDriver: Driver = {
  name: 'h2load',
  protocols: ['grpc', 'rest'],
  restWires: ['http1', 'h2'],
  run: (options: LoadOptions) => runH2load(options as H2loadOptions),
};

export interface H2loadPlan {
  args: string[];
  body: Buffer;
  connections: number;
  streamsPerConnection: number;
}

/** h2load's arguments for `options` (without the log file and body paths, appended by the caller). */
export function planH2load(options: H2loadOptions, bodyPath: string, logPath: string): H2loadPlan {
  const { target, payload } = options;
  if (options.rate !== undefined) {
    throw new Error(
      'h2load cannot run an open loop: its -r/--rate is connections per period, not requests, and --rps times each ' +
        'request from its actual send (coordinated omission). Use grpc-engine or http1-engine for a `rate`.',
    );
  }
  const { concurrency, requests } = closedLoopShape('h2load', options);

  let connections: number;
  let streams: number;
  let url: string;
  let body: Buffer;
  const headers: string[] = [];
  const args: string[] = [];
  if (target.protocol === 'rest' && restCallOf(target).wire === 'h2') {
    // A contender's non-gRPC call over h2c (JSON over HTTP/2): multiplexed like gRPC, success by :status.
    const call = restCallOf(target);
    connections = usableConnections(options.connections, concurrency);
    streams = Math.ceil(concurrency / connections);
    url = new URL(requestLine(call, payload).path, target.url).toString();
    body = restBodyOf(call, payload);
    headers.push(`content-type: ${call.contentType}`);
  } else if (target.protocol === 'rest') {
    // -d limits HTTP/1.1 to one request in flight per connection: one connection per call in flight.
    const call = restCallOf(target);
    connections = concurrency;
    streams = 1;
    url = new URL(requestLine(call, payload).path, target.url).toString();
    body = call.body === 'json' ? Buffer.from(payload.json) : restBodyOf(call, payload);
    args.push('--h1');
    headers.push(`content-type: ${call.contentType}`);
  } else {
    connections = usableConnections(options.connections, concurrency);
    streams = Math.ceil(concurrency / connections);
    const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
    url = `${target.tls ? 'https' : 'http'}://${host}:${target.port}${payload.method.grpcPath}`;
    body = frameGrpcMessage(payload.protobuf);
    headers.push('content-type: application/grpc', 'te: trailers');
  }
  if (requests !== undefined) connections = Math.min(connections, requests); // h2load wants -n >= -c
  for (const [name, value] of Object.entries(options.metadata ?? {})) {
    if (/[\r\n:]/.test(name) || /[\r\n]/.test(value)) throw new Error(`h2load: invalid header ${JSON.stringify(name)}`);
    headers.push(`${name}: ${value}`);
  }
  args.push('-c', String(connections), '-m', String(streams), '-t', String(Math.max(1, Math.floor(options.threads ?? 1))));
  if (requests !== undefined) {
    args.push('-n', String(requests), '-N', `${Math.max(1, Math.ceil(options.timeoutMs))}ms`);
  } else {
    args.push('-D', `${Math.max(1, Math.round(options.durationS * 1000))}ms`, '--warm-up-time', '0');
  }
  args.push('-d', bodyPath, '--log-file', logPath);
  for (const header of headers) args.push('-H', header);
  args.push(url);
  return { args, body, connections, streamsPerConnection: streams };
}

/** Parses h2load's `requests:` summary line. */
export function parseRequestSummary(stdout: string): H2loadRequestSummary | null {
  const match =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (!match) return null;
  const [total, started, done, succeeded, failed, errored, timeout] = match.slice(1).map(Number) as number[];
  return { total: total!, started: started!, done: done!, succeeded: succeeded!, failed: failed!, errored: errored!, timeout: timeout! };
}

/**
 * Parses the `traffic:` line. h2load prints either bare byte counts
 * ("traffic: 123 bytes total, 45 bytes headers (space savings 90.00%), 67 bytes data")
 * or human units with the exact count in parentheses ("35.74KB (36600) total, ...").
 */
export function parseTraffic(stdout: string, requestsDone: number): H2loadTraffic | null {
  const line = /^traffic: (.*)$/m.exec(stdout)?.[1];
  if (line === undefined) return null;
  const count = (label: string): number | null => {
    const exact = new RegExp(`\\((\\d+)\\) ${label}`).exec(line);
    if (exact) return Number(exact[1]);
    const bare = new RegExp(`(\\d+) bytes ${label}`).exec(line);
    return bare ? Number(bare[1]) : null;
  };
  const totalBytes = count('total');
  const headerBytes = count('headers');
  const dataBytes = count('data');
  const savings = /space savings (-?[\d.]+)%/.exec(line);
  if (totalBytes === null || headerBytes === null || dataBytes === null) return null;
  const headerSpaceSavingsPercent = savings ? Number(savings[1]) : 0;
  const kept = 1 - headerSpaceSavingsPercent / 100;
  return {
    direction: 'received',
    totalBytes,
    headerBytes,
    dataBytes,
    headerSpaceSavingsPercent,
    headerBytesUncompressed: kept > 0 ? Math.round(headerBytes / kept) : null,
    requestsDone,
  };
}

/**
 * The wire fields of a RunRecord from h2load's traffic: response side only
 * (h2load does not count what it sends). "Header" bytes are everything but the
 * message body: HTTP headers, HTTP/2 frame headers, connection-level frames
 * and, for gRPC, the 5-byte message prefix.
 */
export function h2loadWireBytes(traffic: H2loadTraffic | null, protocol: Protocol): WireBytesPerCall {
  if (traffic === null || traffic.requestsDone === 0) {
    return { requestBytesPerCall: null, responseBytesPerCall: null, requestHeaderBytesPerCall: null, responseHeaderBytesPerCall: null, countedBy: null };
  }
  const calls = traffic.requestsDone;
  const messageBytes = traffic.dataBytes - (protocol === 'grpc' ? 5 * calls : 0);
  return {
    requestBytesPerCall: null,
    responseBytesPerCall: round(traffic.totalBytes / calls, 2),
    requestHeaderBytesPerCall: null,
    responseHeaderBytesPerCall: round((traffic.totalBytes - messageBytes) / calls, 2),
    countedBy: 'h2load',
  };
}

interface LogTally {
  lines: number;
  statusCounts: Record<string, number>;
  /** Logged calls that h2load itself counts as failed (status -1, or not 2xx/3xx). */
  failed: number;
  /** Logged calls that are errors for the bench (status -1, or not 2xx), as every driver counts them. */
  errors: number;
  firstStartUs: number;
  lastEndUs: number;
}

/** Reads h2load's per-request log into the histogram and a tally. Malformed lines are skipped. */
export function parseLog(text: string, histogram: LoadResult['latencyUs']): LogTally {
  const tally: LogTally = { lines: 0, statusCounts: {}, failed: 0, errors: 0, firstStartUs: Infinity, lastEndUs: -Infinity };
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const first = line.indexOf('\t');
    const second = line.indexOf('\t', first + 1);
    if (first < 0 || second < 0) continue;
    const third = line.indexOf('\t', second + 1);
    const startUs = Number(line.slice(0, first));
    const status = Number(line.slice(first + 1, second));
    const latencyUs = Number(line.slice(second + 1, third < 0 ? undefined : third));
    if (!Number.isFinite(startUs) || !Number.isInteger(status) || !Number.isFinite(latencyUs)) continue;
    tally.lines++;
    const key = status < 0 ? 'connection-error' : String(status);
    tally.statusCounts[key] = (tally.statusCounts[key] ?? 0) + 1;
    if (status < 200 || status >= 400) tally.failed++;
    if (status < 200 || status >= 300) tally.errors++;
    histogram.recordValue(latencyUs > 0 ? Math.round(latencyUs) : 1);
    if (startUs < tally.firstStartUs) tally.firstStartUs = startUs;
    if (startUs + latencyUs > tally.lastEndUs) tally.lastEndUs = startUs + latencyUs;
  }
  return tally;
}

/**
 * Runs the tool (h2load, ghz) under `sh`, which, once the tool has exited and been
 * waited for, copies its own /proc stat (whose cutime/cstime now hold the tool's
 * CPU time) to a file. `exec "$@"` would lose that; the extra shell costs nothing measurable.
 */
const WRAPPER = '"$@"; rc=$?; cat /proc/$$/stat > "$CALLBENCH_CPU_FILE" 2>/dev/null; exit $rc';

export interface MeasuredOutcome extends SpawnOutcome {
  /** CPU the tool used, µs; null without /proc, or when it was killed before the wrapper could write it. */
  clientCpuUs: number | null;
}

/**
 * Runs `binary args` (after options.prefix, e.g. taskset) under WRAPPER, its CPU
 * file in `dir`, and reads the CPU time it used (h2load and ghz alike).
 */
export async function spawnMeasured(
  label: string,
  binary: string,
  args: string[],
  dir: string,
  options: LoadOptions & { prefix?: string[] },
  logPath: string,
): Promise<MeasuredOutcome> {
  const cpuPath = path.join(dir, 'cpu.stat');
  const command = [...(options.prefix ?? []), 'sh', '-c', WRAPPER, `${label}-wrapper`, binary, ...args];
  const outcome = await spawnAndWait(command, { ...process.env, CALLBENCH_CPU_FILE: cpuPath }, options, logPath, label);
  let clientCpuUs: number | null = null;
  try {
    clientCpuUs = childrenCpuUsFromStat(readFileSync(cpuPath, 'latin1'));
  } catch {
    // no /proc, or the tool killed before the wrapper could write it
  }
  return { ...outcome, clientCpuUs };
}

async function runH2load(options: H2loadOptions): Promise<H2loadResult> {
  const binary = options.h2loadPath ?? findH2load();
  if (binary === null) throw new H2loadMissingError();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callbench-h2load-'));
  try {
    const bodyPath = path.join(dir, 'body');
    const logPath = path.join(dir, 'requests.log');
    const plan = planH2load(options, bodyPath, logPath);
    writeFileSync(bodyPath, plan.body);
    writeFileSync(logPath, ''); // h2load appends to an existing log: start from an empty one
    const outcome = await spawnMeasured('h2load', binary, plan.args, dir, options, logPath);

    const histogram = createLatencyHistogram();
    const tally = parseLog(readFileSync(logPath, 'latin1'), histogram);
    const summary = parseRequestSummary(outcome.stdout);
    const statusCounts = tally.statusCounts;
    let calls = tally.lines;
    let errors = tally.errors;
    // Started calls that ended without a logged answer: abandoned with their connection (not logged by h2load).
    if (summary) {
      const abandoned = Math.max(0, Math.min(summary.started - tally.lines, summary.failed - tally.failed));
      const timeouts = Math.min(summary.timeout, abandoned);
      if (timeouts > 0) statusCounts.timeout = (statusCounts.timeout ?? 0) + timeouts;
      if (abandoned - timeouts > 0) statusCounts['connection-error'] = (statusCounts['connection-error'] ?? 0) + abandoned - timeouts;
      calls += abandoned;
      errors += abandoned;
    }

    let failure = outcome.failure;
    if (failure === undefined && summary && summary.started === 0 && summary.errored > 0) {
      failure = `h2load could not connect to ${describe(options)} (0 requests started)`;
    }
    if (failure === undefined && !summary) {
      failure = `h2load printed no summary${outcome.stderr ? `: ${lastLine(outcome.stderr)}` : ''}`;
    }

    return {
      calls,
      errors,
      statusCounts,
      elapsedS: tally.lines > 0 ? Math.max(0, tally.lastEndUs - tally.firstStartUs) / 1e6 : 0,
      latencyUs: histogram,
      // h2load counts received bytes only, not sent: see h2loadTraffic.
      socketBytes: null,
      ...(failure !== undefined ? { failure } : {}),
      clientCpuUs: outcome.clientCpuUs,
      h2loadTraffic: summary ? parseTraffic(outcome.stdout, summary.done) : null,
      grpcStatusChecked: options.target.protocol !== 'grpc',
      command: [binary, ...plan.args],
      effective: { connections: plan.connections, streamsPerConnection: plan.streamsPerConnection },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function describe(options: LoadOptions): string {
  const target = options.target;
  return target.protocol === 'grpc' ? `${target.host}:${target.port}` : target.url;
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

export interface SpawnOutcome {
  stdout: string;
  stderr: string;
  failure?: string;
}

/**
 * Runs the command in its own process group; abort and overrun kill the group. Reports progress from the log
 * (lines appended to `logPath`; 0 while it does not exist). `label` names the tool in failure texts.
 */
function spawnAndWait(
  command: string[],
  env: NodeJS.ProcessEnv,
  options: LoadOptions,
  logPath: string,
  label = 'h2load',
): Promise<SpawnOutcome> {
  return new Promise<SpawnOutcome>((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    let stdout = '';
    let stderr = '';
    let failure: string | undefined;
    let settled = false;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const onAbort = (): void => {
      failure ??= abortReason(options.signal);
      killGroup('SIGINT');
      setTimeout(() => killGroup('SIGKILL'), 1_000).unref();
    };
    const expectedMs = options.requests === undefined ? options.durationS * 1000 + OVERRUN_GRACE_MS : null;
    const overrun =
      expectedMs === null
        ? null
        : setTimeout(() => {
            failure ??= `${label} still running ${OVERRUN_GRACE_MS} ms after the duration ended; killed`;
            killGroup('SIGKILL');
          }, expectedMs);
    const started = Date.now();
    const progress = new LogProgress(logPath);
    const progressTimer = options.onProgress
      ? setInterval(() => options.onProgress!({ calls: progress.count(), elapsedS: (Date.now() - started) / 1000 }), PROGRESS_INTERVAL_MS)
      : null;
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    const done = (): void => {
      settled = true;
      if (overrun) clearTimeout(overrun);
      if (progressTimer) clearInterval(progressTimer);
      progress.close();
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      if (settled) return;
      done();
      reject(error);
    });
    child.once('close', (code, signal) => {
      if (settled) return;
      done();
      if (failure === undefined && (signal !== null || code !== 0)) {
        const reason = lastLine(stderr) || lastLine(stdout);
        failure = `${label} exited ${signal !== null ? `on ${signal}` : `with code ${code}`}${reason ? `: ${reason}` : ''}`;
      }
      resolve({ stdout, stderr, ...(failure !== undefined ? { failure } : {}) });
    });
  });
}

/** Counts lines appended to the log file so far (h2load buffers, so this lags a little). */
class LogProgress {
  private fd: number | null = null;
  private offset = 0;
  private lines = 0;
  private readonly buffer = Buffer.allocUnsafe(64 * 1024);

  constructor(private readonly file: string) {}

  count(): number {
    try {
      this.fd ??= openSync(this.file, 'r');
      const size = fstatSync(this.fd).size;
      while (this.offset < size) {
        const read = readSync(this.fd, this.buffer, 0, Math.min(this.buffer.length, size - this.offset), this.offset);
        if (read <= 0) break;
        for (let i = 0; i < read; i++) if (this.buffer[i] === 10) this.lines++;
        this.offset += read;
      }
    } catch {
      // not there yet
    }
    return this.lines;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
