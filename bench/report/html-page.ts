/**
 * report.html: one self-contained page per run. The charts are inline SVG
 * (rendered in Node by charts.ts), the styles inline, and there is no script
 * at all; a Content-Security-Policy forbids any fetch, so the file opens from
 * disk, offline, the same everywhere.
 */
import { describeNetwork, hasNetworks, splitByNetwork } from './network.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { groupRuns, wireBytesPerCall } from '../compare/compare.ts';
import { compact, integer, machineLabel, ms, PROTOCOL_LABEL, ratio, scenarioLabel } from '../compare/labels.ts';
import { compareProtocols, headline, ratioRange } from '../compare/protocols.ts';
import { max, median, min } from '../compare/stats.ts';
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { writeFileAtomic } from '../results/write.ts';
import { renderCharts, saveCharts, type RenderedChart } from './charts.ts';
import { capacityHeadline, hasCapacity, renderCapacityTable } from './capacity.ts';
import { STREAM_FIGURE_HEADER, streamFigureCells, streamHeadline, TRANSPORT_LABEL } from './streams.ts';
import { callRowsOf, streamRecordsOf, type StreamRecord, type StreamsFile } from '../results/stream-record.ts';

export const HTML_FILE = 'report.html';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
  :root { color-scheme: light; --muted: #5f6368; --line: #e3e3e3; --grpc: #1f77b4; --rest: #ff7f0e; }
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 24px; max-width: 1160px; color: #202124; }
  h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
  .muted, figcaption { color: var(--muted); font-size: 13px; }
  dl.env { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; margin: 12px 0; }
  dl.env dt { color: var(--muted); } dl.env dd { margin: 0; }
  ul.headline li { margin: 4px 0; }
  figure { margin: 12px 0 28px; } figure .chart { overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
  .panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 340px), 1fr)); gap: 8px 16px; align-items: start; }
  .panels-title { font-weight: 600; margin: 0 0 6px; }
  ul.legend { list-style: none; padding: 0; margin: 8px 0; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 12px; }
  ul.legend .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
  table { border-collapse: collapse; font-size: 13px; margin: 8px 0; } th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: right; white-space: nowrap; }
  th { background: #f6f6f6; position: sticky; top: 0; } td.l, th.l { text-align: left; }
  .grpc { color: var(--grpc); font-weight: 600; } .rest { color: var(--rest); font-weight: 600; }
  .warn { background: #fff4e5; border-left: 4px solid #f29900; padding: 8px 12px; margin: 12px 0; }
  .flag { color: #b06000; }
`;

function protocolCell(run: Pick<RunRecord, 'protocol'>): string {
  return `<span class="${run.protocol}">${PROTOCOL_LABEL[run.protocol]}</span>`;
}

function environmentList(results: ResultsFile): string {
  const env = results.environment;
  const options = env.options ?? {};
  const trials = Math.max(0, ...results.runs.map((r) => r.trial));
  const items: Array<[string, string]> = [
    ['date', env.date],
    ['machine', `${env.cpuModel} ×${env.cpuCount}, ${integer(env.totalMemoryMiB)} MiB`],
    ['software', `Node ${env.node} on ${env.os}`],
    ['commit', env.gitCommit ?? 'unknown'],
    ['profile', `${String(options.profile ?? '–')}, ${trials} trial(s) per scenario${options.durationS !== undefined ? `, ${String(options.durationS)} s per run` : ''}`],
    ['CPU pinning', env.pinning ? `servers on ${env.pinning.server}, load generator on ${env.pinning.client}` : 'none'],
    ['packages', Object.entries(env.packages ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '–'],
  ];
  return `<dl class="env">${items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/** One block per network condition under its description (bench/report/network.ts), or the block as is on loopback. */
function perNetworkHtml(results: ResultsFile, render: (part: ResultsFile) => string): string {
  if (!hasNetworks(results)) return render(results);
  return splitByNetwork(results)
    .map((group) => `<h3>${escapeHtml(describeNetwork(group))}</h3>\n${render(group.results)}`)
    .join('\n');
}

function headlineSection(results: ResultsFile): string {
  // --slo: the capacity sentences and table answer the question the run asked.
  if (hasCapacity(results)) {
    return `<ul class="headline">${capacityHeadline(results).map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>\n<pre id="capacity">${escapeHtml(renderCapacityTable(results))}</pre>`;
  }
  const sentences = headline(results);
  if (sentences.length === 0) return '<p class="muted">No scenario has completed runs of both protocols, so there is no gRPC vs REST headline.</p>';
  return `<ul class="headline">${sentences.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>`;
}

/**
 * A chart with panels (one per scenario) is shown as a grid of panels that wraps
 * to the page's width, with one legend under it: the faceted file has a fixed
 * number of columns and would be wider than the page.
 */
function chartBody(chart: RenderedChart): string {
  if (!chart.panels?.length) return chart.svg;
  const panels = chart.panels.map((p) => `<div class="panel" data-panel="${escapeHtml(p.title)}">${p.svg}</div>`).join('');
  const legend = (chart.legend ?? [])
    .map((entry) => `<li><span class="swatch" style="background:${escapeHtml(entry.color)}"></span>${escapeHtml(entry.label)}</li>`)
    .join('');
  return `<p class="panels-title">${escapeHtml(chart.title)}</p><div class="panels">${panels}</div>${legend ? `<ul class="legend">${legend}</ul>` : ''}`;
}

function chartSection(chart: RenderedChart): string {
  return `<figure id="chart-${escapeHtml(chart.id)}" data-chart="${escapeHtml(chart.id)}">
<div class="chart" role="img" aria-label="${escapeHtml(chart.title)}">${chartBody(chart)}</div>
<figcaption>${escapeHtml(chart.description)} <span class="muted">(also saved as <code>${escapeHtml(chart.file)}</code>)</span></figcaption>
</figure>`;
}

function range(values: number[], format: (v: number) => string): string {
  if (values.length === 0) return '–';
  const m = format(median(values));
  return values.length < 2 ? m : `${m} <span class="muted">(${format(min(values))}–${format(max(values))})</span>`;
}

function resultsTable(results: ResultsFile): string {
  const rows: string[] = [];
  for (const group of groupRuns(results.runs).values()) {
    const runs = group.completed;
    const sample = runs[0] ?? group.failed[0]!;
    const pick = (f: (r: RunRecord) => number | null | undefined) =>
      runs.map(f).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const bound = runs.some((r) => r.client.bound);
    const errors = runs.reduce((s, r) => s + r.errors, 0);
    rows.push(`<tr>
<td class="l">${escapeHtml(scenarioLabel(sample))}</td><td class="l">${protocolCell(sample)}</td><td class="l">${escapeHtml(group.driver)}</td>
<td>${runs.length}${group.failed.length ? ` <span class="flag">+${group.failed.length} failed</span>` : ''}</td>
<td>${range(pick((r) => r.rps), compact)}</td>
<td>${range(pick((r) => r.latencyMs?.p50), ms)}</td>
<td>${range(pick((r) => r.latencyMs?.p99), ms)}</td>
<td>${range(pick((r) => r.latencyMs?.p999), ms)}</td>
<td>${range(pick(wireBytesPerCall), compact)}</td>
<td>${range(pick((r) => r.body.requestBytes + r.body.responseBytes), compact)}</td>
<td>${errors ? `<span class="flag">${integer(errors)}</span>` : '0'}</td>
<td>${range(pick((r) => r.server.cpuMsPer1kCalls), compact)}</td>
<td>${range(pick((r) => r.client.cpuPercent), (v) => `${v.toFixed(0)}%`)}${bound ? ' <span class="flag" title="load generator CPU-bound">⚠ bound</span>' : ''}</td>
</tr>`);
  }
  return `<table id="results">
<thead><tr><th class="l">scenario</th><th class="l">protocol</th><th class="l">driver</th><th>trials</th><th>calls/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>wire bytes/call</th><th>body bytes/call</th><th>errors</th><th>server CPU ms/1k calls</th><th>client CPU</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="muted">Each figure is the median of the completed trials, with the min–max range across trials in brackets. Bytes per call are request + response; "wire" counts everything on the socket (headers, HTTP/2 and gRPC framing, body), "body" the message encoding alone. "⚠ bound": the load generator used nearly a full core while the server did not, so that row measures the client.</p>`;
}

function protocolTable(results: ResultsFile): string {
  const comparisons = compareProtocols(results);
  if (comparisons.length === 0) return '';
  const rows = comparisons.map(
    (c) => `<tr><td class="l">${escapeHtml(c.label)}</td><td class="l">${escapeHtml(`${c.grpcDriver} / ${c.restDriver}`)}</td>
<td>${c.winner === 'tie' ? 'tie' : protocolCell({ protocol: c.winner })}</td><td>${ratio(c.ratio)}</td><td>${c.trials < 2 ? '–' : ratioRange(c)}</td>
<td>${c.p === null ? '–' : c.p.toFixed(2)}</td><td class="l">${escapeHtml(c.confidence)}</td><td class="l">${escapeHtml(c.notes.join('; '))}</td></tr>`,
  );
  return `<h2>gRPC vs REST, scenario by scenario</h2>
<table id="protocols"><thead><tr><th class="l">scenario</th><th class="l">drivers</th><th>more calls/s</th><th>ratio</th><th>trial ratios min–max</th><th>p (Mann–Whitney)</th><th class="l">confidence</th><th class="l">notes</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="muted">Ratio: the winner's median calls/s over the loser's. Trial i of each protocol ran back to back, so each trial gives a ratio; their min–max shows how steady the verdict is. Confidence is high with 3 or more trials when every paired ratio favours the winner by at least half the 10% threshold and no trial of the loser beats any trial of the winner; medium when the paired trials agree but by less, with overlapping values, or with only 2 trials; low when trials disagree. With 3 vs 3 trials the exact Mann–Whitney p cannot go below 0.10.</p>`;
}

function failures(results: ResultsFile): string {
  const failed = results.runs.filter((r) => r.status === 'failed');
  if (failed.length === 0) return '';
  const items = failed.map(
    (r) => `<li>${escapeHtml(`${scenarioLabel(r)}, ${PROTOCOL_LABEL[r.protocol]} (${r.driver}), trial ${r.trial}: ${r.failure ?? 'no reason recorded'}`)}</li>`,
  );
  return `<div class="warn"><strong>${failed.length} run(s) failed</strong> and are left out of the charts and medians:<ul>${items.join('')}</ul></div>`;
}

/** The section for the stream scenario (the records of streams.json), or '' without one. */
function streamTable(records: readonly StreamRecord[]): string {
  if (records.length === 0) return '';
  const rows = records.map((r) => {
    const figures = streamFigureCells(r, '–');
    const errors = figures.pop()!;
    const flags = `${r.errors ? `<span class="flag">${errors}</span>` : errors}${r.clientBound ? ' <span class="flag" title="load generator CPU-bound">⚠ bound</span>' : ''}`;
    return `<tr><td class="l">${escapeHtml(r.operation)}</td><td class="l">${escapeHtml(TRANSPORT_LABEL[r.transport])}</td><td>${r.streams}</td>${figures.map((cell) => `<td>${cell}</td>`).join('')}<td>${flags}</td></tr>`;
  });
  const header = STREAM_FIGURE_HEADER.map((name) => `<th>${escapeHtml(name)}</th>`).join('');
  return `<h2>Streams</h2>
<ul>${streamHeadline(records).map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>
<table id="streams"><thead><tr><th class="l">operation</th><th class="l">transport</th><th>streams</th>${header}</tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="muted">Per message, measured after the unary runs with servers of their own (streams.json): p50/p99 from a value sent to its total received, open p50 from a new stream to its first answer, bytes from the counting proxy, CPU from /proc.</p>`;
}

/** The whole page. `charts` come from renderCharts(results) (or writeHtmlReport, which does both); `streams`, from the run's streams.json. */
export function renderHtmlReport(results: ResultsFile, charts: readonly RenderedChart[], streams: readonly StreamRecord[] = []): string {
  const env = results.environment;
  const title = `callbench: gRPC vs REST, ${env.date}`;
  const bound = results.runs.some((r) => r.status === 'completed' && r.client.bound);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>callbench: gRPC vs REST</h1>
<div class="muted">${escapeHtml(machineLabel(env))}, ${escapeHtml(env.date)}. Results schema v${results.schemaVersion}, ${results.runs.length} run record(s).</div>
${environmentList(results)}
</header>
${failures(results)}
${bound ? '<div class="warn">Some rows were limited by the load generator\'s CPU (marked ⚠ bound / triangles): there the figures measure the client, not the protocol.</div>' : ''}
<h2>Headline</h2>
${perNetworkHtml(results, headlineSection)}
<h2>Charts</h2>
${charts.length === 0 ? '<p class="muted">No completed runs, so no charts.</p>' : charts.map(chartSection).join('\n')}
${protocolTable(results)}
${streamTable(streams)}
<h2>All results</h2>
${perNetworkHtml(results, resultsTable)}
<footer class="muted"><p>Generated by <code>npm run bench:report</code> from results.json; charts drawn with Vega-Lite. Nothing on this page loads from the network.</p></footer>
</body>
</html>
`;
}

const MD_START = '<!-- callbench:charts:start -->';
const MD_END = '<!-- callbench:charts:end -->';

/** The report.md section that shows the chart files (GitHub renders linked SVGs). */
export function chartsMarkdown(charts: ReadonlyArray<Pick<RenderedChart, 'title' | 'file'>>): string {
  if (charts.length === 0) return `${MD_START}\n${MD_END}`;
  const images = charts.map((c) => `![${c.title}](${c.file})`).join('\n\n');
  return `${MD_START}\n## Charts\n\n${images}\n\nThe same charts with explanations: [report.html](${HTML_FILE}).\n${MD_END}`;
}

/** Inserts or replaces the charts section of a Markdown report (idempotent). */
export function withChartsSection(markdown: string, section: string): string {
  const start = markdown.indexOf(MD_START);
  const end = markdown.indexOf(MD_END);
  if (start !== -1 && end > start) return `${markdown.slice(0, start)}${section}${markdown.slice(end + MD_END.length)}`;
  return `${markdown.replace(/\s*$/, '')}\n\n${section}\n`;
}

/** Removes the charts section (for places where relative image links do not resolve, like a CI summary). */
export function withoutChartsSection(markdown: string): string {
  const start = markdown.indexOf(MD_START);
  const end = markdown.indexOf(MD_END);
  if (start === -1 || end < start) return markdown;
  return `${markdown.slice(0, start).replace(/\s*$/, '')}\n${markdown.slice(end + MD_END.length)}`;
}

/** The stream rows of the results; for a run folder from before schema 4, its streams.json (a default run), else none. */
async function streamRowsOf(runDir: string, results: ResultsFile): Promise<StreamRecord[]> {
  const rows = streamRecordsOf(results);
  if (rows.length > 0 || results.schemaVersion >= 4) return rows;
  try {
    return (JSON.parse(await readFile(path.join(runDir, 'streams.json'), 'utf8')) as StreamsFile).records;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Renders charts once and writes <runDir>/charts/*.svg and <runDir>/report.html;
 * when <runDir>/report.md exists, adds (or refreshes) its charts section.
 * Returns the paths written, relative to runDir.
 */
export async function writeHtmlReport(runDir: string, results: ResultsFile): Promise<{ html: string; charts: string[]; markdown: string | null }> {
  const calls = callRowsOf(results);
  const charts = await renderCharts(calls);
  const files = await saveCharts(runDir, charts);
  // By rename, like every file of a run folder: a crash or a reader mid-write (a re-render of a finished run) never sees half a file.
  writeFileAtomic(path.join(runDir, HTML_FILE), renderHtmlReport(calls, charts, await streamRowsOf(runDir, results)));
  let markdown: string | null = null;
  const mdPath = path.join(runDir, 'report.md');
  try {
    const text = await readFile(mdPath, 'utf8');
    writeFileAtomic(mdPath, withChartsSection(text, chartsMarkdown(charts)));
    markdown = 'report.md';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return { html: HTML_FILE, charts: files, markdown };
}
