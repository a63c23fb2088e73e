/**
 * The Charts section: report.html inlines the SVGs (charts.ts draws them),
 * report.md links charts/*.svg so they show on GitHub, the terminal names them.
 * Its report.md block sits between two markers, so a reader that cannot
 * resolve relative image links (a CI summary) can leave it out.
 */
import { CHARTS_DIR, chartSpecs, type RenderedChart } from './charts.ts';
import { escapeHtml } from './html-parts.ts';
import { section } from './section.ts';

export const HTML_FILE = 'report.html';

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

/** A chart as the outputs show it: drawn (svg) when the writer drew it, else its file only. */
type ChartEntry = Omit<RenderedChart, 'svg'> & { svg: string | null };

/**
 * A chart with panels (one per scenario) is shown as a grid of panels that wraps
 * to the page's width, with one legend under it: the faceted file has a fixed
 * number of columns and would be wider than the page.
 */
function chartBody(chart: ChartEntry): string {
  if (!chart.panels?.length) return chart.svg ?? '';
  const panels = chart.panels.map((p) => `<div class="panel" data-panel="${escapeHtml(p.title)}">${p.svg}</div>`).join('');
  const legend = (chart.legend ?? [])
    .map((entry) => `<li><span class="swatch" style="background:${escapeHtml(entry.color)}"></span>${escapeHtml(entry.label)}</li>`)
    .join('');
  return `<p class="panels-title">${escapeHtml(chart.title)}</p><div class="panels">${panels}</div>${legend ? `<ul class="legend">${legend}</ul>` : ''}`;
}

function chartFigure(chart: ChartEntry): string {
  if (chart.svg === null) {
    return `<figure id="chart-${escapeHtml(chart.id)}"><figcaption><strong>${escapeHtml(chart.title)}</strong>: ${escapeHtml(chart.description)} <span class="muted">(saved as <code>${escapeHtml(chart.file)}</code>)</span></figcaption></figure>`;
  }
  return `<figure id="chart-${escapeHtml(chart.id)}" data-chart="${escapeHtml(chart.id)}">
<div class="chart" role="img" aria-label="${escapeHtml(chart.title)}">${chartBody(chart)}</div>
<figcaption>${escapeHtml(chart.description)} <span class="muted">(also saved as <code>${escapeHtml(chart.file)}</code>)</span></figcaption>
</figure>`;
}

export const chartsSection = section<ChartEntry[]>({
  id: 'charts',
  title: 'Charts',
  applies: ({ charts, calls }) => (charts ? charts.length > 0 : chartSpecs(calls).length > 0),
  model: ({ charts, calls }) =>
    charts
      ? [...charts]
      : chartSpecs(calls).map(({ spec: _spec, panels: _panels, ...meta }) => ({ ...meta, file: `${CHARTS_DIR}/${meta.id}.svg`, svg: null })),
  terminal: (charts) => `charts: ${charts.map((c) => c.id).join(', ')} (report.html, ${CHARTS_DIR}/*.svg)`,
  markdown: (charts) => chartsMarkdown(charts),
  html: (charts) => `<h2>Charts</h2>\n${charts.map(chartFigure).join('\n')}`,
});
