/**
 * The bench runner: starts the servers (each in its own process: setups.ts),
 * runs every scenario for each subject in turn (run-one.ts: warm-up, measured
 * run, wire-sampling pass), records each run, writes results.json after every run, and stops
 * the servers at the end, on failure and on Ctrl-C. It returns data; printing
 * and the report files are the CLI's job (bench/report/terminal.ts, write.ts).
 */
import { type BenchOptions } from '../options/options.ts';
import { applyPinning } from '../host/pinning.ts';
import type { ProgressSink } from './progress.ts';
import { collectEnvironment } from '../results/environment.ts';
import { SCHEMA_VERSION, type ResultsFile, type RunRecord, type WireBytesPerCall } from '../results/record.ts';
import { createRunFolder, linkLatest, removeEmptyRunFolder, writeResultsJson } from '../results/write.ts';
import { buildPayload, buildStreamPayload, type Scenario } from '../scenario/matrix.ts';
import type { Operation, StreamOperation } from '../../servers/calculator.ts';
import { withCompression } from '../scenario/compression.ts';
import { killAllServerProcesses, type ServerProcess } from '../host/server-process.ts';
import { type CallPayload, type Protocol } from '../types.ts';
import { type ConnectionCost } from './connection-cost.ts';
import { runSchedule, type RunSchedule } from './schedule.ts';
import { segmentScenarios } from '../scenario/segment.ts';
import { removeAllLinksSync } from '../network/link.ts';
import { checkPlan, loadCard, passesOf, planBench, runsOf, type PlannedPass } from './plan.ts';
import { checkCardEquivalence, checkCardServers } from './card.ts';
import type { ApiCard } from '../api/index.ts';
import { capacityTiming, searchCapacity } from './capacity.ts';
import { killAllProxies } from '../host/proxy.ts';

import { BenchSetupError } from './errors.ts';
import { checkExternalTargets, Serving, type ProtocolSetup } from './setups.ts';
import { LinkLifecycle } from './link-pass.ts';
import { runConnectionCostPasses } from './connection-cost-pass.ts';
import { runOne, type RunOneInput } from './run-one.ts';

export { BenchSetupError };


export interface BenchOutcome {
  results: ResultsFile;
  /** The run folder, or null when the bench stopped before creating it. */
  dir: string | null;
  /** The files the runner wrote (results.json); bench/report/write.ts adds the reports. */
  files: string[];
  /** 0 all done; 1 a scenario failed (server died, ...); 130 interrupted. */
  exitCode: number;
  failure: string | null;
  /** Notes for the user (pinning skipped, ...). */
  notes: string[];
}

export interface RunnerIo {
  progress: ProgressSink;
  /** Installs SIGINT/SIGTERM handlers (the CLI does; tests calling runBench may not). */
  handleSignals?: boolean;
  /** Called after each run is recorded (tests use it to kill a server mid-bench). */
  onRunRecorded?: (record: RunRecord, servers: ReadonlyMap<string, ServerProcess>) => void;
}

/**
 * `card`: the --api card when the caller already loaded it (the CLI does, to
 * plan its progress); undefined: loaded here.
 *
 * The walk is flat: the plan's passes (network condition x TLS) in turn, and
 * in each pass the plan's runs (scenario x trial x subject) in turn. The link
 * (link-pass.ts) and the servers (setups.ts) follow the pass; each run is
 * runOne's (run-one.ts), or a capacity search of runOne steps with --slo.
 */
