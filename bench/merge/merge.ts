/**
 * The segments of one bench (`--segment K/N` on N generators) as one results
 * file, as if one generator had put the whole load on the server:
 * - calls, errors and status counts added; calls in flight, connections and
 *   rate added back to the scenario's;
 * - latency from the segments' HDR histograms added together: every
 *   percentile, the mean and stdev are read from the merged histogram, never
 *   averaged from the segments' percentiles (which can put p99 above max);
 *   the max is the largest of the segments' exact maxima;
 * - calls/s = all calls / the common window, from the first segment's start
 *   to the last one's end;
 * - bytes per call (wire and response body) weighted by each segment's calls;
 * - the generators' CPU kept per segment (segments[]); the row's client figure
 *   is the busiest generator's %, µs per call over all calls, and client-bound
 *   when any segment was;
 * - how far apart the windows began and ended (skew), with a note when it is
 *   above SKEW_FLAG_PERCENT of the run: then the segments did not load the
 *   server together and calls/s understates what they did at once.
 * The server is external to every segment (--segment needs the targets), so
 * its CPU and memory stay null; the connection-cost pass is segment 1's.
 *
 * Stream rows (unit 'message') merge the same way, message for call: runs
 * are matched by every dimension of bench:compare's row key (the transport
 * too: running-sum's NDJSON and WebSocket rows are both protocol 'rest'),
 * messages and errors added, messages/s over the common window, per-message
 * latency from the added histograms. A server stream has no per-message
 * latency (latencyMs and its histogram are null). First-message latency and
 * the gap between answers are merged from their own histograms when every
 * segment recorded them (`firstMessageHistogram`, `gapHistogram`, the same
 * encoding); a segment's record without them (the runner summarises them
 * only) leaves the merged figure null with a note giving each segment's p50
 * and p99, never one segment's summary passed off as all of them.
 * Pure: no I/O (bench/cli/merge.ts reads and writes the folders).
 */
import type { Histogram } from 'hdr-histogram-js';
import type { LoadedResults } from '../results/read.ts';
import { encodeLatencyHistogram, mergeLatencyHistograms } from '../results/histogram.ts';
import { latencyPercentiles, summarizeLatency } from '../results/latency.ts';
import { SCHEMA_VERSION, SKEW_FLAG_PERCENT, type DriverWireReport, type LatencySummaryMs, type ResultsFile, type RunRecord, type SegmentRun, type WindowSkew, type WireBytesPerCall } from '../results/record.ts';
import { segmentOf } from './check.ts';
import { rowKey } from '../compare/compare.ts';
import { round } from '../results/round.ts';

interface Part {
  index: number;
  run: RunRecord;
}

/** Merges checked segments (checkSegments returned no problem). */
export function mergeSegments(inputs: readonly LoadedResults[]): ResultsFile {
  const ordered = [...inputs].sort((a, b) => segmentOf(a)!.index - segmentOf(b)!.index);
  const count = segmentOf(ordered[0]!)!.count;
  const first = ordered[0]!.results;

  // Runs keyed by every dimension of a row (scenario, protocol, driver, transport, contender, place) and the
  // trial, in the order the first segment (then the others) ran them.
  const groups = new Map<string, Array<Part | null>>();
  ordered.forEach((input, position) => {
    for (const run of input.results.runs) {
      const key = `${rowKey(run)}\u0000${run.trial}`;
      const parts = groups.get(key) ?? ordered.map(() => null);
      parts[position] = { index: segmentOf(input)!.index, run };
      groups.set(key, parts);
    }
  });

  const runs = [...groups.values()].map((parts) => mergeRun(parts, ordered.map((input) => segmentOf(input)!.index)));
  const dates = ordered.map((input) => input.results.environment.date).sort();
  return {
    schemaVersion: SCHEMA_VERSION,
    environment: { ...first.environment, date: dates[0]!, options: { ...first.environment.options, segment: null } },
    runs,
    merge: {
      segments: count,
      inputs: ordered.map((input) => ({
        segment: segmentOf(input)!.index,
        dir: input.dir,
        host: input.results.runs[0]?.host ?? null,
        date: input.results.environment.date,
        gitCommit: input.results.environment.gitCommit,
      })),
    },
  };
}

