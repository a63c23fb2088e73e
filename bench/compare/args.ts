/** Command-line parsing shared by bench:compare and bench:ci: the threshold and metric flags. */
import { METRIC_KEYS, type MetricKey } from './compare.ts';
import { ResultsInputError } from '../results/read.ts';

/** "10%", "10" → 0.1; "2.5%" → 0.025. Percent in, fraction out. */
export function parseThreshold(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  const value = match ? Number(match[1]) / 100 : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value >= 10) {
    throw new ResultsInputError(`--threshold must be a percentage above 0, like 10%, got "${text}"`);
  }
  return value;
}

export function parseMetrics(text: string): MetricKey[] {
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!(METRIC_KEYS as readonly string[]).includes(item)) {
      throw new ResultsInputError(`--metrics takes a comma-separated list of ${METRIC_KEYS.join(', ')}, got "${item}"`);
    }
  }
  return items as MetricKey[];
}
