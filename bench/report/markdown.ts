/** report.md: what ran, where, with which connections, the comparison table and every run's figures. */
import { hasNetworkSweep, networkSweepSentences, renderNetworkSweep } from './network-sweep.ts';
import { conditionNamer, describeNetwork, hasNetworks, splitByNetwork } from './network.ts';
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { ratio, summarize, trialsIn, type Metric, type Spread } from '../results/summary.ts';
import { compact, fixed } from '../compare/labels.ts';
import { driverMode, flags, loadModel, runNotes, sharedDrivers } from './table.ts';
import { hasSweep, renderSweepMarkdown } from './sweep.ts';
import { renderSweepSummary } from './sweep-summary.ts';
import { hasContenders, renderFactorialMarkdown } from './factorial.ts';
import { renderConnectionCostMarkdown } from './connection-cost.ts';
import { capacityHeadline, hasCapacity, renderCapacityTable } from './capacity.ts';
import { alignmentRow, markdownRow, markdownTable } from './markdown-table.ts';
import { placeLines } from './place.ts';

const METRIC_COLUMNS: [string, Metric, (v: number) => string][] = [
  ['calls/s', 'rps', compact],
  ['p50 ms', 'p50', fixed],
  ['p99 ms', 'p99', fixed],
  ['req B/call', 'requestBytes', compact],
  ['resp B/call', 'responseBytes', compact],
  ['server CPU ms/1k calls', 'serverCpuMsPer1k', fixed],
];

