/**
 * The report files of a run folder, rendered from its results: report.md,
 * results.csv, report.html and its charts. The bench CLI calls it once the
 * runner has returned (the runner writes only results.json, after every run),
 * so a stopped or failed bench still gets its reports.
 */
import path from 'node:path';
import type { ResultsFile } from '../results/record.ts';
import { writeFileAtomic } from '../results/write.ts';
import { renderCsv } from './csv.ts';
import { writeHtmlReport } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { renderStreamMarkdown } from './streams.ts';
import { callRowsOf, streamRecordsOf } from '../results/stream-record.ts';

/**
 * Writes the reports next to results.json (report.md with a section for the
 * stream rows, when there are some); returns the files written. The unary
 * sections read the call rows; results.csv keeps every row.
 */
export async function writeRunReports(dir: string, results: ResultsFile): Promise<string[]> {
  const md = path.join(dir, 'report.md');
  const streams = streamRecordsOf(results);
  const calls = callRowsOf(results);
  const streamSection = streams.length > 0 ? `\n${renderStreamMarkdown(streams).join('\n')}\n` : '';
  writeFileAtomic(md, (calls.runs.length > 0 ? renderMarkdown(calls) : '') + streamSection);
  const csv = path.join(dir, 'results.csv');
  writeFileAtomic(csv, renderCsv(results));
  const html = await writeHtmlReport(dir, results);
  return [md, csv, path.join(dir, html.html), ...html.charts.map((chart) => path.join(dir, chart))];
}
