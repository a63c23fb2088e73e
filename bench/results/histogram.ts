/**
 * The latency histogram every driver fills: integer microseconds, 3 significant
 * digits, 32-bit counts, resized as needed. One factory so that histograms of
 * different drivers, trials and segments have the same layout and add exactly.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export function createLatencyHistogram(): Histogram {
  return build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
}