export function renderMarkdown(results: ResultsFile): string {
  const env = results.environment;
  const options = env.options as Record<string, unknown>;
  const withRange = trialsIn(results) > 1;
  const out: string[] = [];
  out.push('# callbench: gRPC vs REST', '');
  out.push(`Run ${env.date} on ${env.cpuModel} (${env.cpuCount} CPUs, ${env.totalMemoryMiB} MiB), ${env.os}, Node ${env.node}.`);
  out.push(`Commit ${env.gitCommit ?? 'unknown'}. Packages: ${Object.entries(env.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  out.push(
    env.pinning
      ? `Pinning: servers on CPU ${env.pinning.server}, load generator on CPU ${env.pinning.client} (taskset).`
      : 'Pinning: none (servers and load generator share the CPUs).',
  );
  const policy = options.connectionsPolicy as { grpc?: string; rest?: string } | undefined;
  if (policy) out.push(`Connections: gRPC ${policy.grpc}; REST ${policy.rest}.`);
  out.push(
    `Profile ${String(options.profile ?? '?')}: ${String(options.durationS ?? '?')} s measured after ${String(options.warmupS ?? '?')} s warm-up, ` +
      `${String(options.trials ?? 1)} trial(s), sum values shaped "${(Array.isArray(options.shapes) ? options.shapes : [options.shape ?? '?']).join(', ')}", ` +
      `compression ${(Array.isArray(options.compression) ? options.compression : ['none']).join(', ')}. ` +
      `Drivers: ${Object.entries((options.drivers as Record<string, string>) ?? {}).map(([p, d]) => `${p} ${d}`).join(', ')}.`,
    '',
  );
  const shared = sharedDrivers(results);
  const mode = shared ? driverMode(shared) : null;
  out.push(`Load: ${loadModel(results.runs)}.${mode ? ` Drivers in ${mode}.` : ''}`, '');
  const notes = runNotes(results);
  if (notes.length > 0) out.push(...notes.map((note) => `- Note: ${note}.`), '');

  const networks = hasNetworks(results);
  if (networks) out.push('## Network conditions', '', ...splitByNetwork(results).map((group) => `- ${describeNetwork(group)}`), '');
  const comparisonStart = out.length;
  out.push('## Comparison', '');
  // With --network a row is a scenario under one condition: the condition comes first.
  const head = [...(networks ? ['network'] : []), 'scenario', 'conns gRPC/REST'];
  for (const [title] of METRIC_COLUMNS) head.push(`${title} gRPC`, `${title} REST`, 'g/r');
  head.push('errors gRPC', 'errors REST', 'flags', 'drivers gRPC/REST');
  out.push(markdownRow(head), alignmentRow(head.length, (i) => i === 0 || i >= head.length - 2));
  const rows = splitByNetwork(results).flatMap((group) => summarize(group.results).map((row) => ({ network: group.name, row })));
  for (const { network, row } of rows) {
    const g = row.cells.grpc;
    const r = row.cells.rest;
    const cells = [...(networks ? [`\`${network}\``] : []), `\`${row.scenario}\``, `${g?.connections ?? '-'}/${r?.connections ?? '-'}`];
    for (const [, metric, format] of METRIC_COLUMNS) {
      cells.push(cell(g?.[metric] ?? null, format, withRange), cell(r?.[metric] ?? null, format, withRange));
      const x = ratio(row, metric);
      cells.push(x === null ? '-' : `${x.toFixed(2)}x`);
    }
    cells.push(g ? (g.failed ? 'FAILED' : String(g.errors)) : '-', r ? (r.failed ? 'FAILED' : String(r.errors)) : '-');
    cells.push(flags(row).map((f) => `**${f}**`).join(', '));
    cells.push(`${g?.driver ?? '-'}/${r?.driver ?? '-'}`);
    out.push(markdownRow(cells));
  }
  out.push(
    '',
    'g/r = gRPC median / REST median. Bytes per call are counted on the wire (headers and framing included) by a proxy in a separate sampling pass; ' +
      'the measured runs are not proxied. Server CPU is the server process’s user+system time over the measured run per 1,000 calls.' +
      (withRange ? ' Cells show the median and (min-max) over trials.' : ''),
    '',
  );

  const place = placeLines(results);
  if (place.length > 0) out.push('## Proxy and replicas', '', ...place.map((line) => `- ${line}`), '');

  out.push(...renderConnectionCostMarkdown(results));

  if (hasContenders(results)) {
    // --contenders: gRPC/REST columns would mix contenders; the per-scenario contender tables, the 2x2 and its sentences replace them.
    out.splice(comparisonStart, out.length - comparisonStart, '## Contenders: transport × encoding × implementation', '', renderFactorialMarkdown(results).trimEnd(), '');
  }

  if (hasCapacity(results)) {
    out.push('## Capacity at the objective', '', ...capacityHeadline(results).map((line) => `- ${line}`), '', '```', renderCapacityTable(results).trimEnd(), '```', '');
  }
  if (hasSweep(results)) {
    out.push('## Payload sweep (Sum)', '', renderSweepMarkdown(results).trimEnd(), '', 'Generated from the measured numbers above:', '', renderSweepSummary(results).trimEnd(), '');
  }

  if (hasNetworkSweep(results)) {
    out.push('## Across network conditions', '', '```', renderNetworkSweep(results).trimEnd(), '```', '', 'Generated from the measured numbers above:', '', ...networkSweepSentences(results).map((line) => `- ${line}`), '');
  }

  out.push('## Every run', '');
  const cols = [...(networks ? ['network'] : []), 'scenario', 'protocol', 'driver', 'trial', 'conns', 'status', 'calls', 'errors', 'calls/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'stdev', 'req B/call', 'req hdr B/call', 'resp B/call', 'resp hdr B/call', 'req body B', 'resp body B', 'srv CPU ms/1k', 'srv peak RSS MiB', 'client CPU %', 'client µs/call', 'client-bound'];
  const conditionOf = conditionNamer(results);
  out.push(...markdownTable(cols, results.runs.map((run) => [...(networks ? [conditionOf(run)] : []), ...runCells(run)]), () => true));
  const failed = results.runs.filter((run) => run.status === 'failed');
  if (failed.length > 0) {
    out.push('', '## Failures', '');
    for (const run of failed) out.push(`- \`${run.scenario}\` ${run.protocol} trial ${run.trial}: ${run.failure ?? 'unknown'}`);
  }
  const withErrors = results.runs.filter((run) => run.errors > 0);
  if (withErrors.length > 0) {
    out.push('', '## Errors by status', '');
    for (const run of withErrors) {
      out.push(`- \`${run.scenario}\` ${run.protocol} trial ${run.trial}: ${Object.entries(run.statusCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function cell(value: Spread | null, format: (v: number) => string, withRange: boolean): string {
  if (value === null) return '-';
  return withRange && value.n > 1 && value.min !== value.max ? `${format(value.median)} (${format(value.min)}-${format(value.max)})` : format(value.median);
}

function runCells(run: RunRecord): string[] {
  const n = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '-' : v.toFixed(digits));
  const l = run.latencyMs;
  return [
    `\`${run.scenario}\``,
    run.contender ? `${run.protocol} (${run.contender.name})` : run.protocol,
    run.driver,
    String(run.trial),
    String(run.connections),
    run.status === 'failed' ? `**failed**: ${run.failure ?? ''}` : 'completed',
    String(run.requests),
    String(run.errors),
    n(run.rps, 0),
    n(l?.p50, 3),
    n(l?.p90, 3),
    n(l?.p99, 3),
    n(l?.p999, 3),
    n(l?.max, 3),
    n(l?.mean, 3),
    n(l?.stdev, 3),
    n(run.wire.requestBytesPerCall),
    n(run.wire.requestHeaderBytesPerCall),
    n(run.wire.responseBytesPerCall),
    n(run.wire.responseHeaderBytesPerCall),
    String(run.body.requestBytes),
    n(run.body.responseBytes),
    n(run.server.cpuMsPer1kCalls, 2),
    n(run.server.peakRssMiB),
    n(run.client.cpuPercent),
    n(run.client.cpuUsPerCall),
    run.client.bound ? 'yes' : 'no',
  ];
}
