/**
 * One bench:drivers session (bench/cli/drivers.ts): the project's servers as
 * child processes pinned to CPU 0, each generator against them in rounds, the
 * generator's headroom against the fastest server, and the stream generators'
 * CPU per message; returns the report drivers.json holds.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { findH2load } from '../drivers/h2load.ts';
import { driverCatalog } from '../drivers/index.ts';
import { applyPinning, CLIENT_CPUS, serverPinPrefix } from '../host/pinning.ts';
import { killAllServerProcesses, startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { resolveBenchOptions } from '../options/options.ts';
import { streamRecordsOf, type StreamRecord } from '../results/stream-record.ts';
import { createProgress } from '../run/progress.ts';
import { runBench } from '../run/runner.ts';
import type { Protocol } from '../types.ts';
import type { DriversCliOptions } from './args.ts';
import type { DriversReport, StreamGeneratorRow } from './render.ts';
import { defaultScenarios, FASTEST_SERVER, runComparison, SCHEMA, startNamedServer, type ServerUnderTest } from './run.ts';
import { engineTarget } from './target.ts';

function h2loadVersion(binary: string | null): string | null {
  if (binary === null) return null;
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'h2load (version unknown)';
  }
}

/** Runs the session; `argv` is recorded as the command, `log` gets the progress lines. */
export async function runDriversSession(options: DriversCliOptions, argv: readonly string[], date: Date, log: (line: string) => void): Promise<DriversReport> {
  const { pinning, note } = applyPinning(options.pin);
  if (note) log(note);
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
      onLine: log,
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
    return report;
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
