/**
 * The report's charts: Vega-Lite specs built from a results file, compiled
 * with vega-lite and rendered to SVG in Node by vega's headless View (no
 * browser, no network). The same SVGs go inline into report.html and into
 * <run>/charts/*.svg, which report.md links so they show on GitHub.
 *
 * Charts (a chart without data in the run is left out):
 *   throughput           calls/s against concurrency, median of trials, min–max bar
 *   p99                  p99 latency against concurrency, likewise
 *   latency-percentiles  HDR-style curve per scenario: latency against percentile
 *                        on a "nines" axis (50, 90, 99, 99.9 ...), one line per trial
 *   bytes-per-call       bytes per call against values per sum call: wire (counted
 *                        on the socket) and body (message encoding alone)
 *   capacity             --slo: latency against offered rate per scenario, the objective
 *                        as a line (bench/report/capacity.ts)
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { wireBytesPerCall } from '../compare/compare.ts';
import { PROTOCOL_LABEL, scenarioLabel, workloadLabel } from '../compare/labels.ts';
import { max, median, min } from '../compare/stats.ts';
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { writeFileAtomic } from '../results/write.ts';
import { hasNetworks } from './network.ts';
import { networkRatios } from './network-sweep.ts';
import { capacityChart } from './capacity.ts';
import type { LegendEntry, RenderedChart } from './rendered-chart.ts';

export type { LegendEntry, RenderedChart } from './rendered-chart.ts';

/**
 * Optional, compatible extension of RunRecord: the full percentile
 * distribution from the HDR histogram. When a record has it, the latency curve
 * uses it; otherwise the curve is drawn from the summary (p50, p90, p99,
 * p99.9, max).
 */
export interface ChartSpec {
  /** File stem: charts/<id>.svg. */
  id: string;
  title: string;
  /** One or two sentences on how to read the chart (shown under it in the HTML report). */
  description: string;
  spec: TopLevelSpec;
  /**
   * A chart of many panels (one per scenario) also comes as one spec per
   * panel, without legend: report.html lays those out in a grid that wraps to
   * the page's width, with `legend` under it. The faceted `spec` (a fixed number
   * of columns) is the file report.md links.
   */
  panels?: Array<{ title: string; spec: TopLevelSpec }>;
  legend?: LegendEntry[];
}


export const CHARTS_DIR = 'charts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const PANEL = { width: 270, height: 190 };
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eee' },
  header: { labelFontSize: 12, labelFontWeight: 'bold' as const },
  legend: { orient: 'bottom' as const, labelLimit: 300, titleLimit: 300 },
  title: { fontSize: 15, anchor: 'start' as const },
};

/** "gRPC · grpc-engine": one colour per protocol and load generator. */
function series(run: RunRecord): string {
  return `${PROTOCOL_LABEL[run.protocol]} · ${run.driver}`;
}

function seriesDomain(runs: readonly RunRecord[]): string[] {
  const names = [...new Set(runs.map(series))];
  return names.sort((a, b) => (a.startsWith('gRPC') === b.startsWith('gRPC') ? a.localeCompare(b) : a.startsWith('gRPC') ? -1 : 1));
}

/** gRPC in blues, REST in oranges, so the protocol reads at a glance even with several drivers. */
function seriesColors(domain: readonly string[]): string[] {
  const blues = ['#1f77b4', '#6baed6', '#08519c', '#9ecae1'];
  const oranges = ['#ff7f0e', '#fdae6b', '#a63603', '#fd8d3c'];
  let b = 0;
  let o = 0;
  return domain.map((name) => (name.startsWith('gRPC') ? blues[b++ % blues.length]! : oranges[o++ % oranges.length]!));
}

function colorEncoding(runs: readonly RunRecord[]) {
  const domain = seriesDomain(runs);
  return { field: 'series', type: 'nominal' as const, title: 'protocol · load generator', scale: { domain, range: seriesColors(domain) } };
}

