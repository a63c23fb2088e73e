/**
 * ghz (https://ghz.sh, a Go program on grpc-go) as a gRPC load generator, when a
 * `ghz` binary is on PATH. It is not packaged by Debian and is never installed
 * by this project: without it the driver throws one line saying where to get it.
 *
 * Command line (flags as ghz's options reference documents them):
 * - `--proto proto/calculator.proto --call calculator.v1.Calculator.<Method>`;
 * - `--insecure` for h2c; with `tls`, `--skipTLS` (the bench's certificates are
 *   self-signed, and grpc-engine does not verify them either);
 * - the request message in a file, `--binary-file <file>`, written as ONE
 *   count-prefixed message (varint length + protobuf bytes). ghz reads a binary
 *   file as count-prefixed messages first and falls back to a single bare
 *   message, so a bare message whose bytes happen to parse as a length prefix
 *   could be misread; the prefixed form is unambiguous. `--binary` is NOT
 *   passed: it means "read the binary data from stdin". ghz decodes the bytes
 *   and re-encodes the message with Go's protobuf, which is the same message on
 *   the wire (field order and packing as proto3 prescribes);
 * - `-c concurrency`, `--connections min(connections, concurrency)` (ghz
 *   refuses more connections than workers); `-n requests` (concurrency capped at
 *   `requests`), or `-z <ms>ms --duration-stop wait` so calls in flight when the
 *   duration ends are finished and counted, not cut off as errors
 *   (ghz's default `close`); `-t <timeoutMs>ms`; `-m <metadata JSON>`;
 *   `-e` (gzip requests) when the payload is compressed;
 *   `--format json --output <file>`.
 * - No `--skipFirst`: the runner warms up separately, as for h2load.
 * - No open loop. ghz's `-r/--rps` paces the START of calls, but each call's
 *   latency is measured from its actual send (grpc-go's stats Begin to End), so
 *   a call that waited for a busy worker does not show the wait: coordinated
 *   omission. A `rate` is refused with that reason; use grpc-engine.
 *
 * What comes back (ghz's `--format json` report, parseGhzReport below):
 * - calls = `count`; status counts from `statusCodeDistribution`, ghz's Go
 *   names ("OK", "InvalidArgument", "DeadlineExceeded", ...) mapped to ours
 *   ('OK', 'INVALID_ARGUMENT', ...). Calls that grpc-go failed on the client
 *   side are told apart by their `errorDistribution` text: the client's own
 *   deadline ("context deadline exceeded") is 'timeout', lost connections
 *   ("transport is closing", "connection error", ...) 'connection-error', as
 *   the other drivers count them;
 * - elapsed = `total` (ns): ghz measures it from the start of the run, dial
 *   included, to the last call's end, so it is a little longer than the other
 *   drivers' first-send-to-last-answer;
 * - latency: every call's `details[].latency` recorded into the HDR histogram
 *   (errors included, as for every driver). ghz keeps at most 1,000,000 details;
 *   past that `latencySource` says 'details-partial'. Without details (a report
 *   that has none) it is rebuilt from `latencyDistribution` (7 percentiles,
 *   linear between them, fastest and slowest as the ends), else from the 11
 *   `histogram` marks: COARSER, stated in `latencySource`. ghz computes those
 *   summaries over OK calls only (unless --count-errors);
 * - `clientCpuUs`: ghz's own CPU, read as for h2load (the `sh` wrapper's
 *   cutime/cstime); `socketBytes: null` (ghz counts no bytes).
 * Progress: ghz prints nothing readable while it runs, so onProgress reports 0
 * calls until the end.
 */
import { usableConnections } from '../scenario/connections.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Driver, LoadOptions, LoadResult } from '../types.ts';
import { createLatencyHistogram } from '../results/histogram.ts';
import { closedLoopShape, findExecutable, spawnMeasured } from './h2load.ts';

export const GHZ_MISSING_MESSAGE =
  'ghz not found on PATH: install it from https://ghz.sh (a Go binary; not packaged by Debian) or use --driver grpc-engine / h2load';

export class GhzMissingError extends Error {
  constructor() {
    super(GHZ_MISSING_MESSAGE);
    this.name = 'GhzMissingError';
  }
}

/** The ghz binary on PATH, or null. */
export function findGhz(): string | null {
  return findExecutable('ghz');
}

export interface GhzOptions extends LoadOptions {
  /** The ghz binary; default: found on PATH. */
  ghzPath?: string;
  /** Command prefix, e.g. ['taskset', '-c', '1'] to pin ghz (Go sizes GOMAXPROCS from the affinity mask). */
  prefix?: string[];
}

