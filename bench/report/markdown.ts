/**
 * report.md: a title, then every section of the report (bench/report/sections.ts)
 * in its Markdown form, in the same order as the terminal and report.html.
 */
import type { ResultsFile } from '../results/record.ts';
import { buildReport, type BuiltReport } from './sections.ts';

export function markdownReport(report: BuiltReport): string {
  return `${['# callbench: gRPC vs REST', ...report.parts.map(({ section, model }) => section.markdown(model))].join('\n\n')}\n`;
}

/** report.md of a results file (call and stream rows); the charts block names charts/*.svg. */
export function renderMarkdown(results: ResultsFile): string {
  return markdownReport(buildReport({ results }));
}
