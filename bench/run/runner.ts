/**
 * The bench runner: starts the servers (each in its own process: setups.ts),
 * runs every scenario for each subject in turn (run-one.ts: warm-up, measured
 * run, wire-sampling pass), records each run, writes results.json after every run, and stops
 * the servers at the end, on failure and on Ctrl-C. It returns data; printing
 * and the report files are the CLI's job (bench/report/terminal.ts, write.ts).
 */
import { canRunOpenLoop, getDriver, openLoopDriverNames } from '../drivers/index.ts';
import { BenchUsageError, openLoopRefusal, type BenchOptions } from '../options/options.ts';
import { applyPinning, serverPinPrefix } from '../host/pinning.ts';
import type { ProgressSink } from './progress.ts';
import { collectEnvironment } from '../results/environment.ts';
import { SCHEMA_VERSION, type ResultsFile, type RunRecord, type WireBytesPerCall } from '../results/record.ts';
import { createRunFolder, linkLatest, removeEmptyRunFolder, writeResultsJson } from '../results/write.ts';
import { buildPayload, buildStreamPayload, transportsOf, type Scenario } from '../scenario/matrix.ts';
import type { Operation, StreamOperation } from '../../servers/calculator.ts';
import { withCompression } from '../scenario/compression.ts';
import { killAllServerProcesses, type ServerProcess } from '../host/server-process.ts';
import { type CallPayload, type Protocol } from '../types.ts';
import { startContenders } from '../host/contenders.ts';
import { type ConnectionCost } from './connection-cost.ts';
import { runSchedule } from './schedule.ts';
import { segmentScenarios } from '../scenario/segment.ts';
import { conditionName, type NetworkCondition } from '../options/network.ts';
import { networkEmulationUnavailable, openLink, removeAllLinksSync, type EmulatedLink } from '../network/link.ts';
import { probeLink, type LinkProbe } from '../network/probe.ts';
import { loadCard, planBench } from './plan.ts';
import { checkCardEquivalence, checkCardServers } from './card.ts';
import type { ApiCard } from '../api/index.ts';
import { capacityTiming, searchCapacity } from './capacity.ts';
import { killAllProxies } from '../host/proxy.ts';

import { BenchSetupError } from './errors.ts';
import { checkExternalTargets, startPlaces, startServers, withExternalProxies, type ProtocolSetup } from './setups.ts';
import { runConnectionCostPasses } from './connection-cost-pass.ts';
import { runOne, type RunOneInput } from './run-one.ts';

export { BenchSetupError };

/** The link probe when a condition's link is set up: ping-pong rounds and bulk window per direction. */
const LINK_PROBE = { rounds: 20, windowMs: 1_000 };

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
 */
