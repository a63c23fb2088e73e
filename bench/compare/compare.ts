/**
 * Noise-aware comparison of two runs (base → head). Rows are matched by
 * scenario + protocol + driver; each metric compares the MEDIAN of the trials,
 * and a change is real only when it is larger than both
 *   - the threshold (default 10%), and
 *   - the trials' combined spread: (half min–max range of base + half range of
 *     head) / base median. Put differently, the bands "median ± half range" of
 *     base and head must not touch;
 * and the min–max ranges of the trials do not overlap.
 * With a single trial on either side there is no spread to go by: the
 * threshold alone decides and the row says "1 trial, no spread".
 * An exact Mann–Whitney p-value on the trial values is reported beside it
 * (with 3 vs 3 trials its floor is 0.1, so it is shown, not used as a gate).
 */
import { proxyLabel } from '../results/place-suffix.ts';
import type { Environment, ResultsFile, RunRecord } from '../results/record.ts';
import type { Protocol } from '../types.ts';
import { scenarioLabel } from './labels.ts';
import { halfRange, mannWhitneyP, median, rangesOverlap } from './stats.ts';

export const DEFAULT_THRESHOLD = 0.1;

export type MetricKey = 'rps' | 'p50' | 'p99' | 'bytes';
export const METRIC_KEYS: readonly MetricKey[] = ['rps', 'p50', 'p99', 'bytes'];

export interface MetricDef {
  key: MetricKey;
  label: string;
  better: 'higher' | 'lower';
  value(run: RunRecord): number | null;
  /** Several measurements one run holds (a --slo row's repeated searches), each compared like a trial; absent: value(). */
  samples?(run: RunRecord): Array<number | null> | undefined;
}

/** A --slo row's calls/s is its capacity answer, one per repeated search (not its confirmation run's calls/s). */
function capacityAnswers(run: RunRecord): Array<number | null> | undefined {
  if (!run.capacity) return undefined;
  return run.capacity.searches?.map((search) => search.rps) ?? [run.capacity.rps];
}

/** Wire bytes per call, request + response (headers, framing and body), or null when not counted. */
export function wireBytesPerCall(run: RunRecord): number | null {
  const { requestBytesPerCall: req, responseBytesPerCall: res } = run.wire;
  return req === null || res === null ? null : req + res;
}

export const METRICS: Readonly<Record<MetricKey, MetricDef>> = {
  rps: { key: 'rps', label: 'calls/s', better: 'higher', value: (run) => run.rps, samples: capacityAnswers },
  p50: { key: 'p50', label: 'p50', better: 'lower', value: (run) => run.latencyMs?.p50 ?? null },
  p99: { key: 'p99', label: 'p99', better: 'lower', value: (run) => run.latencyMs?.p99 ?? null },
  bytes: { key: 'bytes', label: 'bytes/call', better: 'lower', value: wireBytesPerCall },
};

export type MetricVerdict = 'improvement' | 'regression' | 'within noise' | 'no data';
export type RowVerdict = MetricVerdict | 'failed' | 'missing in head' | 'new in head';

export interface MetricComparison {
  metric: MetricKey;
  base: number[];
  head: number[];
  baseMedian: number | null;
  headMedian: number | null;
  /** (head median − base median) / base median; null without data. */
  change: number | null;
  /** Combined spread relative to the base median; null with a single trial on either side. */
  noise: number | null;
  /** Exact Mann–Whitney two-sided p on the trial values; null with a single trial on either side. */
  p: number | null;
  verdict: MetricVerdict;
}

export interface RowComparison {
  scenario: string;
  protocol: Protocol;
  driver: string;
  label: string;
  /** What tells the row apart beyond scenario, protocol and driver: "NDJSON", "fastify, TLS", "via nginx l7 x2", "@lan"; '' when nothing. */
  subject: string;
  /** Completed trials on each side. */
  trials: { base: number; head: number };
  metrics: MetricComparison[];
  verdict: RowVerdict;
  /** Metrics that regressed or improved, for the verdict column. */
  because: MetricKey[];
  notes: string[];
}

export interface EnvironmentDiff {
  /** Same CPU model and CPU count: figures are comparable. */
  sameMachine: boolean;
  /** Human-readable differences (machine first, then software and options). */
  differences: string[];
}

export interface Comparison {
  threshold: number;
  metrics: MetricKey[];
  environment: EnvironmentDiff;
  rows: RowComparison[];
  regressions: number;
  improvements: number;
}

export interface CompareOptions {
  threshold?: number;
  /** Metrics that decide a row's verdict (all four by default). */
  metrics?: readonly MetricKey[];
}

interface Group {
  scenario: string;
  protocol: Protocol;
  driver: string;
  completed: RunRecord[];
  failed: RunRecord[];
}

