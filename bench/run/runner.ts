/**
 * The bench runner: starts the servers (each in its own process), runs every
 * scenario for each protocol in turn (warm-up, measured run, wire-sampling
 * pass), records each run, writes results.json after every run, and stops
 * the servers at the end, on failure and on Ctrl-C. It returns data; printing
 * and the report files are the CLI's job (bench/report/terminal.ts, write.ts).
 */
import os from 'node:os';
import { canRunOpenLoop, getDriver, openLoopDriverNames } from '../drivers/index.ts';
import { BenchUsageError, openLoopRefusal, type BenchOptions } from '../options/options.ts';
import { applyPinning, serverPinPrefix, type Pinning } from '../host/pinning.ts';
import { readCpuMs, readCpuMsPrecise, readPeakRssMiB, resetPeakRss, selfCpuUs, sumOverProcesses } from '../host/process-stats.ts';
import type { ProgressSink } from './progress.ts';
import { collectEnvironment } from '../results/environment.ts';
import { latencyPercentiles, summarizeLatency } from '../results/latency.ts';
import { encodeLatencyHistogram } from '../results/histogram.ts';
import { SCHEMA_VERSION, type DriverWireReport, type ResultsFile, type RunRecord, type WireBytesPerCall } from '../results/record.ts';
import { createRunFolder, linkLatest, removeEmptyRunFolder, writeResultsJson } from '../results/write.ts';
import { buildPayload, buildStreamPayload, transportsOf, wireCallsFor, type Scenario } from '../scenario/matrix.ts';
import { streamEngine } from '../drivers/streams/driver.ts';
import type { Operation, StreamOperation } from '../../servers/calculator.ts';
import { wireBody, withCompression } from '../scenario/compression.ts';
import { killAllServerProcesses, startServerProcess, type ServerProcess } from '../host/server-process.ts';
import { checkReachable, describeTarget } from '../host/readiness.ts';
import { preflightTarget, targetProcesses } from '../host/external-targets.ts';
import { DEFAULT_DRAIN_GRACE_MS, type CallPayload, type Driver, type LoadOptions, type LoadResult, type Protocol, type StreamTransport, type Target } from '../types.ts';
import { measureWireBytes, NULL_WIRE } from '../wire/measure.ts';
import { startContenders } from '../host/contenders.ts';
import { restBodyOf } from '../scenario/http-call.ts';
import { emptyConnectionCost, isTlsTarget, measureConnectionCost, type ConnectionCost } from './connection-cost.ts';
import { isClientBound } from '../results/client-bound.ts';
import { StallWatchdog } from './stall-watchdog.ts';
import { runSchedule, sleepUntil, type RunSchedule } from './schedule.ts';
import { segmentRate, segmentScenarios } from '../scenario/segment.ts';
import { conditionName, type NetworkCondition } from '../options/network.ts';
import { networkEmulationUnavailable, openLink, removeAllLinksSync, type EmulatedLink } from '../network/link.ts';
import { probeLink, type LinkProbe } from '../network/probe.ts';
import { EMULATOR_BUSY_PERCENT, networkRecord, snapshotAttempt, snapshotLink } from '../network/record.ts';
import { CONNECTION_COST_PLANNED_S, loadCard, planBench, WIRE_PASS_PLANNED_S } from './plan.ts';
import { checkCardEquivalence, checkCardServers, generatedServerCard } from './card.ts';
import type { ApiCard } from '../api/index.ts';
import { capacityTiming, searchCapacity, type StepLoad } from './capacity.ts';
import { killAllProxies, startProxy, type Address } from '../host/proxy.ts';
import { connectionLimitArgs, cpuMsPer1k, replicaRecords, snapshotReplicas } from '../host/replicas.ts';
import { externalProxy } from '../host/external-proxy.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { round } from '../results/round.ts';

/** A run that has not ended this long after its planned end is aborted. */
const RUN_OVERRUN_S = 15;
/** A measured run that started this much after its --start-at instant gets a note. */
const LATE_START_NOTE_MS = 50;
/**
 * Behind an emulated link the byte-counting pass and the connection-cost pass
 * take RTTs per call: at most this many calls each (bytes per call do not
 * depend on the path; a connection's cost in RTTs shows in a few calls, and
 * the median of 5 is not moved by one lost SYN's 1 s retransmission).
 */
const NETWORK_WIRE_CALLS = 100;
const NETWORK_CONNECTION_CALLS = 5;
const NETWORK_CONNECTION_WARMUP_CALLS = 2;
/**
 * A measured run behind a link lasts at least this many rounds of its calls
 * (roundTripOfCallsS). One is enough: the calls in flight at the end get
 * their whole deadline (drainGraceMs), so at least two rounds are counted,
 * and every driver ends its elapsed time at the last completed call, so the
 * drain adds no idle time. (Mobile sum-10000/c16 over REST: 16 x 182 KB at
 * 5 Mbit/s is a 4.7 s round; at two rounds a run took 12-13 s.)
 */
