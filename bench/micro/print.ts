/**
 * The terminal view of a micro-benchmark report, autocannon-style: a boxed
 * table returned as a string (the caller decides where it goes). Per case,
 * a JSON row, a protobuf row and a JSON/protobuf ratio row.
 */
import { formatInt, formatNs, formatOps, formatPct, formatRatio } from '../report/format.ts';
import type { CaseResult, MicroReport, TimingStats } from './report.ts';

const HEADER = ['case', 'format', 'bytes', 'encode ops/s', 'mean', 'p99', 'rme', 'decode ops/s', 'mean', 'p99', 'rme'];
/** Columns aligned left (text); the others are right-aligned numbers. */
const LEFT = new Set([0, 1]);

type Row = string[] | 'rule';

function timing(stats: TimingStats): string[] {
  return [formatOps(stats.opsPerSec), formatNs(stats.meanNs), formatNs(stats.p99Ns), formatPct(stats.rmePct)];
}

function caseRows(item: CaseResult): Row[] {
  return [
    [item.label, 'JSON', formatInt(item.bytes.json), ...timing(item.encode.json), ...timing(item.decode.json)],
    ['', 'protobuf', formatInt(item.bytes.protobuf), ...timing(item.encode.protobuf), ...timing(item.decode.protobuf)],
    [
      '',
      'JSON/pb',
      formatRatio(item.bytes.jsonToProtobuf),
      '',
      formatRatio(item.encode.jsonToProtobufTime),
      '',
      '',
      '',
      formatRatio(item.decode.jsonToProtobufTime),
      '',
      '',
    ],
  ];
}

/** Renders rows as a box-drawn table. */
export function boxTable(header: string[], rows: Row[], left: ReadonlySet<number> = new Set()): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row === 'rule' ? 0 : (row[column] ?? '').length))),
  );
  const line = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const cells = (row: string[]): string =>
    '│' +
    widths
      .map((w, column) => {
        const text = row[column] ?? '';
        return ` ${left.has(column) ? text.padEnd(w) : text.padStart(w)} `;
      })
      .join('│') +
    '│';
  const out = [line('┌', '┬', '┐'), cells(header), line('├', '┼', '┤')];
  for (const row of rows) out.push(row === 'rule' ? line('├', '┼', '┤') : cells(row));
  out.push(line('└', '┴', '┘'));
  return out.join('\n');
}

export function printMicro(report: MicroReport): string {
  const env = report.environment;
  const rows: Row[] = [];
  report.cases.forEach((item, index) => {
    if (index > 0) rows.push('rule');
    rows.push(...caseRows(item));
  });
  const lines = [
    `Micro-benchmark: encode/decode of one message body, JSON vs protobuf${report.settings.quick ? ' (quick run: rough figures)' : ''}`,
    `${env.cpu.model} × ${env.cpu.count}, Node ${env.node}, protobufjs ${env.packages.protobufjs}, tinybench ${env.packages.tinybench}, ${env.os.platform} ${env.os.arch}`,
    '',
    boxTable(HEADER, rows, LEFT),
    'Decode includes the servers\' validation. JSON/pb row: bytes ratio, and mean time ratio (above 1×: JSON is bigger / slower).',
    'rme: relative margin of error of the mean (95%). p99 is of batch means for small messages.',
    `Ran ${report.cases.length} cases in ${report.durationS.toFixed(1)} s.`,
    '',
    ...report.summary.map((sentence) => `• ${sentence}`),
  ];
  return `${lines.join('\n')}\n`;
}