/**
 * A row's identity: scenario, subject (protocol, stream transport, contender),
 * driver and place (network condition, TLS, proxy, replicas, balance). A
 * dimension at its default adds nothing, so the keys of older runs and
 * baselines (the calculator's unary rows, direct and cleartext) stay as they were.
 */
export function rowKey(run: Pick<RunRecord, 'scenario' | 'protocol' | 'driver' | 'network' | 'transport' | 'contender' | 'place' | 'tls'>): string {
  const parts = [run.scenario, run.protocol, run.driver];
  if (run.network) parts.push(run.network.name);
  const extra: string[] = [];
  if (run.transport) extra.push(`transport=${run.transport}`);
  if (run.contender) extra.push(`contender=${run.contender.name}`);
  // Files before schema 4 say TLS only in the connection-cost record.
  if (run.place?.tls ?? run.tls?.enabled ?? false) extra.push('tls');
  if (run.place?.proxy) extra.push(`proxy=${run.place.proxy}`);
  if (run.place?.replicas) extra.push(`replicas=${run.place.replicas}`);
  if (run.place?.balance) extra.push(`balance=${run.place.balance}`);
  return [...parts, ...extra].join('\u0000');
}

/** Rows of one run grouped by scenario + protocol + driver, trials together, in first-seen order. */
export function groupRuns(runs: readonly RunRecord[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const run of runs) {
    const key = rowKey(run);
    let group = groups.get(key);
    if (!group) {
      group = { scenario: run.scenario, protocol: run.protocol, driver: run.driver, completed: [], failed: [] };
      groups.set(key, group);
    }
    (run.status === 'completed' ? group.completed : group.failed).push(run);
  }
  return groups;
}

/** What tells rows of one scenario apart beyond protocol and driver: ", NDJSON", ", fastify", ", TLS". */
function subjectSuffix(run: RunRecord): string {
  return subjectParts(run, false).map((part) => `, ${part}`).join('');
}

/** The row key's dimensions beyond scenario, protocol and driver, in words: transport, contender, TLS (and with `where`, proxy and network). */
function subjectParts(run: RunRecord, where = true): string[] {
  const place = run.place;
  const via = proxyLabel(run);
  const proxy = via === null ? null : `via ${via}`;
  const parts = [
    run.transport && run.transport !== 'grpc' ? run.transport : null,
    run.contender?.name ?? null,
    (place?.tls ?? run.tls?.enabled) ? 'TLS' : null,
    where ? proxy : null,
    where && run.network ? `@${run.network.name}` : null,
  ];
  return parts.filter((part): part is string => part !== null);
}

