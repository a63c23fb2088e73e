/**
 * The payload-sweep table: one row per Sum size x value shape (x compression),
 * gRPC and REST side by side with gRPC/REST ratios, per call: body bytes, wire
 * bytes each way with the headers+framing part, latency, calls/s and CPU.
 * sweepRows() is the data (the summary reads it too); renderSweepTable() and
 * renderSweepMarkdown() only format it. Pure functions returning strings.
 */
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { spread } from '../results/summary.ts';
import type { Protocol } from '../types.ts';
import { compact, fixed } from '../compare/labels.ts';
import { markdownTable } from './markdown-table.ts';

export type ValueShapeName = 'int' | 'money' | 'double';
const SHAPE_ORDER: readonly ValueShapeName[] = ['int', 'money', 'double'];

/** Medians over the completed trials of one protocol at one sweep point; null = not measured. */
export interface SweepCell {
  /** Request body as sent (gzip bytes in a compressed run); response body as the proxy parsed it. */
  requestBodyBytes: number | null;
  responseBodyBytes: number | null;
  /** Wire bytes per call, each way, and the header/framing part of them. */
  requestWireBytes: number | null;
  requestHeaderBytes: number | null;
  responseWireBytes: number | null;
  responseHeaderBytes: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  rps: number | null;
  serverCpuMsPer1k: number | null;
  clientCpuUsPerCall: number | null;
  errors: number;
  failed: boolean;
}

export interface SweepRow {
  values: number;
  shape: ValueShapeName;
  compression: 'none' | 'gzip';
  concurrency: number;
  cells: Partial<Record<Protocol, SweepCell>>;
}

export type SweepMetric = Exclude<keyof SweepCell, 'errors' | 'failed'>;

function cellOf(runs: RunRecord[]): SweepCell {
  const ok = runs.filter((run) => run.status === 'completed');
  const median = (get: (run: RunRecord) => number | null | undefined): number | null => spread(ok.map(get))?.median ?? null;
  return {
    requestBodyBytes: median((r) => r.body.requestBytes),
    // 0 is what the runner records when the wire pass was skipped.
    responseBodyBytes: median((r) => (r.wire.countedBy === null ? null : r.body.responseBytes)),
    requestWireBytes: median((r) => r.wire.requestBytesPerCall),
    requestHeaderBytes: median((r) => r.wire.requestHeaderBytesPerCall),
    responseWireBytes: median((r) => r.wire.responseBytesPerCall),
    responseHeaderBytes: median((r) => r.wire.responseHeaderBytesPerCall),
    p50Ms: median((r) => r.latencyMs?.p50),
    p99Ms: median((r) => r.latencyMs?.p99),
    rps: median((r) => r.rps),
    serverCpuMsPer1k: median((r) => r.server.cpuMsPer1kCalls),
    clientCpuUsPerCall: median((r) => r.client.cpuUsPerCall),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    failed: runs.some((r) => r.status === 'failed'),
  };
}

/**
 * Sum runs grouped by size, shape, compression and concurrency, sorted by
 * compression, shape, then size. Runs written before valueShape existed count
 * as double, before compression as none.
 */
export function sweepRows(results: ResultsFile): SweepRow[] {
  const groups = new Map<string, { row: Omit<SweepRow, 'cells'>; runs: RunRecord[] }>();
  for (const run of results.runs) {
    if (run.operation !== 'sum' || run.payloadValues === null) continue;
    const shape = (run.valueShape ?? 'double') as ValueShapeName;
    const compression = run.compression ?? 'none';
    const key = `${run.payloadValues}/${shape}/${compression}/${run.concurrency}`;
    let group = groups.get(key);
    if (!group) {
      group = { row: { values: run.payloadValues, shape, compression, concurrency: run.concurrency }, runs: [] };
      groups.set(key, group);
    }
    group.runs.push(run);
  }
  const rows = [...groups.values()].map(({ row, runs }) => {
    const cells: Partial<Record<Protocol, SweepCell>> = {};
    for (const protocol of ['grpc', 'rest'] as const) {
      const mine = runs.filter((run) => run.protocol === protocol);
      if (mine.length > 0) cells[protocol] = cellOf(mine);
    }
    return { ...row, cells };
  });
  return rows.sort(
    (x, y) =>
      (x.compression === y.compression ? 0 : x.compression === 'none' ? -1 : 1) ||
      SHAPE_ORDER.indexOf(x.shape) - SHAPE_ORDER.indexOf(y.shape) ||
      x.values - y.values ||
      x.concurrency - y.concurrency,
  );
}

