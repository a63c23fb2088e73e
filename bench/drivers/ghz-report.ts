/**
 * A LoadResult as ghz's `--format json` report, so tools that read ghz output
 * (dashboards, ghz-web, scripts) read ours. Durations are nanoseconds as Go's
 * time.Duration marshals them; histogram marks are seconds, as in ghz.
 *
 * Differences from ghz, by construction:
 * - ghz computes fastest/slowest/histogram/percentiles over successful calls
 *   only; a LoadResult holds one histogram of every completed call, so these
 *   fields cover errors too (usually a negligible difference, stated here so
 *   nobody is surprised when a run is mostly errors);
 * - values come from an HDR histogram (3 significant digits), not raw samples;
 * - `details` (per-call records) is always empty: we never keep samples;
 * - errorDistribution keys are built from status names, since the engine
 *   does not keep grpc-message texts.
 */
import type { Histogram } from 'hdr-histogram-js';
import type { LoadOptions, LoadResult } from '../types.ts';

export interface GhzOptions {
  host: string;
  call?: string;
  insecure: boolean;
  total?: number;
  concurrency: number;
  connections: number;
  qps?: number;
  duration?: number;
  timeout: number;
  data?: unknown;
  binary: boolean;
  metadata?: Record<string, string>;
  CPUs: number;
}

export interface GhzReport {
  date: string;
  endReason?: string;
  options: GhzOptions;
  count: number;
  total: number;
  average: number;
  fastest: number;
  slowest: number;
  rps: number;
  errorDistribution: Record<string, number>;
  statusCodeDistribution: Record<string, number>;
  latencyDistribution: Array<{ percentage: number; latency: number }>;
  histogram: Array<{ mark: number; count: number; frequency: number }>;
  details: never[];
}

/** Our status keys to the Go names ghz prints (codes.Code.String()). */
const GO_CODE_NAMES: Readonly<Record<string, string>> = {
  OK: 'OK',
  CANCELLED: 'Canceled',
  UNKNOWN: 'Unknown',
  INVALID_ARGUMENT: 'InvalidArgument',
  DEADLINE_EXCEEDED: 'DeadlineExceeded',
  NOT_FOUND: 'NotFound',
  ALREADY_EXISTS: 'AlreadyExists',
  PERMISSION_DENIED: 'PermissionDenied',
  RESOURCE_EXHAUSTED: 'ResourceExhausted',
  FAILED_PRECONDITION: 'FailedPrecondition',
  ABORTED: 'Aborted',
  OUT_OF_RANGE: 'OutOfRange',
  UNIMPLEMENTED: 'Unimplemented',
  INTERNAL: 'Internal',
  UNAVAILABLE: 'Unavailable',
  DATA_LOSS: 'DataLoss',
  UNAUTHENTICATED: 'Unauthenticated',
  // Transport outcomes, as a grpc-go client would report them.
  timeout: 'DeadlineExceeded',
  'connection-error': 'Unavailable',
  goaway: 'Unavailable',
  'stream-reset': 'Internal',
};

const PERCENTAGES = [10, 25, 50, 75, 90, 95, 99];
const BUCKETS = 10;

export interface GhzReportContext {
  /** Fully qualified method, e.g. calculator.v1.Calculator.Add. */
  call?: string;
  /** When the run ended; defaults to now. */
  date?: Date;
}

