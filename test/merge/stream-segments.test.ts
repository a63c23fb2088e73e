/**
 * Streams through --segment and bench:merge: two real bench processes, each
 * `--segment k/2` of running-sum (bidi) and prefix-sums (server stream) on
 * gRPC, NDJSON and WebSocket, against one pair of
 * calculator servers in their own process, then bench:merge. The merged file
 * must keep one row per operation and transport (running-sum's NDJSON and
 * WebSocket rows are both protocol 'rest'), add the messages up, read
 * per-message latency from the added histograms, and never pass one
 * segment's first-message latency or gap off as the merged one. A second test
 * merges built stream rows that carry first-message and gap histograms and
 * checks the merged figures are those of every value together. About 35 s.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCompareCli } from '../../bench/cli/compare.ts';
import { runMergeCli } from '../../bench/cli/merge.ts';
import { checkSegments } from '../../bench/merge/check.ts';
import { mergeSegments, type StreamHistograms } from '../../bench/merge/merge.ts';
import type { LoadedResults } from '../../bench/results/read.ts';
import { createLatencyHistogram, decodeLatencyHistogram, encodeLatencyHistogram, mergeLatencyHistograms } from '../../bench/results/histogram.ts';
import { summarizeLatency } from '../../bench/results/latency.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { assertSchemaValid, runBenchCli, tempDir } from '../helpers/bench.ts';
import { spawnServe, type ServeChild } from '../helpers/servers.ts';

/** Time for two tsx processes to start on a busy 2-core machine before the first warm-up. */
const START_LEAD_S = 12;
const STREAMS = 8;
const MESSAGES = 500;

const rowOf = (run: RunRecord): string => `${run.scenario} ${run.transport}`;

