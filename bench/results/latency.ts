/** Latency histograms (µs, HDR) and their summary in ms, the same for every driver. */
import * as hdr from 'hdr-histogram-js';
import type { LatencyPercentileMs, LatencySummaryMs } from './record.ts';

const round3 = (value: number): number => Math.round(value * 1000) / 1000;

/** p50/p90/p99/p99.9/max/mean/stdev in ms, or null for an empty histogram. */
export function summarizeLatency(histogram: hdr.Histogram): LatencySummaryMs | null {
  if (histogram.totalCount === 0) return null;
  const ms = (us: number): number => round3(us / 1000);
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
    stdev: ms(histogram.stdDeviation),
  };
}

/** Percentiles on a "nines" ladder, for HDR-style latency curves in the reports. */
export const PERCENTILE_LADDER = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999] as const;

export function latencyPercentiles(histogram: hdr.Histogram): LatencyPercentileMs[] | null {
  if (histogram.totalCount === 0) return null;
  return PERCENTILE_LADDER.map((percentile) => ({
    percentile,
    ms: round3(histogram.getValueAtPercentile(percentile) / 1000),
  }));
}
