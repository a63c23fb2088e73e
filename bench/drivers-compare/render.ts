/** Formats a drivers comparison (drivers.json) as Markdown and as a console table. No I/O. */
import type { GeneratorSummary, ScenarioResult } from './run.ts';
import type { TargetReport, TargetVerdict } from './target.ts';
import { markdownTable } from '../report/markdown-table.ts';
import { CLIENT_BOUND_PERCENT, SERVER_BUSY_PERCENT } from '../results/client-bound.ts';
import { textTable } from '../report/text-table.ts';

export interface DriversReport {
  schema: string;
  date: string;
  command: string;
  machine: { cpuModel: string; cpuCount: number; os: string; node: string; h2load: string | null };
  options: { rounds: number; durationS: number; warmupS: number; timeoutMs: number; withClients: boolean };
  pinning: { server: string; client: string } | null;
  scenarios: ScenarioResult[];
  target: TargetReport;
  /** The stream generators against the servers they load (bench:streams, quick profile); null with --no-streams. */
  streams: StreamGeneratorRow[] | null;
  notes: string[];
}

/** One stream operation and transport: what a message costs the generator and the server. */
export interface StreamGeneratorRow {
  operation: string;
  transport: string;
  messagesPerSecond: number;
  /** CPU µs per message (ms per 1,000). */
  generatorUsPerMessage: number | null;
  serverUsPerMessage: number | null;
  /** Generator / server: below 1, the generator is the cheaper end. */
  ratio: number | null;
  generatorCpuPercent: number | null;
  serverCpuPercent: number | null;
  clientBound: boolean;
}

const STREAM_HEADER = ['operation', 'transport', 'msgs/s', 'generator µs/msg', 'server µs/msg', 'gen/server', 'generator % core', 'server % core', 'flags'];

function streamCells(rows: StreamGeneratorRow[]): string[][] {
  return rows.map((r) => [
    r.operation,
    r.transport,
    num(r.messagesPerSecond),
    num(r.generatorUsPerMessage, 1),
    num(r.serverUsPerMessage, 1),
    r.ratio === null ? dash : r.ratio.toFixed(2),
    num(r.generatorCpuPercent),
    num(r.serverCpuPercent),
    r.clientBound ? 'client-bound' : '',
  ]);
}

/** The stream generators' section, for the terminal. */
export function renderStreamGeneratorTable(rows: StreamGeneratorRow[]): string {
  return textTable(STREAM_HEADER, streamCells(rows), isStreamLabel);
}

function streamMarkdown(rows: StreamGeneratorRow[] | null): string[] {
  if (rows === null) return [];
  return [
    '## Stream generators',
    '',
    'bench:streams at its quick profile (8 streams, 1,000 values each, after a warm-up pass), server and generator pinned apart. gen/server below 1: the generator spends less CPU per message than the server it loads.',
    '',
    ...markdownTable(STREAM_HEADER, streamCells(rows), isStreamLabel),
    '',
  ];
}

/** operation, transport and flags are labels; the rest are figures. */
const isStreamLabel = (column: number): boolean => column < 2 || column === STREAM_HEADER.length - 1;

const dash = '–';

function num(value: number | null, digits = 0): string {
  if (value === null) return dash;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(value: number | null): string {
  return value === null ? dash : `${value.toFixed(2)}×`;
}

export const TABLE_HEADER = [
  'scenario',
  'generator',
  'calls/s (median)',
  'client CPU µs/call',
  'client CPU %',
  'server CPU µs/call',
  'p50 ms',
  'p99 ms',
  'calls/s vs ref',
  'CPU/call vs ref',
  'errors',
  'flags',
];

function scenarioLabel(scenario: ScenarioResult): string {
  return `${scenario.server ?? scenario.protocol} ${scenario.connections} conn, ${scenario.concurrency} in flight`;
}

function rows(scenarios: ScenarioResult[]): string[][] {
  const out: string[][] = [];
  for (const scenario of scenarios) {
    const label = scenarioLabel(scenario);
    for (const g of scenario.generators) out.push(row(label, g, scenario.reference));
    for (const s of scenario.skipped) out.push([label, s.generator, `skipped: ${s.reason}`, '', '', '', '', '', '', '', '', '']);
  }
  return out;
}

function row(label: string, g: GeneratorSummary, reference: string): string[] {
  const isRef = g.generator === reference;
  return [
    label,
    `${g.generator}${isRef ? ' (ref)' : ''}`,
    num(g.medianRps),
    num(g.medianClientCpuUsPerCall, 1),
    num(g.medianClientCpuPercent),
    num(g.medianServerCpuUsPerCall, 1),
    num(g.medianP50Ms, 2),
    num(g.medianP99Ms, 2),
    isRef ? '1.00×' : ratio(g.rpsRatio),
    isRef ? '1.00×' : ratio(g.cpuPerCallRatio),
    String(g.errors),
    g.clientBound ? 'client-bound' : '',
  ];
}

/**
 * One line per generator of a scenario on a named server (the fastest one):
 * its CPU per call against the server's, and whether it was the limit.
 */
export function renderHeadroomLines(scenarios: readonly ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const scenario of scenarios.filter((s) => s.server !== undefined)) {
    const label = scenarioLabel(scenario);
    if (scenario.generators.length === 0) lines.push(`Headroom against ${label}: not measured (${scenario.skipped[0]?.reason ?? 'no generator ran'})`);
    for (const g of scenario.generators) {
      const client = g.medianClientCpuUsPerCall;
      const server = g.medianServerCpuUsPerCall;
      const perCall = client !== null && server !== null && server > 0 ? `${num(client, 1)} µs/call against the server's ${num(server, 1)} (${(client / server).toFixed(2)}×)` : 'CPU per call not measured';
      lines.push(
        `Headroom against ${label}: ${g.generator} ${num(g.medianRps)} calls/s, ${perCall}, ${num(g.medianClientCpuPercent)}% of its core: ` +
          (g.clientBound ? 'CLIENT-BOUND (the row measures the generator)' : 'not client-bound'),
      );
    }
  }
  return lines;
}

