/**
 * A run's latency histogram as it travels in results.json: HDR's compressed
 * base64 form (the V2 encoding every HdrHistogram port reads), so runs from
 * several generators (segments) or trials can be added bucket by bucket and
 * the merged tail read from the sum, never from averaged percentiles.
 */
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { newLatencyHistogram } from './latency.ts';

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
  const merged = newLatencyHistogram();
  for (const text of encoded) {
    const part = decodeLatencyHistogram(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}
