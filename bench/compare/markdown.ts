/** Markdown for the comparisons: GitHub-flavoured tables that also read fine in a terminal. */
import type { Environment, ResultsFile } from '../results/record.ts';
import { METRICS, type Comparison, type MetricComparison, type RowComparison } from './compare.ts';
import { compact, machineLabel, ms, percent, PROTOCOL_LABEL, ratio } from './labels.ts';
import { compareProtocols, headline, ratioRange, type ProtocolComparison } from './protocols.ts';

const VERDICT_MARK: Record<RowComparison['verdict'], string> = {
  improvement: '🟢 improvement',
  regression: '🔴 regression',
  'within noise': '⚪ within noise',
  'no data': '– no data',
  failed: '🔴 failed',
  'missing in head': '⚠ missing in head',
  'new in head': '🆕 new in head',
};

export interface Side {
  label: string;
  environment: Environment;
}

export function describeSide(side: Side, results: ResultsFile): string {
  const trials = Math.max(0, ...results.runs.map((r) => r.trial));
  const env = side.environment;
  const commit = env.gitCommit ? `, commit ${env.gitCommit.slice(0, 10)}` : '';
  return `\`${side.label}\`: ${env.date}${commit}, ${trials} trial(s), ${machineLabel(env)}`;
}

export function comparisonMarkdown(comparison: Comparison, base: Side & { results: ResultsFile }, head: Side & { results: ResultsFile }): string {
  const lines: string[] = [];
  lines.push(`## Comparison: base → head`, '');
  lines.push(`- base ${describeSide(base, base.results)}`);
  lines.push(`- head ${describeSide(head, head.results)}`, '');
  const env = comparison.environment;
  if (!env.sameMachine) {
    lines.push(
      `> ⚠ **Different machines** (${env.differences.join('; ')}). Figures from different machines differ for reasons that are not the code: read the verdicts as information, not as a judgement of the change.`,
      '',
    );
  } else if (env.differences.length > 0) {
    lines.push(`> Note: same CPU, but ${env.differences.join('; ')}.`, '');
  }
  lines.push(
    `A change counts only when the trial medians differ by more than **${percent(comparison.threshold, 0).replace('+', '')}** and by more than the trials' combined spread (half min–max range of base + of head); the cell shows the change, then ± that spread. Verdicts use: ${comparison.metrics.map((m) => METRICS[m].label).join(', ')}.`,
    '',
  );
  lines.push('| scenario | protocol | driver | trials | calls/s | p50 | p99 | bytes/call | verdict |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const row of comparison.rows) {
    const cells = ['rps', 'p50', 'p99', 'bytes'].map((key) => {
      const metric = row.metrics.find((m) => m.metric === key);
      return metric ? metricCell(metric) : '–';
    });
    const because = row.because.length ? ` (${row.because.map((m) => METRICS[m].label).join(', ')})` : '';
    const notes = row.notes.length ? `<br>${row.notes.join('; ')}` : '';
    lines.push(
      `| ${row.scenario} | ${PROTOCOL_LABEL[row.protocol]}${row.subject ? ` (${row.subject})` : ''} | ${row.driver} | ${row.trials.base}→${row.trials.head} | ${cells.join(' | ')} | ${VERDICT_MARK[row.verdict]}${because}${notes} |`,
    );
  }
  lines.push('');
  const summary = `${comparison.regressions} regression(s), ${comparison.improvements} improvement(s), ${comparison.rows.length - comparison.regressions - comparison.improvements} other row(s).`;
  lines.push(`**${summary}**`, '');
  return lines.join('\n');
}

function metricCell(metric: MetricComparison): string {
  if (metric.verdict === 'no data' || metric.change === null) return '–';
  const fmt = metric.metric === 'rps' ? compact : metric.metric === 'bytes' ? compact : ms;
  const values = `${fmt(metric.baseMedian)} → ${fmt(metric.headMedian)}`;
  const noise = metric.noise === null || metric.noise === 0 ? '' : ` ±${percent(metric.noise).slice(1)}`;
  const change = metric.change === 0 ? 'no change' : `${percent(metric.change)}${noise}`;
  const marked = metric.verdict === 'regression' ? `**${change}** 🔴` : metric.verdict === 'improvement' ? `**${change}** 🟢` : change;
  return `${values}<br>${marked}`;
}

/** The cross-protocol table of one run plus its generated headline sentences. */
export function protocolsMarkdown(results: ResultsFile, threshold?: number): string {
  const comparisons = compareProtocols(results, threshold);
  const lines: string[] = ['## gRPC vs REST', ''];
  if (comparisons.length === 0) {
    lines.push('No scenario has completed runs of both protocols.', '');
    return lines.join('\n');
  }
  for (const sentence of headline(results, threshold)) lines.push(`- ${sentence}`);
  lines.push('', ...protocolsTable(comparisons), '');
  return lines.join('\n');
}

/**
 * The cross-protocol table, one row per scenario and driver pair, and its
 * legend (Markdown lines): bench:compare's and bench:ci's "gRPC vs REST" and
 * the report's "In short" section print it.
 */
export function protocolsTable(comparisons: readonly ProtocolComparison[]): string[] {
  const lines: string[] = [];
  lines.push('| scenario | drivers | calls/s gRPC | calls/s REST | winner | ratio | trial ratios min–max | p (MW) | confidence | p99 gRPC | p99 REST | bytes/call gRPC | bytes/call REST |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of comparisons) {
    const winner = c.winner === 'tie' ? 'tie' : PROTOCOL_LABEL[c.winner];
    lines.push(
      `| ${c.label} | ${c.grpcDriver} / ${c.restDriver} | ${compact(c.medians.grpc.rps)} | ${compact(c.medians.rest.rps)} | ${winner} | ${ratio(c.ratio)} | ${c.trials < 2 ? '–' : ratioRange(c)} | ${c.p === null ? '–' : c.p.toFixed(2)} | ${c.confidence} | ${ms(c.medians.grpc.p99)} | ${ms(c.medians.rest.p99)} | ${compact(c.medians.grpc.bytes)} | ${compact(c.medians.rest.bytes)} |`,
    );
  }
  lines.push(
    '',
    'Ratio = winner\'s median calls/s over the loser\'s. Trial ratios pair trial i of one protocol with trial i of the other. Confidence: high = 3+ trials, every paired ratio favours the winner by at least half the threshold and no trial of the loser beats any trial of the winner; medium = every paired trial agrees, but by less, with overlapping trial values or with only 2 trials; low = trials disagree. p (MW) is an exact Mann–Whitney p-value on the calls/s trial values (3 vs 3 trials cannot go below 0.10).',
  );
  return lines;
}