/** −log10(1 − p): 50% → 0.3, 90% → 1, 99% → 2, 99.9% → 3. */
export function nines(percentile: number): number {
  return -Math.log10(1 - percentile / 100);
}

/** The points of one record's latency curve, from the full distribution when present, else the summary. */
export function latencyCurve(run: RunRecord): Array<{ percentile: number; ms: number }> {
  const points: Array<{ percentile: number; ms: number }> = [];
  if (run.latencyPercentilesMs && run.latencyPercentilesMs.length > 0) {
    for (const p of run.latencyPercentilesMs) {
      if (p.percentile > 0 && p.percentile < 100 && Number.isFinite(p.ms)) points.push({ percentile: p.percentile, ms: p.ms });
    }
  } else if (run.latencyMs) {
    const l = run.latencyMs;
    points.push({ percentile: 50, ms: l.p50 }, { percentile: 90, ms: l.p90 }, { percentile: 99, ms: l.p99 }, { percentile: 99.9, ms: l.p999 });
  }
  // The slowest call sits at about percentile 100·(1 − 1/calls) of the run.
  if (run.latencyMs && run.requests > 1) {
    const top = 100 * (1 - 1 / run.requests);
    if (points.every((p) => p.percentile < top)) points.push({ percentile: top, ms: run.latencyMs.max });
  }
  return points.sort((a, b) => a.percentile - b.percentile);
}

function completed(results: ResultsFile): RunRecord[] {
  return results.runs.filter((r) => r.status === 'completed');
}

