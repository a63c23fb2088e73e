/**
 * What `npm run bench` prints on stdout once the runs are done, decided in one
 * place (as report/markdown.ts does for report.md): the contenders' factorial
 * view with --contenders, else the comparison table, the default run's stream
 * scenario, the payload sweep when there is one, the capacity view with --slo,
 * and the answer in one line per scenario.
 */
import { headline } from '../compare/protocols.ts';
import type { ResultsFile } from '../results/record.ts';
import { hasContenders, renderFactorial } from './factorial.ts';
import { hasSweep, renderSweepTable } from './sweep.ts';
import { renderSweepSummary } from './sweep-summary.ts';
import { renderTable } from './table.ts';
import { capacityHeadline, hasCapacity, renderCapacityTable } from './capacity.ts';
import { hasNetworkSweep, networkSweepSentences, renderNetworkSweep } from './network-sweep.ts';
import { renderStreamTable, streamHeadline } from './streams.ts';
import type { StreamRecord } from '../results/stream-record.ts';

/** `streams`: the stream scenario's records (options.streamScenario), measured after the unary runs. */
export function renderTerminal(results: ResultsFile, options: { color: boolean; streams?: readonly StreamRecord[] }): string {
  if (hasContenders(results)) return `\n${renderFactorial(results)}`;
  const streams = options.streams ?? [];
  if (results.runs.length === 0 && streams.length === 0) return '';
  let out = results.runs.length > 0 ? `\n${renderTable(results, options)}` : '';
  if (streams.length > 0) {
    const length = streams[0]!.messagesPerStream === null ? `held ${streams[0]!.durationS ?? '-'} s` : `${streams[0]!.messagesPerStream} values each`;
    out += `\nstreams (${streams[0]!.streams} concurrent, ${length}; per message; npm run bench:streams for all three kinds):\n${renderStreamTable(streams)}\n`;
  }
  if (hasSweep(results)) out += `\npayload sweep (Sum):\n${renderSweepTable(results)}\n${renderSweepSummary(results)}`;
  if (hasNetworkSweep(results)) {
    out += `\nacross network conditions (gRPC / REST calls/s, median of the trials, min-max of the per-trial ratios):\n${renderNetworkSweep(results)}`;
    out += `\nwhere the winner changes:\n${networkSweepSentences(results).map((line) => `  ${line}`).join('\n')}\n`;
  }
  // --slo: the capacity view, and its sentences answer the question the run asked.
  if (hasCapacity(results)) out += `\n${renderCapacityTable(results)}`;
  // The answer in one line per scenario, generated from the same numbers as the table.
  const answers = hasCapacity(results) ? capacityHeadline(results) : [...headline(results), ...streamHeadline(streams)];
  if (answers.length > 0) out += `\nin short:\n${answers.map((line) => `  ${line}`).join('\n')}\n`;
  return out;
}
