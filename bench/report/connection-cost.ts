/**
 * The connection-cost block under the comparison table (terminal and report.md):
 * per protocol, a call on a new connection vs a call on a kept-alive one, the
 * set-up (handshake) cost per connection in ms and bytes, and a TLS note.
 * The figures are RunRecord.tls (bench/run/connection-cost.ts), the same on every
 * row of a protocol; the first measured one is shown.
 */
import type { ConnectionCostRecord, ResultsFile } from '../results/record.ts';
import type { Protocol } from '../types.ts';
import { hasNetworks, splitByNetwork } from '../results/network-groups.ts';
import { escapeHtml, htmlParagraph, htmlTable } from './html-parts.ts';
import { section } from './section.ts';

const NAMES: Readonly<Record<Protocol, string>> = { grpc: 'gRPC', rest: 'REST' };

interface CostRow {
  title: string;
  value: (c: ConnectionCostRecord) => number | null;
  format: (v: number) => string;
}

const ROWS: CostRow[] = [
  { title: 'call on a new connection, ms', value: (c) => c.newConnectionCallMs, format: (v) => v.toFixed(2) },
  { title: 'call on a kept-alive connection, ms', value: (c) => c.keptAliveCallMs, format: (v) => v.toFixed(2) },
  { title: 'connection set-up (handshake), ms', value: (c) => c.handshakeMs, format: (v) => v.toFixed(2) },
  { title: 'set-up bytes client -> server', value: (c) => c.handshakeBytes?.request ?? null, format: (v) => v.toFixed(0) },
  { title: 'set-up bytes server -> client', value: (c) => c.handshakeBytes?.response ?? null, format: (v) => v.toFixed(0) },
];

/** Each protocol's connection-cost record (the first one with figures, else the first at all). */
export function connectionCosts(results: ResultsFile): Partial<Record<Protocol, ConnectionCostRecord>> {
  const out: Partial<Record<Protocol, ConnectionCostRecord>> = {};
  for (const run of results.runs) {
    const cost = run.tls;
    if (!cost) continue;
    const seen = out[run.protocol];
    if (!seen || (seen.calls === 0 && cost.calls > 0)) out[run.protocol] = cost;
  }
  return out;
}

export function tlsEnabled(results: ResultsFile): boolean {
  return results.runs.some((run) => run.tls?.enabled === true);
}

function heading(results: ResultsFile, costs: Partial<Record<Protocol, ConnectionCostRecord>>): string {
  const version = Object.values(costs).find((c) => c?.version)?.version;
  const calls = Math.max(0, ...Object.values(costs).map((c) => c?.calls ?? 0));
  const transport = tlsEnabled(results)
    ? `TLS on${version ? ` (${version})` : ''}: gRPC over h2 via ALPN, REST over HTTPS/1.1`
    : 'no TLS: gRPC over h2c, REST over HTTP/1.1';
  return `connection cost, ${transport}; ${calls} sequential calls of each kind, interleaved`;
}

function note(withTls: boolean): string {
  return (
    'set-up = median(call on a new connection) - median(call on a kept-alive one): TCP connect' +
    (withTls ? ' + full TLS handshake (no session resumption)' : '') +
    ' + HTTP/2 preface and SETTINGS for gRPC; paid once per connection.' +
    ` Set-up bytes: what a new connection moves beyond its call (${withTls ? 'TLS handshake, ' : ''}HTTP/2 preface/SETTINGS/GOAWAY), counted by the proxy; TCP SYN/ACKs not included.`
  );
}
const TLS_NOTE = 'TLS on: bytes per call are not counted in the table (the proxy would see only ciphertext); run the scenario without --tls for them (TLS adds its record framing, about 22 bytes per record with TLS 1.3 AES-GCM).';

/**
 * Behind an emulated link (--network): the set-up in RTTs of the link's own
 * ping-pong, e.g. "gRPC 2.0 RTT, REST 1.0" (TCP's handshake, then HTTP/2's
 * SETTINGS exchange or TLS 1.3's handshake on top). null on loopback.
 */
function setupInRtts(results: ResultsFile, costs: Partial<Record<Protocol, ConnectionCostRecord>>, protocols: readonly Protocol[]): string | null {
  const rtt = results.runs.find((run) => run.network?.measured.rttMs)?.network?.measured.rttMs ?? null;
  if (rtt === null || rtt <= 0) return null;
  const parts = protocols.map((p) => {
    const ms = costs[p]!.handshakeMs;
    return `${NAMES[p]} ${ms === null ? '-' : (ms / rtt).toFixed(1)}`;
  });
  return `set-up in round trips of the link (measured RTT ${rtt.toFixed(2)} ms): ${parts.join(', ')}`;
}

/** One file's (or one condition's) connection cost, as every output shows it. */
export interface ConnectionCostModel {
  heading: string;
  tls: boolean;
  /** The protocols' names as columns. */
  protocols: string[];
  /** One row per figure: its title, one cell per protocol, and g/r with both protocols; null when the pass measured nothing. */
  rows: Array<{ title: string; cells: string[]; ratio: string | null }> | null;
  note: string;
  inRtts: string | null;
}

