/**
 * `npm run bench`: gRPC vs REST under the same load. Parses and validates the
 * flags (bench/options/options.ts), runs the bench (bench/run/runner.ts), prints the
 * results (bench/report/terminal.ts) on stdout and progress on stderr, and writes
 * the report files (bench/report/write.ts).
 *
 * Exit codes: 0 done; 1 setup error or a failed scenario; 2 bad usage; 130 interrupted.
 *
 *   npm run bench -- --profile quick
 *   npm run bench -- --ops add --concurrency 1,64 --duration 5 --trials 3
 */
import path from 'node:path';
import { driverCatalog, openLoopDriverNames } from '../drivers/index.ts';
import { isMain } from './main.ts';
import { parseBenchCommand, type BenchCommandName } from '../options/options.ts';
import { UsageError } from '../../shared/usage-error.ts';
import { canPin } from '../host/pinning.ts';
import { createProgress } from '../run/progress.ts';
import { renderTerminalReport } from '../report/terminal.ts';
import { writeRunReports } from '../report/write.ts';
import { BenchSetupError, runBench } from '../run/runner.ts';
import { loadCard, planBench } from '../run/plan.ts';

/** `npm run bench` (or bench:streams, `name` 'streams') with these arguments; returns the exit code. */
export async function benchMain(argv: readonly string[], name: BenchCommandName = 'bench'): Promise<number> {
  let command;
  try {
    command = parseBenchCommand(argv, driverCatalog(), { canPin: canPin(), openLoopDrivers: openLoopDriverNames() }, name);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  const { options } = command;
  let card;
  try {
    card = await loadCard(options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return error.exitCode;
  }
  const progress = createProgress({ mode: options.progress, totalPlannedS: planBench(options, card).totalS });
  try {
    const outcome = await runBench(options, { progress, handleSignals: true }, card);
    for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
    // Stream rows (unit 'message') get their own table after the calls'.
    process.stdout.write(renderTerminalReport(outcome.results, { color: process.stdout.isTTY === true && !process.env.NO_COLOR }));
    if (outcome.dir) {
      const files = [...outcome.files, ...(await writeRunReports(outcome.dir, outcome.results))];
      const names = files.map((file) => path.relative(outcome.dir as string, file));
      process.stdout.write(`\nresults in ${outcome.dir}/: ${names.join(', ')}\n`);
    }
    if (outcome.failure) process.stderr.write(`error: ${outcome.failure}\n`);
    // A stream that failed or answered wrong is an error of the run, as a failed call is.
    const failed = outcome.results.runs.find((run) => run.unit === 'message' && run.errors > 0);
    if (failed) {
      process.stderr.write(`error: ${failed.operation} over ${failed.transport}: ${failed.firstError ?? `${failed.errors} streams failed`}\n`);
      return Math.max(outcome.exitCode, 1);
    }
    return outcome.exitCode;
  } catch (error) {
    progress.close();
    // The runner's own checks of the drivers (h2load missing, --rate without an open loop): bad usage, nothing sent.
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof BenchSetupError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

if (isMain(import.meta.url)) runMain(benchMain(process.argv.slice(2)));

/** Exits with the bench's code once it is done (or with 1 and the error's stack on a crash). */
export function runMain(done: Promise<number>): void {
  done.then(
    (code) => {
      process.exitCode = code;
      // Drivers may leave sockets in TIME_WAIT-bound handles; do not wait for them.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
