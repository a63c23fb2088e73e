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
import { BenchUsageError, parseBenchCommand, type BenchOptions } from '../options/options.ts';
import { canPin } from '../host/pinning.ts';
import { createProgress } from '../run/progress.ts';
import { renderTerminal } from '../report/terminal.ts';
import { writeRunReports } from '../report/write.ts';
import { BenchSetupError, runBench } from '../run/runner.ts';
import { planBench } from '../run/plan.ts';
import { writeFileAtomic } from '../results/write.ts';
import { parseStreamBenchArgs, runStreamBench, runStreamCli, streamArgsOfBench } from './streams.ts';

const INTERRUPTED = 130;

/** The default run's stream scenario: bidi running-sum at the profile's streams x values, pinned as the unary runs were. */
function streamScenarioOptions(options: BenchOptions) {
  return parseStreamBenchArgs(['--ops', 'running-sum', '--profile', options.profile, '--out', options.outDir, ...(options.pin ? [] : ['--no-pin'])]);
}

async function main(): Promise<number> {
  // --ops running-sum,sum-stream,prefix-sums: the stream bench (bench/cli/streams.ts) runs instead.
  let streamArgs: string[] | null;
  try {
    streamArgs = streamArgsOfBench(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  if (streamArgs) return runStreamCli(streamArgs);
  let command;
  try {
    command = parseBenchCommand(process.argv.slice(2), driverCatalog(), { canPin: canPin(), openLoopDrivers: openLoopDriverNames() });
  } catch (error) {
    if (error instanceof BenchUsageError) {
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
  const progress = createProgress({ mode: options.progress, totalPlannedS: planBench(options).totalS });
  try {
    const outcome = await runBench(options, { progress, handleSignals: true });
    for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
    // The default run answers for streams too: running-sum on gRPC and each REST transport, servers of its own.
    const streams = options.streamScenario && outcome.exitCode !== INTERRUPTED ? await runStreamBench(streamScenarioOptions(options), (line) => process.stderr.write(`${line}\n`)) : null;
    process.stdout.write(renderTerminal(outcome.results, { color: process.stdout.isTTY === true && !process.env.NO_COLOR, streams: streams?.records }));
    if (outcome.dir) {
      const files = [...outcome.files];
      if (streams) {
        files.push(path.join(outcome.dir, 'streams.json'));
        writeFileAtomic(files.at(-1)!, `${JSON.stringify(streams, null, 2)}\n`);
      }
      files.push(...(await writeRunReports(outcome.dir, outcome.results, streams?.records)));
      const names = files.map((file) => path.relative(outcome.dir as string, file));
      process.stdout.write(`\nresults in ${outcome.dir}/: ${names.join(', ')}\n`);
    }
    if (outcome.failure) process.stderr.write(`error: ${outcome.failure}\n`);
    if (streams?.records.some((record) => record.errors > 0)) {
      const failed = streams.records.find((record) => record.errors > 0)!;
      process.stderr.write(`error: ${failed.operation} over ${failed.transport}: ${failed.firstError}\n`);
      return Math.max(outcome.exitCode, 1);
    }
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
