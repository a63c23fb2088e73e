/**
 * A stream row as the stream renderers read it: since schema 4 stream runs are
 * rows of results.json (unit 'message'); this is their per-stream view, built
 * from those rows (streamRecordsOf), or read from the streams.json /
 * streams-<time>.json files of older runs (results/streams-schema.json).
 */
import { proxyLabel } from './place-suffix.ts';
import type { StreamTransport } from '../types.ts';
import type { Environment, LatencySummaryMs, ResultsFile, RunRecord } from './record.ts';

/**
 * 3: the file records its environment (as results.json does);
 * 2: open loop and held streams (mode, ratePerStream, durationS, elapsedS; messagesPerStream null when held).
 */
export const STREAM_RECORD_SCHEMA_VERSION = 3;

/** results/streams-<time>.json: the machine and options, then one record per operation and transport. */
export interface StreamsFile {
  schemaVersion: number;
  environment: Environment;
  records: StreamRecord[];
}

export interface StreamRecord {
  schemaVersion: number;
  operation: string;
  transport: StreamTransport;
  streams: number;
  /** closed: running-sum waits for each answer before the next value; open: values go at ratePerStream. */
  mode: 'closed' | 'open';
  /** Open loop: values per second per stream; null when closed. */
  ratePerStream: number | null;
  /** Values per stream; null when the streams were held for durationS. */
  messagesPerStream: number | null;
  /** How long the streams were held open before half-close; null when each carried messagesPerStream. */
  durationS: number | null;
  /** The measured run's wall time: opening the first stream -> the last one ended. */
  elapsedS: number;
  /** Answered (summed, for sum-stream) by streams that ended well. */
  messages: number;
  errors: number;
  firstError: string | null;
  messagesPerSecond: number;
  /**
   * Per message, ms: bidi round trip (open loop: from each value's due time);
   * sum-stream last value sent (open loop: due) -> total; prefix-sums inter-arrival.
   */
  latencyMs: LatencySummaryMs | null;
  /** New stream -> its first answer, ms; null for sum-stream. */
  openMs: LatencySummaryMs | null;
  /** A server stream's gap between answers, ms (older files kept it in latencyMs); absent or null otherwise. */
  gapMs?: LatencySummaryMs | null;
  /** Rows of results.json: the network condition and TLS it ran under (absent: loopback, cleartext). */
  network?: string | null;
  tls?: boolean;
  /** Rows of results.json behind the bench's proxy: "nginx l7 x2" (absent or null: direct). */
  proxy?: string | null;
  /** Several trials: how many, and the lowest and highest messages/s among them (the record's figures are the median trial's). */
  trials?: number;
  messagesPerSecondRange?: [number, number];
  /** Bytes on the wire per message, each way, from the counting proxy's pass; null if it carried none. */
  requestBytesPerMessage: number | null;
  responseBytesPerMessage: number | null;
  serverCpuMsPer1000: number | null;
  clientCpuMsPer1000: number | null;
  /** % of one core during the measured run (CPU per message x messages/s). */
  clientCpuPercent: number | null;
  serverCpuPercent: number | null;
  /** The unary rule (bench/results/client-bound.ts): the generator near a full core while the server was not. */
  clientBound: boolean;
}

/** The rows of a results file that count messages (stream runs). */
export function isStreamRow(run: RunRecord): boolean {
  return run.unit === 'message';
}

/** The file with its call rows only: what the unary tables, charts and sections read. */
export function callRowsOf(results: ResultsFile): ResultsFile {
  return results.runs.some(isStreamRow) ? { ...results, runs: results.runs.filter((run) => !isStreamRow(run)) } : results;
}

/** A stream row (schema 4) as the stream renderers read it. */
export function streamRecordOf(run: RunRecord): StreamRecord {
  const rate = run.rate === null ? null : run.rate / run.concurrency;
  // ms of CPU per 1,000 messages x messages/s / 1,000 = ms per s; / 10 = % of a core.
  const percentOfCore = (msPer1000: number | null): number | null => (msPer1000 === null ? null : Math.round((msPer1000 * run.rps) / 100) / 100);
  const clientMsPer1000 = run.client.cpuUsPerCall;
  const firstError = run.firstError ?? run.failure ?? null;
  return {
    schemaVersion: STREAM_RECORD_SCHEMA_VERSION,
    operation: run.operation,
    transport: run.transport ?? 'grpc',
    streams: run.concurrency,
    mode: rate === null ? 'closed' : 'open',
    ratePerStream: rate === null ? null : Math.round(rate * 100) / 100,
    messagesPerStream: run.messagesPerStream ?? null,
    durationS: (run.messagesPerStream ?? null) === null ? run.durationS : null,
    elapsedS: run.durationS,
    messages: run.requests,
    errors: run.errors,
    firstError,
    messagesPerSecond: Math.round(run.rps),
    latencyMs: run.latencyMs,
    openMs: run.firstMessageMs ?? null,
    gapMs: run.gapMs ?? null,
    requestBytesPerMessage: run.wire.requestBytesPerCall,
    responseBytesPerMessage: run.wire.responseBytesPerCall,
    serverCpuMsPer1000: run.server.cpuMsPer1kCalls,
    clientCpuMsPer1000: clientMsPer1000,
    clientCpuPercent: run.client.cpuPercent,
    serverCpuPercent: percentOfCore(run.server.cpuMsPer1kCalls),
    clientBound: run.client.bound,
  };
}

/**
 * The stream rows of a results file, one per operation, transport and place.
 * With several trials: the median trial's figures, with the trials' range of
 * messages/s (every trial stays in results.json and its compare).
 */
export function streamRecordsOf(results: ResultsFile): StreamRecord[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of results.runs.filter(isStreamRow)) {
    if (run.status !== 'completed') continue;
    const key = `${run.scenario}|${run.transport}|${run.network?.name ?? ''}|${run.place?.tls ? 'tls' : ''}|${proxyLabel(run) ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((trials) => {
    const sorted = [...trials].sort((a, b) => a.rps - b.rps);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    const record: StreamRecord = { ...streamRecordOf(median), network: median.network?.name ?? null, tls: median.place?.tls ?? false, proxy: proxyLabel(median) };
    if (trials.length > 1) {
      record.trials = trials.length;
      record.messagesPerSecondRange = [Math.round(sorted[0]!.rps), Math.round(sorted.at(-1)!.rps)];
    }
    return record;
  });
}


/** A record of an older streams file: a server stream's latency there was the gap between answers. */
export function upgradeStreamRecord(record: StreamRecord): StreamRecord {
  if (record.gapMs !== undefined || record.operation !== 'prefix-sums') return record;
  return { ...record, gapMs: record.latencyMs, latencyMs: null };
}
