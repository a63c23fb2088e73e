/**
 * The run plan: what a bench will run and how long it should take. The CLI
 * sizes the progress ETA with it and the runner labels and times its phases
 * with it, so both count the same runs and the same seconds.
 */
import { UsageError } from '../../shared/usage-error.ts';
import type { BenchOptions } from '../options/options.ts';
import type { NetworkCondition } from '../options/network.ts';
import { buildScenarios, transportsOf, type Scenario } from '../scenario/matrix.ts';
import type { Protocol, StreamTransport } from '../types.ts';
import { contenderProtocol } from '../host/contenders.ts';
import { getContender } from '../../servers/contenders/index.ts';
import { cardScenarios } from '../scenario/api-card.ts';
import { ApiCardError, loadApiCard, type ApiCard } from '../api/index.ts';
import { openLoopRefusal } from '../options/options.ts';
import { canRunOpenLoop, getDriver, openLoopDriverNames } from '../drivers/index.ts';
import { networkEmulationUnavailable } from '../network/link.ts';
import { BenchSetupError } from './errors.ts';
import { plannedSearchS } from './capacity.ts';

/** Rough seconds a wire-sampling pass takes (a fixed number of calls, not a duration). */
export const WIRE_PASS_PLANNED_S = 0.4;
/** Rough seconds of one protocol's connection-cost pass. */
export const CONNECTION_COST_PLANNED_S = 0.5;

export interface RunPlan {
  scenarios: Scenario[];
  /** Servers measured per scenario and trial: the protocols, or the contenders with --contenders. */
  serversPerScenario: number;
  /** Measured runs in all (scenarios x servers x trials). */
  runs: number;
  /** Seconds planned per run: warm-up and wire pass (once per protocol and scenario on the running servers, but counted each time: a ceiling) and the measured run. */
  perRunS: number;
  /** Seconds planned for the whole bench. */
  totalS: number;
  /** What a reader must know about the plan: an API card's calls left out, and why. */
  notes: string[];
}

/**
 * A pass: every scenario once (with its trials) under one network condition
 * (null: loopback) and TLS setting. Conditions in turn, cleartext before TLS
 * (--sweep network); one pass for a bench without --network.
 */
export interface PlannedPass {
  tls: boolean;
  condition: NetworkCondition | null;
}

/** One measured run of a pass: a scenario, a subject (and a stream scenario's transport), a trial. */
export interface PlannedRun<S> {
  /** The scenario's place in the bench's list (0-based), for labels. */
  scenarioIndex: number;
  scenario: Scenario;
  subject: S;
  /** A stream scenario's transport; null for unary calls. */
  transport: StreamTransport | null;
  trial: number;
}

export function passesOf(options: Pick<BenchOptions, 'tlsPasses' | 'network'>): PlannedPass[] {
  return options.tlsPasses.flatMap((tls) => options.network.map((condition) => ({ tls, condition })));
}

/**
 * The runs of one pass, in the order they run: scenario by scenario, each
 * scenario's trials in turn, and in each trial every subject (each server, and
 * for a stream scenario each transport it serves), the order reversed every
 * other trial so no subject always runs on a warmer machine.
 */
export function runsOf<S extends { protocol: Protocol }>(scenarios: readonly Scenario[], subjects: readonly S[], trials: number): PlannedRun<S>[] {
  const runs: PlannedRun<S>[] = [];
  for (const [scenarioIndex, scenario] of scenarios.entries()) {
    const pairs = subjects.flatMap((subject) => transportsOf(scenario, subject.protocol).map((transport) => ({ subject, transport })));
    for (let trial = 1; trial <= trials; trial++) {
      for (const pair of trial % 2 === 1 ? pairs : [...pairs].reverse()) runs.push({ scenarioIndex, scenario, ...pair, trial });
    }
  }
  return runs;
}

