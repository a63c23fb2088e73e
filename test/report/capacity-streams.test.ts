/**
 * --slo on streams (running-sum) in the capacity view: SYNTHETIC stream rows
 * (built here, not measured) with capacity answers on gRPC, NDJSON and
 * WebSocket. Each REST transport is its own row beside the gRPC stream, the
 * figures are messages/s, and the Capacity section of every output has them
 * (before, the section read call rows only and showed none of them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import type { CapacityRecord, ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { capacityHeadline, renderCapacityTable } from '../../bench/report/capacity.ts';
import { buildReport } from '../../bench/report/sections.ts';
import { markdownReport } from '../../bench/report/markdown.ts';
import { terminalReport } from '../../bench/report/terminal.ts';

function capacity(rps: number): CapacityRecord {
  return {
    slo: 'p99<5ms,errors<0.1%',
    rps,
    range: { low: rps, high: Math.round(rps * 1.05) },
    latencyMs: { p99: 4.2 },
    errorsPercent: 0,
    serverCpuPercent: 100,
    rpsPerServerCore: rps,
    loadGeneratorBound: false,
    notes: [],
    searchS: 20,
    steps: [{ phase: 'search', rate: rps, achievedRps: rps, latencyMs: { p50: 1, p99: 4.2 }, errorsPercent: 0, serverCpuPercent: 100, clientCpuPercent: 40, clientBound: false, saturated: false, pass: true, misses: [], durationS: 2 }],
  };
}

function streamResults(): ResultsFile {
  const results = syntheticResults({ trials: 1, concurrency: [16], sizes: [] });
  const base = results.runs[0]!;
  const row = (transport: 'grpc' | 'ndjson' | 'websocket', rps: number): RunRecord => ({
    ...base,
    scenario: 'running-sum/c8',
    protocol: transport === 'grpc' ? 'grpc' : 'rest',
    operation: 'running-sum',
    unit: 'message',
    transport,
    messagesPerStream: null,
    concurrency: 8,
    rps,
    capacity: capacity(rps),
  });
  return { ...results, runs: [row('grpc', 40_000), row('ndjson', 60_000), row('websocket', 80_000)] };
}

test('a stream --slo run: one capacity row per REST transport beside gRPC, in messages/s, in every output', () => {
  const results = streamResults();
  const table = renderCapacityTable(results);
  assert.match(table, /^running-sum\/c8 ndjson\s/m, table);
  assert.match(table, /^running-sum\/c8 websocket\s/m, table);
  assert.match(table, /calls or msgs\/s at objective/);
  const headline = capacityHeadline(results);
  assert.deepEqual(headline.length, 2, headline.join('\n'));
  assert.match(headline[0]!, /REST ndjson sustains 1\.5\d*× the messages\/s of gRPC .*running-sum \(8 streams\): gRPC 40,000 messages\/s/);
  assert.match(headline[1]!, /REST websocket sustains 2(\.0+)?× the messages\/s of gRPC/);
  const report = buildReport({ results });
  for (const text of [terminalReport(report, {}), markdownReport(report)]) {
    assert.match(text, /running-sum\/c8 websocket/);
    assert.match(text, /the messages\/s of gRPC/);
  }
});
