/**
 * The "In short" section: the answer in one generated sentence per scenario
 * (the capacity sentences with --slo; else gRPC vs REST per scenario and the
 * stream scenarios' messages/s), then the cross-protocol table those sentences
 * rest on: winner, ratio, the trials' spread, Mann–Whitney p and confidence.
 */
import { protocolsTable } from '../compare/markdown.ts';
import { PROTOCOL_LABEL, ratio } from '../compare/labels.ts';
import { compareProtocols, headline, ratioRange, type ProtocolComparison } from '../compare/protocols.ts';
import { capacityHeadline, hasCapacity } from './capacity.ts';
import { hasContenders } from './factorial.ts';
import { escapeHtml, htmlList } from './html-parts.ts';
import { section } from './section.ts';
import { streamHeadline } from './streams.ts';

interface InShortModel {
  sentences: string[];
  /** One per scenario and driver pair; none with --contenders (gRPC/REST would mix contenders). */
  comparisons: ProtocolComparison[];
}

function protocolCell(protocol: 'grpc' | 'rest'): string {
  return `<span class="${protocol}">${PROTOCOL_LABEL[protocol]}</span>`;
}

function protocolsHtml(comparisons: readonly ProtocolComparison[]): string {
  const rows = comparisons.map(
    (c) => `<tr><td class="l">${escapeHtml(c.label)}</td><td class="l">${escapeHtml(`${c.grpcDriver} / ${c.restDriver}`)}</td>
<td>${c.winner === 'tie' ? 'tie' : protocolCell(c.winner)}</td><td>${ratio(c.ratio)}</td><td>${c.trials < 2 ? '–' : ratioRange(c)}</td>
<td>${c.p === null ? '–' : c.p.toFixed(2)}</td><td class="l">${escapeHtml(c.confidence)}</td><td class="l">${escapeHtml(c.notes.join('; '))}</td></tr>`,
  );
  return `<table id="protocols"><thead><tr><th class="l">scenario</th><th class="l">drivers</th><th>more calls/s</th><th>ratio</th><th>trial ratios min–max</th><th>p (Mann–Whitney)</th><th class="l">confidence</th><th class="l">notes</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
<p class="muted">Ratio: the winner's median calls/s over the loser's. Trial i of each protocol ran back to back, so each trial gives a ratio; their min–max shows how steady the verdict is. Confidence is high with 3 or more trials when every paired ratio favours the winner by at least half the 10% threshold and no trial of the loser beats any trial of the winner; medium when the paired trials agree but by less, with overlapping values, or with only 2 trials; low when trials disagree. With 3 vs 3 trials the exact Mann–Whitney p cannot go below 0.10.</p>`;
}

export const inShortSection = section<InShortModel>({
  id: 'in-short',
  title: 'In short',
  applies: ({ results, calls, streams }) =>
    streams.length > 0 || hasCapacity(results) || (!hasContenders(calls) && calls.runs.some((run) => run.status === 'completed')),
  model: ({ results, calls, streams }) => {
    const contenders = hasContenders(calls);
    // --slo: the capacity sentences (calls and streams) answer the question the run asked; else the calls'. Then the
    // sentences of the stream scenarios no search ran on.
    const searched = new Set(results.runs.filter((run) => run.capacity !== undefined && run.unit === 'message').map((run) => run.operation));
    const callSentences = hasCapacity(results) ? capacityHeadline(results) : contenders ? [] : headline(calls);
    const sentences = [...callSentences, ...streamHeadline(streams.filter((record) => !searched.has(record.operation)))];
    return { sentences, comparisons: contenders ? [] : compareProtocols(calls) };
  },
  terminal: (m) => (m.sentences.length > 0 ? `in short:\n${m.sentences.map((line) => `  ${line}`).join('\n')}` : 'in short: no scenario has completed runs of both protocols'),
  markdown: (m) =>
    ['## In short', '', ...m.sentences.map((line) => `- ${line}`), ...(m.comparisons.length > 0 ? ['', ...protocolsTable(m.comparisons)] : [])].join('\n'),
  html: (m) =>
    `<h2>In short</h2>\n${m.sentences.length > 0 ? htmlList(m.sentences, 'headline') : '<p class="muted">No scenario has completed runs of both protocols, so there is no gRPC vs REST headline.</p>'}` +
    (m.comparisons.length > 0 ? `\n${protocolsHtml(m.comparisons)}` : ''),
});
