/**
 * The latency histogram every driver fills: integer microseconds, 3 significant
 * digits, 32-bit counts, resized as needed. One factory so that histograms of
 * different drivers, trials and segments have the same layout and add exactly.
 *
 * In results.json a run's histogram travels in HDR's compressed base64 form
 * (the V2 encoding every HdrHistogram port reads), so runs from several
 * generators (segments) or trials can be added bucket by bucket and the merged
 * tail read from the sum, never from averaged percentiles.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

export function createLatencyHistogram(): Histogram {
  return build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
}

/** The compressed base64 string of a histogram (µs values); null when it holds no value. */
export function encodeLatencyHistogram(histogram: Histogram): string | null {
  return histogram.totalCount === 0 ? null : encodeIntoCompressedBase64(histogram);
}

export class HistogramDecodeError extends Error {}

export function decodeLatencyHistogram(encoded: string): Histogram {
  try {
    return decodeFromCompressedBase64(encoded);
  } catch (error) {
    throw new HistogramDecodeError(`latency histogram does not decode: ${(error as Error).message}`);
  }
}

/** One histogram holding every value of the encoded ones (each decoded, then added). */
export function mergeLatencyHistograms(encoded: readonly string[]): Histogram {
  const merged = createLatencyHistogram();
  for (const text of encoded) {
    const part = decodeLatencyHistogram(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}