export async function runBench(options: BenchOptions, io: RunnerIo, card?: ApiCard | null): Promise<BenchOutcome> {
  const { progress } = io;
  const notes: string[] = [];
  if (card === undefined) card = await loadCard(options);
  const plan = planBench(options, card);
  const { scenarios } = plan;
  notes.push(...plan.notes);
  if (card) checkCardServers(card, options);
  // Usage errors (exit 2), before any server starts.
  checkPlan(options, scenarios);
  // --segment: this generator's share of each scenario (a share below 1 in flight is a usage error, before any server starts).
  const shares = options.segment === null ? scenarios : segmentScenarios(scenarios, options.segment);
  const passes = passesOf(options);
  const schedule = runSchedule(options);
  // Payloads (and their gzip forms) are encoded once, before any load.
  const payloads = new Map(scenarios.map((s) => [s.key, payloadOf(s, options)] as const));
  // The card's headers / gRPC metadata go on every call.
  const metadata = card && Object.keys(card.metadata).length > 0 ? card.metadata : null;

  // Everything that can be wrong with the setup is found before any server starts or any load is sent:
  // the results folder first (an --out that cannot be created costs nothing), then the external targets.
  const started = new Date();
  const dir = openRunFolder(options.outDir, started);

  // One abort for the whole bench: Ctrl-C, SIGTERM or a server that died.
  const bench = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C does not wait for the orderly stop; the exit handler still kills the servers.
    if (interrupted) process.exit(130);
    interrupted = true;
    bench.abort(new Error(`interrupted (${signal})`));
  };
  process.on('exit', killAllServerProcesses);
  process.on('exit', removeAllLinksSync);
  process.on('exit', killAllProxies);
  if (io.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  // The emulated link (opened when a condition needs one) and the servers, over every pass; closed on every way out.
  const link = new LinkLifecycle(progress);
  let serving: Serving | null = null;
  try {
    const externals = await checkExternalTargets(options, progress);
    const { pinning, note } = applyPinning(options.pin);
    if (note) notes.push(note);
    serving = new Serving({ options, pinning, externals, dir, signal: bench.signal, notes });

    let results: ResultsFile | null = null;
    const files: string[] = [];
    let failure: string | null = null;
    const wireCache = new Map<string, { wire: WireBytesPerCall; responseBodyBytes: number | null }>();
    const handshakeBytes = new Map<string, ConnectionCost['handshakeBytes']>();
    let index = 0;
    let totalRuns = 0;
    // "subject|scenario" the running servers have already served warmed up: cleared when servers (re)start.
    const warmed = new Set<string>();
    const unary = scenarios.find((s) => s.stream === null);

    passes: for (const pass of passes) {
      const { condition, tls } = pass;
      const path = await link.enter(condition);
      const passOptions: BenchOptions = { ...options, tls };
      if (await serving.enter(tls, path?.link ?? null)) {
        warmed.clear();
        // Before any load on these servers: each call once on each protocol, the answers equal field by field.
        if (card) {
          const difference = await checkCardEquivalence(card, serving.setups.map((setup) => setup.target), progress);
          if (difference !== null) throw new BenchSetupError(difference);
        }
        serving.watch((reason) => bench.abort(reason));
        if (bench.signal.aborted) throw bench.signal.reason;
        // Contenders that failed their conformance check are not measured: count the runs of the subjects that run.
        totalRuns = passes.length * runsOf(shares, serving.setups, options.trials).length;
        if (results === null) {
          const environment = collectEnvironment(recordedOptions(options, scenarios), pinning, started);
          results = {
            schemaVersion: SCHEMA_VERSION,
            environment,
            runs: [],
            ...(serving.contenderReports ? { contenders: serving.contenderReports } : {}),
            ...(card ? { api: { card: options.api!, services: card.apis } } : {}),
          };
          files.push(writeResultsJson(dir, results));
          linkLatest(options.outDir, dir);
          progress.log(describePlan(options, passes, scenarios, serving.setups, schedule, dir));
        }
      }
      // Set when the first servers started, just above.
      const file = results;
      if (file === null) throw new BenchSetupError('no servers started');
      const connectionCosts = unary
        ? await runConnectionCostPasses(passOptions, serving.setups, progress, bench.signal, path !== null, handshakeBytes, payloads.get(unary.key)!)
        : new Map<Protocol, ConnectionCost>();
      const at = (condition === null ? '' : ` @${condition.name}`) + (options.tlsPasses.length > 1 && tls ? ' TLS' : '');
      for (const { scenarioIndex, scenario, subject: setup, transport, trial } of runsOf(shares, serving.setups, options.trials)) {
        index += 1;
        const subject = `${setup.label ?? setup.protocol}${transport !== null && transport !== 'grpc' ? `/${transport}` : ''}`;
        const label = `[${scenarioIndex + 1}/${scenarios.length}] ${scenario.key} ${subject}${at}` + (options.trials > 1 ? ` trial ${trial}/${options.trials}` : '');
        const warmKey = `${subject}|${scenario.key}`;
        const input: RunOneInput = {
          options: passOptions,
          scenario,
          payload: payloads.get(scenario.key)!,
          setup,
          transport,
          metadata,
          trial,
          warmUp: !warmed.has(warmKey),
          label,
          progress,
          signal: bench.signal,
          wireCache,
          pinning,
          network: path,
          schedule,
          runIndex: index - 1,
        };
        // --slo: a search of open-loop steps (bench/run/capacity.ts), each one measured run of runOne.
        const record = options.slo
          ? await searchCapacity(options.slo, capacityTiming(options), (load) => runOne({ ...input, label: `${label} ${load.label}`, load }), {
              log: (line) => progress.log(line),
              aborted: () => bench.signal.aborted,
            })
          : await runOne(input);
        warmed.add(warmKey);
        // The protocol's connection-cost figures (measured once per pass, before the scenarios) go on each of its rows.
        record.tls = connectionCosts.get(setup.protocol) ?? null;
        file.runs.push(record);
        writeResultsJson(dir, file);
        progress.log(describeRecord(label, record, index, totalRuns));
        io.onRunRecorded?.(record, serving.servers);
        if (record.status === 'failed') {
          failure = record.failure;
          // Behind a link, a path too slow for a scenario (every call past its deadline) is a finding, not a
          // broken bench: the other conditions still run. A server that died or Ctrl-C ends the bench.
          if (condition === null || bench.signal.aborted) break passes;
        }
      }
    }
    if (results === null) throw new BenchSetupError('no network condition to run');
    progress.close();
    await serving.stop();
    await link.close();

    writeResultsJson(dir, results);
    const exitCode = failure === null ? 0 : interrupted ? 130 : 1;
    return { results, dir, files, exitCode, failure, notes };
  } catch (error) {
    progress.close();
    await serving?.stop();
    await link.close();
    // Stopped before the first results.json: no folder of nothing is left behind (or linked as latest).
    removeEmptyRunFolder(dir);
    if (interrupted) {
      const results: ResultsFile = { schemaVersion: SCHEMA_VERSION, environment: collectEnvironment({}, null), runs: [] };
      return { results, dir: null, files: [], exitCode: 130, failure: 'interrupted before the first run', notes };
    }
    throw error;
  } finally {
    if (io.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    process.off('exit', killAllServerProcesses);
    process.off('exit', removeAllLinksSync);
    process.off('exit', killAllProxies);
  }
}

/** The bench's first line: what it runs, how long, and where the results go. */
function describePlan(options: BenchOptions, passes: PlannedPass[], scenarios: Scenario[], setups: ProtocolSetup[], schedule: RunSchedule | null, dir: string): string {
  const conditions = passes.filter((pass) => pass.tls === passes[0]!.tls).length;
  return (
    `bench: ${scenarios.length} scenario(s) x ${setups.map((s) => `${s.label ?? s.protocol} (${s.driver.name})`).join(', ')}` +
    ` x ${options.trials} trial(s)${conditions > 1 ? ` x ${conditions} network conditions` : ''}${options.tlsPasses.length > 1 ? ', cleartext then over TLS' : ''}, ${options.durationS}s runs after ${options.warmupS}s warm-up` +
    (options.segment ? `, segment ${options.segment.index}/${options.segment.count}` : '') +
    (schedule ? `, first measured run at ${options.startAt}, then one every ${schedule.slotS} s` : '') +
    `; results in ${dir}`
  );
}

/** What a scenario's calls send, encoded once before any load: a stream's message, or the call's request (gzipped for a compressed scenario). */
function payloadOf(scenario: Scenario, options: BenchOptions): CallPayload {
  if (scenario.payload) return scenario.payload;
  if (scenario.stream !== null) return buildStreamPayload(scenario.operation as StreamOperation);
  return withCompression(buildPayload(scenario.operation as Operation, scenario.payloadValues, scenario.valueShape ?? options.shape), scenario.compression);
}

/** Creates the run folder, or says in one line (exit 1) why --out cannot hold one. */
function openRunFolder(outDir: string, date: Date): string {
  try {
    return createRunFolder(outDir, date);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'ENOTDIR' ? 'a part of the path is a file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : (code ?? message);
    throw new BenchSetupError(`--out ${outDir}: cannot create the results folder (${why})`);
  }
}

/** The options as recorded in environment.options: plain JSON, connections spelled out per scenario. */
function recordedOptions(options: BenchOptions, scenarios: Scenario[]): Record<string, unknown> {
  return {
    ...options,
    connectionsPolicy:
      options.connections === null
        ? { grpc: 'one HTTP/2 connection, all calls multiplexed', rest: 'one HTTP/1.1 keep-alive connection per call in flight' }
        : { grpc: `${options.connections} connection(s)`, rest: `${options.connections} connection(s), pipelined when fewer than calls in flight` },
    scenarios: scenarios.map((s) => ({ key: s.key, connections: s.connections, restPipelining: s.restPipelining })),
  };
}

function describeRecord(label: string, r: RunRecord, index: number, total: number): string {
  if (r.status === 'failed') return `${label}: FAILED: ${r.failure}`;
  const p50 = r.latencyMs ? `${r.latencyMs.p50} ms` : '-';
  const bytes = r.wire.requestBytesPerCall === null ? '' : `, ${Math.round(r.wire.requestBytesPerCall)}/${Math.round(r.wire.responseBytesPerCall ?? 0)} B/call`;
  const unit = r.unit === 'message' ? 'msg' : 'call';
  return `${label}: ${Math.round(r.rps)} ${unit}s/s, p50 ${p50}${bytes.replace('B/call', `B/${unit}`)}${r.errors ? `, ${r.errors} errors` : ''} (${index}/${total})`;
}

