/**
 * `npm run bench:ci`: what CI runs and posts. Runs the quick profile with
 * repeated trials (by spawning `bench/cli/bench.ts`, the same command people run),
 * renders report.html and charts/*.svg into the run folder, and prints ONE
 * Markdown document to stdout: the gRPC-vs-REST headline, the run's report and
 * the comparison against results/baseline when there is one. The workflow
 * appends exactly that stdout to $GITHUB_STEP_SUMMARY, so a local run shows
 * what the PR will show. Progress goes to stderr.
 *
 * Exit codes: 0 done (regressions are reported, not fatal, unless asked);
 * 1 the bench failed, or --fail-on-regression and a regression was found on
 * the same machine as the baseline (or --fail-across-machines); 2 bad input.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseMetrics, parseThreshold } from '../compare/args.ts';
import { isMain, reportCliError } from './main.ts';
import { DEFAULT_THRESHOLD } from '../compare/compare.ts';
import { loadResults, ResultsInputError } from '../results/read.ts';
import { writeHtmlReport } from '../report/html.ts';
import { DEFAULT_BASELINE, DEFAULT_CI_OUT, DEFAULT_CI_TRIALS, runBench } from '../ci/run.ts';
import { readBenchFlag } from '../options/options.ts';
import { ciMarkdown } from '../ci/report.ts';

export { ciMarkdown, type CiReportOptions } from '../ci/report.ts';

export const CI_USAGE = `usage: npm run bench:ci -- [options]
  --out DIR                 results folder for the run (default ${DEFAULT_CI_OUT}; the run lands in DIR/<timestamp>, DIR/latest)
  --profile NAME            bench profile (default quick)
  --trials N                trials per scenario (default ${DEFAULT_CI_TRIALS})
  --baseline DIR            run to compare with (default ${DEFAULT_BASELINE}; skipped when missing)
  --threshold P             smallest change that counts, in percent (default ${DEFAULT_THRESHOLD * 100}%)
  --metrics rps,p50,p99,bytes   metrics that decide a verdict (default all)
  --fail-on-regression      exit 1 on a regression, when the baseline comes from the same CPU model and count
  --fail-across-machines    with --fail-on-regression: fail even when the machines differ
  --results DIR             report an existing run instead of running the bench`;

export async function runCi(argv: readonly string[]): Promise<{ stdout: string; exitCode: number }> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      out: { type: 'string' },
      profile: { type: 'string', default: 'quick' },
      trials: { type: 'string' },
      baseline: { type: 'string' },
      threshold: { type: 'string' },
      metrics: { type: 'string' },
      'fail-on-regression': { type: 'boolean', default: false },
      'fail-across-machines': { type: 'boolean', default: false },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { stdout: `${CI_USAGE}\n`, exitCode: 0 };
  if (positionals.length > 0) throw new ResultsInputError(`unexpected argument "${positionals[0]}"; see --help`);
  // The bench's own flags, checked by the bench's readers before the child is started; the child gets the same values.
  const profile = readBenchFlag('profile', values.profile);
  const trials = values.trials === undefined ? DEFAULT_CI_TRIALS : readBenchFlag('trials', values.trials);
  const threshold = values.threshold === undefined ? DEFAULT_THRESHOLD : parseThreshold(values.threshold);
  const metrics = values.metrics === undefined ? undefined : parseMetrics(values.metrics);

  let runDir: string;
  let benchExitCode = 0;
  if (values.results !== undefined) {
    runDir = values.results;
  } else {
    const bench = await runBench({ out: values.out ?? DEFAULT_CI_OUT, profile, trials });
    runDir = bench.runDir;
    benchExitCode = bench.exitCode;
    if (benchExitCode === 2) throw new ResultsInputError('the bench rejected its options (see above)');
    if (!existsSync(path.join(runDir, 'results.json'))) {
      return { stdout: `# callbench CI\n\n❌ The bench exited with code ${benchExitCode} before writing results.\n`, exitCode: 1 };
    }
  }
  const run = loadResults(runDir);
  const written = await writeHtmlReport(run.dir, run.results);
  process.stderr.write(`bench:ci: wrote ${[written.html, ...written.charts].map((f) => path.join(run.dir, f)).join(', ')}\n`);
  const { markdown, fail, noMatch } = ciMarkdown(run, {
    baseline: values.baseline ?? DEFAULT_BASELINE,
    threshold,
    metrics,
    failOnRegression: values['fail-on-regression'],
    failAcrossMachines: values['fail-across-machines'],
    benchExitCode,
  });
  if (noMatch) process.stderr.write(`bench:ci: ${noMatch}\n`);
  return { stdout: markdown, exitCode: benchExitCode !== 0 || fail ? 1 : 0 };
}

if (isMain(import.meta.url)) {
  runCi(process.argv.slice(2)).then(
    (result) => {
      process.stdout.write(result.stdout);
      process.exitCode = result.exitCode;
    },
    (error: unknown) => {
      process.exitCode = reportCliError('bench:ci', error);
    },
  );
}