export async function runBench(options: BenchOptions, io: RunnerIo, card?: ApiCard | null): Promise<BenchOutcome> {
  const { progress } = io;
  const notes: string[] = [];
  if (card === undefined) card = await loadCard(options);
  const plan = planBench(options, card);
  const { scenarios } = plan;
  notes.push(...plan.notes);
  if (card) {
    checkCardServers(card, options);
    if (scenarios.length === 0) throw new BenchUsageError(`--api ${options.api}: no call to bench`);
  }
  // --segment: this generator's share of each scenario (a share below 1 in flight is a usage error, before any server starts).
  const shares = options.segment === null ? scenarios : segmentScenarios(scenarios, options.segment);
  const schedule = runSchedule(options);
  for (const protocol of options.protocols) {
    const driver = getDriver(options.drivers[protocol], protocol);
    if (options.compression.includes('gzip') && driver.compression !== true) {
      throw new BenchSetupError(`--compression gzip: driver ${driver.name} does not send compressed payloads; use --driver ${protocol === 'grpc' ? 'grpc-engine' : 'autocannon'}`);
    }
    // Usage errors (exit 2), before any server starts: an open loop the driver cannot run, a generator not installed.
    if (options.rate != null && !canRunOpenLoop(driver)) throw new BenchUsageError(openLoopRefusal(driver.name, openLoopDriverNames()));
    if (options.slo && !canRunOpenLoop(driver)) throw new BenchUsageError(openLoopRefusal(driver.name, openLoopDriverNames(), '--slo'));
    if (driver.pools !== true && scenarios.some((s) => (s.payload?.pool?.length ?? 0) > 1)) {
      throw new BenchUsageError(`--driver ${driver.name} sends one request per run; the card's requests go round robin: use ${protocol === 'grpc' ? 'grpc-engine' : 'http1-engine'}`);
    }
    const missing = driver.unavailable?.() ?? null;
    if (missing !== null) throw new BenchUsageError(`--driver ${driver.name}: ${missing}`);
  }
  if (options.network.some((condition) => condition !== null)) {
    const unavailable = networkEmulationUnavailable();
    if (unavailable !== null) throw new BenchUsageError(`--network: ${unavailable}`);
  }
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

  // Keyed by protocol, or by contender name with --contenders.
  const servers = new Map<string, ServerProcess>();
  let stopping = false;
  const stopServers = async (): Promise<void> => {
    stopping = true;
    await Promise.all([...servers.values()].map((server) => server.stop()));
  };

  // The emulated link (null until a condition needs one); closed at the end and on every way out.
  let link: EmulatedLink | null = null;
  try {
    const externals = await checkExternalTargets(options, progress);
    const { pinning, note } = applyPinning(options.pin);
    if (note) notes.push(note);

    let results: ResultsFile | null = null;
    const files: string[] = [];
    let failure: string | null = null;
    const wireCache = new Map<string, { wire: WireBytesPerCall; responseBodyBytes: number | null }>();
    const handshakeBytes = new Map<string, ConnectionCost['handshakeBytes']>();
    let index = 0;
    let totalRuns = 0;

    // Every scenario under each network condition in turn, and (--sweep network) every condition in cleartext,
    // then over TLS. One emulated link serves every condition (configure() re-applies it), each measured once;
    // servers restart only when they must move (loopback <-> behind the link) or change TLS.
    const probes = new Map<string, LinkProbe>();
    let serving: { behindLink: boolean; tls: boolean } | null = null;
    let setups: ProtocolSetup[] = [];
    // "protocol|scenario" the running servers have already served warmed up: cleared when servers (re)start.
    const warmed = new Set<string>();
    passes: for (const tls of options.tlsPasses) {
      for (const condition of options.network) {
        let linkProbe: LinkProbe | null = null;
        if (condition !== null) {
          linkProbe = probes.get(condition.name) ?? null;
          if (linkProbe === null) progress.phase(`network ${condition.name}: setting up the emulated link`, 3);
          try {
            if (link === null) link = await openLink(condition);
            else await link.configure(condition);
            if (linkProbe === null) {
              linkProbe = await probeLink(link, LINK_PROBE);
              probes.set(condition.name, linkProbe);
              progress.log(describeLink(condition, linkProbe));
            }
          } catch (error) {
            throw new BenchSetupError(`--network ${condition.name}: ${(error as Error).message}`);
          } finally {
            progress.endPhase();
          }
        }
        const passOptions: BenchOptions = { ...options, tls };
        const place = { behindLink: condition !== null, tls };
        if (serving === null || serving.behindLink !== place.behindLink || serving.tls !== place.tls) {
          await stopServers();
          servers.clear();
          warmed.clear();
          stopping = false;
          // Behind an emulated link every server runs in its namespace and binds its address, contenders too.
          const behind = condition !== null && link !== null ? link : null;
          const contenderStart = options.contenders
            ? await startContenders(passOptions, [...(behind?.prefix ?? []), ...serverPinPrefix(pinning)], servers, behind?.serverAddress)
            : null;
          if (contenderStart) notes.push(...contenderStart.notes);
          setups = contenderStart
            ? contenderStart.setups
            : options.proxies.length > 0
              ? await startPlaces(passOptions, pinning, servers, condition === null ? null : link, dir)
              : withExternalProxies(await startServers(passOptions, pinning, servers, bench.signal, condition === null ? null : link, externals), externals, passOptions.tls);
          serving = place;
          // Before any load on these servers: each call once on each protocol, the answers equal field by field.
          if (card) {
            const difference = await checkCardEquivalence(card, setups.map((setup) => setup.target), progress);
            if (difference !== null) throw new BenchSetupError(difference);
          }
          for (const server of servers.values()) {
            void server.exited.then((reason) => {
              if (!stopping) bench.abort(new Error(reason));
            });
          }
          if (bench.signal.aborted) throw bench.signal.reason;
          // Contenders that failed their conformance check are not measured: count the subjects that run.
          const subjects = scenarios.reduce((sum, scenario) => sum + setups.reduce((n, setup) => n + transportsOf(scenario, setup.protocol).length, 0), 0);
          totalRuns = subjects * options.trials * options.network.length * options.tlsPasses.length;
          if (results === null) {
            const environment = collectEnvironment(recordedOptions(options, scenarios), pinning, started);
            results = {
              schemaVersion: SCHEMA_VERSION,
              environment,
              runs: [],
              ...(contenderStart ? { contenders: contenderStart.reports } : {}),
              ...(card ? { api: { card: options.api!, services: card.apis } } : {}),
            };
            files.push(writeResultsJson(dir, results));
            linkLatest(options.outDir, dir);
            progress.log(
              `bench: ${scenarios.length} scenario(s) x ${setups.map((s) => `${s.label ?? s.protocol} (${s.driver.name})`).join(', ')}` +
                ` x ${options.trials} trial(s)${options.network.length > 1 ? ` x ${options.network.length} network conditions` : ''}${options.tlsPasses.length > 1 ? ', cleartext then over TLS' : ''}, ${options.durationS}s runs after ${options.warmupS}s warm-up` +
                (options.segment ? `, segment ${options.segment.index}/${options.segment.count}` : '') +
                (schedule ? `, first measured run at ${options.startAt}, then one every ${schedule.slotS} s` : '') +
                `; results in ${dir}`,
            );
          }
        }
        // Set when the first servers started, just above.
        const file = results;
        if (file === null) throw new BenchSetupError('no servers started');
        const unaryPayload = scenarios.find((s) => s.stream === null);
        const connectionCosts = unaryPayload
          ? await runConnectionCostPasses(passOptions, setups, progress, bench.signal, condition !== null, handshakeBytes, payloads.get(unaryPayload.key)!)
          : new Map<Protocol, ConnectionCost>();
        const at = (condition === null ? '' : ` @${condition.name}`) + (options.tlsPasses.length > 1 && tls ? ' TLS' : '');
        for (const [i, scenario] of shares.entries()) {
          // Every subject of the scenario: each server, and for a stream scenario each transport it serves.
          const subjects = setups.flatMap((setup) => transportsOf(scenario, setup.protocol).map((transport) => ({ setup, transport })));
          for (let trial = 1; trial <= options.trials; trial++) {
            // Alternate which subject goes first, so none always runs on a warmer machine.
            const order = trial % 2 === 1 ? subjects : [...subjects].reverse();
            for (const { setup, transport } of order) {
              index += 1;
              const subject = `${setup.label ?? setup.protocol}${transport !== null && transport !== 'grpc' ? `/${transport}` : ''}`;
              const label = `[${i + 1}/${scenarios.length}] ${scenario.key} ${subject}${at}` + (options.trials > 1 ? ` trial ${trial}/${options.trials}` : '');
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
                network: condition === null || link === null ? null : { condition, link, probe: linkProbe },
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
              // The protocol's connection-cost figures (measured once per condition, before the scenarios) go on each of its rows.
              record.tls = connectionCosts.get(setup.protocol) ?? null;
              file.runs.push(record);
              writeResultsJson(dir, file);
              progress.log(describeRecord(label, record, index, totalRuns));
              io.onRunRecorded?.(record, servers);
              if (record.status === 'failed') {
                failure = record.failure;
                // Behind a link, a path too slow for a scenario (every call past its deadline) is a finding, not a
                // broken bench: the other conditions still run. A server that died or Ctrl-C ends the bench.
                if (condition === null || bench.signal.aborted) break passes;
              }
            }
          }
        }
      }
    }
    if (results === null) throw new BenchSetupError('no network condition to run');
    progress.close();
    await stopServers();
    await link?.close();

    writeResultsJson(dir, results);
    const exitCode = failure === null ? 0 : interrupted ? 130 : 1;
    return { results, dir, files, exitCode, failure, notes };
  } catch (error) {
    progress.close();
    await stopServers();
    await link?.close();
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

function describeLink(condition: NetworkCondition, probe: LinkProbe | null): string {
  const mbit = (value: number | null): string => (value === null ? '-' : value.toFixed(1));
  return (
    `network ${conditionName(condition)}: emulated link measured RTT ${probe ? probe.rttMs.toFixed(2) : '-'} ms (asked ${condition.rttMs}), ` +
    `bulk ${mbit(probe?.upMbit ?? null)} up / ${mbit(probe?.downMbit ?? null)} down Mbit/s (asked ${condition.upMbit ?? 'unlimited'} / ${condition.downMbit ?? 'unlimited'})`
  );
}
