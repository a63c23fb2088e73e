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
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseMetrics, parseThreshold } from '../compare/args.ts';
import { failureNote } from './compare.ts';
import { isMain, reportCliError } from './main.ts';
import { compareResults, DEFAULT_THRESHOLD, shouldFail } from '../compare/compare.ts';
import { loadResults, ResultsInputError, type LoadedResults } from '../results/read.ts';
import { comparisonMarkdown, protocolsMarkdown } from '../compare/markdown.ts';
import { callRowsOf } from '../results/stream-record.ts';
import { withoutChartsSection, writeHtmlReport } from '../report/html.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_BASELINE = path.join('results', 'baseline');
export const DEFAULT_CI_OUT = path.join('results', 'ci');
export const DEFAULT_CI_TRIALS = 3;

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

/**
 * Runs `tsx bench/cli/bench.ts --profile <profile> --trials <n> --out <out>` in a
 * child process; its output goes to our stderr so stdout stays the report.
 * Resolves with the run folder (<out>/latest) and the bench's exit code.
 */
export function runBench(options: { out: string; profile: string; trials: number; extraArgs?: readonly string[] }): Promise<{ runDir: string; exitCode: number }> {
  const args = ['--import', 'tsx', path.join(ROOT, 'bench', 'cli', 'bench.ts'), '--profile', options.profile, '--trials', String(options.trials), '--out', options.out, ...(options.extraArgs ?? [])];
  process.stderr.write(`bench:ci: tsx bench/cli/bench.ts ${args.slice(3).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env } });
    child.stdout.pipe(process.stderr, { end: false });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve({ runDir: path.join(options.out, 'latest'), exitCode: code ?? (signal === 'SIGINT' ? 130 : 1) });
    });
  });
}

export interface CiReportOptions {
  baseline: string;
  threshold: number;
  metrics?: ReturnType<typeof parseMetrics>;
  failOnRegression: boolean;
  failAcrossMachines: boolean;
  /** Non-zero when the bench itself failed; reported at the top. */
  benchExitCode?: number;
}

/** The Markdown CI posts, and whether it should fail the build. Pure apart from reading the run's report.md. */
export function ciMarkdown(run: LoadedResults, options: CiReportOptions): { markdown: string; fail: boolean; noMatch: string | null } {
  const parts: string[] = ['# callbench: gRPC vs REST (CI, quick profile)', ''];
  const env = run.results.environment;
  const trials = Math.max(0, ...run.results.runs.map((r) => r.trial));
  parts.push(
    `Run on ${env.cpuModel} ×${env.cpuCount}, Node ${env.node}, ${env.os}; ${trials} trial(s) per scenario${env.gitCommit ? `, commit ${env.gitCommit.slice(0, 10)}` : ''}. ` +
      'report.html, charts/*.svg and results.json are in the workflow artifact.',
    '',
  );
  if (options.benchExitCode) {
    parts.push(`> ❌ **The bench exited with code ${options.benchExitCode}**; the figures below cover the runs that completed.`, '');
  }
  parts.push(protocolsMarkdown(callRowsOf(run.results), options.threshold));

  const mdPath = path.join(run.dir, 'report.md');
  if (existsSync(mdPath)) {
    // The run's own report, one heading level down, without the chart links (they do not resolve in a summary).
    const report = withoutChartsSection(readFileSync(mdPath, 'utf8')).replace(/^(#{1,5}) /gm, '#$1 ');
    parts.push('<details><summary>Full results of this run</summary>', '', report.trim(), '', '</details>', '');
  }

  let fail = false;
  let noMatch: string | null = null;
  const baselineFile = path.join(options.baseline, 'results.json');
  if (existsSync(options.baseline) && (existsSync(baselineFile) || options.baseline.endsWith('.json'))) {
    const base = loadResults(options.baseline);
    const comparison = compareResults(base.results, run.results, { threshold: options.threshold, metrics: options.metrics });
    fail = shouldFail(comparison, { failOnRegression: options.failOnRegression, acrossMachines: options.failAcrossMachines });
    parts.push(
      comparisonMarkdown(
        comparison,
        { label: options.baseline, environment: base.results.environment, results: base.results },
        { label: 'this run', environment: run.results.environment, results: run.results },
      ),
    );
    const note = failureNote(comparison.regressions, options.failOnRegression, fail);
    if (note) parts.push(note.trim(), '');
    // A baseline none of whose rows this run has compares nothing: a gate that would always pass.
    const matched = comparison.rows.filter((row) => row.verdict !== 'missing in head' && row.verdict !== 'new in head').length;
    if (matched === 0 && run.results.runs.length > 0) {
      noMatch = `no row of this run matches the baseline ${options.baseline} (rows match by scenario, protocol, transport, contender, driver, network and TLS); refresh it with npm run bench:baseline`;
      parts.push(`> ❌ ${noMatch}`, '');
      fail = true;
    }
  } else {
    parts.push('## Comparison', '', `No baseline at \`${options.baseline}\`: nothing to compare with. Create one with \`npm run bench:baseline\` (see docs/reports.md).`, '');
  }
  return { markdown: `${parts.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`, fail, noMatch };
}

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
  const trials = values.trials === undefined ? DEFAULT_CI_TRIALS : Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 100) throw new ResultsInputError(`--trials must be an integer from 1 to 100, got "${values.trials}"`);
  const threshold = values.threshold === undefined ? DEFAULT_THRESHOLD : parseThreshold(values.threshold);
  const metrics = values.metrics === undefined ? undefined : parseMetrics(values.metrics);

  let runDir: string;
  let benchExitCode = 0;
  if (values.results !== undefined) {
    runDir = values.results;
  } else {
    const bench = await runBench({ out: values.out ?? DEFAULT_CI_OUT, profile: values.profile, trials });
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
