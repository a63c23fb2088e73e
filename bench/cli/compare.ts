/**
 * `npm run bench:compare -- <base> <head>`: noise-aware comparison of two runs.
 * `npm run bench:compare -- <run>`: gRPC vs REST inside one run (the headline).
 * Arguments are run folders (results/latest, results/baseline, ...) or results.json files.
 * Prints Markdown to stdout. Exit codes: 0 done, 1 a regression with
 * --fail-on-regression (same machine, or --fail-across-machines), 2 bad input.
 */
import { parseArgs } from 'node:util';
import { compareResults, DEFAULT_THRESHOLD, failureNote, shouldFail } from '../compare/compare.ts';
import { parseMetrics, parseThreshold } from '../compare/args.ts';
import { loadResults, ResultsInputError } from '../results/read.ts';
import { isMain, reportCliError } from './main.ts';
import { comparisonMarkdown, protocolsMarkdown } from '../compare/markdown.ts';
import { compareProtocols } from '../compare/protocols.ts';

export const COMPARE_USAGE = `usage: npm run bench:compare -- <base> <head> [options]
       npm run bench:compare -- <run>            gRPC vs REST inside one run
  <base>, <head>, <run>     run folders (results/latest, results/baseline) or results.json files
  --threshold P             smallest change that counts, in percent (default ${DEFAULT_THRESHOLD * 100}%)
  --metrics rps,p50,p99,bytes   metrics that decide a row's verdict (default all)
  --fail-on-regression      exit 1 when a regression is found (only when both runs come
                            from the same CPU model and count, see --fail-across-machines)
  --fail-across-machines    with --fail-on-regression: fail even when the machines differ
  --json                    print the comparison as JSON instead of Markdown`;

export interface CompareCliResult {
  stdout: string;
  exitCode: number;
}

/** The whole command, minus process I/O (tests call it directly). */
export function runCompareCli(argv: readonly string[]): CompareCliResult {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      threshold: { type: 'string' },
      metrics: { type: 'string' },
      'fail-on-regression': { type: 'boolean', default: false },
      'fail-across-machines': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { stdout: `${COMPARE_USAGE}\n`, exitCode: 0 };
  const threshold = values.threshold === undefined ? DEFAULT_THRESHOLD : parseThreshold(values.threshold);
  const metrics = values.metrics === undefined ? undefined : parseMetrics(values.metrics);

  if (positionals.length === 1) {
    const run = loadResults(positionals[0]!);
    if (values.json) {
      return { stdout: `${JSON.stringify(compareProtocols(run.results, threshold), null, 2)}\n`, exitCode: 0 };
    }
    return { stdout: protocolsMarkdown(run.results, threshold), exitCode: 0 };
  }
  if (positionals.length !== 2) {
    throw new ResultsInputError(`expected one run (gRPC vs REST) or two runs (base head), got ${positionals.length} arguments; see --help`);
  }
  const base = loadResults(positionals[0]!);
  const head = loadResults(positionals[1]!);
  const comparison = compareResults(base.results, head.results, { threshold, metrics });
  const fail = shouldFail(comparison, {
    failOnRegression: values['fail-on-regression'],
    acrossMachines: values['fail-across-machines'],
  });
  let stdout: string;
  if (values.json) {
    stdout = `${JSON.stringify(comparison, null, 2)}\n`;
  } else {
    stdout = comparisonMarkdown(
      comparison,
      { label: positionals[0]!, environment: base.results.environment, results: base.results },
      { label: positionals[1]!, environment: head.results.environment, results: head.results },
    );
    stdout += failureNote(comparison.regressions, values['fail-on-regression'], fail);
  }
  return { stdout, exitCode: fail ? 1 : 0 };
}


function main(): void {
  try {
    const result = runCompareCli(process.argv.slice(2));
    process.stdout.write(result.stdout);
    process.exitCode = result.exitCode;
  } catch (error) {
    process.exitCode = reportCliError('bench:compare', error);
  }
}

if (isMain(import.meta.url)) main();
