/**
 * What a merged folder (bench:merge) adds to the usual reports: per merged
 * run, the segments' own calls/s, p99 and generator CPU next to the merged
 * figures, and how far apart their measured windows were (flagged above
 * SKEW_FLAG_PERCENT): the Segments section of every output, and the lines
 * bench:merge prints.
 */
import { SKEW_FLAG_PERCENT, type MergeInfo, type ResultsFile, type RunRecord } from '../results/record.ts';
import { htmlList, htmlParagraph, htmlTable } from './html-parts.ts';
import { section } from './section.ts';
import { markdownTable } from './markdown-table.ts';

const PROTOCOL_NAMES: Readonly<Record<string, string>> = { grpc: 'gRPC', rest: 'REST' };

function runLabel(run: RunRecord): string {
  return `${run.scenario} ${PROTOCOL_NAMES[run.protocol] ?? run.protocol} trial ${run.trial}`;
}

/** "window skew 0.21% of the run (starts 3 ms, ends 6 ms apart)", with SKEWED above the flag. */
export function skewText(run: RunRecord): string {
  if (!run.skew) return 'window skew not measured (no window)';
  const { percent, startMs, endMs, flagged } = run.skew;
  return `window skew ${percent}% of the run (starts ${startMs} ms, ends ${endMs} ms apart)${flagged ? `: SKEWED, over ${SKEW_FLAG_PERCENT}%` : ''}`;
}

/** One line per merged run. */
export function renderSegmentLines(results: ResultsFile): string {
  const lines = segmentLines(results.runs);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function segmentLines(runs: readonly RunRecord[]): string[] {
  return runs.flatMap((run) => {
    const segments = run.segments ?? [];
    if (segments.length === 0) return [];
    const rates = segments.map((s) => s.rps.toFixed(1)).join(' + ');
    const p99s = segments.flatMap((s) => (s.p99Ms === null ? [] : [s.p99Ms]));
    const p99Range = p99s.length > 0 ? `, p99 ${Math.min(...p99s)}-${Math.max(...p99s)} ms` : '';
    const status = run.status === 'failed' ? ` FAILED: ${run.failure}` : '';
    return [
      `${runLabel(run)}: ${run.rps} calls/s, p99 ${run.latencyMs?.p99 ?? '-'} ms from ${segments.length} segments ` +
        `(${rates} calls/s${p99Range}); ${skewText(run)}${status}`,
    ];
  });
}

interface SegmentsModel {
  merge: MergeInfo;
  /** The merged runs that keep their segments' own figures. */
  runs: RunRecord[];
}

function segmentsModel(results: ResultsFile): SegmentsModel {
  return { merge: results.merge!, runs: results.runs.filter((run) => run.segments) };
}

const ABOUT =
  'calls, errors and histograms added; every percentile read from the merged histogram; ' +
  'calls/s over the common window (first start to last end); bytes per call weighted by calls; ' +
  `the client figures of a row are the busiest generator's, each segment's below. A skew over ${SKEW_FLAG_PERCENT}% of the run is flagged.`;

const INPUT_HEADER = ['segment', 'folder', 'host', 'started', 'commit'];
const RUN_HEADER = ['run', 'segment', 'host', 'status', 'calls', 'calls/s', 'p99 ms', 'client CPU %', 'client-bound'];

function inputRows(m: SegmentsModel): string[][] {
  return m.merge.inputs.map((input) => [String(input.segment), input.dir, input.host ?? '-', input.date, input.gitCommit?.slice(0, 12) ?? '-']);
}

function runRows(m: SegmentsModel): string[][] {
  return m.runs.flatMap((run) =>
    (run.segments ?? []).map((s) => [
      runLabel(run),
      String(s.index),
      s.host ?? '-',
      s.status,
      String(s.requests),
      s.rps.toFixed(1),
      s.p99Ms === null ? '-' : String(s.p99Ms),
      s.client.cpuPercent.toFixed(0),
      s.client.bound ? 'yes' : 'no',
    ]),
  );
}

function segmentsMarkdown(m: SegmentsModel): string[] {
  return [
    '## Segments',
    '',
    `Merged by bench:merge from ${m.merge.segments} segment(s): ${ABOUT}`,
    '',
    ...markdownTable(INPUT_HEADER, inputRows(m), (column) => column !== 0),
    '',
    ...markdownTable(RUN_HEADER, runRows(m), (column) => column === 0 || column === 2 || column === 3),
    '',
    ...m.runs.map((run) => `- ${runLabel(run)}: ${skewText(run)}.`),
  ];
}

/** A merged folder (bench:merge): where each segment came from, and each merged run's segments side by side. */
export const segmentsSection = section<SegmentsModel>({
  id: 'segments',
  title: 'Segments',
  applies: ({ results }) => results.merge !== undefined,
  model: ({ results }) => segmentsModel(results),
  terminal: (m) => [`segments: merged by bench:merge from ${m.merge.segments}`, ...segmentLines(m.runs)].join('\n'),
  markdown: (m) => segmentsMarkdown(m).join('\n').trimEnd(),
  html: (m) =>
    `<h2>Segments</h2>\n${htmlParagraph(`Merged by bench:merge from ${m.merge.segments} segment(s): ${ABOUT}`, '')}\n` +
    `${htmlTable(INPUT_HEADER, inputRows(m), (column) => column !== 0)}\n${htmlTable(RUN_HEADER, runRows(m), (column) => column === 0 || column === 2 || column === 3)}\n` +
    htmlList(m.runs.map((run) => `${runLabel(run)}: ${skewText(run)}`)),
});
