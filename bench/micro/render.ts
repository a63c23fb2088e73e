/**
 * The file views of a micro-benchmark report: Markdown (for docs and PRs)
 * and CSV (one row per case × direction × format, for spreadsheets).
 * micro.json is the report itself.
 */
import { csvField } from '../report/csv.ts';
import { escapePipes, markdownRow } from '../report/markdown-table.ts';
import { formatInt, formatNs, formatOps, formatPct, formatRatio } from '../report/format.ts';
import type { MicroReport, TimingStats } from './report.ts';
import { DIRECTIONS, FORMATS } from './suites.ts';

/** "3.10M ops/s, 322 ns (p99 410 ns, ±0.52%)" */
function timingCell(stats: TimingStats): string {
  return `${formatOps(stats.opsPerSec)} ops/s, ${formatNs(stats.meanNs)} (p99 ${formatNs(stats.p99Ns)}, ${formatPct(stats.rmePct)})`;
}

export function renderMarkdown(report: MicroReport): string {
  const env = report.environment;
  const lines = [
    `# Micro-benchmark: JSON vs protobuf, one message body`,
    '',
    `Measured ${env.date} on ${env.cpu.model} × ${env.cpu.count}, ${env.os.platform} ${env.os.release} ${env.os.arch}, ` +
      `Node ${env.node}, protobufjs ${env.packages.protobufjs}, tinybench ${env.packages.tinybench}` +
      `${report.settings.quick ? ' — quick run, rough figures' : ''}.`,
    '',
    'Encode: object to body bytes. Decode: body bytes to a validated object. ' +
      'Cells: ops/s, mean time per call (p99, relative margin of error of the mean at 95%). ' +
      'Ratios are JSON / protobuf: above 1×, JSON is bigger or slower.',
    '',
    '| case | JSON bytes | pb bytes | bytes JSON/pb | encode JSON | encode protobuf | encode time JSON/pb | decode JSON | decode protobuf | decode time JSON/pb |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const item of report.cases) {
    lines.push(
      markdownRow([
        item.label,
        formatInt(item.bytes.json),
        formatInt(item.bytes.protobuf),
        formatRatio(item.bytes.jsonToProtobuf),
        timingCell(item.encode.json),
        timingCell(item.encode.protobuf),
        formatRatio(item.encode.jsonToProtobufTime),
        timingCell(item.decode.json),
        timingCell(item.decode.protobuf),
        formatRatio(item.decode.jsonToProtobufTime),
      ]),
    );
  }
  lines.push('', ...report.summary.map((sentence) => `- ${escapePipes(sentence)}`), '');
  return lines.join('\n');
}

export const CSV_COLUMNS = [
  'case',
  'message',
  'values',
  'shape',
  'direction',
  'format',
  'bytes',
  'ops_per_s',
  'mean_ns',
  'p99_ns',
  'rme_pct',
  'samples',
  'batch',
  'bytes_json_to_protobuf',
  'time_json_to_protobuf',
] as const;

export function renderCsv(report: MicroReport): string {
  const rows: (string | number | null)[][] = [];
  for (const item of report.cases) {
    for (const direction of DIRECTIONS) {
      for (const format of FORMATS) {
        const stats = item[direction][format];
        rows.push([
          item.id,
          item.message,
          item.values,
          item.shape,
          direction,
          format,
          item.bytes[format],
          stats.opsPerSec,
          stats.meanNs,
          stats.p99Ns,
          stats.rmePct,
          stats.samples,
          stats.batch,
          item.bytes.jsonToProtobuf,
          item[direction].jsonToProtobufTime,
        ]);
      }
    }
  }
  return [CSV_COLUMNS.join(','), ...rows.map((row) => row.map(csvField).join(','))].join('\n') + '\n';
}
