/**
 * gRPC vs REST inside one run, per scenario: which protocol moved more calls/s,
 * by what ratio (of the trial medians), how the ratio varied across trials
 * (trial i of gRPC against trial i of REST, which ran interleaved), and how
 * sure that is. This is the project's headline, so the sentences are
 * generated from the record, never written by hand.
 */
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { DEFAULT_THRESHOLD, groupRuns, METRICS } from './compare.ts';
import { hasNetworks, splitByNetwork } from '../results/network-groups.ts';
import { proxyLabel } from '../results/place-suffix.ts';
import { machineLabel, PROTOCOL_LABEL, ratio, scenarioLabel } from './labels.ts';
import { mannWhitneyFloor, mannWhitneyP, max, median, min } from './stats.ts';

export type Confidence = 'high' | 'medium' | 'low' | '1 trial, no spread';

export interface ProtocolComparison {
  scenario: string;
  label: string;
  grpcDriver: string;
  restDriver: string;
  trials: number;
  /** 'tie' when the medians are within the threshold of each other. */
  winner: 'grpc' | 'rest' | 'tie';
  /** gRPC calls/s median / REST calls/s median. */
  grpcOverRest: number;
  /** Winner over loser (≥ 1), the figure people quote. */
  ratio: number;
  /** Min and max of the per-trial winner/loser ratios (equal to `ratio` with one trial). */
  ratioMin: number;
  ratioMax: number;
  /** Exact Mann–Whitney p of gRPC vs REST calls/s trial values; null with one trial. */
  p: number | null;
  confidence: Confidence;
  medians: {
    grpc: { rps: number; p99: number | null; bytes: number | null };
    rest: { rps: number; p99: number | null; bytes: number | null };
  };
  notes: string[];
}

export function compareProtocols(results: ResultsFile, threshold = DEFAULT_THRESHOLD): ProtocolComparison[] {
  const groups = [...groupRuns(results.runs).values()];
  const out: ProtocolComparison[] = [];
  const scenarios = [...new Set(groups.map((g) => g.scenario))];
  for (const scenario of scenarios) {
    const grpcGroups = groups.filter((g) => g.scenario === scenario && g.protocol === 'grpc' && g.completed.length > 0);
    const restGroups = groups.filter((g) => g.scenario === scenario && g.protocol === 'rest' && g.completed.length > 0);
    // gRPC against REST in the same place only (network, TLS, proxy): a TLS row against a cleartext one, or a row
    // through nginx against a direct one, compares places, not protocols.
    const places = new Set([...grpcGroups, ...restGroups].map((group) => placeKey(group.completed[0]!)));
    const proxied = [...grpcGroups, ...restGroups].some((group) => group.completed[0]!.place?.proxy);
    for (const g of grpcGroups) {
      for (const r of restGroups) {
        if (placeKey(g.completed[0]!) !== placeKey(r.completed[0]!)) continue;
        const comparison = compareProtocolGroups(scenario, g.completed, r.completed, threshold);
        if (places.size > 1) comparison.label += placeSuffix(g.completed[0]!, proxied);
        out.push(comparison);
      }
    }
  }
  return out;
}

/** Where a row ran: its network condition, TLS and what stood between generator and servers. */
function placeKey(run: RunRecord): string {
  const tls = run.place?.tls ?? run.tls?.enabled ?? false;
  return JSON.stringify([run.network?.name ?? null, tls, run.place?.proxy ?? null, run.place?.replicas ?? null, run.place?.balance ?? null]);
}

/** ", TLS", " via nginx l7 x2", ", direct" (when others went through a proxy): told only when a scenario ran in more than one place. */
function placeSuffix(run: RunRecord, proxied: boolean): string {
  const tls = (run.place?.tls ?? run.tls?.enabled ?? false) ? ', TLS' : '';
  const proxy = proxyLabel(run);
  if (proxy === null) return proxied ? `${tls}, direct` : tls;
  return `${tls} via ${proxy}`;
}

