/**
 * Whether our gRPC engine keeps up with h2load, by the bar it is held to: at
 * least 0.95× h2load's calls/s and at most 2× its CPU time per call, both taken
 * as the median of per-round ratios (the ratios run.ts computes), in every gRPC
 * scenario (1 connection × 64 in flight, 4 × 256). Pure: figures in, verdicts out.
 */
import type { ScenarioResult } from './run.ts';

export const ENGINE_TARGET = {
  generator: 'grpc-engine',
  reference: 'h2load',
  minRpsRatio: 0.95,
  maxCpuPerCallRatio: 2,
} as const;

export interface TargetVerdict {
  scenario: string;
  /** true: both bounds hold; false: at least one does not; null: no verdict (see `reason`). */
  met: boolean | null;
  rpsRatio: number | null;
  cpuPerCallRatio: number | null;
  reason: string | null;
}

export interface TargetReport {
  generator: typeof ENGINE_TARGET.generator;
  reference: typeof ENGINE_TARGET.reference;
  minRpsRatio: number;
  maxCpuPerCallRatio: number;
  statistic: 'median of per-round ratios';
  verdicts: TargetVerdict[];
}

export function targetVerdict(scenario: ScenarioResult): TargetVerdict {
  const { generator, reference, minRpsRatio, maxCpuPerCallRatio } = ENGINE_TARGET;
  const noVerdict = (reason: string): TargetVerdict => ({ scenario: scenario.id, met: null, rpsRatio: null, cpuPerCallRatio: null, reason });
  const missing = (id: string): TargetVerdict | null => {
    if (scenario.generators.some((g) => g.generator === id)) return null;
    const skipped = scenario.skipped.find((s) => s.generator === id);
    return noVerdict(skipped ? skipped.reason : `${id} not run`);
  };
  const absent = missing(reference) ?? missing(generator);
  if (absent !== null) return absent;
  const engine = scenario.generators.find((g) => g.generator === generator)!;
  const { rpsRatio, cpuPerCallRatio } = engine;
  if (rpsRatio === null || cpuPerCallRatio === null) {
    return { ...noVerdict(`no round measured both calls/s and CPU per call of ${generator} and ${reference}`), rpsRatio, cpuPerCallRatio };
  }
  return {
    scenario: scenario.id,
    met: rpsRatio >= minRpsRatio && cpuPerCallRatio <= maxCpuPerCallRatio,
    rpsRatio,
    cpuPerCallRatio,
    reason: null,
  };
}

/** The verdict of every gRPC scenario. */
export function engineTarget(scenarios: readonly ScenarioResult[]): TargetReport {
  return {
    ...ENGINE_TARGET,
    statistic: 'median of per-round ratios',
    verdicts: scenarios.filter((s) => s.protocol === 'grpc').map(targetVerdict),
  };
}
