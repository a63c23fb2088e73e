/**
 * Small, deterministic statistics over trial values (a handful of numbers per
 * scenario): medians, spreads and an exact Mann–Whitney test. No sampling, so
 * the same inputs always give the same verdict.
 */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** Whether a trial of one side lies inside (or on) the min–max range of the other. */
export function rangesOverlap(a: readonly number[], b: readonly number[]): boolean {
  return min(a) <= max(b) && min(b) <= max(a);
}

/** Half of the min–max range: how far trials stray from their middle. */
export function halfRange(values: readonly number[]): number {
  return values.length < 2 ? 0 : (max(values) - min(values)) / 2;
}

/**
 * Two-sided Mann–Whitney U test of "a and b come from the same distribution",
 * exact: every way of splitting the pooled values into groups of |a| and |b|
 * is enumerated (up to `exactLimit` splits), ties get mid-ranks. Larger
 * samples use the normal approximation. Returns the p-value (1 when either
 * side is empty).
 *
 * Note the floor with few trials: 3 vs 3 can never go below p = 0.1 (2/20),
 * 2 vs 2 not below 0.33. That floor is reported, not hidden.
 */
export function mannWhitneyP(a: readonly number[], b: readonly number[], exactLimit = 200_000): number {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return 1;
  const pooled = [...a, ...b];
  const ranks = midRanks(pooled);
  const rankSumA = ranks.slice(0, m).reduce((s, r) => s + r, 0);
  const meanRankSum = (m * (m + n + 1)) / 2;
  const observed = Math.abs(rankSumA - meanRankSum);

  if (binomial(m + n, m) <= exactLimit) {
    let extreme = 0;
    let total = 0;
    const eps = 1e-9;
    forEachCombination(m + n, m, (indices) => {
      let sum = 0;
      for (const i of indices) sum += ranks[i]!;
      total++;
      if (Math.abs(sum - meanRankSum) >= observed - eps) extreme++;
    });
    return extreme / total;
  }

  // Normal approximation with tie correction and continuity correction.
  const N = m + n;
  const tieTerm = tieCorrection(pooled);
  const variance = ((m * n) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return 1;
  const z = Math.max(0, observed - 0.5) / Math.sqrt(variance);
  return Math.min(1, 2 * (1 - normalCdf(z)));
}

/** The smallest p-value an exact two-sided Mann–Whitney test can give for these sample sizes. */
export function mannWhitneyFloor(m: number, n: number): number {
  if (m === 0 || n === 0) return 1;
  return Math.min(1, 2 / binomial(m + n, m));
}

function midRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((x, y) => x.value - y.value);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]!.value === order[i]!.value) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!.index] = rank;
    i = j + 1;
  }
  return ranks;
}

function tieCorrection(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let term = 0;
  for (const t of counts.values()) term += t * t * t - t;
  return term;
}

function binomial(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return Math.round(result);
}

function forEachCombination(n: number, k: number, visit: (indices: readonly number[]) => void): void {
  const indices = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    visit(indices);
    let i = k - 1;
    while (i >= 0 && indices[i] === n - k + i) i--;
    if (i < 0) return;
    indices[i]!++;
    for (let j = i + 1; j < k; j++) indices[j] = indices[j - 1]! + 1;
  }
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 via erf), plenty for a p-value shown to two digits. */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
