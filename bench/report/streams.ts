/**
 * The stream bench's renderings: its terminal table and report.md section (one
 * row per operation and transport), the figure columns report.html shares, and
 * its "in short" sentences, from the records alone.
 */
import { DEFAULT_THRESHOLD } from '../compare/compare.ts';
import { ratio } from '../compare/labels.ts';
import { markdownTable } from './markdown-table.ts';
import { textTable } from './text-table.ts';
import { escapeHtml, htmlList } from './html-parts.ts';
import { section } from './section.ts';
import { upgradeStreamRecord, type StreamRecord } from '../results/stream-record.ts';

/**
 * The measured figures of a stream record, the same columns in every renderer.
 * p50/p99 are per message (a value sent -> its answer; a client stream's last
 * value -> its total); a server stream's answers have no request each, so it
 * has none and its gap between answers is a column of its own.
 */
export const STREAM_FIGURE_HEADER = ['msgs/s', 'p50 ms', 'p99 ms', 'open p50 ms', 'gap p50 ms', 'req B/msg', 'resp B/msg', 'server CPU ms/1k', 'client CPU ms/1k', 'errors'] as const;

/** Cells under STREAM_FIGURE_HEADER; `missing` stands for a figure that was not measured. */
export function streamFigureCells(record: StreamRecord, missing: string): string[] {
  const r = upgradeStreamRecord(record);
  const fixed = (value: number | null | undefined, digits: number): string => (value === null || value === undefined ? missing : value.toFixed(digits));
  return [
    String(r.messagesPerSecond),
    fixed(r.latencyMs?.p50, 3),
    fixed(r.latencyMs?.p99, 3),
    fixed(r.openMs?.p50, 3),
    fixed(r.gapMs?.p50, 3),
    fixed(r.requestBytesPerMessage, 1),
    fixed(r.responseBytesPerMessage, 1),
    fixed(r.serverCpuMsPer1000, 1),
    fixed(r.clientCpuMsPer1000, 1),
    String(r.errors),
  ];
}

/** The terminal's stream table: the rate column only when some row ran open loop, so a closed-loop table stays as it was. */
export function renderStreamTable(records: readonly StreamRecord[]): string {
  const open = records.some((r) => r.ratePerStream !== null);
  // Where the rows ran, when it was not loopback in cleartext; the trials' spread when there were several.
  const placed = records.some((r) => (r.network ?? null) !== null || r.tls === true || (r.proxy ?? null) !== null);
  const trials = records.some((r) => (r.trials ?? 1) > 1);
  const header = ['operation', 'transport', ...(placed ? ['place'] : []), ...(open ? ['rate/stream'] : []), ...STREAM_FIGURE_HEADER, ...(trials ? ['trials', 'msgs/s range'] : []), ''];
  const rows = records.map((r) => [
    r.operation,
    r.transport,
    ...(placed ? [placeLabel(r)] : []),
    ...(open ? [r.ratePerStream === null ? '-' : String(r.ratePerStream)] : []),
    ...streamFigureCells(r, '-'),
    ...(trials ? [String(r.trials ?? 1), r.messagesPerSecondRange ? `${r.messagesPerSecondRange[0]}-${r.messagesPerSecondRange[1]}` : '-'] : []),
    r.clientBound ? 'client-bound' : '',
  ]);
  return textTable(header, rows, (column) => column < 2);
}

/** Where a record ran: "loopback", "lan TLS", "loopback via nginx l7 x2". */
function placeLabel(r: StreamRecord): string {
  return [r.network ?? 'loopback', ...(r.tls ? ['TLS'] : []), ...(r.proxy ? [`via ${r.proxy}`] : [])].join(' ');
}

export const TRANSPORT_LABEL: Readonly<Record<StreamRecord['transport'], string>> = { grpc: 'gRPC', ndjson: 'NDJSON', sse: 'SSE', websocket: 'WebSocket' };

/**
 * One sentence per operation: each REST transport's messages/s against gRPC's, e.g.
 * "running-sum (bidi stream), 16 streams: NDJSON 1.38× gRPC, WebSocket 1.56× gRPC messages/s".
 * A row without messages is named rather than compared; client-bound rows are named after the comparison.
 */
