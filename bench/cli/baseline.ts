/**
 * `npm run bench:baseline`: refreshes results/baseline/ (what bench:ci compares
 * with) from a FRESH quick run with trials, or with --from, from an existing
 * measured run. Writes results.json (the contract) and report.md (for reading
 * on GitHub). Refuses synthetic fixtures and runs with failed trials: a
 * baseline must be real, complete measurements.
 * Exit codes: 0 done, 1 the bench failed, 2 bad input.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_BASELINE, DEFAULT_CI_TRIALS, runBench } from '../ci/run.ts';
import { readBenchFlag } from '../options/options.ts';
import { isMain, reportCliError } from './main.ts';
import { loadResults, ResultsInputError } from '../results/read.ts';
import { headline } from '../compare/protocols.ts';
import { writeFileAtomic } from '../results/write.ts';

export const BASELINE_USAGE = `usage: npm run bench:baseline -- [options]
  --profile NAME   bench profile (default quick, as bench:ci)
  --trials N       trials per scenario (default ${DEFAULT_CI_TRIALS}, as bench:ci)
  --dir DIR        baseline folder (default ${DEFAULT_BASELINE})
  --from RUN       promote an existing measured run instead of running the bench`;

export async function runBaseline(argv: readonly string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      profile: { type: 'string', default: 'quick' },
      trials: { type: 'string' },
      dir: { type: 'string', default: DEFAULT_BASELINE },
      from: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return `${BASELINE_USAGE}\n`;
  if (positionals.length > 0) throw new ResultsInputError(`unexpected argument "${positionals[0]}"; see --help`);
  // The bench's own flags, checked by the bench's readers before the child is started; the child gets the same values.
  const profile = readBenchFlag('profile', values.profile);
  const trials = values.trials === undefined ? DEFAULT_CI_TRIALS : readBenchFlag('trials', values.trials);

  let source = values.from;
  let scratch: string | null = null;
  if (source === undefined) {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'callbench-baseline-'));
    const bench = await runBench({ out: scratch, profile, trials });
    if (bench.exitCode !== 0) {
      rmSync(scratch, { recursive: true, force: true });
      throw Object.assign(new Error(`the bench exited with code ${bench.exitCode}; results/baseline left as it was`), { exitCode: 1 });
    }
    source = bench.runDir;
  }
  try {
    const run = loadResults(source);
    if (/synthetic/i.test(run.results.environment.cpuModel)) throw new ResultsInputError(`${run.file}: synthetic fixture, not a measured run`);
    const failed = run.results.runs.filter((r) => r.status === 'failed').length;
    if (failed > 0) throw new ResultsInputError(`${run.file}: ${failed} failed run(s); a baseline must be complete`);
    if (run.results.runs.length === 0) throw new ResultsInputError(`${run.file}: no runs`);
    mkdirSync(values.dir, { recursive: true });
    writeFileAtomic(path.join(values.dir, 'results.json'), readFileSync(run.file, 'utf8'));
    const md = path.join(run.dir, 'report.md');
    if (existsSync(md)) writeFileAtomic(path.join(values.dir, 'report.md'), readFileSync(md, 'utf8'));
    else writeFileAtomic(path.join(values.dir, 'report.md'), `# Baseline\n\n${headline(run.results).map((s) => `- ${s}`).join('\n')}\n`);
    const env = run.results.environment;
    return (
      `Baseline ${values.dir} <- ${run.file}\n` +
      `  ${env.cpuModel} ×${env.cpuCount}, Node ${env.node}, ${Math.max(...run.results.runs.map((r) => r.trial))} trial(s), commit ${env.gitCommit ?? 'unknown'}\n` +
      `  Commit it: git add ${path.join(values.dir, 'results.json')} ${path.join(values.dir, 'report.md')}\n`
    );
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  runBaseline(process.argv.slice(2)).then(
    (out) => process.stdout.write(out),
    (error: unknown) => {
      const code = (error as { exitCode?: number }).exitCode;
      if (code === 1) {
        process.stderr.write(`bench:baseline: ${(error as Error).message}\n`);
        process.exitCode = 1;
      } else {
        process.exitCode = reportCliError('bench:baseline', error);
      }
    },
  );
}
