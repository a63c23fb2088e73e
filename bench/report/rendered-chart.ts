/**
 * A chart as the report sections take it: drawn (SVG) by charts.ts, read by
 * the sections' renderers. Its own module so that sections need not import
 * the chart builder, which imports sections' helpers.
 */

export interface LegendEntry {
  label: string;
  color: string;
}

export interface RenderedChart {
  /** File stem: charts/<id>.svg. */
  id: string;
  title: string;
  /** One or two sentences on how to read the chart (shown under it in the HTML report). */
  description: string;
  legend?: LegendEntry[];
  /** Path relative to the run folder, e.g. "charts/throughput.svg". */
  file: string;
  svg: string;
  panels?: Array<{ title: string; svg: string }>;
}
