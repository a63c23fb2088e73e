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
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { isMain } from './main.ts';
import { parseArgs } from 'node:util';
import { findH2load } from '../drivers/h2load.ts';
import { defaultScenarios, FASTEST_SERVER, runComparison, SCHEMA, startNamedServer, type ServerUnderTest } from '../drivers-compare/run.ts';
import { renderConsoleTable, renderHeadroomLines, renderMarkdown, renderStreamGeneratorTable, renderTargetLines, type DriversReport, type StreamGeneratorRow } from '../drivers-compare/render.ts';
import { streamRecordsOf, type StreamRecord } from '../results/stream-record.ts';
import { resolveBenchOptions } from '../options/options.ts';
import { runBench } from '../run/runner.ts';
import { createProgress } from '../run/progress.ts';
import { driverCatalog } from '../drivers/index.ts';
import { engineTarget } from '../drivers-compare/target.ts';
import { applyPinning, CLIENT_CPUS, serverPinPrefix } from '../host/pinning.ts';
import { createRunFolder, removeEmptyRunFolder, writeFileAtomic } from '../results/write.ts';
import { durationSeconds } from '../options/duration.ts';
import { killAllServerProcesses, startServerProcess, type ServerProcess } from '../host/server-process.ts';
import type { Protocol } from '../types.ts';

const USAGE =
  'usage: bench:drivers [--rounds 3] [--duration 3s] [--warmup 2s] [--timeout-ms 5000] [--no-clients] [--no-streams] [--no-pin] [--out results]\n' +
  '  durations: 3 (seconds), 3s, 500ms, 1m or 1m30s';

export interface DriversCliOptions {
  rounds: number;
  durationS: number;
  warmupS: number;
  timeoutMs: number;
  withClients: boolean;
  /** The stream generators' section (bench:streams, quick profile). */
  withStreams: boolean;
  pin: boolean;
  outDir: string;
}

export function parseDriversArgs(argv: string[]): DriversCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '2' },
      'timeout-ms': { type: 'string', default: '5000' },
      'no-clients': { type: 'boolean', default: false },
      'no-streams': { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string', default: 'results' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new HelpRequested(USAGE);
  const positive = (name: string, text: string, integer = false): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
    }
    return value;
  };
  // A DurationError is a usage error too: main() prints any parse error's first line and exits 2.
  const seconds = (name: string, text: string, minS: number): number => durationSeconds(`--${name}`, text, { minS, maxS: 3_600 });
  return {
    rounds: positive('rounds', values.rounds!, true),
    durationS: seconds('duration', values.duration!, 0.1),
    warmupS: seconds('warmup', values.warmup!, 0),
    timeoutMs: positive('timeout-ms', values['timeout-ms']!),
    withClients: !values['no-clients'],
    withStreams: !values['no-streams'],
    pin: !values['no-pin'],
    outDir: values.out!,
  };
}

export class UsageError extends Error {}
class HelpRequested extends Error {}

function h2loadVersion(binary: string | null): string | null {
  if (binary === null) return null;
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'h2load (version unknown)';
  }
}

export async function main(argv: string[]): Promise<number> {
  let options: DriversCliOptions;
  try {
    options = parseDriversArgs(argv);
  } catch (error) {
    if (error instanceof HelpRequested) {
      console.log(USAGE);
      return 0;
    }
    console.error((error as Error).message.split('\n')[0]);
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
  const { pinning, note } = applyPinning(options.pin);
  if (note) console.log(note);
  const scenarios = defaultScenarios(options.withClients, true);
  const needed = [...new Set(scenarios.map((s) => s.protocol))];
  const started: ServerProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((server) => server.stop()));
  };
  process.once('exit', killAllServerProcesses);
  const onSignal = (): void => {
    killAllServerProcesses();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const servers = {} as Record<Protocol, ServerUnderTest>;
    for (const protocol of needed) {
      const server = await startServerProcess({ protocol, prefix: serverPinPrefix(pinning) });
      started.push(server);
      servers[protocol] = { target: server.target, pid: server.pid };
    }
    // The generator's headroom: Add on the fastest server the bench measures.
    const fastest = await startNamedServer(FASTEST_SERVER, serverPinPrefix(pinning));
    if (fastest.server) started.push(fastest.server);
    const h2load = findH2load();
    const comparison = await runComparison({
      servers,
      namedServers: { [FASTEST_SERVER]: fastest.entry },
      scenarios,
      rounds: options.rounds,
      durationS: options.durationS,
      warmupS: options.warmupS,
      timeoutMs: options.timeoutMs,
      childPrefix: pinning ? ['taskset', '-c', CLIENT_CPUS] : [],
      h2loadAvailable: h2load !== null,
      onLine: (line) => console.log(line),
    });
    // The stream bench starts servers of its own.
    await stopAll();
    const streams = options.withStreams ? (await streamGeneratorRows()).map(streamGeneratorRow) : null;
    const cpus = os.cpus();
    const report: DriversReport = {
      schema: SCHEMA,
      date: date.toISOString(),
      command: `npm run bench:drivers${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      machine: {
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        cpuCount: cpus.length,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        node: process.version,
        h2load: h2loadVersion(h2load),
      },
      options: {
        rounds: options.rounds,
        durationS: options.durationS,
        warmupS: options.warmupS,
        timeoutMs: options.timeoutMs,
        withClients: options.withClients,
      },
      pinning,
      scenarios: comparison.scenarios,
      target: engineTarget(comparison.scenarios),
      streams,
      notes: [...(note ? [note] : []), ...comparison.notes],
    };
    writeFileAtomic(path.join(dir, 'drivers.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileAtomic(path.join(dir, 'drivers.md'), renderMarkdown(report));
    console.log('');
    console.log(renderConsoleTable(report.scenarios));
    console.log('');
    for (const line of renderTargetLines(report)) console.log(line);
    for (const line of renderHeadroomLines(report.scenarios)) console.log(line);
    console.log('');
    if (streams) {
      console.log('stream generators (bench:streams --profile quick): CPU per message, generator against server');
      console.log(renderStreamGeneratorTable(streams));
      console.log('');
    }
    console.log(`wrote ${path.join(dir, 'drivers.json')} and drivers.md`);
    return 0;
  } catch (error) {
    console.error(`bench:drivers failed: ${(error as Error).message.split('\n')[0]}`);
    removeEmptyRunFolder(dir);
    return 1;
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The quick profile's stream scenarios (every operation on every transport), run by the bench into a folder of its own. */
async function streamGeneratorRows(): Promise<StreamRecord[]> {
  const out = path.join(os.tmpdir(), `callbench-drivers-streams-${process.pid}`);
  const options = resolveBenchOptions(['--ops', 'running-sum,sum-stream,prefix-sums', '--profile', 'quick', '--out', out, '--progress', 'plain'], driverCatalog());
  const outcome = await runBench(options, { progress: createProgress({ mode: 'plain', totalPlannedS: 0 }) });
  return streamRecordsOf(outcome.results);
}

function streamGeneratorRow(record: StreamRecord): StreamGeneratorRow {
  const generator = record.clientCpuMsPer1000;
  const server = record.serverCpuMsPer1000;
  return {
    operation: record.operation,
    transport: record.transport,
    messagesPerSecond: record.messagesPerSecond,
    generatorUsPerMessage: generator,
    serverUsPerMessage: server,
    ratio: generator !== null && server !== null && server > 0 ? Math.round((generator / server) * 100) / 100 : null,
    generatorCpuPercent: record.clientCpuPercent,
    serverCpuPercent: record.serverCpuPercent,
    clientBound: record.clientBound,
  };
}

if (isMain(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
