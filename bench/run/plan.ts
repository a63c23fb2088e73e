/**
 * The run plan: what a bench will run and how long it should take. The CLI
 * sizes the progress ETA with it and the runner labels and times its phases
 * with it, so both count the same runs and the same seconds.
 */
import type { BenchOptions } from '../options/options.ts';
import { buildScenarios, transportsOf, type Scenario } from '../scenario/matrix.ts';
import { cardScenarios } from '../scenario/api-card.ts';
import { ApiCardError, loadApiCard, type ApiCard } from '../api/index.ts';
import { BenchUsageError } from '../options/options.ts';
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

/** --api: the card, loaded and prepared once (every request encoded both ways); a bad card is a usage error, one line. */
export async function loadCard(options: Pick<BenchOptions, 'api'>): Promise<ApiCard | null> {
  if (options.api === null) return null;
  try {
    return await loadApiCard(options.api);
  } catch (error) {
    if (error instanceof ApiCardError) throw new BenchUsageError(error.message);
    throw error;
  }
}

/** The scenarios of a bench: the card's calls with --api, else the calculator's matrix. */
export function planBench(options: BenchOptions, card: ApiCard | null = null): RunPlan {
  const fromCard = card ? cardScenarios(card, options) : null;
  const scenarios = fromCard ? fromCard.scenarios : buildScenarios(options);
  const serversPerScenario = options.contenders?.length ?? options.protocols.length;
  // --network: every scenario again under each condition (and --sweep network: in cleartext, then over TLS).
  const passes = options.network.length * options.tlsPasses.length;
  // A stream scenario runs once per transport each protocol serves it over; a unary one once per server.
  const subjects =
    options.contenders !== null
      ? scenarios.length * serversPerScenario
      : scenarios.reduce((sum, scenario) => sum + options.protocols.reduce((n, protocol) => n + transportsOf(scenario, protocol).length, 0), 0);
  const runs = subjects * options.trials * passes;
  // --slo: a run is a whole capacity search (probe, steps, confirmation).
  const perRunS = (options.slo ? plannedSearchS(options) : options.warmupS + options.durationS) + (options.wireCalls > 0 ? WIRE_PASS_PLANNED_S : 0);
  const unary = scenarios.some((scenario) => scenario.stream === null);
  const connectionCostS = options.connectionCalls > 0 && options.contenders === null && unary ? options.protocols.length * CONNECTION_COST_PLANNED_S * passes : 0;
  return { scenarios, serversPerScenario, runs, perRunS, totalS: runs * perRunS + connectionCostS, notes: fromCard?.skipped ?? [] };
}