/** A sweep is worth a table from two sum points (sizes or shapes) on. */
export function hasSweep(results: ResultsFile): boolean {
  const points = new Set(sweepRows(results).map((row) => `${row.values}/${row.shape}`));
  return points.size >= 2;
}

/** gRPC / REST for one metric, or null. */
export function sweepRatio(row: SweepRow, metric: SweepMetric): number | null {
  const g = row.cells.grpc?.[metric];
  const r = row.cells.rest?.[metric];
  if (g === null || g === undefined || r === null || r === undefined || r === 0) return null;
  return g / r;
}

interface Column {
  title: string;
  /** Text of one protocol's cell. */
  cell: (c: SweepCell) => string;
  /** The metric whose gRPC/REST ratio follows the two cells; null: no ratio column. */
  ratio: SweepMetric | null;
}

const n = (v: number | null, format: (x: number) => string): string => (v === null ? '-' : format(v));
const bytes = (v: number | null): string => n(v, (x) => (x >= 10_000 ? compact(x) : x >= 100 ? x.toFixed(0) : x.toFixed(1)));
const withHeaders = (total: number | null, header: number | null): string => (total === null ? '-' : `${bytes(total)} (${bytes(header)})`);

const COLUMNS: Column[] = [
  { title: 'req body B', cell: (c) => bytes(c.requestBodyBytes), ratio: 'requestBodyBytes' },
  { title: 'resp body B', cell: (c) => bytes(c.responseBodyBytes), ratio: null },
  { title: 'req wire B/call (hdr+framing)', cell: (c) => withHeaders(c.requestWireBytes, c.requestHeaderBytes), ratio: 'requestWireBytes' },
  { title: 'resp wire B/call (hdr+framing)', cell: (c) => withHeaders(c.responseWireBytes, c.responseHeaderBytes), ratio: 'responseWireBytes' },
  { title: 'p50 ms', cell: (c) => n(c.p50Ms, fixed), ratio: 'p50Ms' },
  { title: 'p99 ms', cell: (c) => n(c.p99Ms, fixed), ratio: 'p99Ms' },
  { title: 'calls/s', cell: (c) => n(c.rps, compact), ratio: 'rps' },
  { title: 'srv CPU ms/1k', cell: (c) => n(c.serverCpuMsPer1k, fixed), ratio: 'serverCpuMsPer1k' },
  { title: 'client µs/call', cell: (c) => n(c.clientCpuUsPerCall, fixed), ratio: null },
];

function ratioText(x: number | null): string {
  if (x === null) return '-';
  return `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}x`;
}

function pointLabel(row: SweepRow, withCompression: boolean, withConcurrency: boolean): string[] {
  const out = [row.values.toLocaleString('en-US'), row.shape];
  if (withCompression) out.push(row.compression);
  if (withConcurrency) out.push(`c${row.concurrency}`);
  return out;
}

function statusOf(row: SweepRow): string {
  const out: string[] = [];
  for (const protocol of ['grpc', 'rest'] as const) {
    const c = row.cells[protocol];
    const name = protocol === 'grpc' ? 'gRPC' : 'REST';
    if (c?.failed) out.push(`${name} FAILED`);
    else if (c && c.errors > 0) out.push(`${name} ${c.errors} errors`);
  }
  return out.join(', ');
}

/** Header line and body lines as cells, shared by both renderers. */
function grid(rows: readonly SweepRow[]): { head: string[]; groups: string[]; body: string[][]; labelCount: number } {
  const withCompression = new Set(rows.map((r) => r.compression)).size > 1 || rows.some((r) => r.compression !== 'none');
  const withConcurrency = new Set(rows.map((r) => r.concurrency)).size > 1;
  const labels = ['values', 'shape', ...(withCompression ? ['compression'] : []), ...(withConcurrency ? ['in flight'] : [])];
  const head = [...labels];
  const groups = labels.map(() => '');
  for (const column of COLUMNS) {
    head.push('gRPC', 'REST');
    groups.push(column.title, '');
    if (column.ratio) {
      head.push('g/r');
      groups.push('');
    }
  }
  head.push('notes');
  groups.push('');
  const body = rows.map((row) => {
    const cells = pointLabel(row, withCompression, withConcurrency);
    for (const column of COLUMNS) {
      cells.push(row.cells.grpc ? column.cell(row.cells.grpc) : '-', row.cells.rest ? column.cell(row.cells.rest) : '-');
      if (column.ratio) cells.push(ratioText(sweepRatio(row, column.ratio)));
    }
    cells.push(statusOf(row));
    return cells;
  });
  return { head, groups, body, labelCount: labels.length };
}

