/**
 * What CI runs: the bench as people run it, in a child process
 * (`tsx bench/cli/bench.ts`), its output on our stderr so stdout stays the
 * Markdown CI posts (bench:ci) or the baseline's note (bench:baseline).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

import { REPO_ROOT as ROOT } from '../results/repo-root.ts';
export const DEFAULT_BASELINE = path.join('results', 'baseline');
export const DEFAULT_CI_OUT = path.join('results', 'ci');
export const DEFAULT_CI_TRIALS = 3;

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
