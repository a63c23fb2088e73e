/**
 * The terminal comparison table: one row per scenario, gRPC and REST side by
 * side for each metric, then the gRPC/REST ratio. Returns a string; printing is
 * the caller's business. The report's Comparison section (comparison.ts) draws
 * it; renderTable() is the table with the lines the reports now give sections
 * of their own (connection cost, proxy and replicas), as bench:merge prints it.
 */
import { compact, fixed } from '../compare/labels.ts';
import { CLIENT_BOUND_PERCENT, SERVER_BUSY_PERCENT } from '../results/client-bound.ts';
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { ratio, summarize, trialsIn, type Metric, type ProtocolCell, type ScenarioRow, type Spread } from '../results/summary.ts';
import { renderConnectionCostLines } from './connection-cost.ts';
import { perNetwork } from './network.ts';
import { nagleSuspect, placeLines } from './place.ts';

export interface TableOptions {
  /** ANSI colour for flags (default: off). */
  color?: boolean;
}

interface Column {
  title: string;
  metric: Metric;
  format: (value: number) => string;
}

const COLUMNS: Column[] = [
  { title: 'calls/s', metric: 'rps', format: (v) => compact(v) },
  { title: 'p50 ms', metric: 'p50', format: (v) => fixed(v) },
  { title: 'p99 ms', metric: 'p99', format: (v) => fixed(v) },
  { title: 'req B/call', metric: 'requestBytes', format: (v) => compact(v) },
  { title: 'resp B/call', metric: 'responseBytes', format: (v) => compact(v) },
  { title: 'srv CPU ms/1k', metric: 'serverCpuMsPer1k', format: (v) => fixed(v) },
];

/** Columns before the metric groups: scenario, in flight, conns. */
const LEAD = 3;

/** One table per network condition (bench/report/network.ts) when the runs went through emulated links. */
export function renderTable(results: ResultsFile, options: TableOptions = {}): string {
  // Behind a proxy: the replicas' spread, the proxy's CPU and tax, latency hints (bench/report/place.ts).
  const place = placeLines(results);
  return perNetwork(results, (part) => renderConditionTable(part, options)) + (place.length > 0 ? `\n${place.join('\n')}\n` : '');
}

/** One condition's table, then its connection cost (measured once per protocol). */
function renderConditionTable(results: ResultsFile, options: TableOptions): string {
  const rows = summarize(results);
  const table = renderComparisonTable(results, rows, options);
  // Connection set-up vs per-call cost (and the TLS note when --tls), measured once per protocol.
  const connectionCost = rows.length === 0 ? [] : renderConnectionCostLines(results);
  return connectionCost.length > 0 ? `${table}\n${connectionCost.join('\n')}\n` : table;
}

/**
 * The comparison table of one condition's runs (`rows` = summarize(results)):
 * the lines saying how they were measured, the table, its legend.
 */
