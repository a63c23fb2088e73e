/**
 * `npm run bench:micro`: runs the micro-benchmarks, prints the table and
 * writes results/<timestamp>-micro/{micro.json,micro.md,micro.csv}.
 * Exit codes: 0 done, 1 the run failed, 2 bad command line.
 */
import { MICRO_USAGE, parseMicroArgs, type MicroArgs } from '../micro/args.ts';
import { printMicro } from '../micro/print.ts';
import { runMicro } from '../micro/run.ts';
import { writeMicroReport } from '../micro/write.ts';

async function main(): Promise<number> {
  let args: MicroArgs;
  try {
    args = parseMicroArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:micro: ${(error as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${MICRO_USAGE}\n`);
    return 0;
  }

  const progress = process.stderr.isTTY;
  const report = await runMicro({
    quick: args.quick,
    sizes: args.sizes,
    shapes: args.shapes,
    onCase: (index, total, item) => {
      if (progress) process.stderr.write(`\r\x1b[K[${index + 1}/${total}] ${item.label}`);
    },
  });
  if (progress) process.stderr.write('\r\x1b[K');

  process.stdout.write(printMicro(report));
  if (args.write) {
    const files = writeMicroReport(report, args.resultsDir);
    process.stdout.write(`\nWrote ${files.json}, ${files.markdown}, ${files.csv}\n`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench:micro: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