export function streamHeadline(records: readonly StreamRecord[], threshold = DEFAULT_THRESHOLD): string[] {
  // One sentence per operation and place (network condition, TLS): gRPC is set against REST in the same place only.
  const groups = [...new Set(records.map((r) => `${r.operation}\u0000${placeLabel(r)}`))];
  const places = new Set(records.map(placeLabel));
  return groups.flatMap((group) => {
    const [operation, place] = group.split('\u0000') as [string, string];
    const rows = records.filter((r) => r.operation === operation && placeLabel(r) === place);
    const where = places.size > 1 ? `${place}: ` : '';
    const grpc = rows.find((r) => r.transport === 'grpc');
    if (!grpc) return [];
    const claims = rows
      .filter((r) => r.transport !== 'grpc')
      .map((rest) => {
        const name = TRANSPORT_LABEL[rest.transport];
        if (grpc.messagesPerSecond <= 0 || rest.messagesPerSecond <= 0) return `${name}: no messages to compare`;
        const restOverGrpc = rest.messagesPerSecond / grpc.messagesPerSecond;
        if (Math.abs(restOverGrpc - 1) < threshold) return `gRPC and ${name} within ${Math.round(threshold * 100)}%`;
        return restOverGrpc > 1 ? `${name} ${ratio(restOverGrpc)} gRPC` : `gRPC ${ratio(1 / restOverGrpc)} ${name}`;
      });
    const bound = rows.filter((r) => r.clientBound).map((r) => TRANSPORT_LABEL[r.transport]);
    const caveat = bound.length > 0 ? `; client-bound: ${bound.join(', ')} (a lower bound for the server)` : '';
    return [`${where}${operation} (${KIND[operation] ?? 'stream'}), ${grpc.streams} streams: ${claims.join(', ')} messages/s${caveat}`];
  });
}

const KIND: Readonly<Record<string, string>> = { 'running-sum': 'bidi stream', 'sum-stream': 'client stream', 'prefix-sums': 'server stream' };

/** report.md's section for the default run's stream scenario: the records as a table and the sentences. */
export function renderStreamMarkdown(records: readonly StreamRecord[]): string[] {
  const header = ['operation', 'transport', 'streams', 'values/stream', ...STREAM_FIGURE_HEADER, 'client-bound'];
  const rows = records.map((r) => [
    r.operation,
    TRANSPORT_LABEL[r.transport],
    String(r.streams),
    r.messagesPerStream === null ? '–' : String(r.messagesPerStream),
    ...streamFigureCells(r, '–'),
    r.clientBound ? 'yes' : '',
  ]);
  return [
    '## Streams',
    '',
    'Per message (rows of `results.json` with `unit: "message"`): p50/p99 from a value sent to its answer (a client stream: its last value to its total), open p50 from a new stream to its first answer, gap p50 between a server stream\'s answers, bytes from the counting proxy, CPU from /proc.',
    '',
    ...markdownTable(header, rows, (column) => column < 2),
    '',
    ...streamHeadline(records).map((line) => `- ${line}`),
  ];
}

/** The stream scenarios' rows in report.html: the sentences, then one row per operation and transport. */
function streamsHtml(records: readonly StreamRecord[]): string {
  const rows = records.map((r) => {
    const figures = streamFigureCells(r, '–');
    const errors = figures.pop()!;
    const flags = `${r.errors ? `<span class="flag">${errors}</span>` : errors}${r.clientBound ? ' <span class="flag" title="load generator CPU-bound">⚠ bound</span>' : ''}`;
    return `<tr><td class="l">${escapeHtml(r.operation)}</td><td class="l">${escapeHtml(TRANSPORT_LABEL[r.transport])}</td><td>${r.streams}</td>${figures.map((cell) => `<td>${cell}</td>`).join('')}<td>${flags}</td></tr>`;
  });
  const header = STREAM_FIGURE_HEADER.map((name) => `<th>${escapeHtml(name)}</th>`).join('');
  return `<h2>Streams</h2>
${htmlList(streamHeadline(records))}
<table id="streams"><thead><tr><th class="l">operation</th><th class="l">transport</th><th>streams</th>${header}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="muted">Per message, measured after the unary runs with servers of their own: p50/p99 from a value sent to its total received, open p50 from a new stream to its first answer, gap p50 between a server stream's answers, bytes from the counting proxy, CPU from /proc.</p>`;
}

/** The stream rows of the file (or of an old folder's streams.json), one row per operation, transport and place. */
export const streamsSection = section<readonly StreamRecord[]>({
  id: 'streams',
  title: 'Streams',
  applies: ({ streams }) => streams.length > 0,
  model: ({ streams }) => streams,
  terminal: (records) => {
    const first = records[0]!;
    const length = first.messagesPerStream === null ? `held ${first.durationS ?? '-'} s` : `${first.messagesPerStream} values each`;
    return `streams (${first.streams} concurrent, ${length}; per message; npm run bench:streams for all three kinds):\n${renderStreamTable(records)}`;
  },
  markdown: (records) => renderStreamMarkdown(records).join('\n'),
  html: (records) => streamsHtml(records),
});