const MIN_ROUNDS = 1;
/** Values per stream of a stream scenario's warm-up (closed loop), as the stream bench always warmed up. */
const STREAM_WARMUP_MESSAGES = 1_000;
/** A stream scenario's byte-counting pass: this many streams of at most this many messages each. */
const WIRE_STREAMS = 2;
const WIRE_MESSAGES_PER_STREAM = 200;
/** The link probe when a condition's link is set up: ping-pong rounds and bulk window per direction. */
const LINK_PROBE = { rounds: 20, windowMs: 1_000 };

export class BenchSetupError extends Error {
  readonly exitCode = 1;
}

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

interface ProtocolSetup {
  protocol: Protocol;
  driver: Driver;
  target: Target;
  server: ServerProcess | null;
  /** An external target's processes (bench/host/external-targets.ts), read for the server columns, and where they came from. */
  externalPids?: number[];
  externalNote?: string;
  /** --contenders (bench/host/contenders.ts): the server measured, its label (progress, keys) and whose connection count it takes. */
  contender?: RunRecord['contender'];
  label?: string;
  connectionsOf?: Protocol;
  /** Where the calls go (--proxy, or a known proxy holding an external target's port); absent: direct, TLS as the options say. */
  place?: RunRecord['place'];
  /** Behind the bench's proxy: the replicas whose calls and CPU the row reports (their sum is the server's). */
  replicas?: ServerProcess[];
  /** A proxy's processes: their CPU is the proxy's (proxyCpuMsPer1kCalls), not the server's. */
  proxyPids?: number[];
}

/** An external target's processes (checkExternalTargets), and the known proxy holding its port, if one does. */
type ExternalProcesses = { pids: number[]; note: string; proxy?: string; proxyPids?: number[] };

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

/**
 * The servers the bench did not start, before it starts any: each must answer
 * (any answer: bench/host/readiness.ts), pass the pre-flight conformance check
 * and, where it runs here, have its processes found. Returns them per protocol.
 */
async function checkExternalTargets(options: BenchOptions, progress: ProgressSink): Promise<Map<Protocol, ExternalProcesses>> {
  const found = new Map<Protocol, ExternalProcesses>();
  for (const protocol of options.protocols) {
    const target = externalTarget(options, protocol);
    if (!target) continue;
    const name = describeTarget(target);
    try {
      progress.log(`${name}: ready (${await checkReachable(target, 3_000)})`);
    } catch (error) {
      throw new BenchSetupError(`${name} is unreachable: ${(error as Error).message}`);
    }
    // An API card's targets are checked by the equivalence check once every server is up; the calculator's here.
    if (options.api === null) {
      const preflight = await preflightTarget(target, options.ops);
      if (!preflight.passed) {
        const { failures, cases } = preflight;
        throw new BenchSetupError(
          `pre-flight check failed (${failures.length} of ${cases} calls), not measured: ${failures.slice(0, 3).join('; ')}${failures.length > 3 ? '; …' : ''}`,
        );
      }
      progress.log(`${name}: pre-flight check passed (${preflight.cases} calls answered as the calculator does)`);
    }
    const pidFlag = protocol === 'grpc' ? '--grpc-pid' : '--rest-pid';
    const givenPid = protocol === 'grpc' ? options.grpcPid : options.restPid;
    const processes = targetProcesses(target, givenPid);
    const proxy = externalProxy(target);
    if (proxy !== null) {
      const server = givenPid === null ? `the server behind it not measured (${pidFlag} N gives its process)` : `server CPU and memory of pid ${givenPid} (given)`;
      found.set(protocol, { pids: givenPid === null ? [] : [givenPid], proxy: proxy.proxy, proxyPids: proxy.pids, note: `port held by ${proxy.proxy} (pid${proxy.pids.length > 1 ? 's' : ''} ${proxy.pids.join(', ')}): its CPU is the proxy's; ${server}` });
      progress.log(`${name}: ${found.get(protocol)!.note}`);
      continue;
    }
    if (processes.pids === null) {
      found.set(protocol, { pids: [], note: `server CPU and memory not measured: ${processes.why} (${pidFlag} N gives its process)` });
    } else {
      if (givenPid !== null && readCpuMs(givenPid) === null) throw new BenchSetupError(`${pidFlag} ${givenPid}: no such process readable in /proc`);
      found.set(protocol, { pids: processes.pids, note: `server CPU and memory of ${processes.how}` });
    }
    progress.log(`${name}: ${found.get(protocol)!.note}`);
  }
  return found;
}

function externalTarget(options: BenchOptions, protocol: Protocol): Target | null {
  if (protocol === 'grpc' && options.grpcTarget) return { protocol: 'grpc', ...options.grpcTarget, ...(options.tls ? { tls: true } : {}) };
  if (protocol === 'rest' && options.restTarget) return { protocol: 'rest', url: options.restTarget };
  return null;
}