/** Stable panel order: as first seen in the file (the runner's matrix order). */
function firstSeen(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export function latencyChart(results: ResultsFile): ChartSpec | null {
  const runs = completed(results).filter((r) => r.latencyMs !== null);
  const rows = runs.flatMap((run) =>
    latencyCurve(run).map((p) => ({
      scenario: scenarioLabel(run),
      series: series(run),
      trial: run.trial,
      percentile: p.percentile,
      nines: nines(p.percentile),
      ms: Math.max(p.ms, 0.001),
    })),
  );
  if (rows.length === 0) return null;
  // Axis end just past the slowest call; ticks at 90%, 99%, 99.9% ... up to it.
  const topNines = Math.max(3, Math.max(...rows.map((r) => r.nines)) + 0.15);
  const ticks = [nines(50), ...Array.from({ length: Math.floor(topNines) }, (_, i) => i + 1)];
  const hasFull = runs.some((r) => r.latencyPercentilesMs?.length);
  const color = colorEncoding(runs);
  const panel = (legend: boolean) => ({
    width: 300,
    height: PANEL.height,
    mark: { type: 'line' as const, point: { size: 25 }, strokeWidth: 1.5, opacity: 0.85 },
    encoding: {
      x: {
        field: 'nines',
        type: 'quantitative' as const,
        title: 'percentile',
        scale: { domain: [0, topNines], nice: false },
        axis: { values: ticks, labelOverlap: false, labelFontSize: 10, labelExpr: "format(100 - 100 * pow(10, -datum.value), '.6~f') + '%'", grid: true },
      },
      y: { field: 'ms', type: 'quantitative' as const, title: 'latency (ms)', scale: { type: 'log' as const } },
      color: legend ? color : { ...color, legend: null },
      detail: { field: 'trial', type: 'ordinal' as const },
    },
  });
  const scenarios = firstSeen(rows.map((r) => r.scenario));
  return {
    id: 'latency-percentiles',
    title: 'Latency by percentile',
    description:
      'One panel per scenario, one line per protocol and trial. Read a point as "this share of calls finished within this time": the x axis is spaced by nines (50%, 90%, 99%, 99.9% …), the y axis is logarithmic. The last point of each line is the slowest call. ' +
      (hasFull
        ? 'Curves come from the full HDR histogram.'
        : 'Curves join the recorded summary points (p50, p90, p99, p99.9, max), so they are straight between those.'),
    spec: {
      $schema: SCHEMA,
      title: 'Latency by percentile (ms, log scale)',
      data: { values: rows },
      facet: { field: 'scenario', type: 'nominal', title: null, sort: scenarios },
      columns: 3,
      resolve: { scale: { y: 'independent' } },
      spec: panel(true),
      config: CONFIG,
    } as TopLevelSpec,
    panels: scenarios.map((scenario) => ({
      title: scenario,
      spec: {
        $schema: SCHEMA,
        title: { text: scenario, fontSize: 12, anchor: 'middle' },
        data: { values: rows.filter((r) => r.scenario === scenario) },
        ...panel(false),
        config: CONFIG,
      } as TopLevelSpec,
    })),
    legend: color.scale.domain.map((label, i) => ({ label, color: color.scale.range[i]! })),
  };
}

interface Aggregate {
  workload: string;
  series: string;
  concurrency: number;
  median: number;
  low: number;
  high: number;
  trials: number;
  bound: string;
}

function aggregateByConcurrency(runs: readonly RunRecord[], value: (r: RunRecord) => number | null): Aggregate[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${workloadLabel(run)}|${series(run)}|${run.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const out: Aggregate[] = [];
  for (const group of groups.values()) {
    const values = group.map(value).filter((v): v is number => v !== null && Number.isFinite(v));
    if (values.length === 0) continue;
    out.push({
      workload: workloadLabel(group[0]!),
      series: series(group[0]!),
      concurrency: group[0]!.concurrency,
      median: median(values),
      low: min(values),
      high: max(values),
      trials: values.length,
      bound: group.some((r) => r.client.bound) ? 'load generator CPU-bound' : 'ok',
    });
  }
  return out;
}

function concurrencyChart(
  results: ResultsFile,
  options: { id: string; title: string; description: string; yTitle: string; logY: boolean; value: (r: RunRecord) => number | null },
): ChartSpec | null {
  const runs = completed(results).filter((r) => r.rate === null);
  let rows = aggregateByConcurrency(runs, options.value);
  if (rows.length === 0) return null;
  // Panels with a single concurrency are a lone point; show only swept workloads when there are any.
  const levels = new Map<string, Set<number>>();
  for (const row of rows) levels.set(row.workload, (levels.get(row.workload) ?? new Set()).add(row.concurrency));
  const swept = rows.filter((row) => levels.get(row.workload)!.size > 1);
  if (swept.length > 0) rows = swept;
  const x = {
    field: 'concurrency',
    type: 'quantitative' as const,
    title: 'calls in flight (log scale)',
    scale: { type: 'log' as const, base: 2 },
    axis: { values: [...new Set(rows.map((r) => r.concurrency))].sort((a, b) => a - b), format: 'd' },
  };
  const y = { type: 'quantitative' as const, title: options.yTitle, scale: options.logY ? { type: 'log' as const } : { zero: true } };
  return {
    id: options.id,
    title: options.title,
    description: options.description,
    spec: {
      $schema: SCHEMA,
      title: options.title,
      data: { values: rows },
      facet: { field: 'workload', type: 'nominal', title: null, sort: firstSeen(rows.map((r) => r.workload)) },
      columns: 3,
      resolve: { scale: { y: 'independent' } },
      spec: {
        ...PANEL,
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 },
            encoding: { x, y: { ...y, field: 'low' }, y2: { field: 'high' }, color: colorEncoding(runs) },
          },
          {
            mark: { type: 'line', point: { size: 45, filled: true }, strokeWidth: 2 },
            encoding: {
              x,
              y: { ...y, field: 'median' },
              color: colorEncoding(runs),
              shape: {
                field: 'bound',
                type: 'nominal',
                title: 'load generator',
                scale: { domain: ['ok', 'load generator CPU-bound'], range: ['circle', 'triangle-up'] },
              },
            },
          },
        ],
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

export function throughputChart(results: ResultsFile): ChartSpec | null {
  return concurrencyChart(results, {
    id: 'throughput',
    title: 'Throughput against concurrency',
    description:
      'Calls per second (median of the trials; the vertical bar spans the slowest to the fastest trial) against calls in flight, one panel per workload. A triangle marks a point where the load generator was CPU-bound: there the chart measures the client, not the server or the protocol.',
    yTitle: 'calls/s',
    logY: false,
    value: (r) => r.rps,
  });
}

export function p99Chart(results: ResultsFile): ChartSpec | null {
  return concurrencyChart(results, {
    id: 'p99',
    title: 'p99 latency against concurrency',
    description:
      '99th-percentile latency (median of the trials, bar = min–max across trials, log scale) against calls in flight. A p99 that climbs while throughput stays flat is queueing.',
    yTitle: 'p99 latency (ms, log scale)',
    logY: true,
    value: (r) => r.latencyMs?.p99 ?? null,
  });
}

const WIRE = 'wire: headers + framing + body';
const BODY = 'body only (message encoding)';

export function bytesChart(results: ResultsFile): ChartSpec | null {
  const runs = completed(results).filter((r) => r.operation === 'sum' && r.payloadValues !== null);
  const groups = new Map<string, { series: string; values: number; kind: string; bytes: number[] }>();
  const add = (run: RunRecord, kind: string, bytes: number | null) => {
    if (bytes === null || !Number.isFinite(bytes)) return;
    const key = `${series(run)}|${run.payloadValues}|${kind}`;
    const group = groups.get(key) ?? { series: series(run), values: run.payloadValues!, kind, bytes: [] };
    group.bytes.push(bytes);
    groups.set(key, group);
  };
  for (const run of runs) {
    add(run, WIRE, wireBytesPerCall(run));
    add(run, BODY, run.body.requestBytes + run.body.responseBytes);
  }
  const rows = [...groups.values()].map((g) => ({ series: g.series, values: g.values, kind: g.kind, bytes: median(g.bytes) }));
  if (rows.length === 0) return null;
  return {
    id: 'bytes-per-call',
    title: 'Bytes per call against payload size',
    description:
      'Request + response bytes of one Sum call against the number of values it carries (both axes log scale). Solid: bytes counted on the socket (HTTP headers, HTTP/2 and gRPC framing, body); dashed: the message bodies alone (JSON text vs protobuf). The gap between the two is per-call overhead.',
    spec: {
      $schema: SCHEMA,
      title: 'Bytes per call (request + response) against values per sum call',
      data: { values: rows },
      width: 420,
      height: 260,
      mark: { type: 'line', point: { size: 45, filled: true }, strokeWidth: 2 },
      encoding: {
        x: {
          field: 'values',
          type: 'quantitative',
          title: 'values per sum call (log scale)',
          scale: { type: 'log' },
          axis: { values: [...new Set(rows.map((r) => r.values))].sort((a, b) => a - b), format: ',d' },
        },
        y: { field: 'bytes', type: 'quantitative', title: 'bytes per call (log scale)', scale: { type: 'log' }, axis: { format: '~s' } },
        color: colorEncoding(runs),
        strokeDash: {
          field: 'kind',
          type: 'nominal',
          title: 'counted',
          scale: { domain: [WIRE, BODY], range: [[1, 0], [5, 3]] },
          legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, encode: { symbols: { update: { stroke: { value: '#444' } } } } },
        },
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** Every chart the run has data for, in report order. */
/**
 * With --network the concurrency charts would mix conditions: the charts are
 * then gRPC/REST calls/s against the link's RTT and against its loss, one line
 * per scenario (bench/report/network-sweep.ts computes the ratios).
 */
export function networkCharts(results: ResultsFile): ChartSpec[] {
  const ratios = networkRatios(results);
  if (ratios.length === 0) return [];
  const rows = ratios.map((r) => ({ scenario: `${r.label}${r.tls ? ' TLS' : ''}`, network: r.network, rtt: r.rttMs, loss: r.lossPercent, ratio: r.grpcOverRest, low: r.low, high: r.high }));
  const chart = (id: string, field: 'rtt' | 'loss', title: string, xTitle: string): ChartSpec => {
    const xEnc = { field, type: 'quantitative' as const, title: xTitle, scale: field === 'rtt' ? { type: 'symlog' as const } : { zero: true } };
    const yEnc = { type: 'quantitative' as const, title: 'gRPC / REST calls/s (log scale; above 1: gRPC wins)', scale: { type: 'log' as const } };
    const color = { field: 'scenario', type: 'nominal' as const, title: null, sort: firstSeen(rows.map((r) => r.scenario)) };
    return {
      id,
      title,
      description: `gRPC/REST calls/s (median of the trials; bar = min–max of the per-trial ratios) under each network condition against its ${field === 'rtt' ? 'measured RTT' : 'packet loss'}; the grey line is 1 (a tie). Points are labelled with the condition.`,
      spec: {
        $schema: SCHEMA,
        title,
        data: { values: rows },
        width: 560,
        height: 300,
        layer: [
          { mark: { type: 'rule', color: '#999', strokeDash: [4, 4] }, encoding: { y: { datum: 1, type: 'quantitative' } } },
          { mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 }, encoding: { x: xEnc, y: { ...yEnc, field: 'low' }, y2: { field: 'high' }, color } },
          { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: xEnc, y: { ...yEnc, field: 'ratio' }, color, tooltip: [{ field: 'network' }, { field: 'ratio', format: '.2f' }] } },
          { mark: { type: 'text', dx: 6, align: 'left', fontSize: 9 }, encoding: { x: xEnc, y: { ...yEnc, field: 'ratio' }, text: { field: 'network' }, color } },
        ],
        config: CONFIG,
      } as TopLevelSpec,
    };
  };
  return [chart('network-rtt', 'rtt', 'gRPC / REST against network RTT', 'measured RTT (ms, symlog scale)'), chart('network-loss', 'loss', 'gRPC / REST against packet loss', 'packet loss each way (%)')];
}

export function chartSpecs(results: ResultsFile): ChartSpec[] {
  if (hasNetworks(results)) return networkCharts(results);
  return [capacityChart(results), throughputChart(results), p99Chart(results), latencyChart(results), bytesChart(results)].filter(
    (c): c is ChartSpec => c !== null,
  );
}

/**
 * Vega-Lite → Vega → headless View → SVG text. vega and vega-lite are loaded
 * here, on first use: importing them takes seconds, which a bench that fails
 * its setup (or prints --help) should not wait for.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderCharts(results: ResultsFile): Promise<RenderedChart[]> {
  const out: RenderedChart[] = [];
  for (const chart of chartSpecs(results)) {
    const { spec, panels, ...meta } = chart;
    const rendered: RenderedChart = { ...meta, file: `${CHARTS_DIR}/${chart.id}.svg`, svg: await renderSvg(spec) };
    if (panels) rendered.panels = await Promise.all(panels.map(async (p) => ({ title: p.title, svg: await renderSvg(p.spec) })));
    out.push(rendered);
  }
  return out;
}

/**
 * Writes already rendered charts to <runDir>/charts/ (each to a temporary name,
 * then renamed: a re-render over an existing run never leaves half an SVG);
 * returns their paths relative to runDir.
 */
export async function saveCharts(runDir: string, charts: readonly RenderedChart[]): Promise<string[]> {
  await mkdir(path.join(runDir, CHARTS_DIR), { recursive: true });
  for (const chart of charts) writeFileAtomic(path.join(runDir, chart.file), `${chart.svg}\n`);
  return charts.map((c) => c.file);
}

/** Renders the run's charts to <runDir>/charts/*.svg; returns their paths relative to runDir. */
export async function writeCharts(runDir: string, results: ResultsFile): Promise<string[]> {
  return saveCharts(runDir, await renderCharts(results));
}