export const SWEEP_LEGEND =
  'Per call, medians over trials. body = message body as sent (JSON text / protobuf message, gzip bytes when gzip); ' +
  'wire = every byte the counting proxy saw that way / calls, with the headers+framing part in brackets ' +
  '(HTTP/1.1 header text; HTTP/2 frame headers, HPACK blocks, SETTINGS/WINDOW_UPDATE/PING and the 5-byte gRPC prefix). ' +
  'g/r = gRPC / REST: below 1 gRPC is smaller/faster/cheaper, except calls/s where above 1 is better.';

export function renderSweepTable(results: ResultsFile): string {
  return sweepTableText(sweepRows(results));
}

/** The terminal table of sweepRows(). */
export function sweepTableText(rows: readonly SweepRow[]): string {
  if (rows.length === 0) return '';
  const { head, groups, body, labelCount } = grid(rows);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((line) => line[i]!.length)));
  // Each metric group must be as wide as its title.
  for (let i = labelCount, c = 0; c < COLUMNS.length; c++) {
    const span = COLUMNS[c]!.ratio ? 3 : 2;
    const width = widths.slice(i, i + span).reduce((s, w) => s + w, 0) + (span - 1);
    const need = COLUMNS[c]!.title.length;
    if (width < need) widths[i + span - 1]! += need - width;
    i += span;
  }
  const starts = new Set<number>();
  for (let i = labelCount, c = 0; c < COLUMNS.length; c++) {
    starts.add(i);
    i += COLUMNS[c]!.ratio ? 3 : 2;
  }
  const sepBefore = (i: number): string => (i === 0 ? '' : starts.has(i) || i === head.length - 1 ? '   ' : ' ');
  const renderLine = (line: string[]): string =>
    line
      .map((cell, i) => sepBefore(i) + (i < labelCount ? cell.padEnd(widths[i]!) : i === line.length - 1 ? cell : cell.padStart(widths[i]!)))
      .join('')
      .trimEnd();
  // Group titles: centred over... simply right-aligned over their columns.
  let titleLine = '';
  for (let i = 0; i < head.length; ) {
    if (starts.has(i)) {
      const span = groups.slice(i + 1).findIndex((g, k) => g !== '' || starts.has(i + 1 + k) || i + 1 + k === head.length - 1) + 1;
      const width = widths.slice(i, i + span).reduce((s, w) => s + w, 0) + (span - 1);
      titleLine += sepBefore(i) + groups[i]!.padStart(width);
      i += span;
    } else {
      titleLine += sepBefore(i) + ''.padEnd(widths[i]!);
      i += 1;
    }
  }
  const lines = [titleLine.trimEnd(), renderLine(head)];
  lines.push('-'.repeat(Math.max(...lines.map((l) => l.length))));
  for (const line of body) lines.push(renderLine(line));
  lines.push('', SWEEP_LEGEND);
  return `${lines.join('\n')}\n`;
}

export function renderSweepMarkdown(results: ResultsFile): string {
  const rows = sweepRows(results);
  if (rows.length === 0) return '';
  const { titles, body, isLeft } = sweepFlatTable(rows);
  const out = markdownTable(titles, body, isLeft);
  out.push('', SWEEP_LEGEND);
  return `${out.join('\n')}\n`;
}

/** The table with one header row ("<metric> gRPC | <metric> REST | g/r"), as report.md and report.html show it. */
export function sweepFlatTable(rows: readonly SweepRow[]): { titles: string[]; body: string[][]; isLeft: (column: number) => boolean } {
  const { head, groups, body, labelCount } = grid(rows);
  let current = '';
  const titles = head.map((h, i) => {
    if (i < labelCount || i === head.length - 1) return h;
    if (groups[i]) current = groups[i]!;
    return h === 'g/r' ? 'g/r' : `${current} ${h}`;
  });
  return { titles, body, isLeft: (i) => i < labelCount || i === titles.length - 1 };
}
