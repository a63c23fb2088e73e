/**
 * `npm run bench:merge -- DIR... [--out DIR]`: the segment folders of one
 * bench (`--segment K/N` on N generators) as one results folder, as if one
 * generator had done it (bench/merge/merge.ts): results.json, report.md,
 * results.csv, report.html, which every renderer and bench:compare read like
 * any run. Checks first (bench/merge/check.ts) and prints one line per problem.
 * Exit codes: 0 merged; 2 bad input (not segments of one bench, unreadable folder).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, reportCliError } from './main.ts';
import { loadResults, ResultsInputError } from '../results/read.ts';
import { checkSegments } from '../merge/check.ts';
import { mergeSegments } from '../merge/merge.ts';
import { writeRunReports } from '../report/write.ts';
import { renderTerminalReport } from '../report/terminal.ts';
import { createRunFolder, linkLatest, writeResultsJson } from '../results/write.ts';
import { DEFAULT_OUT_DIR } from '../options/options.ts';

export const MERGE_USAGE = `usage: npm run bench:merge -- DIR... [--out DIR]
  DIR...      results folders (or results.json files) of one bench's segments (--segment K/N), one per segment
  --out DIR   write the merged folder here (default: ${DEFAULT_OUT_DIR}/<time>-merged, and ${DEFAULT_OUT_DIR}/latest points at it)`;

export interface MergeCliResult {
  stdout: string;
  /** One line per problem found in the inputs (then nothing was written). */
  problems: string[];
  exitCode: number;
  dir: string | null;
}

export async function runMergeCli(argv: readonly string[]): Promise<MergeCliResult> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return { stdout: `${MERGE_USAGE}\n`, problems: [], exitCode: 0, dir: null };
  if (positionals.length === 0) throw new ResultsInputError('give the segment folders to merge; see --help');
  if (values.out !== undefined && values.out.trim() === '') throw new ResultsInputError('--out must name a folder');

  const inputs = positionals.map((input) => loadResults(input));
  const problems = checkSegments(inputs);
  if (problems.length > 0) return { stdout: '', problems, exitCode: 2, dir: null };

  const merged = mergeSegments(inputs);
  let dir: string;
  if (values.out === undefined) {
    dir = createRunFolder(DEFAULT_OUT_DIR, new Date(merged.environment.date), '-merged');
  } else {
    dir = values.out;
    mkdirSync(dir, { recursive: true });
  }
  // report.md has the Segments section of a merged folder like any other (bench/report/segments.ts).
  const files = [writeResultsJson(dir, merged), ...(await writeRunReports(dir, merged))];
  if (values.out === undefined) linkLatest(DEFAULT_OUT_DIR, dir);

  // The bench's own terminal report: call and stream rows, the Segments section among the others.
  const stdout =
    renderTerminalReport(merged, { color: false }) +
    `\nmerged ${inputs.length} segment(s) into ${dir}/: ${files.map((file) => path.relative(dir, file)).join(', ')}\n`;
  return { stdout, problems: [], exitCode: 0, dir };
}

if (isMain(import.meta.url)) {
  runMergeCli(process.argv.slice(2)).then(
    (result) => {
      process.stdout.write(result.stdout);
      for (const problem of result.problems) process.stderr.write(`bench:merge: ${problem}\n`);
      process.exitCode = result.exitCode;
    },
    (error: unknown) => {
      process.exitCode = reportCliError('bench:merge', error);
    },
  );
}
