/**
 * The Comparison section: one row per scenario (and network condition), gRPC
 * and REST side by side for each metric with their ratio, flags and drivers.
 * One model (the summarized rows of each condition); the terminal's aligned
 * table is table.ts's, Markdown and HTML share their columns.
 */
import { compact, fixed } from '../compare/labels.ts';
import type { ResultsFile } from '../results/record.ts';
import { ratio, summarize, trialsIn, type Metric, type ScenarioRow, type Spread } from '../results/summary.ts';
import { escapeHtml } from './html-parts.ts';
import { alignmentRow, markdownRow } from './markdown-table.ts';
import { hasNetworks, splitByNetwork } from './network.ts';
import { hasContenders } from './factorial.ts';
import { section } from './section.ts';
import { flags, renderComparisonTable } from './table.ts';

const METRIC_COLUMNS: [string, Metric, (v: number) => string][] = [
  ['calls/s', 'rps', compact],
  ['p50 ms', 'p50', fixed],
  ['p99 ms', 'p99', fixed],
  ['req B/call', 'requestBytes', compact],
  ['resp B/call', 'responseBytes', compact],
  ['server CPU ms/1k calls', 'serverCpuMsPer1k', fixed],
];

interface ComparisonGroup {
  /** The network condition; null when every run was on loopback without emulation. */
  network: string | null;
  results: ResultsFile;
  rows: ScenarioRow[];
}

interface ComparisonModel {
  groups: ComparisonGroup[];
  withRange: boolean;
  /** Some completed row was limited by its load generator. */
  bound: boolean;
}

/** The cells Markdown and HTML show for one row: [network,] scenario, conns, three per metric, errors, drivers; flags apart. */
interface RowCells {
  network: string | null;
  scenario: string;
  cells: string[];
  flags: string[];
  drivers: string;
}

function rowCells(group: ComparisonGroup, row: ScenarioRow, withRange: boolean): RowCells {
  const g = row.cells.grpc;
  const r = row.cells.rest;
  const cells = [`${g?.connections ?? '-'}/${r?.connections ?? '-'}`];
  for (const [, metric, format] of METRIC_COLUMNS) {
    cells.push(cell(g?.[metric] ?? null, format, withRange), cell(r?.[metric] ?? null, format, withRange));
    const x = ratio(row, metric);
    cells.push(x === null ? '-' : `${x.toFixed(2)}x`);
  }
  cells.push(g ? (g.failed ? 'FAILED' : String(g.errors)) : '-', r ? (r.failed ? 'FAILED' : String(r.errors)) : '-');
  return { network: group.network, scenario: row.scenario, cells, flags: flags(row), drivers: `${g?.driver ?? '-'}/${r?.driver ?? '-'}` };
}

function cell(value: Spread | null, format: (v: number) => string, withRange: boolean): string {
  if (value === null) return '-';
  return withRange && value.n > 1 && value.min !== value.max ? `${format(value.median)} (${format(value.min)}-${format(value.max)})` : format(value.median);
}

function header(networks: boolean): string[] {
  const head = [...(networks ? ['network'] : []), 'scenario', 'conns gRPC/REST'];
  for (const [title] of METRIC_COLUMNS) head.push(`${title} gRPC`, `${title} REST`, 'g/r');
  head.push('errors gRPC', 'errors REST', 'flags', 'drivers gRPC/REST');
  return head;
}

function allRows(m: ComparisonModel): RowCells[] {
  return m.groups.flatMap((group) => group.rows.map((row) => rowCells(group, row, m.withRange)));
}

const networksIn = (m: ComparisonModel): boolean => m.groups.some((g) => g.network !== null);

function legend(withRange: boolean): string {
  return (
    'g/r = gRPC median / REST median. Bytes per call are counted on the wire (headers and framing included) by a proxy in a separate sampling pass; ' +
    'the measured runs are not proxied. Server CPU is the server process’s user+system time over the measured run per 1,000 calls.' +
    (withRange ? ' Cells show the median and (min-max) over trials.' : '')
  );
}

export const comparisonSection = section<ComparisonModel>({
  id: 'comparison',
  title: 'Comparison',
  // --contenders: gRPC/REST columns would mix contenders; the Contenders section replaces this one.
  applies: ({ calls }) => calls.runs.length > 0 && !hasContenders(calls),
  model: ({ calls }) => {
    // Conditions apart (--network), and cleartext apart from TLS when a file holds both.
    const split = splitByNetwork(calls);
    const groups: ComparisonGroup[] =
      split.length > 1 || hasNetworks(calls)
        ? split.map((group) => ({ network: group.name, results: group.results, rows: summarize(group.results) }))
        : [{ network: null, results: calls, rows: summarize(calls) }];
    return { groups, withRange: trialsIn(calls) > 1, bound: calls.runs.some((run) => run.status === 'completed' && run.client.bound) };
  },
  terminal: (m, options) =>
    [
      'comparison, gRPC vs REST:',
      ...m.groups.map((group) => `${group.network === null ? '' : `network ${group.network}:\n`}${renderComparisonTable(group.results, group.rows, options).trimEnd()}`),
    ].join('\n'),
  markdown: (m) => {
    const networks = networksIn(m);
    const head = header(networks);
    const lines = ['## Comparison', '', markdownRow(head), alignmentRow(head.length, (i) => i === 0 || i >= head.length - 2)];
    for (const row of allRows(m)) {
      lines.push(markdownRow([...(networks ? [`\`${row.network}\``] : []), `\`${row.scenario}\``, ...row.cells, row.flags.map((f) => `**${f}**`).join(', '), row.drivers]));
    }
    lines.push('', legend(m.withRange));
    return lines.join('\n');
  },
  html: (m) => {
    const networks = networksIn(m);
    const head = header(networks);
    const left = (i: number): boolean => i <= (networks ? 1 : 0) || i >= head.length - 2;
    const th = head.map((title, i) => `<th${left(i) ? ' class="l"' : ''}>${escapeHtml(title)}</th>`).join('');
    const rows = allRows(m).map((row) => {
      const cells = [...(networks ? [row.network!] : []), row.scenario, ...row.cells].map((text, i) => `<td${left(i) ? ' class="l"' : ''}>${escapeHtml(text)}</td>`);
      const flagged = row.flags.length > 0 ? `<span class="flag">${escapeHtml(row.flags.join(', '))}</span>` : '';
      return `<tr>${cells.join('')}<td class="l">${flagged}</td><td class="l">${escapeHtml(row.drivers)}</td></tr>`;
    });
    const bound = m.bound
      ? '<div class="warn">Some rows were limited by the load generator\'s CPU (flagged client-bound; triangles in the charts): there the figures measure the client, not the protocol.</div>\n'
      : '';
    return `<h2>Comparison</h2>\n${bound}<div class="wide"><table id="comparison"><thead><tr>${th}</tr></thead>\n<tbody>${rows.join('\n')}</tbody></table></div>\n<p class="muted">${escapeHtml(legend(m.withRange))}</p>`;
  },
});