function mergeRun(slots: Array<Part | null>, indexes: number[]): RunRecord {
  const parts = slots.filter((part): part is Part => part !== null);
  const runs = parts.map((part) => part.run);
  const base = runs[0]!;
  const sum = (pick: (run: RunRecord) => number): number => runs.reduce((total, run) => total + pick(run), 0);
  const requests = sum((run) => run.requests);

  const missing = indexes.filter((_, position) => slots[position] === null);
  const failed = parts.filter((part) => part.run.status === 'failed');
  const failures = [
    ...missing.map((index) => `segment ${index} has no record of this run (its bench stopped before it)`),
    ...failed.map((part) => `segment ${part.index}: ${part.run.failure ?? 'failed'}`),
  ];

  const starts = runs.flatMap((run) => (run.window ? [Date.parse(run.window.start)] : []));
  const ends = runs.flatMap((run) => (run.window ? [Date.parse(run.window.end)] : []));
  const windowed = starts.length > 0;
  const firstStart = Math.min(...starts);
  const lastEnd = Math.max(...ends);
  const durationS = windowed ? (lastEnd - firstStart) / 1000 : 0;
  const skew = windowed ? windowSkew(starts, ends, runs) : null;

  const histograms = runs.flatMap((run) => (run.latencyHistogram ? [run.latencyHistogram] : []));
  const histogram = mergeLatencyHistograms(histograms);
  const statusCounts: Record<string, number> = {};
  for (const run of runs) for (const [status, n] of Object.entries(run.statusCounts)) statusCounts[status] = (statusCounts[status] ?? 0) + n;
  const clientCpuUs = runs.every((run) => run.client.cpuUsPerCall !== null) ? sum((run) => run.client.cpuUsPerCall! * run.requests) : null;

  const notes = [...new Set(runs.flatMap((run) => run.notes ?? []))];
  if (skew?.flagged) {
    notes.push(
      `segments' measured windows ${skew.percent}% of the run apart (starts ${skew.startMs} ms, ends ${skew.endMs} ms, over ${SKEW_FLAG_PERCENT}%): ` +
        `they did not load the server together, and ${base.unit === 'message' ? 'messages' : 'calls'}/s over the common window understates their load`,
    );
  }
  const stream = base.unit === 'message' ? mergeStreamFigures(parts) : null;
  if (stream) notes.push(...stream.notes);
  const firstError = runs.find((run) => run.firstError !== undefined)?.firstError;
  const merged: RunRecord = {
    ...base,
    concurrency: sum((run) => run.concurrency),
    connections: sum((run) => run.connections),
    rate: runs.every((run) => run.rate !== null) ? round(sum((run) => run.rate!), 3) : null,
    durationS: round(durationS, 3),
    status: failures.length > 0 ? 'failed' : 'completed',
    failure: failures.length > 0 ? failures.join('; ') : null,
    requests,
    errors: sum((run) => run.errors),
    statusCounts,
    rps: durationS > 0 ? round(requests / durationS, 1) : 0,
    latencyMs: mergedSummary(histogram, runs),
    latencyPercentilesMs: latencyPercentiles(histogram),
    latencyHistogram: encodeLatencyHistogram(histogram),
    wire: weightedWire(runs),
    body: { requestBytes: base.body.requestBytes, responseBytes: round(weighted(runs, (run) => run.body.responseBytes) ?? 0, 2) },
    server: { cpuMsPer1kCalls: null, peakRssMiB: null },
    client: {
      cpuPercent: Math.max(...runs.map((run) => run.client.cpuPercent)),
      cpuUsPerCall: clientCpuUs !== null && requests > 0 ? round(clientCpuUs / requests, 1) : null,
      bound: runs.some((run) => run.client.bound),
      ...(base.client.cpuOf ? { cpuOf: base.client.cpuOf } : {}),
    },
    window: windowed ? { start: new Date(firstStart).toISOString(), end: new Date(lastEnd).toISOString() } : null,
    host: [...new Set(runs.map((run) => run.host ?? 'unknown'))].join(','),
    segment: null,
    segments: parts.map((part) => segmentRun(part)),
    ...(skew ? { skew } : {}),
    ...(stream ? stream.fields : {}),
    ...(firstError !== undefined ? { firstError } : {}),
  };
  histogram.destroy();
  if (notes.length > 0) merged.notes = notes;
  else delete merged.notes;
  return merged;
}

/**
 * The merged histogram's summary, but for the max: the encoding keeps counts
 * per bucket, so a decoded max is its bucket's lowest value; the segments'
 * own maxima are exact, and the largest of them is the merged run's.
 */
function mergedSummary(histogram: Histogram, runs: RunRecord[]): LatencySummaryMs | null {
  const summary = summarizeLatency(histogram);
  const maxima = runs.flatMap((run) => (run.latencyMs ? [run.latencyMs.max] : []));
  return summary && maxima.length > 0 ? { ...summary, max: Math.max(...maxima) } : summary;
}