/** Where the per-call latencies came from: exact per call, or rebuilt from ghz's summaries (coarser). */
export type GhzLatencySource = 'details' | 'details-partial' | 'percentiles' | 'histogram' | 'none';

export interface GhzResult extends LoadResult {
  /** CPU time (user + system) of the ghz process, µs; null where /proc is missing. */
  clientCpuUs: number | null;
  latencySource: GhzLatencySource;
  /** ghz's endReason ('normal', 'timeout', 'cancel', ...) when it gave one. */
  endReason?: string;
  /** The ghz command line, for the record. */
  command: string[];
}

const ghzRun = (options: LoadOptions): Promise<GhzResult> => runGhz(options as GhzOptions);
// Built as a plain object (not a literal typed Driver) so the optional `unavailable` probe compiles
// whether or not this checkout's Driver declares it.
const driver = {
  name: 'ghz',
  protocols: ['grpc'] as const,
  compression: true,
  unavailable: (): string | null => (findGhz() === null ? GHZ_MISSING_MESSAGE : null),
  run: ghzRun,
};
export const ghzDriver: Driver = driver;

/** protobuf's count-delimited form of one message: varint length, then the bytes. */
export function countDelimited(message: Uint8Array): Buffer {
  const prefix: number[] = [];
  let n = message.length;
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  prefix.push(n);
  return Buffer.concat([Buffer.from(prefix), message]);
}

export interface GhzPlan {
  args: string[];
  /** Contents for the --binary-file. */
  binary: Buffer;
  concurrency: number;
  connections: number;
}

/** ghz's arguments for `options`; the message goes to `binaryPath`, the JSON report to `outputPath`. */
export function planGhz(options: LoadOptions, binaryPath: string, outputPath: string): GhzPlan {
  const { target, payload } = options;
  if (target.protocol !== 'grpc') throw new Error('ghz drives gRPC only');
  if (options.rate !== undefined) {
    throw new Error(
      'ghz cannot run an open loop: its -r/--rps paces call starts but measures each call from its actual send ' +
        '(coordinated omission). Use grpc-engine for a `rate`.',
    );
  }
  const shape = closedLoopShape('ghz', options);
  const requests = shape.requests;
  const concurrency = requests !== undefined ? Math.min(shape.concurrency, requests) : shape.concurrency; // ghz wants -n >= -c
  const connections = usableConnections(options.connections, concurrency); // and --connections <= -c
  const metadata = options.metadata ?? {};
  for (const [name, value] of Object.entries(metadata)) {
    // ghz runs metadata through Go's text/template: "{{" would be executed, not sent.
    if (name.includes('{{') || value.includes('{{')) throw new Error(`ghz: metadata ${JSON.stringify(name)} contains "{{" (a ghz template)`);
  }

  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  const schema = payload.method.schema;
  if (!schema) throw new Error(`ghz needs the .proto of ${payload.method.api}/${payload.method.name}`);
  const args = [
    ...schema.importPaths.flatMap((dir) => ['--import-paths', dir]),
    '--proto',
    schema.protoFiles[0]!,
    '--call',
    `${payload.method.api}.${payload.method.name}`,
    target.tls ? '--skipTLS' : '--insecure',
    '--binary-file',
    binaryPath,
    '-c',
    String(concurrency),
    '--connections',
    String(connections),
  ];
  if (requests !== undefined) args.push('-n', String(requests));
  else args.push('-z', `${Math.max(1, Math.round(options.durationS * 1000))}ms`, '--duration-stop', 'wait');
  args.push('-t', `${Math.max(1, Math.ceil(options.timeoutMs))}ms`);
  if (Object.keys(metadata).length > 0) args.push('-m', JSON.stringify(metadata));
  if (payload.compressed) args.push('-e');
  args.push('--format', 'json', '--output', outputPath, `${host}:${target.port}`);
  return { args, binary: countDelimited(payload.protobuf), concurrency, connections };
}

/** The parts of ghz's JSON report this driver reads. Go writes empty maps and slices as null. */
export interface GhzJsonReport {
  count: number;
  /** Durations are nanoseconds (Go's time.Duration). */
  total: number;
  fastest?: number;
  slowest?: number;
  endReason?: string;
  statusCodeDistribution?: Record<string, number> | null;
  errorDistribution?: Record<string, number> | null;
  latencyDistribution?: Array<{ percentage: number; latency: number }> | null;
  /** Marks in seconds. */
  histogram?: Array<{ mark: number; count: number; frequency?: number }> | null;
  details?: Array<{ timestamp?: string; latency: number; error?: string; status?: string }> | null;
}

