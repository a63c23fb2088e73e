/**
 * report.html: the page (bench/report/html-page.ts) under the name its callers
 * import, and writeHtmlReport, which (re)writes a folder's report files.
 */
import type { ResultsFile } from '../results/record.ts';
import { writeReports } from './write.ts';

export * from './html-page.ts';

/**
 * (Re)renders a run folder's reports from its results: report.html with its
 * charts/*.svg, and report.md and results.csv from the same build, by
 * bench/report/write.ts (their one writer). Returns the paths written, relative to runDir.
 */
export async function writeHtmlReport(runDir: string, results: ResultsFile): Promise<{ html: string; charts: string[]; markdown: string | null }> {
  const written = await writeReports(runDir, results);
  return { html: written.html, charts: written.charts, markdown: written.markdown };
}
