/**
 * Run folders written before schema 4 still render: a results.json of schema 1
 * (test/fixtures/results/schema-1.json, the baseline committed until schema 4)
 * with a streams.json beside it, as a default run
 * wrote them, re-rendered by bench:report's writer. The stream rows come from
 * streams.json, and a server stream's old "latency" (the gap between its
 * answers) is shown as the gap, not as a latency per message.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeHtmlReport } from '../../bench/report/html.ts';
import { loadResults } from '../../bench/results/read.ts';
import type { StreamRecord } from '../../bench/results/stream-record.ts';
import { REPO_ROOT, tempDir } from '../helpers/bench.ts';

const summary = (p50: number) => ({ p50, p90: p50, p99: p50 * 3, p999: p50 * 4, max: p50 * 5, mean: p50, stdev: 0 });

function oldRecord(operation: string, transport: StreamRecord['transport'], latencyP50: number): StreamRecord {
  return {
    schemaVersion: 3,
    operation,
    transport,
    streams: 16,
    mode: 'closed',
    ratePerStream: null,
    messagesPerStream: 2_000,
    durationS: null,
    elapsedS: 1.2,
    messages: 32_000,
    errors: 0,
    firstError: null,
    messagesPerSecond: 26_667,
    latencyMs: summary(latencyP50),
    openMs: summary(1.5),
    requestBytesPerMessage: 23.5,
    responseBytesPerMessage: 23.5,
    serverCpuMsPer1000: 7.6,
    clientCpuMsPer1000: 5.1,
    clientCpuPercent: 13.6,
    serverCpuPercent: 20.3,
    clientBound: false,
  };
}

test('a schema 1 run folder with its streams.json re-renders; prefix-sums\' old latency reads as the gap', async () => {
  const dir = tempDir('callbench-old-folder-');
  copyFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'results', 'schema-1.json'), path.join(dir, 'results.json'));
  const records = [oldRecord('running-sum', 'grpc', 0.184), oldRecord('prefix-sums', 'sse', 0.007)];
  writeFileSync(path.join(dir, 'streams.json'), JSON.stringify({ schemaVersion: 3, environment: {}, records }));
  const loaded = loadResults(dir);
  assert.equal(loaded.results.schemaVersion, 1);
  const written = await writeHtmlReport(loaded.dir, loaded.results);
  const html = readFileSync(path.join(dir, written.html), 'utf8');
  assert.match(html, /<h2>Streams<\/h2>/);
  const row = (operation: string) => html.match(new RegExp(`<tr><td class="l">${operation}</td>.*?</tr>`))?.[0] ?? '';
  // running-sum: its p50 per message is a latency; no gap.
  assert.match(row('running-sum'), /<td>0\.184<\/td>/);
  // prefix-sums: the old file's latency is the gap between answers; its per-message latency is missing.
  const cells = [...row('prefix-sums').matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
  assert.ok(cells.includes('0.007'), row('prefix-sums'));
  assert.ok(cells.indexOf('0.007') > cells.indexOf('1.500'), `the gap comes after the first-message latency: ${cells.join(' | ')}`);
});