describe('stream segments, bench:merge', () => {
  let servers: ServeChild;
  before(async () => {
    servers = await spawnServe(['--grpc-port', '0', '--rest-port', '0']);
  });
  after(async () => {
    await servers.stop();
  });

  test('one merged row per operation and transport: messages added, latency from the added histograms', async () => {
    const root = tempDir('callbench-stream-segments-');
    const startAt = new Date(Date.now() + START_LEAD_S * 1000).toISOString();
    const common = [
      // The quick profile's slots (--start-at gives each run one): 1.5 s runs, not 3 s.
      '--profile', 'quick', '--ops', 'running-sum,prefix-sums', '--transport', 'grpc,ndjson,websocket',
      '--streams', String(STREAMS), '--messages', String(MESSAGES), '--warmup', '0.2',
      '--wire-calls', '100', '--connection-calls', '0', '--no-pin', '--progress', 'none', '--start-at', startAt,
      '--grpc-target', servers.grpcAddress!, '--rest-target', servers.restUrl!,
    ];
    const outs = [1, 2].map((k) => path.join(root, `segment-${k}`));
    const runs = await Promise.all(outs.map((out, i) => runBenchCli([...common, '--segment', `${i + 1}/2`, '--out', out])));
    runs.forEach((run, i) => assert.equal(run.code, 0, `segment ${i + 1}: ${run.stderr}`));
    const segments = outs.map((out) => JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as ResultsFile);
    const expected = segments[0]!.runs.map(rowOf).sort();
    // running-sum on three transports, prefix-sums on the ones that serve it.
    assert.ok(expected.includes('running-sum/c8 ndjson') && expected.includes('running-sum/c8 websocket'), expected.join(', '));
    assert.ok(expected.some((row) => row.startsWith('prefix-sums/')), expected.join(', '));

    const merged = path.join(root, 'merged');
    const result = await runMergeCli([...outs.map((out) => path.join(out, 'latest')), '--out', merged]);
    assert.equal(result.exitCode, 0, result.problems.join('\n'));
    const file = JSON.parse(readFileSync(path.join(merged, 'results.json'), 'utf8')) as ResultsFile;
    assertSchemaValid(file);
    assert.deepEqual(file.runs.map(rowOf).sort(), expected, 'every operation x transport once');

    for (const run of file.runs) {
      const label = rowOf(run);
      const parts = segments.map((segment) => segment.runs.find((r) => rowOf(r) === label)!);
      assert.equal(run.status, 'completed', `${label}: ${run.failure}`);
      assert.equal(run.unit, 'message', label);
      assert.equal(run.requests, parts[0]!.requests + parts[1]!.requests, `${label}: messages = sum of the segments'`);
      assert.equal(run.requests, STREAMS * MESSAGES, `${label}: ${STREAMS} streams of ${MESSAGES}`);
      assert.equal(run.errors, 0, label);
      assert.equal(run.concurrency, STREAMS, label);
      assert.deepEqual(run.segments!.map((s) => s.requests), parts.map((part) => part.requests), label);
      assert.ok(run.durationS > 0 && Math.abs(run.rps - run.requests / run.durationS) <= 0.1 + run.rps * 1e-3, `${label}: ${run.rps} messages/s over ${run.durationS} s`);

      if (parts.every((part) => part.latencyMs === null)) {
        // A server stream: its answers have no request of their own.
        assert.equal(run.latencyMs, null, label);
        assert.equal(run.latencyHistogram ?? null, null, label);
      } else {
        const histogram = mergeLatencyHistograms(parts.map((part) => part.latencyHistogram!));
        assert.deepEqual(run.latencyMs, { ...summarizeLatency(histogram)!, max: Math.max(...parts.map((part) => part.latencyMs!.max)) }, `${label}: per-message latency from the added histograms`);
        const decoded = decodeLatencyHistogram(run.latencyHistogram!);
        assert.equal(decoded.totalCount, parts.reduce((sum, part) => sum + decodeLatencyHistogram(part.latencyHistogram!).totalCount, 0), label);
        decoded.destroy();
        histogram.destroy();
        const p99s = parts.map((part) => part.latencyMs!.p99);
        assert.ok(run.latencyMs!.p99 >= Math.min(...p99s) && run.latencyMs!.p99 <= Math.max(...p99s), `${label}: p99 ${run.latencyMs!.p99} vs ${p99s}`);
      }

      for (const [summary, field, name] of [['firstMessageMs', 'firstMessageHistogram', 'first-message latency'], ['gapMs', 'gapHistogram', 'gap between answers']] as const) {
        const measured = parts.filter((part) => (part[summary] ?? null) !== null);
        const histograms = measured.map((part) => (part as RunRecord & StreamHistograms)[field]);
        if (measured.length === 0) {
          assert.equal(run[summary] ?? null, null, `${label}: no ${name}`);
        } else if (histograms.every((h) => typeof h === 'string')) {
          const all = mergeLatencyHistograms(histograms as string[]);
          assert.deepEqual(run[summary], { ...summarizeLatency(all)!, max: Math.max(...measured.map((part) => part[summary]!.max)) }, `${label}: ${name} from the added histograms`);
          all.destroy();
        } else {
          // The segments kept its percentiles only: not merged, each segment's figures in a note.
          assert.equal(run[summary], null, `${label}: ${name} is not one segment's`);
          assert.ok(run.notes?.some((note) => note.startsWith(`${name} not merged`) && note.includes('segment 1 p50') && note.includes('segment 2 p50')), `${label}: ${run.notes}`);
        }
      }
    }
    const compared = runCompareCli([merged]);
    assert.equal(compared.exitCode, 0, compared.stdout);
  });

  test('first-message latency and gap histograms, when segments carry them, add up exactly', () => {
    const values = (count: number, base: number): number[] => Array.from({ length: count }, (_, i) => base + ((i * 37) % 900) + (i % 97 === 0 ? 20_000 : 0));
    const encode = (list: number[]): { text: string; summary: NonNullable<RunRecord['firstMessageMs']> } => {
      const histogram = createLatencyHistogram();
      for (const value of list) histogram.recordValue(value);
      const text = encodeLatencyHistogram(histogram)!;
      const summary = summarizeLatency(histogram)!;
      histogram.destroy();
      return { text, summary };
    };
    const first = [values(4, 3_000), values(4, 9_000)];
    const gaps = [values(4_000, 20), values(3_000, 500)];
    const inputs: LoadedResults[] = [0, 1].map((i) => {
      const firstMessage = encode(first[i]!);
      const gap = encode(gaps[i]!);
      const run = {
        scenario: 'prefix-sums/c8', protocol: 'rest', driver: 'stream-engine', operation: 'prefix-sums', unit: 'message', transport: 'ndjson',
        messagesPerStream: 1000, payloadValues: null, concurrency: 4, connections: 4, rate: null, trial: 1, durationS: 0.5,
        status: 'completed', failure: null, requests: 4000, errors: 0, statusCounts: { ok: 4000 }, rps: 8000, latencyMs: null,
        latencyHistogram: null, firstMessageMs: firstMessage.summary, firstMessageHistogram: firstMessage.text, gapMs: gap.summary, gapHistogram: gap.text,
        wire: { requestBytesPerCall: 5, responseBytesPerCall: 17, requestHeaderBytesPerCall: null, responseHeaderBytesPerCall: null, countedBy: 'counting-proxy' },
        body: { requestBytes: 5, responseBytes: 17 }, server: { cpuMsPer1kCalls: null, peakRssMiB: null },
        client: { cpuPercent: 40, cpuUsPerCall: 2, bound: false }, host: `gen-${i + 1}`, segment: { index: i + 1, count: 2 },
        window: { start: new Date(Date.UTC(2026, 11, 5, 12, 0, 0, i)).toISOString(), end: new Date(Date.UTC(2026, 11, 5, 12, 0, 0, 500 + i)).toISOString() },
      } as unknown as RunRecord;
      const results = {
        schemaVersion: 4,
        environment: { date: '2026-12-05T12:00:00.000Z', node: 'v20', os: 'linux', cpuModel: 'synthetic fixture (not measured)', cpuCount: 2, totalMemoryMiB: 1, packages: {}, gitCommit: null, options: { segment: { index: i + 1, count: 2 } }, pinning: null },
        runs: [run],
      } as ResultsFile;
      return { dir: `segment-${i + 1}`, results } as LoadedResults;
    });
    assert.deepEqual(checkSegments(inputs), [], 'a server stream carries no latency histogram, and is a segment all the same');
    const [run] = mergeSegments(inputs).runs as Array<RunRecord & StreamHistograms>;
    assert.equal(run!.requests, 8000);
    assert.equal(run!.latencyMs, null);
    for (const [summary, field, lists] of [['firstMessageMs', 'firstMessageHistogram', first], ['gapMs', 'gapHistogram', gaps]] as const) {
      const all = encode(lists.flat());
      assert.deepEqual(run![summary], all.summary, `${summary}: the summary of every value together`);
      const decoded = decodeLatencyHistogram(run![field]!);
      assert.equal(decoded.totalCount, lists.flat().length);
      decoded.destroy();
    }
    assert.ok(!run!.notes?.some((note) => note.includes('not merged')), String(run!.notes));
  });
});
