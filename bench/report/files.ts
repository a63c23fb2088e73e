/**
 * Every file of a finished run folder from its results: results.json,
 * report.md, results.csv, report.html and charts/*.svg. The bench writes them
 * at its end, bench:merge for a merged folder; `markdownTail` is text added
 * after the Markdown report (bench:merge's segment section).
 */
import path from 'node:path';
import type { ResultsFile } from '../results/record.ts';
import { writeFileAtomic, writeResultsJson } from '../results/write.ts';
import { renderCsv } from './csv.ts';
import { writeHtmlReport } from './html.ts';
import { renderMarkdown } from './markdown.ts';

/** Writes the folder's files and returns their paths, results.json first. */
export async function writeRunFiles(dir: string, results: ResultsFile, markdownTail = ''): Promise<string[]> {
  const json = writeResultsJson(dir, results);
  const md = path.join(dir, 'report.md');
  writeFileAtomic(md, renderMarkdown(results) + markdownTail);
  const csv = path.join(dir, 'results.csv');
  writeFileAtomic(csv, renderCsv(results));
  const html = await writeHtmlReport(dir, results);
  return [json, md, csv, path.join(dir, html.html), ...html.charts.map((chart) => path.join(dir, chart))];
}