/** The connection cost of the runs, or null when no run carries its figures. */
export function connectionCostModel(results: ResultsFile): ConnectionCostModel | null {
  const costs = connectionCosts(results);
  const protocols = (['grpc', 'rest'] as const).filter((p) => costs[p]);
  if (protocols.length === 0) return null;
  const measured = protocols.some((p) => costs[p]!.calls > 0);
  const rows = measured
    ? ROWS.map((row) => {
        const g = row.value(costs.grpc ?? emptyish());
        const r = row.value(costs.rest ?? emptyish());
        return {
          title: row.title,
          cells: protocols.map((p) => {
            const v = row.value(costs[p]!);
            return v === null ? '-' : row.format(v);
          }),
          ratio: protocols.length === 2 ? (g !== null && r !== null && r > 0 ? `${(g / r).toFixed(2)}x` : '-') : null,
        };
      })
    : null;
  return {
    heading: heading(results, costs),
    tls: tlsEnabled(results),
    protocols: protocols.map((p) => NAMES[p]),
    rows,
    note: note(tlsEnabled(results)),
    inRtts: measured ? setupInRtts(results, costs, protocols) : null,
  };
}

/** Lines for the terminal, or [] when no run carries connection-cost figures. */
export function renderConnectionCostLines(results: ResultsFile): string[] {
  const model = connectionCostModel(results);
  return model === null ? [] : costLines(model);
}

function costLines(m: ConnectionCostModel): string[] {
  const lines = [m.heading];
  if (m.rows) {
    const withRatio = m.rows[0]?.ratio !== null;
    const head = ['', ...m.protocols, ...(withRatio ? ['g/r'] : [])];
    const all = [head, ...m.rows.map((row) => [row.title, ...row.cells, ...(row.ratio === null ? [] : [row.ratio])])];
    const widths = head.map((_, i) => Math.max(...all.map((line) => line[i]!.length)));
    for (const line of all) lines.push(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ').trimEnd());
    lines.push(m.note);
    if (m.inRtts) lines.push(m.inRtts);
  } else {
    lines.push('(not measured: --connection-calls 0, or the pass failed)');
  }
  if (m.tls) lines.push(TLS_NOTE);
  return lines;
}

function costMarkdown(m: ConnectionCostModel): string[] {
  const out = [`${m.heading}.`, ''];
  if (m.rows) {
    out.push(`| | ${m.protocols.join(' | ')} |`, `| --- |${m.protocols.map(() => ' ---: ').join('|')}|`);
    for (const row of m.rows) out.push(`| ${row.title} | ${row.cells.join(' | ')} |`);
    out.push('', m.note);
    if (m.inRtts) out.push('', m.inRtts);
  } else {
    out.push('Not measured (--connection-calls 0, or the pass failed).');
  }
  if (m.tls) out.push('', TLS_NOTE);
  return out;
}

function costHtml(m: ConnectionCostModel): string {
  const parts = [`<p>${escapeHtml(m.heading)}.</p>`];
  if (m.rows) {
    const withRatio = m.rows[0]?.ratio !== null;
    parts.push(
      htmlTable(['', ...m.protocols, ...(withRatio ? ['g/r'] : [])], m.rows.map((row) => [row.title, ...row.cells, ...(row.ratio === null ? [] : [row.ratio])]), (i) => i === 0),
      htmlParagraph(m.note),
    );
    if (m.inRtts) parts.push(htmlParagraph(m.inRtts));
  } else {
    parts.push(htmlParagraph('Not measured (--connection-calls 0, or the pass failed).'));
  }
  if (m.tls) parts.push(htmlParagraph(TLS_NOTE));
  return parts.join('\n');
}

interface CostGroup {
  /** The network condition (--network); null on loopback without emulation. */
  network: string | null;
  cost: ConnectionCostModel;
}

/** Connection set-up against the per-call cost, once per protocol (per condition with --network). */
export const connectionCostSection = section<CostGroup[]>({
  id: 'connection-cost',
  title: 'Connection cost',
  applies: ({ calls }) => calls.runs.some((run) => run.tls),
  model: ({ calls }) => {
    const groups = hasNetworks(calls) ? splitByNetwork(calls).map((g) => ({ network: g.name as string | null, results: g.results })) : [{ network: null, results: calls }];
    return groups.flatMap(({ network, results }) => {
      const cost = connectionCostModel(results);
      return cost === null ? [] : [{ network, cost }];
    });
  },
  terminal: (groups) =>
    groups
      .map((g) => {
        const [heading, ...rest] = costLines(g.cost);
        return [g.network === null ? heading : `${heading} (network ${g.network})`, ...rest].join('\n');
      })
      .join('\n\n'),
  markdown: (groups) =>
    [
      `## Connection cost${groups.some((g) => g.cost.tls) ? ' (TLS)' : ''}`,
      ...groups.flatMap((g) => ['', ...(g.network === null ? [] : [`**network ${g.network}**`, '']), ...costMarkdown(g.cost)]),
    ].join('\n'),
  html: (groups) =>
    `<h2>Connection cost${groups.some((g) => g.cost.tls) ? ' (TLS)' : ''}</h2>\n` +
    groups.map((g) => `${g.network === null ? '' : `<h3>network ${escapeHtml(g.network)}</h3>\n`}${costHtml(g.cost)}`).join('\n'),
});

function emptyish(): ConnectionCostRecord {
  return { enabled: false, version: null, calls: 0, newConnectionCallMs: null, keptAliveCallMs: null, handshakeMs: null, handshakeBytes: null };
}
