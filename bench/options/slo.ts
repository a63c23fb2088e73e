/**
 * `--slo EXPR`: the latency objective a capacity search (bench/run/capacity.ts)
 * holds every step to, e.g. `p99<10ms` or `p99.9<50ms,errors<0.1%`. Parsed
 * once here; the search only compares numbers.
 */

import { UsageError } from '../../shared/usage-error.ts';

/** Percentiles an objective may name: the report's ladder (bench/results/latency.ts) up to p99.9. */
export const SLO_PERCENTILES = [50, 75, 90, 95, 99, 99.5, 99.9] as const;
/** Errors allowed when the expression says nothing about them: 0.1% of calls. */
export const DEFAULT_SLO_ERRORS_PERCENT = 0.1;

export interface LatencyBound {
  percentile: number;
  /** The percentile must be at most this many ms. */
  maxMs: number;
}

export interface Slo {
  /** Canonical form, e.g. "p99<10ms,errors<0.1%" (every bound, the default errors one included). */
  text: string;
  latency: LatencyBound[];
  maxErrorsPercent: number;
}

export const SLO_FORMS =
  `accepted: pN<Tms or pN<Ts with N one of ${SLO_PERCENTILES.join(', ')}, and errors<E% (default errors<${DEFAULT_SLO_ERRORS_PERCENT}%), ` +
  `comma-separated, e.g. 'p99<10ms' or 'p99.9<50ms,errors<0.1%'`;

const LATENCY_TERM = /^p(\d+(?:\.\d+)?)\s*(?:<=?|≤)\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)$/i;
const ERRORS_TERM = /^errors\s*(?:<=?|≤)\s*(\d+(?:\.\d+)?|\.\d+)\s*%$/i;

/** A bad --slo expression: a usage error. */
export class SloSyntaxError extends UsageError {}

/** "p99" for 99, "p99.9" for 99.9: the key a percentile has in results.json. */
export function percentileKey(percentile: number): string {
  return `p${percentile}`;
}

/** Parses an --slo expression; a SloSyntaxError's message is one line naming the accepted forms. */
export function parseSlo(expression: string): Slo {
  const terms = expression.split(',').map((term) => term.trim());
  const latency = new Map<number, number>();
  let maxErrorsPercent: number | null = null;
  for (const term of terms) {
    const fail = (why: string): never => {
      throw new SloSyntaxError(`--slo: ${why} in "${expression}"; ${SLO_FORMS}`);
    };
    if (term === '') fail('an empty term');
    const latencyMatch = LATENCY_TERM.exec(term);
    if (latencyMatch) {
      const percentile = Number(latencyMatch[1]);
      if (!(SLO_PERCENTILES as readonly number[]).includes(percentile)) fail(`percentile p${latencyMatch[1]} is not one of the accepted ones`);
      const maxMs = Number(latencyMatch[2]) * (latencyMatch[3]!.toLowerCase() === 's' ? 1000 : 1);
      if (!(maxMs > 0) || maxMs > 600_000) fail(`bound "${term}" must be above 0 and at most 600 s`);
      if (latency.has(percentile)) fail(`p${percentile} is bounded twice`);
      latency.set(percentile, maxMs);
      continue;
    }
    const errorsMatch = ERRORS_TERM.exec(term);
    if (errorsMatch) {
      const percent = Number(errorsMatch[1]);
      if (percent > 100) fail(`errors bound "${term}" is above 100%`);
      if (maxErrorsPercent !== null) fail('errors are bounded twice');
      maxErrorsPercent = percent;
      continue;
    }
    fail(`cannot read "${term}"`);
  }
  if (latency.size === 0) {
    throw new SloSyntaxError(`--slo: "${expression}" bounds no latency percentile; ${SLO_FORMS}`);
  }
  const bounds = [...latency.entries()].sort((a, b) => a[0] - b[0]).map(([percentile, maxMs]) => ({ percentile, maxMs }));
  const errors = maxErrorsPercent ?? DEFAULT_SLO_ERRORS_PERCENT;
  const text = [...bounds.map((b) => `${percentileKey(b.percentile)}<${formatBoundMs(b.maxMs)}`), `errors<${errors}%`].join(',');
  return { text, latency: bounds, maxErrorsPercent: errors };
}

/** "10ms", "1.5s": a bound as a person writes it. */
function formatBoundMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** "p99 ≤ 10 ms": the objective's latency bounds in prose, for tables and sentences. */
export function describeSlo(slo: Slo): string {
  const latency = slo.latency.map((b) => `${percentileKey(b.percentile)} ≤ ${b.maxMs} ms`).join(', ');
  return `${latency}${slo.maxErrorsPercent === DEFAULT_SLO_ERRORS_PERCENT ? '' : `, errors ≤ ${slo.maxErrorsPercent}%`}`;
}

/** --slo-repeats: independent searches per scenario and protocol (their median is the answer); 1 by default. */
export const DEFAULT_SLO_REPEATS = 1;
export const MAX_SLO_REPEATS = 20;
/** --slo-step bounds, seconds: a step shorter than this sees too few calls for a tail percentile. */
export const MIN_SLO_STEP_S = 0.25;

/** A capacity step's measured seconds when --slo-step is not given: half a measured run of the profile. */
export function defaultSloStepS(durationS: number): number {
  return durationS / 2;
}
