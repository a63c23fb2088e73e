/**
 * The capacity view of a --slo run (bench/run/capacity.ts): per scenario, the
 * highest rate each protocol sustained within the objective, per server core,
 * and their ratio; the "in short" sentences; and the chart of latency against
 * offered rate with the objective drawn as a line (the knee is the answer).
 */
import type { TopLevelSpec } from 'vega-lite';
import { DEFAULT_SLO_ERRORS_PERCENT, describeSlo, parseSlo, percentileKey, type Slo } from '../options/slo.ts';
import type { CapacityRecord, ResultsFile, RunRecord } from '../results/record.ts';
import type { Protocol } from '../types.ts';
import { htmlList, htmlPre } from './html-parts.ts';
import { section } from './section.ts';
import { compact, fixed, integer, PROTOCOL_LABEL, ratio, workloadLabel } from '../compare/labels.ts';

type Searched = RunRecord & { capacity: CapacityRecord };

export function hasCapacity(results: ResultsFile): boolean {
  return results.runs.some((run) => run.capacity !== undefined);
}

function searched(results: ResultsFile): Searched[] {
  return results.runs.filter((run): run is Searched => run.capacity !== undefined);
}

interface CapacityRow {
  /** The scenario, and for a stream scenario the REST transport its gRPC stream is set against ("running-sum/c8 ndjson"). */
  scenario: string;
  sample: Searched;
  cells: Partial<Record<Protocol, Searched>>;
}

/** A stream row's REST transport ("ndjson"), null for a call row or gRPC. */
function restTransport(run: RunRecord): string | null {
  return run.unit === 'message' && run.protocol === 'rest' && run.transport ? run.transport : null;
}

/** What a row's rate counts: calls, or a stream row's messages. */
function unitOf(run: RunRecord): string {
  return run.unit === 'message' ? 'messages/s' : 'calls/s';
}

/**
 * One row per scenario, gRPC beside REST; a stream scenario (--slo on
 * running-sum) has one row per REST transport, each beside the gRPC stream.
 */
function rows(results: ResultsFile): CapacityRow[] {
  const byKey = new Map<string, CapacityRow>();
  const runs = searched(results);
  for (const run of runs) {
    // gRPC goes beside each REST row of its scenario (one for calls, one per transport for a stream), or alone.
    const beside = [...new Set(runs.filter((r) => r.scenario === run.scenario && r.protocol === 'rest').map(restTransport))];
    const transports = run.protocol === 'grpc' ? (beside.length > 0 ? beside : [null]) : [restTransport(run)];
    for (const transport of transports) {
      const key = transport === null ? run.scenario : `${run.scenario} ${transport}`;
      const row = byKey.get(key) ?? { scenario: key, sample: run, cells: {} };
      row.cells[run.protocol] ??= run;
      byKey.set(key, row);
    }
  }
  return [...byKey.values()];
}

/** The figure a cell compares: per server core when both protocols have it, else calls/s. */
function comparedFigure(row: CapacityRow): 'rpsPerServerCore' | 'rps' {
  const g = row.cells.grpc?.capacity;
  const r = row.cells.rest?.capacity;
  return g?.rpsPerServerCore != null && r?.rpsPerServerCore != null ? 'rpsPerServerCore' : 'rps';
}

/**
 * gRPC / REST of the compared figure, and which way it may be off: a
 * generator-bound capacity is a lower bound, so a bound gRPC makes the ratio
 * "at least", a bound REST "at most"; both bound, unknown.
 */
export function capacityRatio(row: CapacityRow): { value: number; qualifier: '' | '≥' | '≤' } | null {
  const figure = comparedFigure(row);
  const g = row.cells.grpc?.capacity;
  const r = row.cells.rest?.capacity;
  const gv = g?.[figure];
  const rv = r?.[figure];
  if (gv == null || rv == null || rv === 0) return null;
  if (g!.loadGeneratorBound && r!.loadGeneratorBound) return null;
  return { value: gv / rv, qualifier: g!.loadGeneratorBound ? '≥' : r!.loadGeneratorBound ? '≤' : '' };
}

function figureCell(capacity: CapacityRecord | undefined, value: number | null | undefined): string {
  if (!capacity) return '-';
  if (capacity.rps === null) return 'none';
  if (value === null || value === undefined) return '-';
  return `${capacity.loadGeneratorBound ? '≥' : ''}${compact(value)}`;
}

/** "(range 4280-4490)": the answer's spread (CapacityRecord.range); "-?" when nothing failed above it. Empty for older files. */
function rangeText(capacity: CapacityRecord, format: (value: number) => string): string {
  if (!capacity.range) return '';
  const { low, high } = capacity.range;
  return `(range ${format(low)}-${high === null ? '?' : format(high)})`;
}

