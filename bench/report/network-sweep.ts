/**
 * Where the answer flips (--network with two or more conditions, e.g. --sweep
 * network): per scenario, gRPC/REST calls/s under each condition with the
 * spread of the trials, and one generated sentence wherever the winner changes
 * from one condition to the next, resting on those measured ratios. Cleartext
 * and TLS runs (--sweep network) are separate series: a change is only ever
 * told between two conditions with the same TLS setting.
 */
import { DEFAULT_THRESHOLD } from '../compare/compare.ts';
import { scenarioLabel } from '../compare/labels.ts';
import { max, median, min } from '../compare/stats.ts';
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { splitByNetwork } from './network.ts';
import { htmlList, htmlPre } from './html-parts.ts';
import { section } from './section.ts';

export interface NetworkRatio {
  /** The condition's group name ("cross-region", "cross-region TLS"). */
  network: string;
  tls: boolean;
  /** Measured RTT of the link (its probe), the asked one when not measured; 0 on loopback. */
  rttMs: number;
  lossPercent: number;
  scenario: string;
  label: string;
  /** gRPC calls/s median / REST calls/s median. */
  grpcOverRest: number;
  /** Min and max of the per-trial g/r (trial n of gRPC against trial n of REST). */
  low: number;
  high: number;
  trials: number;
  winner: 'grpc' | 'rest' | 'tie';
}

const ok = (runs: RunRecord[], protocol: string): RunRecord[] => runs.filter((r) => r.protocol === protocol && r.status === 'completed' && r.rps > 0);

/** One ratio per condition and scenario where both protocols completed. */
export function networkRatios(results: ResultsFile, threshold = DEFAULT_THRESHOLD): NetworkRatio[] {
  const out: NetworkRatio[] = [];
  for (const group of splitByNetwork(results)) {
    const scenarios = [...new Set(group.results.runs.map((r) => r.scenario))];
    for (const scenario of scenarios) {
      const runs = group.results.runs.filter((r) => r.scenario === scenario);
      const grpc = ok(runs, 'grpc');
      const rest = ok(runs, 'rest');
      if (grpc.length === 0 || rest.length === 0) continue;
      const perTrial = grpc.flatMap((g) => rest.filter((r) => r.trial === g.trial).map((r) => g.rps / r.rps));
      const ratio = median(grpc.map((r) => r.rps)) / median(rest.map((r) => r.rps));
      const trials = Math.min(grpc.length, rest.length);
      const spread = perTrial.length > 0 ? perTrial : [ratio];
      const n = group.network;
      out.push({
        network: group.name,
        tls: group.tls,
        rttMs: n === null ? 0 : (n.measured.rttMs ?? n.rttMs),
        lossPercent: n?.lossPercent ?? 0,
        scenario,
        label: scenarioLabel(grpc[0]!),
        grpcOverRest: ratio,
        low: min(spread),
        high: max(spread),
        trials,
        winner: Math.abs(ratio - 1) < threshold ? 'tie' : ratio > 1 ? 'grpc' : 'rest',
      });
    }
  }
  return out;
}

/** Two or more conditions ran: there is something to compare across. */
export function hasNetworkSweep(results: ResultsFile): boolean {
  return splitByNetwork(results).length >= 2 && networkRatios(results).length > 0;
}

const x = (value: number): string => `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}x`;
/** "gRPC 1.31x REST (trials 1.25-1.40)" from the winner's side. */
function claim(r: NetworkRatio): string {
  const spread = r.trials > 1 ? ` (${r.trials} trials, ${r.winner === 'rest' ? `${x(1 / r.high)}-${x(1 / r.low)}` : `${x(r.low)}-${x(r.high)}`})` : ' (1 trial)';
  if (r.winner === 'tie') return `a tie, g/r ${r.grpcOverRest.toFixed(2)}${r.trials > 1 ? ` (${r.trials} trials, ${r.low.toFixed(2)}-${r.high.toFixed(2)})` : ' (1 trial)'}`;
  return r.winner === 'grpc' ? `gRPC ${x(r.grpcOverRest)} REST${spread}` : `REST ${x(1 / r.grpcOverRest)} gRPC${spread}`;
}

/** The ratios per scenario and TLS setting, each series in the order its conditions ran. */
function series(ratios: NetworkRatio[]): NetworkRatio[][] {
  const bySeries = new Map<string, NetworkRatio[]>();
  for (const r of ratios) {
    const key = `${r.scenario}${r.tls ? ' TLS' : ''}`;
    bySeries.set(key, [...(bySeries.get(key) ?? []), r]);
  }
  return [...bySeries.values()];
}

