/**
 * `--segment K/N`: the K-th of N shares of every scenario's load, so N
 * generators (machines, pods) together put one scenario's load on one server.
 * Calls in flight and connections are split as whole numbers, the remainder
 * going to the first segments (10 over 3: 4, 3, 3); the open-loop rate is
 * split exactly (900/s over 3: 300/s each). A scenario's key stays the whole
 * load's ("add/c16"), so bench:merge puts the shares back together.
 */
import { UsageError } from '../../shared/usage-error.ts';
import type { SegmentInfo } from '../results/record.ts';
import type { Scenario } from './matrix.ts';

/** Segment `index` (1-based) of `count`'s part of `total`: floor(total / count), plus one for the first (total mod count) segments. */
export function shareOf(total: number, segment: SegmentInfo): number {
  const base = Math.floor(total / segment.count);
  return base + (segment.index <= total % segment.count ? 1 : 0);
}

/**
 * The scenarios with this segment's calls in flight and connections (at
 * least one connection: every generator needs its own). A scenario with fewer
 * calls in flight than segments would leave a segment idle: a usage error.
 */
export function segmentScenarios(scenarios: readonly Scenario[], segment: SegmentInfo): Scenario[] {
  const tooSmall = scenarios.filter((s) => s.concurrency < segment.count);
  if (tooSmall.length > 0) {
    const names = tooSmall.map((s) => `${s.key} (${s.concurrency} in flight)`).join(', ');
    throw new UsageError(
      `--segment ${segment.index}/${segment.count}: ${names} cannot be split into ${segment.count} shares of at least 1 call in flight; ` +
        `raise --concurrency or use fewer segments`,
    );
  }
  return scenarios.map((scenario) => {
    const concurrency = shareOf(scenario.concurrency, segment);
    const grpc = Math.min(concurrency, Math.max(1, shareOf(scenario.connections.grpc, segment)));
    const rest = Math.min(concurrency, Math.max(1, shareOf(scenario.connections.rest, segment)));
    return { ...scenario, concurrency, connections: { grpc, rest }, restPipelining: Math.ceil(concurrency / rest) };
  });
}

/** This segment's calls/s of an open loop (null: closed loop). */
export function segmentRate(rate: number | null, segment: SegmentInfo | null): number | null {
  return rate === null || segment === null ? rate : rate / segment.count;
}
