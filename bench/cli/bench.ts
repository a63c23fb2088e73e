/**
 * `npm run bench`: gRPC vs REST under the same load. Parses and validates the
 * flags (bench/options/options.ts), runs the bench (bench/run/runner.ts), prints the
 * comparison table (bench/report/table.ts) on stdout and progress on stderr.
 *
 * Exit codes: 0 done; 1 setup error or a failed scenario; 2 bad usage; 130 interrupted.
 *
 *   npm run bench -- --profile quick
 *   npm run bench -- --ops add --concurrency 1,64 --duration 5 --trials 3
 */
import path from 'node:path';
import { headline } from '../compare/protocols.ts';
import { driverCatalog, openLoopDriverNames } from '../drivers/index.ts';
import { BenchUsageError, resolveBenchOptions, USAGE } from '../options/options.ts';
import { canPin } from '../host/pinning.ts';
import { createProgress } from '../run/progress.ts';
import { renderTable } from '../report/table.ts';
import { hasContenders, renderFactorial } from '../report/factorial.ts';
import { hasSweep, renderSweepTable } from '../report/sweep.ts';
import { renderSweepSummary } from '../report/sweep-summary.ts';
import { capacityHeadline, hasCapacity, renderCapacityTable } from '../report/capacity.ts';
import { plannedSearchS } from '../run/capacity.ts';
import { BenchSetupError, runBench } from '../run/runner.ts';
import { buildScenarios } from '../scenario/matrix.ts';

async function main(): Promise<number> {
  let options;
  try {
    options = resolveBenchOptions(process.argv.slice(2), driverCatalog(), { canPin: canPin(), openLoopDrivers: openLoopDriverNames() });
  } catch (error) {
    if (error instanceof BenchUsageError) {
      if (error.message === USAGE) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
      }
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const scenarios = buildScenarios(options).length;
  const perRun = (options.slo ? plannedSearchS(options) : options.warmupS + options.durationS) + (options.wireCalls > 0 ? 0.4 : 0);
  const progress = createProgress({
    mode: options.progress,
    totalPlannedS: scenarios * (options.contenders?.length ?? options.protocols.length) * options.trials * perRun,
  });
  try {
    const outcome = await runBench(options, { progress, handleSignals: true });
    for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
    if (hasContenders(outcome.results)) {
      // --contenders: per scenario the contenders fastest first, the 2x2 table and the attribution sentences.
      process.stdout.write(`\n${renderFactorial(outcome.results)}`);
    } else if (outcome.results.runs.length > 0) {
      process.stdout.write(`\n${renderTable(outcome.results, { color: process.stdout.isTTY === true && !process.env.NO_COLOR })}`);
      if (hasSweep(outcome.results)) {
        process.stdout.write(`\npayload sweep (Sum):\n${renderSweepTable(outcome.results)}\n${renderSweepSummary(outcome.results)}`);
      }
      if (hasCapacity(outcome.results)) process.stdout.write(`\n${renderCapacityTable(outcome.results)}`);
      // The answer in one line per scenario, generated from the same numbers as the table.
      const answers = hasCapacity(outcome.results) ? capacityHeadline(outcome.results) : headline(outcome.results);
      if (answers.length > 0) process.stdout.write(`\nin short:\n${answers.map((line) => `  ${line}`).join('\n')}\n`);
    }
    if (outcome.dir) {
      const names = outcome.files.map((file) => path.relative(outcome.dir as string, file));
      process.stdout.write(`\nresults in ${outcome.dir}/: ${names.join(', ')}\n`);
    }
    if (outcome.failure) process.stderr.write(`error: ${outcome.failure}\n`);
    return outcome.exitCode;
  } catch (error) {
    progress.close();
    // The runner's own checks of the drivers (h2load missing, --rate without an open loop): bad usage, nothing sent.
    if (error instanceof BenchUsageError) {
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

main().then(
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