function compareProtocolGroups(scenario: string, grpc: RunRecord[], rest: RunRecord[], threshold: number): ProtocolComparison {
  const grpcRps = grpc.map((r) => r.rps);
  const restRps = rest.map((r) => r.rps);
  const grpcOverRest = median(grpcRps) / median(restRps);
  const winner = Math.abs(grpcOverRest - 1) < threshold ? 'tie' : grpcOverRest > 1 ? 'grpc' : 'rest';
  const orient = (x: number) => (winner === 'rest' ? 1 / x : x);

  // Pair trial i with trial i (interleaved runs share the machine's state); fall back to all pairs.
  const restByTrial = new Map(rest.map((r) => [r.trial, r]));
  let paired = grpc.filter((g) => restByTrial.has(g.trial)).map((g) => g.rps / restByTrial.get(g.trial)!.rps);
  if (paired.length === 0) paired = grpc.flatMap((g) => rest.map((r) => g.rps / r.rps));
  const trialRatios = paired.map(orient);
  const trials = Math.min(grpc.length, rest.length);

  let confidence: Confidence;
  let p: number | null = null;
  if (trials < 2) {
    confidence = '1 trial, no spread';
  } else {
    p = mannWhitneyP(grpcRps, restRps);
    const allAgree = winner !== 'tie' && trialRatios.every((x) => x > 1);
    // High: every paired trial agrees by a margin AND the two sets of trials do not overlap at all
    // (Mann–Whitney at its floor for these sizes, 0.1 for 3 vs 3).
    const separated = p <= Math.max(0.1, mannWhitneyFloor(grpcRps.length, restRps.length)) + 1e-9;
    if (allAgree && trials >= 3 && separated && min(trialRatios) >= 1 + threshold / 2) confidence = 'high';
    else if (allAgree) confidence = 'medium';
    else confidence = winner === 'tie' && trialRatios.every((x) => Math.abs(x - 1) < threshold) ? 'high' : 'low';
  }

  const med = (runs: RunRecord[], key: 'p99' | 'bytes') => {
    const values = runs.map((r) => METRICS[key].value(r)).filter((v): v is number => v !== null);
    return values.length ? median(values) : null;
  };
  const notes: string[] = [];
  if ([...grpc, ...rest].some((r) => r.client.bound)) notes.push('load generator CPU-bound: measures the client, not the protocol');
  const failed = [...grpc, ...rest].filter((r) => r.errors > 0).length;
  if (failed > 0) notes.push(`${failed} trial(s) with call errors`);

  return {
    scenario,
    label: scenarioLabel(grpc[0]!),
    grpcDriver: grpc[0]!.driver,
    restDriver: rest[0]!.driver,
    trials,
    winner,
    grpcOverRest,
    ratio: orient(grpcOverRest),
    ratioMin: min(trialRatios),
    ratioMax: max(trialRatios),
    p,
    confidence,
    medians: {
      grpc: { rps: median(grpcRps), p99: med(grpc, 'p99'), bytes: med(grpc, 'bytes') },
      rest: { rps: median(restRps), p99: med(rest, 'p99'), bytes: med(rest, 'bytes') },
    },
    notes,
  };
}

/** One sentence per scenario and driver pair, e.g.
 * "add, 64 in flight: gRPC 2.1× REST calls/s (trials 3, min–max ratio 1.9–2.3, confidence high) on <cpu> ×8, Node v20.19.0". */
export function headline(results: ResultsFile, threshold = DEFAULT_THRESHOLD): string[] {
  // With --network, the sentences of each condition, prefixed with its name.
  if (hasNetworks(results)) {
    return splitByNetwork(results).flatMap((group) => conditionHeadline(group.results, threshold).map((line) => `${group.name}: ${line}`));
  }
  return conditionHeadline(results, threshold);
}

function conditionHeadline(results: ResultsFile, threshold: number): string[] {
  const machine = machineLabel(results.environment);
  const comparisons = compareProtocols(results, threshold);
  const multipleDrivers = new Set(comparisons.map((c) => `${c.grpcDriver}/${c.restDriver}`)).size > 1;
  return comparisons.map((c) => {
    const drivers = multipleDrivers ? ` [${c.grpcDriver} vs ${c.restDriver}]` : '';
    const spread = c.trials < 2 ? `trials 1, no spread` : `trials ${c.trials}, min–max ratio ${ratioRange(c)}, confidence ${c.confidence}`;
    let claim: string;
    if (c.winner === 'tie') {
      claim = `gRPC and REST within ${Math.round(threshold * 100)}% calls/s (gRPC ${ratio(c.grpcOverRest)} REST)`;
    } else {
      const [w, l] = c.winner === 'grpc' ? ['grpc', 'rest'] as const : ['rest', 'grpc'] as const;
      claim = `${PROTOCOL_LABEL[w]} ${ratio(c.ratio)} ${PROTOCOL_LABEL[l]} calls/s`;
    }
    const caveat = c.notes.length ? `; ${c.notes.join('; ')}` : '';
    return `${c.label}${drivers}: ${claim} (${spread}) on ${machine}${caveat}`;
  });
}

/** "1.9–2.3", same decimals on both ends (two below 2×, where a tenth is a lot). */
export function ratioRange(c: Pick<ProtocolComparison, 'ratioMin' | 'ratioMax'>): string {
  const digits = c.ratioMin < 1.995 ? 2 : 1;
  return `${c.ratioMin.toFixed(digits)}–${c.ratioMax.toFixed(digits)}`;
}