/** The subjects the options ask for: the contenders (--contenders), else one per protocol. */
function plannedSubjects(options: Pick<BenchOptions, 'contenders' | 'protocols'>): Array<{ protocol: Protocol }> {
  if (options.contenders !== null) return options.contenders.map((name) => ({ protocol: contenderProtocol(getContender(name)) }));
  return options.protocols.map((protocol) => ({ protocol }));
}

/** --api: the card, loaded and prepared once (every request encoded both ways); a bad card is a usage error, one line. */
export async function loadCard(options: Pick<BenchOptions, 'api'>): Promise<ApiCard | null> {
  if (options.api === null) return null;
  try {
    return await loadApiCard(options.api);
  } catch (error) {
    if (error instanceof ApiCardError) throw new UsageError(error.message);
    throw error;
  }
}

/** The scenarios of a bench: the card's calls with --api, else the calculator's matrix. */
export function planBench(options: BenchOptions, card: ApiCard | null = null): RunPlan {
  const fromCard = card ? cardScenarios(card, options) : null;
  const scenarios = fromCard ? fromCard.scenarios : buildScenarios(options);
  const serversPerScenario = options.contenders?.length ?? options.protocols.length;
  // --network: every scenario again under each condition (and --sweep network: in cleartext, then over TLS).
  const passes = passesOf(options).length;
  const runs = passes * runsOf(scenarios, plannedSubjects(options), options.trials).length;
  // --slo: a run is a whole capacity search (probe, steps, confirmation).
  const perRunS = (options.slo ? plannedSearchS(options) : options.warmupS + options.durationS) + (options.wireCalls > 0 ? WIRE_PASS_PLANNED_S : 0);
  const unary = scenarios.some((scenario) => scenario.stream === null);
  const connectionCostS = options.connectionCalls > 0 && options.contenders === null && unary ? options.protocols.length * CONNECTION_COST_PLANNED_S * passes : 0;
  return { scenarios, serversPerScenario, runs, perRunS, totalS: runs * perRunS + connectionCostS, notes: fromCard?.skipped ?? [] };
}

/**
 * What makes a plan unrunnable, as usage errors (exit 2) before any server
 * starts: a card with no call, an open loop (or --slo) the driver cannot run,
 * a request pool the driver cannot send, a generator or the network
 * emulation not available here. (--compression gzip with a driver that does
 * not send compressed payloads is a setup error, exit 1.)
 */
export function checkPlan(options: BenchOptions, scenarios: readonly Scenario[]): void {
  if (options.api !== null && scenarios.length === 0) throw new UsageError(`--api ${options.api}: no call to bench`);
  for (const protocol of options.protocols) {
    const driver = getDriver(options.drivers[protocol], protocol);
    if (options.compression.includes('gzip') && driver.compression !== true) {
      throw new BenchSetupError(`--compression gzip: driver ${driver.name} does not send compressed payloads; use --driver ${protocol === 'grpc' ? 'grpc-engine' : 'autocannon'}`);
    }
    if (options.rate != null && !canRunOpenLoop(driver)) throw new UsageError(openLoopRefusal(driver.name, openLoopDriverNames()));
    if (options.slo && !canRunOpenLoop(driver)) throw new UsageError(openLoopRefusal(driver.name, openLoopDriverNames(), '--slo'));
    if (driver.pools !== true && scenarios.some((s) => (s.payload?.pool?.length ?? 0) > 1)) {
      throw new UsageError(`--driver ${driver.name} sends one request per run; the card's requests go round robin: use ${protocol === 'grpc' ? 'grpc-engine' : 'http1-engine'}`);
    }
    const missing = driver.unavailable?.() ?? null;
    if (missing !== null) throw new UsageError(`--driver ${driver.name}: ${missing}`);
  }
  if (options.network.some((condition) => condition !== null)) {
    const unavailable = networkEmulationUnavailable();
    if (unavailable !== null) throw new UsageError(`--network: ${unavailable}`);
  }
}