/** grpc-go's codes.Code.String() names to ours. */
const STATUS_FROM_GO: Readonly<Record<string, string>> = {
  OK: 'OK',
  Canceled: 'CANCELLED',
  Unknown: 'UNKNOWN',
  InvalidArgument: 'INVALID_ARGUMENT',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  PermissionDenied: 'PERMISSION_DENIED',
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  FailedPrecondition: 'FAILED_PRECONDITION',
  Aborted: 'ABORTED',
  OutOfRange: 'OUT_OF_RANGE',
  Unimplemented: 'UNIMPLEMENTED',
  Internal: 'INTERNAL',
  Unavailable: 'UNAVAILABLE',
  DataLoss: 'DATA_LOSS',
  Unauthenticated: 'UNAUTHENTICATED',
  // ghz records an empty status when the error carried no gRPC status.
  '': 'UNKNOWN',
};

/** Our status key for one of ghz's status names; unknown names (e.g. "Code(42)") pass unchanged. */
export function statusFromGhz(name: string): string {
  return STATUS_FROM_GO[name] ?? name;
}

/**
 * The transport outcome a ghz error text stands for, or null when it is the
 * server's own status. Covers grpc-go's client-side texts and the keys
 * toGhzReport (ghz-report.ts) writes as `desc`.
 */
export function transportOutcome(errorText: string): string | null {
  const match = /code = (\w+) desc = ([\s\S]*)$/.exec(errorText);
  if (!match) return null;
  const [, code, desc] = match as unknown as [string, string, string];
  if (code === 'DeadlineExceeded' && (desc === 'context deadline exceeded' || desc === 'timeout')) return 'timeout';
  if (code === 'Unavailable') {
    if (desc === 'goaway') return 'goaway';
    if (desc === 'connection-error' || /^(connection error|transport is closing|error reading from server|the connection is draining)/.test(desc)) {
      return 'connection-error';
    }
  }
  if (code === 'Internal' && desc === 'stream-reset') return 'stream-reset';
  return null;
}

export interface ParsedGhzReport {
  calls: number;
  errors: number;
  statusCounts: Record<string, number>;
  elapsedS: number;
  latencyUs: LoadResult['latencyUs'];
  latencySource: GhzLatencySource;
  endReason?: string;
}

/** ghz's `--format json` report (text or parsed) as LoadResult fields. */
export function parseGhzReport(input: string | GhzJsonReport): ParsedGhzReport {
  const report: GhzJsonReport = typeof input === 'string' ? (JSON.parse(input) as GhzJsonReport) : input;
  if (typeof report !== 'object' || report === null || typeof report.count !== 'number' || typeof report.total !== 'number') {
    throw new Error('not a ghz JSON report (no numeric count/total)');
  }
  const calls = report.count;

  const statusCounts: Record<string, number> = {};
  for (const [name, n] of Object.entries(report.statusCodeDistribution ?? {})) {
    const key = statusFromGhz(name);
    statusCounts[key] = (statusCounts[key] ?? 0) + n;
  }
  // Client-side failures: move them from the status grpc-go gave them to our transport keys.
  for (const [text, n] of Object.entries(report.errorDistribution ?? {})) {
    const outcome = transportOutcome(text);
    const code = /code = (\w+)/.exec(text)?.[1];
    if (outcome === null || code === undefined) continue;
    const from = statusFromGhz(code);
    const moved = Math.min(n, statusCounts[from] ?? 0);
    if (moved === 0) continue;
    statusCounts[from] = (statusCounts[from] ?? 0) - moved;
    if (statusCounts[from] === 0) delete statusCounts[from];
    statusCounts[outcome] = (statusCounts[outcome] ?? 0) + moved;
  }
  let errors = 0;
  for (const [key, n] of Object.entries(statusCounts)) if (key !== 'OK') errors += n;

  const histogram = createLatencyHistogram();
  const latencySource = recordLatencies(report, histogram);
  return {
    calls,
    errors,
    statusCounts,
    elapsedS: report.total / 1e9,
    latencyUs: histogram,
    latencySource,
    ...(report.endReason ? { endReason: report.endReason } : {}),
  };
}

const nsToUs = (ns: number): number => Math.max(1, Math.round(ns / 1000));

function recordLatencies(report: GhzJsonReport, histogram: LoadResult['latencyUs']): GhzLatencySource {
  const details = report.details ?? [];
  if (details.length > 0) {
    for (const detail of details) histogram.recordValue(nsToUs(detail.latency));
    return details.length >= report.count ? 'details' : 'details-partial';
  }
  const percentiles = (report.latencyDistribution ?? []).filter((d) => d.percentage > 0 && d.latency > 0);
  if (percentiles.length > 0 && report.count > 0) {
    recordFromPercentiles(report, percentiles, histogram);
    return 'percentiles';
  }
  const buckets = (report.histogram ?? []).filter((b) => b.count > 0);
  if (buckets.length > 0) {
    // Each call at its bucket's mark (the bucket's upper edge): accurate to a tenth of slowest - fastest.
    for (const bucket of buckets) histogram.recordValueWithCount(nsToUs(bucket.mark * 1e9), bucket.count);
    return 'histogram';
  }
  return 'none';
}