export function toGhzReport(result: LoadResult, options: LoadOptions, context: GhzReportContext = {}): GhzReport {
  const target = options.target;
  const host = target.protocol === 'grpc' ? `${target.host}:${target.port}` : target.url;
  const latency = result.latencyUs;
  const count = result.calls;
  const hasLatency = latency.totalCount > 0;

  const statusCodeDistribution: Record<string, number> = {};
  const errorDistribution: Record<string, number> = {};
  for (const [key, n] of Object.entries(result.statusCounts)) {
    const code = GO_CODE_NAMES[key] ?? key;
    statusCodeDistribution[code] = (statusCodeDistribution[code] ?? 0) + n;
    if (key !== 'OK') {
      const text = `rpc error: code = ${code} desc = ${key}`;
      errorDistribution[text] = (errorDistribution[text] ?? 0) + n;
    }
  }

  const fastestUs = hasLatency ? latency.minNonZeroValue : 0;
  const slowestUs = hasLatency ? latency.maxValue : 0;
  return {
    date: formatRfc3339(context.date ?? new Date()),
    ...(result.failure ? { endReason: result.failure } : {}),
    options: {
      host,
      ...(context.call ? { call: context.call } : {}),
      insecure: !(target.protocol === 'grpc' && target.tls),
      ...(options.requests !== undefined ? { total: options.requests } : {}),
      concurrency: options.concurrency,
      connections: options.connections,
      ...(options.rate !== undefined ? { qps: options.rate } : {}),
      ...(options.requests === undefined ? { duration: Math.round(options.durationS * 1e9) } : {}),
      timeout: Math.round(options.timeoutMs * 1e6),
      data: options.payload.input,
      binary: false,
      ...(options.metadata ? { metadata: { ...options.metadata } } : {}),
      CPUs: 1,
    },
    count,
    total: Math.round(result.elapsedS * 1e9),
    average: hasLatency ? Math.round(latency.mean * 1000) : 0,
    fastest: fastestUs * 1000,
    slowest: slowestUs * 1000,
    rps: result.elapsedS > 0 ? count / result.elapsedS : 0,
    errorDistribution,
    statusCodeDistribution,
    latencyDistribution: hasLatency
      ? PERCENTAGES.map((percentage) => ({ percentage, latency: latency.getValueAtPercentile(percentage) * 1000 }))
      : [],
    histogram: hasLatency ? buckets(latency, fastestUs, slowestUs) : [],
    details: [],
  };
}

/** ghz's histogram: 11 marks from fastest to slowest; a value counts in the first mark at or above it. */
function buckets(latency: Histogram, fastestUs: number, slowestUs: number): GhzReport['histogram'] {
  const step = (slowestUs - fastestUs) / BUCKETS;
  const marks = Array.from({ length: BUCKETS + 1 }, (_, i) => (i === BUCKETS ? slowestUs : fastestUs + step * i));
  const counts = new Array<number>(BUCKETS + 1).fill(0);
  for (const [valueUs, n] of recordedValues(latency)) {
    let i = 0;
    while (i < BUCKETS && valueUs > marks[i]) i++;
    counts[i] += n;
  }
  const total = latency.totalCount;
  return marks.map((markUs, i) => ({ mark: markUs / 1e6, count: counts[i], frequency: counts[i] / total }));
}

/** (value µs, count) pairs of an hdr-histogram-js JS histogram; percentile steps as a fallback. */
function recordedValues(latency: Histogram): Array<[number, number]> {
  const iterator = (latency as unknown as { recordedValuesIterator?: RecordedIterator }).recordedValuesIterator;
  const out: Array<[number, number]> = [];
  if (iterator) {
    iterator.reset();
    while (iterator.hasNext()) {
      const step = iterator.next();
      // The highest equivalent value, clamped so the maximum lands in the last bucket.
      out.push([Math.min(step.valueIteratedTo, latency.maxValue), step.countAddedInThisIterationStep]);
    }
    return out;
  }
  // WebAssembly histograms have no iterator: approximate with 1,000 percentile steps.
  let previous = 0;
  for (let p = 0.1; p <= 100.0001; p += 0.1) {
    const counted = Math.round((p / 100) * latency.totalCount);
    if (counted > previous) out.push([latency.getValueAtPercentile(p), counted - previous]);
    previous = counted;
  }
  return out;
}

interface RecordedIterator {
  reset(): void;
  hasNext(): boolean;
  next(): { valueIteratedTo: number; countAddedInThisIterationStep: number };
}

/** Go's time.RFC3339 with the local offset, as ghz writes `date`. */
function formatRfc3339(date: Date): string {
  const pad = (n: number): string => String(Math.abs(n)).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
  );
}