async function startServers(
  options: BenchOptions,
  pinning: Pinning | null,
  servers: Map<string, ServerProcess>,
  signal: AbortSignal,
  link: EmulatedLink | null,
  externals: ReadonlyMap<Protocol, { pids: number[]; note: string }>,
): Promise<ProtocolSetup[]> {
  // Behind an emulated link the servers run in its namespace (taskset still pins them) and bind its address.
  const prefix = [...(link?.prefix ?? []), ...serverPinPrefix(pinning)];
  const generatedCard = generatedServerCard(options);
  const started = await Promise.allSettled(
    options.protocols.map(async (protocol): Promise<ProtocolSetup> => {
      const driver = getDriver(options.drivers[protocol], protocol);
      const target = externalTarget(options, protocol);
      const external = externals.get(protocol);
      if (target) return { protocol, driver, target, server: null, externalPids: external?.pids ?? [], ...(external ? { externalNote: external.note } : {}) };
      const server = await startServerProcess({
        protocol,
        port: protocol === 'grpc' ? options.grpcPort : options.restPort,
        prefix,
        ...(link ? { host: link.serverAddress } : {}),
        tls: options.tls,
        serveArgs: connectionLimitArgs(options),
        // --api with a card of its own: servers generated from it (the calculator's card keeps the calculator's servers).
        ...(generatedCard !== null ? { api: generatedCard } : {}),
      });
      servers.set(protocol, server);
      return { protocol, driver, target: server.target, server };
    }),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    if (signal.aborted) throw signal.reason;
    throw new BenchSetupError((failed.reason as Error).message);
  }
  return started.map((s) => (s as PromiseFulfilledResult<ProtocolSetup>).value);
}

/**
 * --proxy: options.replicas servers per protocol, then each proxy of options.proxies in front of them
 * (bench/host/proxy.ts), its config, pid file and logs in the run folder. One setup per place and protocol,
 * in the order of --proxy; 'direct' loads the first replica straight.
 */