/** Most quantile steps recorded when rebuilding from percentiles (each step carries its share of calls). */
const MAX_STEPS = 100_000;

/**
 * Rebuilds `count` latencies from ghz's percentiles: a piecewise-linear
 * quantile function through (0, fastest), (p/100, latency p) ... (1, slowest).
 * The call of rank r gets the value at quantile r/count, so the reported
 * percentiles come back exactly (to the histogram's precision) whenever
 * p × count / 100 is a whole rank; between them it is an interpolation.
 */
function recordFromPercentiles(
  report: GhzJsonReport,
  percentiles: Array<{ percentage: number; latency: number }>,
  histogram: LoadResult['latencyUs'],
): void {
  const sorted = [...percentiles].sort((a, b) => a.percentage - b.percentage);
  const first = sorted[0]!.latency;
  const last = sorted[sorted.length - 1]!.latency;
  const points: Array<{ p: number; ns: number }> = [{ p: 0, ns: report.fastest && report.fastest > 0 ? Math.min(report.fastest, first) : first }];
  for (const { percentage, latency } of sorted) points.push({ p: percentage, ns: Math.max(latency, points[points.length - 1]!.ns) });
  if (points[points.length - 1]!.p < 100) points.push({ p: 100, ns: Math.max(report.slowest ?? last, last) });

  const count = report.count;
  const steps = Math.min(count, MAX_STEPS);
  let previous = 0;
  let segment = 1;
  for (let j = 1; j <= steps; j++) {
    const rank = Math.round((j * count) / steps);
    const n = rank - previous;
    previous = rank;
    if (n <= 0) continue;
    // Find the segment holding quantile rank/count, comparing rank*100 with p*count to stay in integers.
    while (segment < points.length - 1 && rank * 100 > points[segment]!.p * count) segment++;
    const a = points[segment - 1]!;
    const b = points[segment]!;
    let ns: number;
    if (rank * 100 === b.p * count || b.p === a.p) ns = b.ns;
    else ns = a.ns + ((b.ns - a.ns) * ((rank * 100) / count - a.p)) / (b.p - a.p);
    if (j === 1) {
      // ghz measured the fastest call exactly: it is the first rank, not a point interpolated towards the next percentile.
      histogram.recordValue(nsToUs(points[0]!.ns));
      if (n > 1) histogram.recordValueWithCount(nsToUs(ns), n - 1);
      continue;
    }
    histogram.recordValueWithCount(nsToUs(ns), n);
  }
}

async function runGhz(options: GhzOptions): Promise<GhzResult> {
  const binary = options.ghzPath ?? findGhz();
  if (binary === null) throw new GhzMissingError();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'callbench-ghz-'));
  try {
    const binaryPath = path.join(dir, 'request.bin');
    const outputPath = path.join(dir, 'report.json');
    const plan = planGhz(options, binaryPath, outputPath);
    writeFileSync(binaryPath, plan.binary);
    // ghz writes no per-call log: the progress path never exists, so progress stays at 0 calls.
    const outcome = await spawnMeasured('ghz', binary, plan.args, dir, options, path.join(dir, 'no-progress-log'));

    let parsed: ParsedGhzReport | null = null;
    let failure = outcome.failure;
    try {
      parsed = parseGhzReport(readFileSync(outputPath, 'utf8'));
    } catch (error) {
      const stderr = outcome.stderr.trim().split('\n').filter(Boolean).pop();
      failure ??= `ghz wrote no report${stderr ? `: ${stderr}` : `: ${(error as Error).message}`}`;
    }
    if (failure === undefined && parsed && parsed.endReason && !['normal', 'timeout'].includes(parsed.endReason)) {
      failure = `ghz ended early: ${parsed.endReason}`;
    }
    return {
      calls: parsed?.calls ?? 0,
      errors: parsed?.errors ?? 0,
      statusCounts: parsed?.statusCounts ?? {},
      elapsedS: parsed?.elapsedS ?? 0,
      latencyUs: parsed?.latencyUs ?? createLatencyHistogram(),
      socketBytes: null,
      ...(failure !== undefined ? { failure } : {}),
      clientCpuUs: outcome.clientCpuUs,
      latencySource: parsed?.latencySource ?? 'none',
      ...(parsed?.endReason ? { endReason: parsed.endReason } : {}),
      command: [binary, ...plan.args],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