export function renderComparisonTable(results: ResultsFile, rows: readonly ScenarioRow[], options: TableOptions = {}): string {
  if (rows.length === 0) return 'no runs recorded\n';
  const withRange = trialsIn(results) > 1;
  const mixedDrivers = sharedDrivers(results) === null;
  const paint = (code: string, text: string): string => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);

  // Cells as text first, then pad to the widest entry per column.
  const header1 = ['scenario', 'in flight', 'conns g/r'];
  const header2 = ['', '', ''];
  for (const column of COLUMNS) {
    header1.push(column.title, '', '');
    header2.push('gRPC', 'REST', 'g/r');
  }
  header1.push('errors', '', 'flags');
  header2.push('gRPC', 'REST', '');

  const body: string[][] = rows.map((row) => {
    const g = row.cells.grpc;
    const r = row.cells.rest;
    const cells = [row.scenario, String(row.concurrency), `${g?.connections ?? '-'}/${r?.connections ?? '-'}`];
    for (const column of COLUMNS) {
      cells.push(cell(g?.[column.metric] ?? null, column.format, withRange));
      cells.push(cell(r?.[column.metric] ?? null, column.format, withRange));
      const x = ratio(row, column.metric);
      cells.push(x === null ? '-' : `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}x`);
    }
    cells.push(errorCell(g), errorCell(r), flags(row, mixedDrivers).join(', '));
    return cells;
  });

  const all = [header1, header2, ...body];
  const isTitle = (i: number): boolean => i >= LEAD && i < LEAD + COLUMNS.length * 3;
  const widths = header1.map((_, i) => Math.max(...all.map((line) => (line === header1 && isTitle(i) ? 0 : line[i]!.length))));
  // Columns of one metric are one space apart, groups three: sep[i] goes before column i.
  const sep = header1.map((_, i) => (i === 0 ? '' : i < LEAD ? '  ' : i >= LEAD + COLUMNS.length * 3 ? (i === header1.length - 2 ? ' ' : '   ') : (i - LEAD) % 3 === 0 ? '   ' : ' '));
  // Group titles span their three columns: make each group at least as wide as its title.
  for (let c = 0; c < COLUMNS.length; c++) {
    const first = LEAD + c * 3;
    const span = widths[first]! + widths[first + 1]! + widths[first + 2]! + 2;
    const need = COLUMNS[c]!.title.length;
    if (span < need) widths[first + 2]! += need - span;
  }
  const lines: string[] = [...describeLoad(results)];
  const render = (line: string[], isHeader: boolean, flagged = false): string => {
    let text = '';
    let i = 0;
    while (i < line.length) {
      const isGroupTitle = isHeader && line === header1 && i >= LEAD && i < LEAD + COLUMNS.length * 3 && (i - LEAD) % 3 === 0;
      if (isGroupTitle) {
        const span = widths[i]! + widths[i + 1]! + widths[i + 2]! + 2;
        text += sep[i] + line[i]!.padStart(span);
        i += 3;
        continue;
      }
      const cell = line[i]!;
      const last = i === line.length - 1;
      text += sep[i] + (i === 0 ? cell.padEnd(widths[i]!) : last ? cell : cell.padStart(widths[i]!));
      i += 1;
    }
    text = text.trimEnd();
    return flagged ? paint('33', text) : text;
  };
  lines.push(render(header1, true), render(header2, true));
  lines.push('-'.repeat(widths.reduce((sum, w, i) => sum + w + sep[i]!.length, 0)));
  body.forEach((line, i) => lines.push(render(line, false, flags(rows[i]!).length > 0)));
  lines.push('');
  lines.push(
    'g/r = gRPC / REST (medians). calls/s: higher is better; latency, bytes and CPU: lower is better.' +
      (withRange ? ' Cells: median (min-max) over trials.' : ''),
  );
  lines.push(
    'B/call = bytes on the wire per call, headers and framing included (counted by a proxy in a separate pass); conns = TCP connections.',
  );
  lines.push(`client-bound = the load generator used >= ${CLIENT_BOUND_PERCENT}% of a core while the server used < ${SERVER_BUSY_PERCENT}%: that row measures the client.`);
  return `${lines.join('\n')}\n`;
}

function cell(value: Spread | null, format: (v: number) => string, withRange: boolean): string {
  if (value === null) return '-';
  const main = format(value.median);
  return withRange && value.n > 1 && value.min !== value.max ? `${main} (${format(value.min)}-${format(value.max)})` : main;
}

function errorCell(cell: ProtocolCell | undefined): string {
  if (!cell) return '-';
  if (cell.failed) return 'FAILED';
  return cell.errors === 0 ? '0' : `${cell.errors}`;
}

/** `withDrivers`: name the row's drivers too (when rows do not all share theirs). */
export function flags(row: ScenarioRow, withDrivers = false): string[] {
  const out: string[] = [];
  for (const protocol of ['grpc', 'rest'] as const) {
    const c = row.cells[protocol];
    if (!c) continue;
    const name = protocol === 'grpc' ? 'gRPC' : 'REST';
    if (c.failed) out.push(`${name} FAILED`);
    if (c.errors > 0) out.push(`${name} ${percent(c.errors, c.requests)} errors`);
    if (c.clientBound) out.push(`${name} client-bound`);
    if (c.runs.some(nagleSuspect)) out.push(`${name} p50 ~40/200 ms (Nagle?)`);
  }
  // Rows of one file normally share their drivers (said once above the table); otherwise each row names them.
  if (withDrivers) out.push(`drivers ${row.cells.grpc?.driver ?? '-'}/${row.cells.rest?.driver ?? '-'}`);
  return out;
}