/** The answer with its spread, as every output shows it: "4280 (range 4280-4490)". */
function answerCell(capacity: CapacityRecord | undefined): string {
  const figure = figureCell(capacity, capacity?.rps);
  if (!capacity || capacity.rps === null) return figure;
  const range = rangeText(capacity, compact);
  return range === '' ? figure : `${figure} ${range}`;
}

/** "4,280 calls/s (range 4,280-4,490)" (a stream row's: messages/s). */
export function capacityAnswer(capacity: CapacityRecord, unit = 'calls/s'): string {
  if (capacity.rps === null) return 'none';
  const range = rangeText(capacity, integer);
  return `${integer(capacity.rps)} ${unit}${range === '' ? '' : ` ${range}`}`;
}

/** The objective of the run's searches, parsed back from the records (one per run). */
function objective(results: ResultsFile): Slo | null {
  const text = searched(results)[0]?.capacity.slo;
  return text === undefined ? null : parseSlo(text);
}

/** Columns that open a group (three spaces before them; one inside a gRPC/REST pair). */
const GROUP_STARTS = new Set([1, 3, 5, 6, 8, 10, 12]);

/** "gRPC", "REST", or a stream row's transport: "REST ndjson". */
function subjectOf(run: RunRecord): string {
  const transport = restTransport(run);
  return transport === null ? PROTOCOL_LABEL[run.protocol] : `${PROTOCOL_LABEL[run.protocol]} ${transport}`;
}

