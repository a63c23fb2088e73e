/**
 * The sections that list run records one by one, call rows and stream rows
 * alike: every run's figures, the runs that failed, the errors by status.
 */
import { integer } from '../compare/labels.ts';
import type { RunRecord } from '../results/record.ts';
import { conditionNamer, hasNetworks } from './network.ts';
import { htmlList, htmlTable } from './html-parts.ts';
import { markdownTable } from './markdown-table.ts';
import { section } from './section.ts';

/** "grpc", "rest (express)", "rest websocket": the protocol, and the contender or stream transport when there is one. */
function protocolOf(run: RunRecord): string {
  if (run.contender) return `${run.protocol} (${run.contender.name})`;
  return run.transport && run.transport !== run.protocol ? `${run.protocol} ${run.transport}` : run.protocol;
}

function runCells(run: RunRecord): string[] {
  const n = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '-' : v.toFixed(digits));
  const l = run.latencyMs;
  return [
    run.scenario,
    protocolOf(run),
    run.driver,
    String(run.trial),
    String(run.connections),
    run.status === 'failed' ? `failed: ${run.failure ?? ''}` : 'completed',
    String(run.requests),
    String(run.errors),
    n(run.rps, 0),
    n(l?.p50, 3),
    n(l?.p90, 3),
    n(l?.p99, 3),
    n(l?.p999, 3),
    n(l?.max, 3),
    n(l?.mean, 3),
    n(l?.stdev, 3),
    n(run.wire.requestBytesPerCall),
    n(run.wire.requestHeaderBytesPerCall),
    n(run.wire.responseBytesPerCall),
    n(run.wire.responseHeaderBytesPerCall),
    String(run.body.requestBytes),
    n(run.body.responseBytes),
    n(run.server.cpuMsPer1kCalls, 2),
    n(run.server.peakRssMiB),
    n(run.client.cpuPercent),
    n(run.client.cpuUsPerCall),
    run.client.bound ? 'yes' : 'no',
  ];
}

const COLUMNS = ['scenario', 'protocol', 'driver', 'trial', 'conns', 'status', 'calls', 'errors', 'calls/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'stdev', 'req B/call', 'req hdr B/call', 'resp B/call', 'resp hdr B/call', 'req body B', 'resp body B', 'srv CPU ms/1k', 'srv peak RSS MiB', 'client CPU %', 'client µs/call', 'client-bound'];

interface EveryRunModel {
  /** With --network, the condition comes first. */
  networks: boolean;
  header: string[];
  rows: string[][];
  calls: number;
  streams: number;
}

/** Every run record's figures, one row each (every trial; stream rows count messages). */
export const everyRunSection = section<EveryRunModel>({
  id: 'every-run',
  title: 'Every run',
  applies: ({ results }) => results.runs.length > 0,
  model: ({ results }) => {
    const networks = hasNetworks(results);
    const conditionOf = conditionNamer(results);
    return {
      networks,
      header: [...(networks ? ['network'] : []), ...COLUMNS],
      rows: results.runs.map((run) => [...(networks ? [conditionOf(run)] : []), ...runCells(run)]),
      calls: results.runs.filter((run) => run.unit !== 'message').length,
      streams: results.runs.filter((run) => run.unit === 'message').length,
    };
  },
  // Too wide for a terminal: say where it is.
  terminal: (m) => `every run: ${integer(m.rows.length)} record(s)${m.streams > 0 ? ` (${m.calls} of calls, ${m.streams} of streams, which count messages)` : ''} in report.md, report.html and results.csv`,
  markdown: (m) => {
    const scenario = m.networks ? 1 : 0;
    const rows = m.rows.map((row) => row.map((cell, i) => (i === scenario ? `\`${cell}\`` : i === scenario + 5 && cell.startsWith('failed: ') ? `**failed**: ${cell.slice(8)}` : cell)));
    return ['## Every run', '', ...(m.streams > 0 ? ['Stream rows count messages where call rows count calls.', ''] : []), ...markdownTable(m.header, rows, () => true)].join('\n');
  },
  html: (m) =>
    `<h2>Every run</h2>\n${m.streams > 0 ? '<p class="muted">Stream rows count messages where call rows count calls.</p>\n' : ''}<div class="wide">${htmlTable(m.header, m.rows, (i) => i < (m.networks ? 7 : 6), 'results')}</div>`,
});

interface Listed {
  label: string;
  text: string;
}

function listed(runs: readonly RunRecord[], text: (run: RunRecord) => string): Listed[] {
  return runs.map((run) => ({ label: `\`${run.scenario}\` ${run.contender ? run.protocol : protocolOf(run)} trial ${run.trial}`, text: text(run) }));
}

const plain = (item: Listed): string => `${item.label.replaceAll('`', '')}: ${item.text}`;

/** Runs that failed (the server died, a target unreachable, a stream ended early), with why. */
export const failuresSection = section<Listed[]>({
  id: 'failures',
  title: 'Failures',
  applies: ({ results }) => results.runs.some((run) => run.status === 'failed'),
  model: ({ results }) => listed(results.runs.filter((run) => run.status === 'failed'), (run) => run.failure ?? 'unknown'),
  terminal: (items) => ['failures (left out of the medians and charts):', ...items.map((item) => `  ${plain(item)}`)].join('\n'),
  markdown: (items) => ['## Failures', '', ...items.map((item) => `- ${item.label}: ${item.text}`)].join('\n'),
  html: (items) =>
    `<h2>Failures</h2>\n<div class="warn"><strong>${items.length} run(s) failed</strong> and are left out of the charts and medians:${htmlList(items.map(plain))}</div>`,
});

/** Runs with failed calls or streams: their count by status (HTTP status, gRPC status, or the stream's error). */
export const errorsSection = section<Listed[]>({
  id: 'errors',
  title: 'Errors by status',
  applies: ({ results }) => results.runs.some((run) => run.errors > 0),
  model: ({ results }) =>
    listed(
      results.runs.filter((run) => run.errors > 0),
      (run) => {
        const text = Object.entries(run.statusCounts).map(([k, v]) => `${k} ${v}`).join(', ');
        return run.firstError ? `${text}${text ? '; ' : ''}first error: ${run.firstError}` : text;
      },
    ),
  terminal: (items) => ['errors by status:', ...items.map((item) => `  ${plain(item)}`)].join('\n'),
  markdown: (items) => ['## Errors by status', '', ...items.map((item) => `- ${item.label}: ${item.text}`)].join('\n'),
  html: (items) => `<h2>Errors by status</h2>\n${htmlList(items.map(plain))}`,
});