/**
 * Two decimals, or three when two would round onto the bound and hide which
 * side of it the figure is (0.949 is not 0.95).
 */
function boundedRatio(value: number, bound: number): string {
  const short = value.toFixed(2);
  return Number(short) === bound && value !== bound ? value.toFixed(3) : short;
}

function verdictLine(target: TargetReport, verdict: TargetVerdict, label: string): string {
  const bounds = `>= ${target.minRpsRatio}x calls/s, <= ${target.maxCpuPerCallRatio}x CPU/call`;
  if (verdict.met === null) return `${label}: no verdict on the target (${bounds}): ${verdict.reason}`;
  const rps = boundedRatio(verdict.rpsRatio!, target.minRpsRatio);
  const cpu = boundedRatio(verdict.cpuPerCallRatio!, target.maxCpuPerCallRatio);
  return (
    `${label}: target ${verdict.met ? 'met' : 'NOT met'}: ${rps}x calls/s, ${cpu}x CPU/call ` +
    `(>= ${target.minRpsRatio}x, <= ${target.maxCpuPerCallRatio}x)`
  );
}

/** A heading line and one line per gRPC scenario: does grpc-engine keep up with h2load? */
export function renderTargetLines(report: Pick<DriversReport, 'scenarios' | 'target'>): string[] {
  const { target } = report;
  const lines = [`Target: ${target.generator} vs ${target.reference}, ${target.statistic}:`];
  for (const verdict of target.verdicts) {
    const scenario = report.scenarios.find((s) => s.id === verdict.scenario);
    lines.push(verdictLine(target, verdict, scenario ? scenarioLabel(scenario) : verdict.scenario));
  }
  return lines;
}

export function renderMarkdownTable(scenarios: ScenarioResult[]): string {
  const lines = [`| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const cells of rows(scenarios)) lines.push(`| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

export function renderMarkdown(report: DriversReport): string {
  const { machine, options } = report;
  return [
    '# Load generators compared',
    '',
    `${report.date} · \`${report.command}\``,
    '',
    `Machine: ${machine.cpuModel}, ${machine.cpuCount} CPUs, ${machine.os}, Node ${machine.node}, ${machine.h2load ?? 'h2load not installed'}.`,
    report.pinning
      ? `Pinning: servers on CPU ${report.pinning.server}, generators (this process and h2load) on CPU ${report.pinning.client}.`
      : 'Pinning: none (servers and generators share the CPUs).',
    `Unary Add {a: 20, b: 10}; ${options.rounds} rounds × ${options.durationS} s per generator, order rotated each round; ${options.warmupS} s server warm-up.`,
    '',
    renderMarkdownTable(report.scenarios),
    '',
    ...renderTargetLines(report).map((line, i) => (i === 0 ? line : `- ${line}`)),
    '',
    ...renderHeadroomLines(report.scenarios).map((line) => `- ${line}`),
    `client-bound: the generator spent at least the server's CPU per call, or used >= ${CLIENT_BOUND_PERCENT}% of its core while the server used < ${SERVER_BUSY_PERCENT}%.`,
    '',
    'Medians over rounds. "vs ref": median of per-round ratios against the reference generator (h2load) of the same scenario and round.',
    'Client CPU: process CPU time (user + system) of the generator over its whole run — `process.cpuUsage()` for in-process drivers,',
    "the h2load child's own CPU time (from /proc) for h2load. Server CPU from the server process's /proc stat.",
    'h2load does not read grpc-status trailers: its gRPC rows count HTTP statuses only.',
    ...(report.notes.length > 0 ? ['', ...report.notes.map((note) => `- ${note}`)] : []),
    '',
    ...streamMarkdown(report.streams),
  ].join('\n');
}

/** A plain-text table for the terminal. */
export function renderConsoleTable(scenarios: ScenarioResult[]): string {
  const table = [TABLE_HEADER, ...rows(scenarios)];
  const widths = TABLE_HEADER.map((_, i) => Math.max(...table.map((cells) => (cells[i] ?? '').length)));
  return table
    .map((cells) => cells.map((cell, i) => (i < 2 || i === TABLE_HEADER.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
