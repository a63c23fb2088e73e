/**
 * `npm run bench:report -- [run folder | results.json]` (default results/latest):
 * (re)renders the reports of an existing run from its results.json: report.md,
 * results.csv, report.html and charts/*.svg (bench/report/write.ts).
 * Exit codes: 0 done, 1 rendering failed, 2 bad input.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, reportCliError } from './main.ts';
import { loadResults, ResultsInputError } from '../results/read.ts';
import { writeReports } from '../report/write.ts';

export const REPORT_USAGE = `usage: npm run bench:report -- [run folder | results.json]
  (re)renders report.md, results.csv, report.html and charts/*.svg next to results.json (default: results/latest)`;

export async function runReportCli(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return `${REPORT_USAGE}\n`;
  if (positionals.length > 1) throw new ResultsInputError(`expected one run folder or results.json, got ${positionals.length}`);
  const loaded = loadResults(positionals[0] ?? path.join('results', 'latest'));
  const written = await writeReports(loaded.dir, loaded.results);
  const files = [written.markdown, written.csv, written.html, ...written.charts];
  return `Wrote ${files.map((f) => path.join(loaded.dir, f)).join(', ')}\n`;
}

if (isMain(import.meta.url)) {
  runReportCli(process.argv.slice(2)).then(
    (out) => process.stdout.write(out),
    (error: unknown) => {
      process.exitCode = reportCliError('bench:report', error);
    },
  );
}
