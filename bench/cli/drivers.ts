/**
 * `npm run bench:drivers`: the load generators against each other on the
 * project's servers (child processes pinned to CPU 0; this process and h2load
 * pinned to CPU 1), unary Add:
 * - gRPC at 1 connection × 64 in flight and 4 × 256: grpc-engine vs h2load (+ grpc-js client);
 * - REST at 64 connections × 1: autocannon vs h2load --h1 vs http1-engine (+ undici client).
 * Under the table, one line per gRPC scenario says whether grpc-engine meets
 * its target against h2load (target.ts).
 * Writes results/<timestamp>-drivers/drivers.json and drivers.md (temp + rename).
 *
 *   npm run bench:drivers -- [--rounds 3] [--duration 3] [--warmup 2] [--no-clients] [--no-pin] [--out results]
 */
import path from 'node:path';
import { isMain } from './main.ts';
import { HelpRequested, parseDriversArgs, USAGE, type DriversCliOptions } from '../drivers-compare/args.ts';
import { renderConsoleTable, renderHeadroomLines, renderMarkdown, renderStreamGeneratorTable, renderTargetLines } from '../drivers-compare/render.ts';
import { runDriversSession } from '../drivers-compare/session.ts';
import { createRunFolder, removeEmptyRunFolder, writeFileAtomic } from '../results/write.ts';
import { UsageError } from '../../shared/usage-error.ts';

export { parseDriversArgs, type DriversCliOptions } from '../drivers-compare/args.ts';

export async function main(argv: string[]): Promise<number> {
  let options: DriversCliOptions;
  try {
    options = parseDriversArgs(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(error.message.split('\n')[0]);
    console.error(USAGE);
    return 2;
  }
  const date = new Date();
  // The results folder before any server: an --out that cannot hold it fails at once.
  let dir: string;
  try {
    dir = createRunFolder(options.outDir, date, '-drivers');
  } catch (error) {
    console.error(`bench:drivers: --out ${options.outDir}: cannot create the results folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return 1;
  }
  try {
    const report = await runDriversSession(options, argv, date, (line) => console.log(line));
    writeFileAtomic(path.join(dir, 'drivers.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(path.join(dir, 'drivers.md'), renderMarkdown(report));
    console.log('');
    console.log(renderConsoleTable(report.scenarios));
    console.log('');
    for (const line of renderTargetLines(report)) console.log(line);
    for (const line of renderHeadroomLines(report.scenarios)) console.log(line);
    console.log('');
    if (report.streams) {
      console.log('stream generators (bench:streams --profile quick): CPU per message, generator against server');
      console.log(renderStreamGeneratorTable(report.streams));
      console.log('');
    }
    console.log(`wrote ${path.join(dir, 'drivers.json')} and drivers.md`);
    return 0;
  } catch (error) {
    console.error(`bench:drivers failed: ${(error as Error).message.split('\n')[0]}`);
    removeEmptyRunFolder(dir);
    return 1;
  }
}

if (isMain(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