export function renderCapacityTable(results: ResultsFile): string {
  const slo = objective(results);
  const table = rows(results);
  if (slo === null || table.length === 0) return '';
  const key = percentileKey(slo.latency[slo.latency.length - 1]!.percentile);
  const streams = table.some((row) => row.sample.unit === 'message');
  const header1 = ['scenario', streams ? 'calls or msgs/s at objective' : 'calls/s at objective', '', 'per server core', '', 'g/r', `${key} ms at it`, '', 'srv CPU %', '', 'steps', '', 'search s', ''];
  const header2 = ['', 'gRPC', 'REST', 'gRPC', 'REST', '', 'gRPC', 'REST', 'gRPC', 'REST', 'gRPC', 'REST', 'gRPC', 'REST'];
  const body = table.map((row) => {
    const g = row.cells.grpc?.capacity;
    const r = row.cells.rest?.capacity;
    const x = capacityRatio(row);
    const pair = (f: (c: CapacityRecord) => string): string[] => [g ? f(g) : '-', r ? f(r) : '-'];
    return [
      row.scenario,
      answerCell(g),
      answerCell(r),
      figureCell(g, g?.rpsPerServerCore),
      figureCell(r, r?.rpsPerServerCore),
      x === null ? '-' : `${x.qualifier}${x.value >= 10 ? x.value.toFixed(0) : x.value.toFixed(2)}x`,
      ...pair((c) => (c.latencyMs?.[key] == null ? '-' : fixed(c.latencyMs[key]!))),
      ...pair((c) => (c.serverCpuPercent === null ? '-' : c.serverCpuPercent.toFixed(0))),
      ...pair((c) => String(c.steps.length)),
      ...pair((c) => c.searchS.toFixed(0)),
    ];
  });
  const all = [header1, header2, ...body];
  const widths = header2.map((_, i) => Math.max(...all.map((line) => (line === header1 && header1[i + 1] === '' ? 0 : line[i]!.length))));
  // Group titles span their two columns.
  for (let i = 1; i < header1.length; i++) {
    if (header1[i] !== '' && header1[i + 1] === '') {
      const span = widths[i]! + widths[i + 1]! + 1;
      if (span < header1[i]!.length) widths[i + 1]! += header1[i]!.length - span;
    }
  }
  const render = (line: string[]): string => {
    let text = line[0]!.padEnd(widths[0]!);
    for (let i = 1; i < line.length; i++) {
      if (line === header1 && line[i] !== '' && line[i + 1] === '') {
        text += `   ${line[i]!.padStart(widths[i]! + widths[i + 1]! + 1)}`;
        i += 1;
        continue;
      }
      text += `${GROUP_STARTS.has(i) ? '   ' : ' '}${line[i]!.padStart(widths[i]!)}`;
    }
    return text.trimEnd();
  };
  const errors = slo.maxErrorsPercent === DEFAULT_SLO_ERRORS_PERCENT ? ` (errors ≤ ${slo.maxErrorsPercent}%)` : '';
  const lines = [`capacity at ${describeSlo(slo)}${errors}: the highest open-loop rate meeting it, confirmed by a longer run`];
  lines.push(render(header1), render(header2), '-'.repeat(render(header2).length + 4));
  lines.push(...body.map(render));
  lines.push('');
  lines.push(
    'per server core = calls/s / the cores the server used at that rate (its CPU %/100, at least one); g/r compares per core when both are known, else calls/s.',
  );
  lines.push('≥ = the load generator was CPU-bound at a step above: at least this much, load generator bound, not the server\'s figure.');
  lines.push(
    'range = the lowest answer to the highest rate that failed just above one (one search: the answer and the lowest failing rate above it; ? = none failed above).',
  );
  // One search's range is its own bracket (the answer to the lowest rate that failed above it): how far answers move
  // from search to search shows only with repeats.
  if (searched(results).every((run) => (run.capacity.searches ?? []).length < 2)) {
    lines.push('one search per row: its range is its bracket, not how far the answer moves between searches; --slo-repeats 5 shows that.');
  }
  for (const run of searched(results)) {
    const searches = run.capacity.searches ?? [];
    if (searches.length < 2) continue;
    const found = searches.flatMap((s) => (s.rps === null ? [] : [s.rps]));
    const spread = found.length === searches.length && Math.min(...found) > 0 ? `, largest/smallest ${(Math.max(...found) / Math.min(...found)).toFixed(2)}x` : '';
    lines.push(`searches: ${run.scenario} ${subjectOf(run)}: ${searches.map((s) => (s.rps === null ? 'none' : compact(s.rps))).join(', ')} (median ${run.capacity.rps === null ? 'none' : compact(run.capacity.rps)}${spread})`);
  }
  for (const run of searched(results)) {
    for (const note of run.capacity.notes) lines.push(`note: ${run.scenario} ${subjectOf(run)}: ${note}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One sentence per scenario: "at p99 ≤ 10 ms, gRPC sustains 2.4× the calls/s of REST per server core for add (64 in flight)". */
export function capacityHeadline(results: ResultsFile): string[] {
  const slo = objective(results);
  if (slo === null) return [];
  const at = `at ${describeSlo(slo)}`;
  return rows(results).map((row) => {
    const unit = unitOf(row.sample);
    const stream = row.sample.unit === 'message';
    const transport = row.cells.rest ? restTransport(row.cells.rest) : null;
    // A stream: "REST ndjson"; calls: "REST".
    const label = (protocol: Protocol): string => (protocol === 'rest' && transport !== null ? `REST ${transport}` : PROTOCOL_LABEL[protocol]);
    const what = stream ? `${row.sample.operation} (${integer(row.sample.concurrency)} streams)` : `${workloadLabel(row.sample)} (${integer(row.sample.concurrency)} in flight)`;
    const g = row.cells.grpc?.capacity;
    const r = row.cells.rest?.capacity;
    const alone = (protocol: Protocol, c: CapacityRecord): string =>
      c.rps === null
        ? `${label(protocol)} ${c.steps.some((s) => s.pass) ? 'met it at no rate its confirmation run held' : 'met it at no rate tried'}`
        : `${label(protocol)} sustains ${c.loadGeneratorBound ? 'at least ' : ''}${capacityAnswer(c, unit)}${c.loadGeneratorBound ? ' (load generator bound)' : ''}`;
    const x = capacityRatio(row);
    if (!g || !r || x === null) {
      const parts = (['grpc', 'rest'] as const).flatMap((p) => (row.cells[p] ? [alone(p, row.cells[p]!.capacity)] : []));
      const why = g?.loadGeneratorBound && r?.loadGeneratorBound ? ' (both load generator bound: no ratio)' : '';
      return `${at}, ${parts.join(', ')} for ${what}${why}`;
    }
    const perCore = comparedFigure(row) === 'rpsPerServerCore' ? ' per server core' : '';
    const [winner, loser, value] = x.value >= 1 ? ([label('grpc'), label('rest'), x.value] as const) : ([label('rest'), label('grpc'), 1 / x.value] as const);
    const qualifier = x.qualifier === '' ? '' : (x.qualifier === '≥') === (winner === 'gRPC') ? 'at least ' : 'at most ';
    const detail = `${label('grpc')} ${capacityAnswer(g, unit)}, ${label('rest')} ${capacityAnswer(r, unit)}${g.loadGeneratorBound || r.loadGeneratorBound ? ', load generator bound on one side' : ''}`;
    return `${at}, ${winner} sustains ${qualifier}${ratio(value)} the ${unit} of ${loser}${perCore} for ${what}: ${detail}`;
  });
}

/** Latency against offered rate, one panel per scenario, the objective's bound as a dashed line. */
export function capacityChart(results: ResultsFile): { id: string; title: string; description: string; spec: TopLevelSpec } | null {
  const slo = objective(results);
  const runs = searched(results);
  if (slo === null || runs.length === 0) return null;
  const bound = slo.latency[slo.latency.length - 1]!;
  const key = percentileKey(bound.percentile);
  const points = runs.flatMap((run) =>
    run.capacity.steps
      .filter((step) => step.rate !== null && step.latencyMs?.[key] !== undefined)
      .map((step) => ({
        scenario: run.scenario,
        protocol: PROTOCOL_LABEL[run.protocol],
        rate: step.rate!,
        latency: step.latencyMs![key]!,
        verdict: step.pass ? 'met the objective' : 'missed it',
        kind: 'step',
      })),
  );
  if (points.length === 0) return null;
  // The answers ride in the same data (a facet has one data source), told apart by kind.
  const answers = runs
    .filter((run) => run.capacity.rps !== null)
    .map((run) => ({ scenario: run.scenario, protocol: PROTOCOL_LABEL[run.protocol], rate: run.capacity.rps!, kind: 'answer' }));
  const steps = { filter: "datum.kind === 'step'" };
  const color = { field: 'protocol', type: 'nominal' as const, title: 'protocol', scale: { domain: ['gRPC', 'REST'], range: ['#1f77b4', '#ff7f0e'] } };
  const x = { field: 'rate', type: 'quantitative' as const, title: 'offered calls/s (open loop)' };
  return {
    id: 'capacity',
    title: `Latency against offered rate (${key})`,
    description:
      `Each point is one open-loop step of the capacity search: its ${key} latency (from each call's due time, log scale) against the calls/s offered. ` +
      `The dashed line is the objective (${key} ≤ ${bound.maxMs} ms); hollow points missed the objective. The vertical rule is each protocol's answer, where its curve crosses the line (the knee).`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: `${key} latency against offered rate, objective ${key} ≤ ${bound.maxMs} ms`,
      data: { values: [...points, ...answers] },
      facet: { field: 'scenario', type: 'nominal', title: null },
      columns: 2,
      resolve: { scale: { x: 'independent', y: 'independent' } },
      spec: {
        width: 380,
        height: 240,
        layer: [
          {
            transform: [steps],
            mark: { type: 'line', point: false, strokeWidth: 1.5, opacity: 0.5 },
            encoding: { x, y: { field: 'latency', type: 'quantitative', title: `${key} ms (log scale)`, scale: { type: 'log' } }, color, order: { field: 'rate' } },
          },
          {
            transform: [steps],
            mark: { type: 'point', size: 60, strokeWidth: 2 },
            encoding: {
              x,
              y: { field: 'latency', type: 'quantitative' },
              color,
              fill: { condition: { test: "datum.verdict === 'met the objective'", field: 'protocol', type: 'nominal' }, value: 'white' },
              tooltip: [{ field: 'protocol' }, { field: 'rate', title: 'offered calls/s' }, { field: 'latency', title: `${key} ms` }, { field: 'verdict' }],
            },
          },
          { mark: { type: 'rule', strokeDash: [6, 4], color: '#c5221f' }, encoding: { y: { datum: bound.maxMs } } },
          {
            transform: [{ filter: "datum.kind === 'answer'" }],
            mark: { type: 'rule', strokeWidth: 1, opacity: 0.7 },
            encoding: { x: { field: 'rate', type: 'quantitative' }, color },
          },
        ],
      },
      config: { font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', background: 'white', legend: { orient: 'bottom' } },
    } as TopLevelSpec,
  };
}

interface CapacityModel {
  headline: string[];
  /** The terminal table, kept as it is in every output (report.md in a code block, report.html preformatted). */
  table: string;
}

/** --slo: per scenario the highest rate each protocol sustained within the objective. */
export const capacitySection = section<CapacityModel>({
  id: 'capacity',
  title: 'Capacity',
  // Call rows and stream rows (--slo on running-sum searches messages/s) alike.
  applies: ({ results }) => hasCapacity(results),
  model: ({ results }) => ({ headline: capacityHeadline(results), table: renderCapacityTable(results) }),
  terminal: (m) => m.table.trimEnd(),
  markdown: (m) => ['## Capacity at the objective', '', ...m.headline.map((line) => `- ${line}`), '', '```', m.table.trimEnd(), '```'].join('\n'),
  html: (m) => `<h2>Capacity at the objective</h2>\n${htmlList(m.headline)}\n${htmlPre(m.table, 'capacity')}`,
});