async function startPlaces(options: BenchOptions, pinning: Pinning | null, servers: Map<string, ServerProcess>, link: EmulatedLink | null, dir: string): Promise<ProtocolSetup[]> {
  // Behind an emulated link the replicas and the proxy run in its namespace, at its server address.
  const prefix = [...(link?.prefix ?? []), ...serverPinPrefix(pinning)];
  const host = link?.serverAddress ?? '127.0.0.1';
  const started = await Promise.allSettled(
    options.protocols.flatMap((protocol) =>
      Array.from({ length: options.replicas }, async (_, i) => {
        const server = await startServerProcess({ protocol, port: 0, prefix, host, tls: false, serveArgs: connectionLimitArgs(options) });
        servers.set(`${protocol}#${i + 1}`, server);
        return server;
      }),
    ),
  );
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw new BenchSetupError((failed.reason as Error).message);
  const replicas = (protocol: Protocol): ServerProcess[] => options.protocols.includes(protocol) ? [...Array(options.replicas).keys()].map((i) => servers.get(`${protocol}#${i + 1}`)!) : [];
  const address = (target: Target): Address => (target.protocol === 'grpc' ? { host: target.host, port: target.port } : { host: new URL(target.url).hostname, port: Number(new URL(target.url).port) });
  let template: { file: string; text: string } | null = null;
  if (options.proxyConfig !== null) {
    try {
      template = { file: options.proxyConfig, text: readFileSync(options.proxyConfig, 'utf8') };
    } catch (error) {
      throw new BenchSetupError(`--proxy-config ${options.proxyConfig}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  const setups: ProtocolSetup[] = [];
  for (const place of options.proxies) {
    if (place === 'direct') {
      for (const protocol of options.protocols) {
        const server = replicas(protocol)[0]!;
        setups.push({ protocol, driver: getDriver(options.drivers[protocol], protocol), target: server.target, server, label: `${protocol}@direct` });
      }
      continue;
    }
    let proxy;
    try {
      proxy = await startProxy({
        kind: place,
        balance: options.balance ?? 'l7',
        host,
        upstreams: Object.fromEntries(options.protocols.map((protocol) => [protocol, replicas(protocol).map((server) => address(server.target))])),
        dir: path.join(dir, `proxy-${place}`),
        template,
        prefix,
      });
    } catch (error) {
      throw new BenchSetupError((error as Error).message);
    }
    servers.set(`proxy:${place}`, proxy);
    for (const protocol of options.protocols) {
      setups.push({
        protocol,
        driver: getDriver(options.drivers[protocol], protocol),
        target: proxy.targets[protocol]!,
        server: null,
        label: `${protocol}@${proxy.name}`,
        place: { tls: false, proxy: proxy.name, replicas: options.replicas, balance: options.balance },
        replicas: replicas(protocol),
        proxyPids: proxy.pids,
      });
    }
  }
  return setups;
}

/** A known proxy holding an external target's port (checkExternalTargets): the setup records it as the row's place, its CPU as the proxy's. */
function withExternalProxies(setups: ProtocolSetup[], externals: ReadonlyMap<Protocol, ExternalProcesses>, tls: boolean): ProtocolSetup[] {
  return setups.map((setup) => {
    const external = setup.server === null ? externals.get(setup.protocol) : undefined;
    if (!external?.proxy) return setup;
    return { ...setup, proxyPids: external.proxyPids ?? [], place: { tls, proxy: external.proxy, replicas: null, balance: null } };
  });
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

interface RunOneInput {
  options: BenchOptions;
  scenario: Scenario;
  payload: CallPayload;
  setup: ProtocolSetup;
  /** A stream scenario's transport (the stream generator runs it); null for unary calls (the setup's driver). */
  transport: StreamTransport | null;
  /** Headers / gRPC metadata on every call (an API card's); null: none. */
  metadata: Readonly<Record<string, string>> | null;
  trial: number;
  /** Warm up before the measured run: the first run of this protocol and scenario on the running servers. */
  warmUp: boolean;
  label: string;
  progress: ProgressSink;
  signal: AbortSignal;
  wireCache: Map<string, { wire: WireBytesPerCall; responseBodyBytes: number | null }>;
  /** Drivers that run a child process (h2load) get it pinned to the generator's CPUs. */
  pinning: Pinning | null;
  /** A capacity search's step: its rate (null: closed loop), durations and whether bytes are counted, instead of the options'. */
  load?: Omit<StepLoad, 'label'>;
  /** The emulated link the run goes through and its probe; null on loopback. */
  network: { condition: NetworkCondition; link: EmulatedLink; probe: LinkProbe | null } | null;
  /** --start-at: when this run (number runIndex, 0-based) warms up and is measured; null: at once. */
  schedule: RunSchedule | null;
  runIndex: number;
}

/** Notes a reader of the row must see: what the driver could not check, how it was chosen. */
function runNotes(options: BenchOptions, protocol: Protocol, driver: string, result: LoadResult): string[] {
  const notes: string[] = [];
  if (protocol === 'grpc' && result.statusChecked === 'http-status-only') {
    notes.push(`${driver} does not read grpc-status; gRPC errors in trailers are not detected (a failed call counts as HTTP 200)`);
  }
  if (result.wireFromDriver && result.wireFromDriver.requestBytesPerCall === null) {
    notes.push(`${driver} counts received bytes only; wire figures are the counting proxy's, ${driver}'s own are in wire.driverReport`);
  }
  if (protocol === 'rest') notes.push(...options.driverNotes.filter((note) => note.includes(driver)));
  return notes;
}

async function runOne(input: RunOneInput): Promise<RunRecord> {
  const { options, scenario, payload, setup, progress, signal, transport } = input;
  const connections = scenario.connections[setup.connectionsOf ?? setup.protocol];
  // A capacity step's rate (in emptyRecord), durations and byte pass; else the options'.
  const load = input.load ?? { rate: options.rate, durationS: options.durationS, warmupS: options.warmupS, countBytes: true };
  // A stream scenario runs on the stream generator; a capacity step holds its streams for the step's duration.
  const driver = transport === null ? setup.driver : streamEngine;
  const stream = transport === null || scenario.stream === null ? null : { transport, messagesPerStream: input.load ? null : scenario.stream.messagesPerStream };
  const base = {
    target: setup.target,
    payload,
    ...(stream ? { stream } : {}),
    ...(input.metadata ? { metadata: input.metadata } : {}),
    concurrency: scenario.concurrency,
    connections,
    timeoutMs: options.timeoutMs,
    // h2load runs as a child process: pin it where the runner (the generator) is pinned.
    ...(input.pinning ? { prefix: ['taskset', '-c', input.pinning.client] } : {}),
  };
  const record = emptyRecord(input, connections);
  // Open loop for the warm-up and the measured run (this segment's share of --rate); the byte-counting pass stays closed (bytes do not depend on pacing).
  const paced = record.rate !== null ? { rate: record.rate } : {};
  const failWith = (reason: string): RunRecord => ({ ...record, status: 'failed', failure: reason });
  // Behind a slow link one round of calls can take seconds (16 x 182 KB at 5 Mbit/s: 4.7 s): a run lasts
  // at least MIN_ROUNDS rounds, and a round is not a stall.
  const roundS = input.network ? roundTripOfCallsS(input.network.condition, scenario.concurrency, record.body.requestBytes) : 0;
  const durationS = Math.max(load.durationS, MIN_ROUNDS * roundS);
  const stallS = options.stallTimeoutS > 0 ? Math.max(options.stallTimeoutS, 2 * roundS + 1) : 0;
  if (signal.aborted) return failWith(reasonOf(signal));

  const { schedule } = input;
  if (schedule) await waitForSlot(input, schedule.warmupStartMs(input.runIndex), 'warm-up');
  if (signal.aborted) return failWith(reasonOf(signal));

  // Warm-up: same shape, not recorded, the first time the running servers see this scenario. Later trials, and
  // later network conditions on the same servers, follow at once: the servers' and the generator's code for it is
  // warm, and each measured run opens connections of its own. (In a network sweep warm-ups behind slow links,
  // cut after a grace, were 11% of its time.) A capacity search's steps share one input: each step warms up.
  if (load.warmupS > 0 && input.warmUp) {
    progress.phase(`${input.label} warm-up`, load.warmupS);
    const attempt = input.network ? await snapshotAttempt(input.network.link) : null;
    // Streams warm up closed loop on a fixed count per stream (a server stream takes no duration).
    const warmLoad = stream ? { requests: scenario.concurrency * STREAM_WARMUP_MESSAGES } : paced;
    const warm = await runWithWatchdog(driver, { ...base, ...warmLoad, durationS: load.warmupS }, load.warmupS, signal, (f) => progress.update(f), stallS);
    warm.latencyUs.destroy?.();
    progress.endPhase();
    if (signal.aborted) return failWith(reasonOf(signal));
    // A server that stopped answering during the warm-up is not measured.
    // Behind a link the record still says under which condition, with the link's counters over the warm-up.
    if (warm.stalled) {
      const network = input.network && attempt ? await networkRecord(input.network.condition, input.network.probe, input.network.link, attempt) : null;
      return { ...failWith(warm.failure!), network };
    }
  }

  const plannedStartMs = schedule?.measuredStartMs(input.runIndex) ?? null;
  if (plannedStartMs !== null) await waitForSlot(input, plannedStartMs, 'measured run');
  if (signal.aborted) return failWith(reasonOf(signal));

  // The measured run: nothing else on the wire, server CPU and runner CPU sampled around it.
  progress.phase(`${input.label} measuring`, durationS);
  const pids = setup.replicas ? setup.replicas.map((replica) => replica.pid) : setup.server ? [setup.server.pid] : (setup.externalPids ?? []);
  for (const pid of pids) resetPeakRss(pid);
  // Behind a proxy: each replica's calls and CPU, and the proxy's own CPU, over the same window.
  const replicas0 = setup.replicas ? await snapshotReplicas(setup.replicas) : null;
  const proxyCpu0 = setup.proxyPids ? sumOverProcesses(setup.proxyPids, readCpuMs) : null;
  // A stream run can cost its server less than one 10 ms /proc tick: its CPU is read in ns from every thread's schedstat.
  const readServerCpu = transport === null ? readCpuMs : (pid: number) => readCpuMsPrecise(pid) ?? readCpuMs(pid);
  const serverCpu0 = sumOverProcesses(pids, readServerCpu);
  const selfCpu0 = selfCpuUs();
  const linkBefore = input.network ? await snapshotLink(input.network.link) : null;
  const wall0 = process.hrtime.bigint();
  const wall0Ms = Date.now();
  // Behind a link a call can take seconds (a round of big bodies at 5 Mbit/s): calls in flight when the measured
  // run ends get their whole deadline, or a slow path would show up as timeouts the server never caused. The
  // warm-up's are not measured: they are cut after the drivers' default grace.
  const drain = input.network ? { drainGraceMs: options.timeoutMs } : {};
  const result = await runWithWatchdog(driver, { ...base, ...paced, ...drain, durationS }, durationS, signal, (f) => progress.update(f), stallS);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  // The driver's clock runs from its first call (connections up) to its last answer; the window ends when it returned.
  const endMs = Date.now();
  const selfCpuMs = (selfCpuUs() - selfCpu0) / 1000;
  const serverCpu1 = sumOverProcesses(pids, readServerCpu);
  const peakRssMiB = sumOverProcesses(pids, readPeakRssMiB);
  const proxyCpu1 = setup.proxyPids ? sumOverProcesses(setup.proxyPids, readCpuMs) : null;
  const replicas1 = setup.replicas ? await snapshotReplicas(setup.replicas) : null;
  const network = input.network && linkBefore ? await networkRecord(input.network.condition, input.network.probe, input.network.link, linkBefore) : null;
  progress.endPhase();

  const serverCpuMs = serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null;
  // A generator in its own process (h2load) reports its CPU; in-process drivers are the runner's CPU.
  const driverCpu = typeof result.clientCpuUs === 'number';
  const clientCpuMs = driverCpu ? result.clientCpuUs! / 1000 : selfCpuMs;
  const clientCpuPercent = wallMs > 0 ? (clientCpuMs / wallMs) * 100 : 0;
  const serverCpuPercent = serverCpuMs !== null && wallMs > 0 ? (serverCpuMs / wallMs) * 100 : null;
  const measured: RunRecord = {
    ...record,
    ...(result.unit === 'message'
      ? { firstMessageMs: result.firstMessageUs ? summarizeLatency(result.firstMessageUs) : null, gapMs: result.gapUs ? summarizeLatency(result.gapUs) : null }
      : {}),
    ...(result.retried !== undefined ? { retried: result.retried } : {}),
    ...(result.connectionsOpened !== undefined ? { connectionsOpened: result.connectionsOpened } : {}),
    ...(replicas0 && replicas1 ? { replicas: replicaRecords(replicas0, replicas1) } : {}),
    ...(setup.proxyPids ? { proxyCpuMsPer1kCalls: cpuMsPer1k(proxyCpu0, proxyCpu1, result.calls) } : {}),
    durationS: round(result.elapsedS, 3),
    requests: result.calls,
    errors: result.errors,
    statusCounts: result.statusCounts,
    rps: result.elapsedS > 0 ? round(result.calls / result.elapsedS, 1) : 0,
    latencyMs: summarizeLatency(result.latencyUs),
    latencyPercentilesMs: latencyPercentiles(result.latencyUs),
    server: {
      // /proc counts in clock ticks (10 ms): a run that used less than one is not measured (null), not 0.
      cpuMsPer1kCalls: serverCpuMs !== null && serverCpuMs > 0 && result.calls > 0 ? round((serverCpuMs / result.calls) * 1000, 2) : null,
      peakRssMiB: peakRssMiB === null ? null : round(peakRssMiB, 1),
    },
    client: {
      cpuPercent: round(clientCpuPercent, 1),
      cpuUsPerCall: result.calls > 0 ? round((clientCpuMs * 1000) / result.calls, 1) : null,
      bound: isClientBound(clientCpuPercent, serverCpuPercent),
      cpuOf: driverCpu ? 'driver-process' : 'runner',
    },
    network,
    latencyHistogram: encodeLatencyHistogram(result.latencyUs),
    window: { start: new Date(endMs - result.elapsedS * 1000).toISOString(), end: new Date(endMs).toISOString() },
  };
  if (result.statusChecked) measured.statusChecked = result.statusChecked;
  const notes = [...runNotes(options, setup.protocol, driver.name, result), ...(setup.externalNote ? [setup.externalNote] : [])];
  if (result.errors > 0 && result.firstError) {
    measured.firstError = result.firstError;
    notes.push(`first error: ${result.firstError}`);
  }
  const lateMs = plannedStartMs === null ? 0 : wall0Ms - plannedStartMs;
  if (lateMs > LATE_START_NOTE_MS) notes.push(`started ${Math.round(lateMs)} ms after its planned instant (--start-at ${options.startAt}, one run every ${schedule!.slotS} s)`);
  const emulatorCpu = network?.measured.emulatorCpuPercent ?? null;
  if (emulatorCpu !== null && emulatorCpu >= EMULATOR_BUSY_PERCENT) {
    notes.push(`emulator-bound: the network emulator used ${emulatorCpu}% of a core; the link, not the server, may have limited this run`);
  }
  if (notes.length > 0) measured.notes = notes;
  const driverWire = result.wireFromDriver ?? null;
  result.latencyUs.destroy?.();
  // The bench's own reason (server died, Ctrl-C) says more than a driver's "aborted".
  const failure = signal.aborted ? reasonOf(signal) : (result.failure ?? null);
  if (failure) return { ...measured, status: 'failed', failure };
  if (result.calls === 0) return { ...measured, status: 'failed', failure: 'no call completed' };
  // A call that lost its connection measured the network, not the server: the run fails with its reason, its figures kept.
  const lost = result.statusCounts['connection-error'] ?? 0;
  if (lost > 0) return { ...measured, status: 'failed', failure: `network error: ${lost} of ${result.calls} calls lost their connection` };

  // Wire sampling: same driver and shape, a fixed number of calls, through the counting proxy.
  // A TLS pass after a cleartext one (--sweep network) must not borrow its cleartext byte counts.
  const wireKey = `${scenario.key}/${setup.label ?? setup.protocol}${transport !== null ? `/${transport}` : ''}${options.tls ? '/tls' : ''}`;
  let sample = input.wireCache.get(wireKey);
  // TLS: the proxy would see only ciphertext (no header/body split); bytes per handshake are in the connection-cost pass.
  // Streams: two streams of up to 200 messages each, so a stream's set-up is spread over as many messages as before.
  const wanted = stream ? Math.min(options.wireCalls, WIRE_STREAMS * Math.min(scenario.stream!.messagesPerStream ?? WIRE_MESSAGES_PER_STREAM, WIRE_MESSAGES_PER_STREAM)) : wireCallsFor(options.wireCalls, payload);
  const calls = isTlsTarget(setup.target) || !load.countBytes ? 0 : Math.min(wanted, input.network ? NETWORK_WIRE_CALLS : Infinity);
  if (!sample && calls > 0) {
    progress.phase(`${input.label} counting bytes (${calls} ${stream ? 'messages' : 'calls'})`, WIRE_PASS_PLANNED_S);
    try {
      const stall = new StallWatchdog(stallS);
      // measureWireBytes passes onProgress on to the driver (its type omits it; the stall watchdog needs it).
      const shape = stream ? { concurrency: Math.min(WIRE_STREAMS, scenario.concurrency), connections: 1 } : {};
      const wireOptions = { ...base, ...shape, signal: AbortSignal.any([signal, stall.signal]), onProgress: (p: { calls: number }) => stall.progress(p.calls) };
      const wire = await measureWireBytes(driver, wireOptions as Parameters<typeof measureWireBytes>[1], calls).finally(() => stall.stop());
      if (wire.failure || signal.aborted || stall.stalled) {
        return { ...measured, status: 'failed', failure: signal.aborted ? reasonOf(signal) : (stall.reason ?? wire.failure!) };
      }
      sample = { wire: wire.wire, responseBodyBytes: wire.responseBodyBytes };
      input.wireCache.set(wireKey, sample);
    } finally {
      progress.endPhase();
    }
  }
  // Proxy counts when there was a pass (comparable across drivers); else the driver's own, if it counts any.
  const wire: WireBytesPerCall = sample?.wire ?? (driverWire ? { ...withoutSavings(driverWire) } : NULL_WIRE);
  return {
    ...measured,
    wire: driverWire ? { ...wire, driverReport: driverWire } : wire,
    body: {
      requestBytes: record.body.requestBytes,
      responseBytes: sample?.responseBodyBytes === null || sample === undefined ? 0 : round(sample.responseBodyBytes, 2),
    },
  };
}

/** Runs a driver with the bench's abort signal plus a deadline well past the planned end. */
async function runWithWatchdog(
  driver: Driver,
  options: Omit<Parameters<Driver['run']>[0], 'signal' | 'onProgress'>,
  plannedS: number,
  benchSignal: AbortSignal,
  onFraction: (fraction: number) => void,
  stallTimeoutS = 0,
): Promise<LoadResult & { stalled?: boolean }> {
  const limitS = plannedS + options.timeoutMs / 1000 + RUN_OVERRUN_S;
  const watchdog = AbortSignal.timeout(Math.ceil(limitS * 1000));
  // No completed call for stallTimeoutS: the server stopped answering (it may keep its connections open).
  const stall = new StallWatchdog(stallTimeoutS);
  const signal = AbortSignal.any([benchSignal, watchdog, stall.signal]);
  let result: LoadResult & { stalled?: boolean };
  try {
    result = await driver.run({
      ...options,
      signal,
      onProgress: ({ calls, elapsedS }) => {
        stall.progress(calls);
        onFraction(plannedS > 0 ? elapsedS / plannedS : 1);
      },
    });
  } finally {
    stall.stop();
  }
  if (stall.stalled && !benchSignal.aborted) {
    result.failure = stall.reason!;
    result.stalled = true;
  } else if (watchdog.aborted && !benchSignal.aborted && !result.failure) {
    result.failure = `run did not end within ${Math.round(limitS)} s`;
  } else if (!result.failure && result.calls > 0 && result.statusCounts.timeout === result.calls && couldReachDeadline(options)) {
    // Every call ran into its deadline (a --timeout shorter than the stall timeout): the same fault, seen by the driver.
    result.failure = `server stopped answering: all ${result.calls} calls timed out (${options.timeoutMs} ms each)`;
    result.stalled = true;
  }
  return result;
}

/**
 * Whether a call of this run could reach its deadline: calls still in flight
 * when the drain grace ends are counted as timeouts too, and behind a slow link
 * a short warm-up's calls all are (16 uploads of 182 KB at 5 Mbit/s take 4.7 s,
 * the warm-up 0.25 s and 1 s of grace); that is the path, not a server that stopped.
 */
function couldReachDeadline(options: Pick<LoadOptions, 'durationS' | 'timeoutMs' | 'drainGraceMs'>): boolean {
  return options.durationS * 1000 + (options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS) >= options.timeoutMs;
}

/**
 * The connection-cost pass (bench/run/connection-cost.ts), once per protocol before
 * the scenarios: new-connection vs kept-alive calls, handshake ms and bytes.
 * A failure here is noted, not fatal: the scenarios still run (and a server
 * that died fails them with its own reason).
 */
async function runConnectionCostPasses(
  options: BenchOptions,
  setups: ProtocolSetup[],
  progress: ProgressSink,
  signal: AbortSignal,
  emulated: boolean,
  handshakeBytesCache: Map<string, ConnectionCost['handshakeBytes']>,
  /** What each timed call sends: the run's first unary scenario's request. */
  payload: CallPayload,
): Promise<Map<Protocol, ConnectionCost>> {
  const costs = new Map<Protocol, ConnectionCost>();
  const calls = emulated ? Math.min(options.connectionCalls, NETWORK_CONNECTION_CALLS) : options.connectionCalls;
  const stallS = options.stallTimeoutS;
  for (const setup of setups) {
    // Behind the bench's proxy: the pass is the direct path's (one per protocol, keyed by protocol).
    if (setup.replicas) continue;
    const empty = emptyConnectionCost(setup.target);
    costs.set(setup.protocol, empty);
    // Contenders (--contenders) have their own call shapes and conformance; the pass is the default pair's.
    // A run of stream scenarios only has no call for it to time.
    if (calls === 0 || signal.aborted || setup.contender) continue;
    const label = `connection cost ${setup.protocol}${empty.enabled ? ' (TLS)' : ''}`;
    progress.phase(`${label}: ${calls} new-connection vs ${calls} kept-alive calls`, CONNECTION_COST_PLANNED_S);
    // The bytes a new connection moves do not depend on the path: counted under the first condition only
    // (per protocol and TLS setting), as the wire pass's bytes per call are.
    const bytesKey = `${setup.protocol}${empty.enabled ? '/tls' : ''}`;
    const countedBytes = handshakeBytesCache.get(bytesKey);
    try {
      const cost = await measureConnectionCost(setup.target, payload, {
        calls,
        // A stopped server is noticed within the stall timeout here too.
        timeoutMs: stallS > 0 ? Math.min(options.timeoutMs, stallS * 1000) : options.timeoutMs,
        signal,
        countBytes: countedBytes === undefined,
        // Behind a link each warm-up call costs round trips; the JIT needs only a few.
        ...(emulated ? { warmupCalls: NETWORK_CONNECTION_WARMUP_CALLS } : {}),
      });
      if (countedBytes === undefined) handshakeBytesCache.set(bytesKey, cost.handshakeBytes);
      else cost.handshakeBytes = countedBytes;
      costs.set(setup.protocol, cost);
      const bytes = cost.handshakeBytes ? `, ${Math.round(cost.handshakeBytes.request)}/${Math.round(cost.handshakeBytes.response)} B up/down` : '';
      progress.log(
        `${label}${cost.version ? ` ${cost.version}` : ''}: new connection ${cost.newConnectionCallMs} ms/call, kept-alive ${cost.keptAliveCallMs} ms/call, ` +
          `set-up ${cost.handshakeMs} ms${bytes}`,
      );
    } catch (error) {
      if (!signal.aborted) progress.log(`${label}: not measured: ${(error as Error).message}`);
    } finally {
      progress.endPhase();
    }
  }
  return costs;
}

function emptyRecord(input: RunOneInput, connections: number): RunRecord {
  const { scenario, payload, setup } = input;
  const { method } = payload;
  return {
    scenario: scenario.key,
    protocol: setup.protocol,
    driver: input.transport === null ? setup.driver.name : streamEngine.name,
    ...(setup.contender ? { contender: setup.contender } : {}),
    operation: scenario.operation,
    method: { api: method.api, name: method.name, kind: method.kind, grpcPath: method.grpcPath, restVerb: method.rest.verb, restPathTemplate: method.rest.pathTemplate },
    ...(input.transport !== null
      ? { unit: 'message' as const, transport: input.transport, messagesPerStream: input.load ? null : (scenario.stream?.messagesPerStream ?? null) }
      : {}),
    place: setup.place ?? { tls: input.options.tls, proxy: null, replicas: null, balance: null },
    payloadValues: scenario.payloadValues,
    valueShape: scenario.valueShape,
    compression: scenario.compression,
    concurrency: scenario.concurrency,
    connections,
    rate: input.load ? input.load.rate : segmentRate(input.options.rate, input.options.segment),
    network: null,
    trial: input.trial,
    durationS: 0,
    status: 'completed',
    failure: null,
    requests: 0,
    errors: 0,
    statusCounts: {},
    rps: 0,
    latencyMs: null,
    wire: NULL_WIRE,
    // The body as sent: the gzip bytes in a compressed run.
    body: {
      requestBytes: payload.pool
        ? // A card's pool: the mean request of the requests sent round robin.
          round(payload.pool.reduce((sum, request) => sum + (setup.protocol === 'grpc' ? request.protobuf.length : request.json.length), 0) / payload.pool.length, 2)
        : (setup.target.protocol === 'rest' && setup.target.call ? restBodyOf(setup.target.call, payload) : wireBody(payload, input.transport === 'grpc' ? 'grpc' : setup.protocol)).length,
      responseBytes: 0,
    },
    server: { cpuMsPer1kCalls: null, peakRssMiB: null },
    client: { cpuPercent: 0, cpuUsPerCall: null, bound: false },
    latencyHistogram: null,
    window: null,
    host: os.hostname(),
    segment: input.options.segment,
  };
}

/** Waits for a --start-at instant, shown as a phase of the progress line. */
async function waitForSlot(input: RunOneInput, epochMs: number, what: string): Promise<void> {
  const waitS = (epochMs - Date.now()) / 1000;
  if (waitS <= 0) return;
  input.progress.phase(`${input.label} waiting ${waitS.toFixed(1)} s for its ${what} (--start-at)`, waitS);
  try {
    await sleepUntil(epochMs, input.signal);
  } finally {
    input.progress.endPhase();
  }
}

function withoutSavings(report: DriverWireReport): WireBytesPerCall {
  const { headerSpaceSavingsPercent: _savings, ...wire } = report;
  return wire;
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : String(reason ?? 'aborted');
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

/** Seconds one round of `concurrency` calls takes on the link: the RTT plus the requests serialized at the upload rate. */
function roundTripOfCallsS(condition: NetworkCondition, concurrency: number, requestBytes: number): number {
  const serializationS = condition.upMbit === null ? 0 : (concurrency * requestBytes * 8) / (condition.upMbit * 1e6);
  return condition.rttMs / 1000 + serializationS;
}