/** What the load generators are, in a reader's words. */
const DRIVER_LABELS: Readonly<Record<string, string>> = {
  'grpc-engine': 'raw HTTP/2 engine',
  autocannon: 'autocannon',
  'http1-engine': 'raw HTTP/1.1 engine',
  h2load: 'nghttp2 h2load, C',
  'grpc-js-client': '@grpc/grpc-js client library',
  'undici-client': 'undici client library',
};

/** The drivers of every row when they are the same throughout, else null. */
export function sharedDrivers(results: ResultsFile): { grpc: string | null; rest: string | null } | null {
  const pairs = new Set(summarize(results).map((row) => `${row.cells.grpc?.driver ?? ''}\t${row.cells.rest?.driver ?? ''}`));
  if (pairs.size !== 1) return null;
  const [grpc, rest] = [...pairs][0]!.split('\t');
  return { grpc: grpc || null, rest: rest || null };
}

/** "neutral mode ...", "client-library mode ..." or null, for the drivers every row shares. */
export function driverMode(drivers: { grpc: string | null; rest: string | null }): string | null {
  if (drivers.grpc === 'h2load' && drivers.rest === 'h2load') return 'neutral mode: the same C generator (h2load) drives both protocols';
  if (drivers.grpc === 'grpc-js-client' && drivers.rest === 'undici-client') return "client-library mode: what an application's client pays";
  return null;
}

/** The load model of the runs: open loop at N calls/s, or closed loop. */
export function loadModel(runs: readonly RunRecord[]): string {
  const slo = runs.find((run) => run.capacity)?.capacity?.slo;
  if (slo !== undefined) return `capacity search at ${slo}: open-loop steps (at most c in flight, latency from each call's due time); each row's figures are its confirmation run at the capacity rate`;
  const rates = [...new Set(runs.map((run) => run.rate))];
  if (rates.length === 1 && rates[0] === null) return 'closed loop (each scenario keeps c calls in flight)';
  const open = rates.filter((rate): rate is number => rate !== null).map((rate) => `${compact(rate)}/s`);
  return `open loop ${open.join(', ')} per protocol (calls on a fixed schedule, at most c in flight; latency from each call's intended send time)` +
    (rates.includes(null) ? '; some runs closed loop' : '');
}

/** Every distinct note of the runs (driver limits, driver choice), in first-seen order. */
export function runNotes(results: ResultsFile): string[] {
  const notes = new Set<string>();
  for (const run of results.runs) for (const note of run.notes ?? []) notes.add(note);
  return [...notes];
}

/** The lines above the table: which drivers measured the rows, the load model, the notes. */
export function describeLoad(results: ResultsFile): string[] {
  const lines: string[] = [];
  const shared = sharedDrivers(results);
  if (shared) {
    const label = (name: string): string => `${name} (${DRIVER_LABELS[name] ?? 'driver'})`;
    const names =
      shared.grpc !== null && shared.grpc === shared.rest
        ? `${label(shared.grpc)} for gRPC and REST`
        : (['grpc', 'rest'] as const)
            .filter((p) => shared[p] !== null)
            .map((p) => `${p === 'grpc' ? 'gRPC' : 'REST'} ${label(shared[p]!)}`)
            .join(', ');
    const mode = driverMode(shared);
    lines.push(`drivers: ${names}${mode ? ` -- ${mode}` : ''}`);
  } else {
    lines.push('drivers: differ between rows (named in the flags column)');
  }
  lines.push(`load: ${loadModel(results.runs)}`);
  for (const note of runNotes(results)) lines.push(`note: ${note}`);
  lines.push('');
  return lines;
}

function percent(part: number, whole: number): string {
  if (whole === 0) return '100%';
  const p = (part / whole) * 100;
  return p < 0.1 ? '<0.1%' : `${p.toFixed(p < 10 ? 1 : 0)}%`;
}