const seriesLabel = (rows: NetworkRatio[]): string => `${rows[0]!.label}${rows[0]!.tls ? ' over TLS' : ''}`;

/** Per scenario (and TLS setting), one line per condition: the winner and its ratio with the trials' spread. */
export function renderNetworkSweep(results: ResultsFile): string {
  return networkSweepText(networkRatios(results));
}

function networkSweepText(ratios: NetworkRatio[]): string {
  const width = Math.max(...ratios.map((r) => r.network.length));
  const lines: string[] = [];
  for (const rows of series(ratios)) {
    lines.push(`${rows[0]!.scenario} (${seriesLabel(rows)}): calls/s`);
    for (const r of rows) lines.push(`  ${r.network.padEnd(width)}  RTT ${r.rttMs.toFixed(1).padStart(5)} ms  loss ${`${r.lossPercent}%`.padEnd(4)}  ${claim(r)}`);
  }
  return `${lines.join('\n')}\n`;
}

const PROTOCOL = { grpc: 'gRPC', rest: 'REST', tie: 'neither' } as const;

/**
 * One sentence per scenario (and TLS setting): where the winner changes from
 * one condition to the next (in the order they ran), or that it holds
 * everywhere; a tie counts as a change only when the trials' spreads do not overlap.
 */
export function networkSweepSentences(results: ResultsFile): string[] {
  return sentencesOf(networkRatios(results));
}

function sentencesOf(ratios: NetworkRatio[]): string[] {
  const sentences: string[] = [];
  for (const rows of series(ratios)) {
    const changes: string[] = [];
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1]!, rows[i]!];
      if (a.winner === b.winner) continue;
      const separated = a.high < b.low || b.high < a.low;
      const verb =
        b.winner === 'tie'
          ? `${PROTOCOL[a.winner]}'s lead is gone`
          : a.winner === 'tie'
            ? `${PROTOCOL[b.winner]} takes the lead`
            : `${PROTOCOL[b.winner]} overtakes ${PROTOCOL[a.winner]}`;
      changes.push(`${verb} from ${a.network} to ${b.network}: ${claim(a)} on ${a.network}, ${claim(b)} on ${b.network}${separated ? '' : ' (the trial spreads overlap: not a clear change)'}`);
    }
    const label = seriesLabel(rows);
    if (changes.length === 0) {
      const winner = rows[0]!.winner;
      const range = `g/r ${Math.min(...rows.map((r) => r.grpcOverRest)).toFixed(2)} to ${Math.max(...rows.map((r) => r.grpcOverRest)).toFixed(2)}`;
      sentences.push(`${label}: ${winner === 'tie' ? 'gRPC and REST stay within 10% of each other' : `${PROTOCOL[winner]} wins`} under every condition (${range} over ${rows.map((r) => r.network).join(', ')}).`);
    } else {
      sentences.push(`${label}: ${changes.join('; ')}.`);
    }
  }
  return sentences;
}

interface NetworkSweepModel {
  /** Per scenario, one line per condition (kept as text in every output). */
  table: string;
  sentences: string[];
}

/** Two or more network conditions: gRPC / REST under each, and where the winner changes. */
export const networkSweepSection = section<NetworkSweepModel>({
  id: 'network-sweep',
  title: 'Across network conditions',
  applies: ({ calls }) => hasNetworkSweep(calls),
  model: ({ calls }) => {
    const ratios = networkRatios(calls);
    return { table: networkSweepText(ratios), sentences: sentencesOf(ratios) };
  },
  terminal: (m) =>
    `across network conditions (gRPC / REST calls/s, median of the trials, min-max of the per-trial ratios):\n${m.table.trimEnd()}` +
    `\nwhere the winner changes:\n${m.sentences.map((line) => `  ${line}`).join('\n')}`,
  markdown: (m) =>
    ['## Across network conditions', '', '```', m.table.trimEnd(), '```', '', 'Generated from the measured numbers above:', '', ...m.sentences.map((line) => `- ${line}`)].join('\n'),
  html: (m) => `<h2>Across network conditions</h2>\n${htmlPre(m.table, 'network-sweep')}\n<p>Where the winner changes:</p>\n${htmlList(m.sentences)}`,
});