/**
 * A stream row's first-message latency and gap between answers, as histograms
 * (bench/results/histogram.ts's encoding) beside their summaries. RunRecord
 * has no such fields yet: the runner (bench/run/runner.ts) summarises
 * firstMessageUs and gapUs and drops them. Read here when a record has them.
 */
export interface StreamHistograms {
  firstMessageHistogram?: string | null;
  gapHistogram?: string | null;
}

const STREAM_FIGURES = [
  { summary: 'firstMessageMs', histogram: 'firstMessageHistogram', label: 'first-message latency' },
  { summary: 'gapMs', histogram: 'gapHistogram', label: 'gap between answers' },
] as const;

/**
 * First-message latency and gap over every segment: from the added histograms
 * when each segment that measured the figure recorded its histogram; else null,
 * with a note giving each segment's own p50 and p99.
 */
function mergeStreamFigures(parts: Part[]): { fields: Partial<RunRecord> & StreamHistograms; notes: string[] } {
  const fields: Partial<RunRecord> & StreamHistograms = {};
  const notes: string[] = [];
  for (const figure of STREAM_FIGURES) {
    const measured = parts.filter((part) => (part.run[figure.summary] ?? null) !== null);
    if (measured.length === 0) {
      fields[figure.summary] = null;
      continue;
    }
    const encoded = measured.map((part) => (part.run as RunRecord & StreamHistograms)[figure.histogram]);
    if (encoded.every((text): text is string => typeof text === 'string')) {
      const histogram = mergeLatencyHistograms(encoded);
      const summary = summarizeLatency(histogram);
      // As for latencyMs: a decoded max is its bucket's lowest value, the segments' own maxima are exact.
      fields[figure.summary] = summary ? { ...summary, max: Math.max(...measured.map((part) => part.run[figure.summary]!.max)) } : null;
      fields[figure.histogram] = encodeLatencyHistogram(histogram);
      histogram.destroy();
    } else {
      fields[figure.summary] = null;
      const each = measured.map((part) => `segment ${part.index} p50 ${part.run[figure.summary]!.p50} ms, p99 ${part.run[figure.summary]!.p99} ms`);
      notes.push(`${figure.label} not merged: the segments recorded its percentiles but not its histogram, and percentiles do not add (${each.join('; ')})`);
    }
  }
  return { fields, notes };
}

function segmentRun({ index, run }: Part): SegmentRun {
  return {
    index,
    host: run.host ?? null,
    window: run.window ?? null,
    status: run.status,
    requests: run.requests,
    rps: run.rps,
    p99Ms: run.latencyMs?.p99 ?? null,
    client: { cpuPercent: run.client.cpuPercent, cpuUsPerCall: run.client.cpuUsPerCall, bound: run.client.bound },
  };
}

/** Start and end spreads in ms; the larger in % of the mean measured run. */
export function windowSkew(starts: number[], ends: number[], runs: RunRecord[]): WindowSkew {
  const startMs = Math.max(...starts) - Math.min(...starts);
  const endMs = Math.max(...ends) - Math.min(...ends);
  const meanRunMs = (runs.reduce((total, run) => total + run.durationS, 0) / runs.length) * 1000;
  const percent = meanRunMs > 0 ? round((Math.max(startMs, endMs) / meanRunMs) * 100, 2) : 0;
  return { startMs, endMs, percent, flagged: percent > SKEW_FLAG_PERCENT };
}

/** Mean of a per-call figure weighted by each segment's calls; null when a segment has none. */
function weighted(runs: RunRecord[], pick: (run: RunRecord) => number | null | undefined): number | null {
  const calls = runs.reduce((total, run) => total + run.requests, 0);
  if (calls === 0) return null;
  let total = 0;
  for (const run of runs) {
    const value = pick(run);
    if (value === null || value === undefined) return null;
    total += value * run.requests;
  }
  return total / calls;
}

const WIRE_FIGURES = ['requestBytesPerCall', 'responseBytesPerCall', 'requestHeaderBytesPerCall', 'responseHeaderBytesPerCall'] as const;

function weightedWire(runs: RunRecord[]): WireBytesPerCall {
  const base = runs[0]!.wire;
  const wire: WireBytesPerCall = { ...base };
  for (const figure of WIRE_FIGURES) wire[figure] = roundOrNull(weighted(runs, (run) => run.wire[figure]));
  if (base.driverReport) {
    const report: DriverWireReport = { ...base.driverReport };
    for (const figure of [...WIRE_FIGURES, 'headerSpaceSavingsPercent'] as const) report[figure] = roundOrNull(weighted(runs, (run) => run.wire.driverReport?.[figure]));
    wire.driverReport = report;
  }
  return wire;
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value, 2);
}