export function compareMetric(def: MetricDef, base: readonly RunRecord[], head: readonly RunRecord[], threshold: number): MetricComparison {
  const values = (runs: readonly RunRecord[]) =>
    runs.flatMap((run) => def.samples?.(run) ?? [def.value(run)]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const b = values(base);
  const h = values(head);
  const result: MetricComparison = {
    metric: def.key,
    base: b,
    head: h,
    baseMedian: b.length ? median(b) : null,
    headMedian: h.length ? median(h) : null,
    change: null,
    noise: null,
    p: null,
    verdict: 'no data',
  };
  if (result.baseMedian === null || result.headMedian === null) return result;
  const baseMedian = result.baseMedian;
  const diff = result.headMedian - baseMedian;
  result.change = diff === 0 ? 0 : baseMedian === 0 ? Math.sign(diff) * Infinity : diff / Math.abs(baseMedian);
  const spread = b.length >= 2 && h.length >= 2;
  if (spread) {
    result.noise = baseMedian === 0 ? (halfRange(b) + halfRange(h) === 0 ? 0 : Infinity) : (halfRange(b) + halfRange(h)) / Math.abs(baseMedian);
    result.p = mannWhitneyP(b, h);
  }
  const size = Math.abs(result.change);
  // A skewed side's band (two trials close together, one far off) leaves out its own far trial, so the
  // bands can miss each other while the trials interleave: measured p99 base [28, 21, 18] ms vs head
  // [37, 36, 18] ms cleared the bands. A head trial inside base's range does not establish a change.
  const real = size >= threshold && (result.noise === null || (size > result.noise && !rangesOverlap(b, h)));
  if (!real) {
    result.verdict = 'within noise';
  } else {
    const better = def.better === 'higher' ? result.change > 0 : result.change < 0;
    result.verdict = better ? 'improvement' : 'regression';
  }
  return result;
}

export function compareResults(base: ResultsFile, head: ResultsFile, options: CompareOptions = {}): Comparison {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const deciding = [...(options.metrics ?? METRIC_KEYS)];
  const baseGroups = groupRuns(base.runs);
  const headGroups = groupRuns(head.runs);
  const rows: RowComparison[] = [];

  const keys = [...baseGroups.keys()];
  for (const key of headGroups.keys()) if (!baseGroups.has(key)) keys.push(key);

  for (const key of keys) {
    const b = baseGroups.get(key);
    const h = headGroups.get(key);
    const any = (h ?? b)!;
    const sample = any.completed[0] ?? any.failed[0]!;
    const row: RowComparison = {
      scenario: any.scenario,
      protocol: any.protocol,
      driver: any.driver,
      label: scenarioLabel(sample) + subjectSuffix(sample),
      subject: subjectParts(sample).join(', '),
      trials: { base: b?.completed.length ?? 0, head: h?.completed.length ?? 0 },
      metrics: [],
      verdict: 'within noise',
      because: [],
      notes: [],
    };
    rows.push(row);
    if (!h) {
      row.verdict = 'missing in head';
      continue;
    }
    if (!b) {
      row.verdict = 'new in head';
      continue;
    }
    row.metrics = METRIC_KEYS.map((metric) => compareMetric(METRICS[metric], b.completed, h.completed, threshold));
    if (h.failed.length > 0) {
      row.verdict = 'failed';
      row.notes.push(`${h.failed.length} head trial(s) failed: ${h.failed[0]!.failure ?? 'no reason recorded'}`);
    } else {
      const decisive = row.metrics.filter((m) => deciding.includes(m.metric));
      const regressed = decisive.filter((m) => m.verdict === 'regression');
      const improved = decisive.filter((m) => m.verdict === 'improvement');
      if (regressed.length > 0) {
        row.verdict = 'regression';
        row.because = regressed.map((m) => m.metric);
      } else if (improved.length > 0) {
        row.verdict = 'improvement';
        row.because = improved.map((m) => m.metric);
      } else if (decisive.every((m) => m.verdict === 'no data')) {
        row.verdict = 'no data';
      }
    }
    if (b.failed.length > 0) row.notes.push(`${b.failed.length} base trial(s) failed`);
    const rps = row.metrics[0]!;
    if (rps.base.length < 2 || rps.head.length < 2) row.notes.push(b.completed.some((r) => r.capacity) ? '1 capacity search, no spread: threshold only (--slo-repeats)' : '1 trial, no spread: threshold only');
    if (b.completed.some((r) => r.client.bound) || h.completed.some((r) => r.client.bound)) {
      row.notes.push('load generator CPU-bound: the figures measure the client');
    }
  }

  return {
    threshold,
    metrics: deciding,
    environment: compareEnvironments(base.environment, head.environment),
    rows,
    regressions: rows.filter((r) => r.verdict === 'regression' || r.verdict === 'failed').length,
    improvements: rows.filter((r) => r.verdict === 'improvement').length,
  };
}

export function compareEnvironments(base: Environment, head: Environment): EnvironmentDiff {
  const differences: string[] = [];
  const sameMachine = base.cpuModel === head.cpuModel && base.cpuCount === head.cpuCount;
  if (base.cpuModel !== head.cpuModel) differences.push(`CPU model "${base.cpuModel}" vs "${head.cpuModel}"`);
  if (base.cpuCount !== head.cpuCount) differences.push(`${base.cpuCount} vs ${head.cpuCount} CPUs`);
  if (base.node !== head.node) differences.push(`Node ${base.node} vs ${head.node}`);
  if (base.os !== head.os) differences.push(`OS ${base.os} vs ${head.os}`);
  if ((base.pinning === null) !== (head.pinning === null)) {
    differences.push(`CPU pinning ${base.pinning ? 'on' : 'off'} vs ${head.pinning ? 'on' : 'off'}`);
  }
  for (const option of ['profile', 'durationS', 'warmupS', 'shape']) {
    const a = base.options?.[option];
    const b = head.options?.[option];
    if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
      differences.push(`${option} ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
  return { sameMachine, differences };
}

/**
 * Whether a comparison should fail a build: a regression (or failed head
 * trial) was found, and either the two runs come from the same machine or
 * failing across machines was asked for. Figures from different CPUs differ
 * for reasons that are not the code, so by default they only warn.
 */
export function shouldFail(comparison: Comparison, options: { failOnRegression: boolean; acrossMachines?: boolean }): boolean {
  if (!options.failOnRegression || comparison.regressions === 0) return false;
  return comparison.environment.sameMachine || options.acrossMachines === true;
}

/** The line a report adds under its comparison when regressions were found: failing, or why not. */
export function failureNote(regressions: number, failOnRegression: boolean, fail: boolean): string {
  if (regressions === 0 || !failOnRegression) return '';
  if (fail) return `\n**Failing: ${regressions} regression(s).**\n`;
  return `\nNot failing despite ${regressions} regression(s): the runs come from different machines (pass --fail-across-machines to fail anyway).\n`;
}
