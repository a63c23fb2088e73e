/** The payload-sweep section: the sweep table (sweep.ts) and the sentences generated from it (sweep-summary.ts). */
import { htmlList, htmlParagraph, htmlTable } from './html-parts.ts';
import { markdownTable } from './markdown-table.ts';
import { section } from './section.ts';
import { sweepSentences } from './sweep-summary.ts';
import { hasSweep, SWEEP_LEGEND, sweepFlatTable, sweepRows, sweepTableText, type SweepRow } from './sweep.ts';

interface SweepModel {
  rows: SweepRow[];
  sentences: string[];
}

export const sweepSection = section<SweepModel>({
  id: 'sweep',
  title: 'Payload sweep (Sum)',
  applies: ({ calls }) => hasSweep(calls),
  model: ({ calls }) => {
    const rows = sweepRows(calls);
    return { rows, sentences: sweepSentences(rows) };
  },
  terminal: (m) => `payload sweep (Sum):\n${sweepTableText(m.rows)}${m.sentences.map((s) => `\n- ${s}`).join('')}`,
  markdown: (m) => {
    const { titles, body, isLeft } = sweepFlatTable(m.rows);
    const sentences = m.sentences.length > 0 ? ['', 'Generated from the measured numbers above:', '', ...m.sentences.map((s) => `- ${s}`)] : [];
    return ['## Payload sweep (Sum)', '', ...markdownTable(titles, body, isLeft), '', SWEEP_LEGEND, ...sentences].join('\n');
  },
  html: (m) => {
    const { titles, body, isLeft } = sweepFlatTable(m.rows);
    return `<h2>Payload sweep (Sum)</h2>\n<div class="wide">${htmlTable(titles, body, isLeft, 'sweep')}</div>\n${htmlParagraph(SWEEP_LEGEND)}${m.sentences.length > 0 ? `\n<p>Generated from the measured numbers above:</p>\n${htmlList(m.sentences)}` : ''}`;
  },
});
