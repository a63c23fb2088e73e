/**
 * The report files of a run folder, rendered from its results: report.md,
 * results.csv, report.html and its charts. This is the one writer of each of
 * them: the report is built once (bench/report/sections.ts) and every file
 * renders it; the renderers read no files, what they need from the folder
 * (an old run's streams.json) is read here. The bench CLI calls it once the
 * runner has returned (the runner writes only results.json, after every run),
 * so a stopped or failed bench still gets its reports; bench:report, bench:ci
 * and bench:merge call it on a folder's results.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultsFile } from '../results/record.ts';
import { callRowsOf, type StreamRecord, type StreamsFile } from '../results/stream-record.ts';
import { writeFileAtomic } from '../results/write.ts';
import { renderCharts, saveCharts } from './charts.ts';
import { HTML_FILE } from './charts-section.ts';
import { renderCsv } from './csv.ts';
import { htmlReport } from './html-page.ts';
import { markdownReport } from './markdown.ts';
import { buildReport } from './sections.ts';

export const MARKDOWN_FILE = 'report.md';
export const CSV_FILE = 'results.csv';

/** The files written, relative to the run folder. */
export interface WrittenReports {
  markdown: string;
  csv: string;
  html: string;
  charts: string[];
}

/**
 * A folder written before schema 4 kept a default run's stream records in
 * streams.json beside results.json; from schema 4 on they are rows of results.json.
 */
export function oldStreamRecords(dir: string, results: ResultsFile): StreamRecord[] {
  if (results.schemaVersion >= 4) return [];
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'streams.json'), 'utf8')) as StreamsFile).records;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Renders the charts once, builds the report once, and writes report.md,
 * results.csv, report.html and charts/*.svg into `dir`, each by rename (a crash
 * or a reader mid-write, as with a re-render of a finished run, never sees half
 * a file).
 */
export async function writeReports(dir: string, results: ResultsFile): Promise<WrittenReports> {
  const charts = await renderCharts(callRowsOf(results));
  const chartFiles = await saveCharts(dir, charts);
  const report = buildReport({ results, streams: oldStreamRecords(dir, results), charts });
  writeFileAtomic(path.join(dir, MARKDOWN_FILE), markdownReport(report));
  // results.csv keeps every row, call and stream alike.
  writeFileAtomic(path.join(dir, CSV_FILE), renderCsv(results));
  writeFileAtomic(path.join(dir, HTML_FILE), htmlReport(report));
  return { markdown: MARKDOWN_FILE, csv: CSV_FILE, html: HTML_FILE, charts: chartFiles };
}

/** writeReports, returning the paths written (report.md, results.csv, report.html, then the charts). */
export async function writeRunReports(dir: string, results: ResultsFile): Promise<string[]> {
  const written = await writeReports(dir, results);
  return [written.markdown, written.csv, written.html, ...written.charts].map((file) => path.join(dir, file));
}
