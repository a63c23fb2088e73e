/**
 * bench:merge on built segment folders (known latency values, so the merged
 * figures can be checked exactly): histograms add up to the histogram of all
 * values, the checks give one line per problem, the merged record sums and
 * weighs what the issue says, and every renderer and bench:compare read the
 * merged folder unchanged. Also the share rules of --segment and the parsing
 * of --segment / --start-at.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { Histogram } from 'hdr-histogram-js';
import { runMergeCli } from '../../bench/cli/merge.ts';
import { runCompareCli } from '../../bench/cli/compare.ts';
import type { LoadedResults } from '../../bench/results/read.ts';
import { compareResults } from '../../bench/compare/compare.ts';
import { compareProtocols } from '../../bench/compare/protocols.ts';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { checkSegments } from '../../bench/merge/check.ts';
import { mergeSegments } from '../../bench/merge/merge.ts';
import { UsageError, resolveBenchOptions } from '../../bench/options/options.ts';
import { renderCsv } from '../../bench/report/csv.ts';
import { writeHtmlReport } from '../../bench/report/html.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { renderTable } from '../../bench/report/table.ts';
import { createLatencyHistogram, decodeLatencyHistogram, encodeLatencyHistogram, mergeLatencyHistograms } from '../../bench/results/histogram.ts';
import { PERCENTILE_LADDER } from '../../bench/results/latency.ts';
import { SCHEMA_VERSION, type ResultsFile, type RunRecord } from '../../bench/results/record.ts';
import { buildScenarios } from '../../bench/scenario/matrix.ts';
import { segmentRate, segmentScenarios, shareOf } from '../../bench/scenario/segment.ts';
import { assertSchemaValid, tempDir } from '../helpers/bench.ts';

/** Deterministic latencies (µs) with a long tail: mostly 200-400 µs, one in fifty up to 50 ms. */
function latencies(count: number, seed: number): number[] {
  let x = seed;
  const next = (): number => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
  return Array.from({ length: count }, () => (next() < 0.02 ? 1_000 + Math.round(next() * 49_000) : 200 + Math.round(next() * 200)));
}

function histogramOf(values: number[]): Histogram {
  const histogram = createLatencyHistogram();
  for (const value of values) histogram.recordValue(value);
  return histogram;
}

const OPTIONS = {
  profile: 'quick',
  protocols: ['grpc', 'rest'],
  durationS: 2,
  warmupS: 0.5,
  rate: 900,
  grpcTarget: { host: 'svc', port: 50051 },
  restTarget: 'http://svc:3000',
  scenarios: [{ key: 'add/c12', connections: { grpc: 1, rest: 12 }, restPipelining: 1 }],
};

interface SegmentSpec {
  index: number;
  count?: number;
  values: number[];
  /** ms after 10:00:00 the measured window starts. */
  startMs?: number;
  durationMs?: number;
  host?: string;
  options?: Record<string, unknown>;
  run?: Partial<RunRecord>;
}

function segment(spec: SegmentSpec): LoadedResults {
  const count = spec.count ?? 3;
  const startMs = Date.parse('2026-12-01T10:00:00.000Z') + (spec.startMs ?? 0);
  const durationMs = spec.durationMs ?? 2_000;
  const histogram = histogramOf(spec.values);
  const run: RunRecord = {
    scenario: 'add/c12', protocol: 'grpc', driver: 'grpc-engine', operation: 'add', payloadValues: null, valueShape: null, compression: 'none',
    concurrency: 4, connections: 1, rate: 300, trial: 1, durationS: durationMs / 1000, status: 'completed', failure: null,
    requests: spec.values.length, errors: 0, statusCounts: { OK: spec.values.length }, rps: spec.values.length / (durationMs / 1000),
    latencyMs: { p50: histogram.getValueAtPercentile(50) / 1000, p90: 0, p99: histogram.getValueAtPercentile(99) / 1000, p999: 0, max: histogram.maxValue / 1000, mean: 0, stdev: 0 },
    wire: { requestBytesPerCall: 48 + spec.index, responseBytesPerCall: 48, requestHeaderBytesPerCall: 30, responseHeaderBytesPerCall: 39, countedBy: 'counting-proxy' },
    body: { requestBytes: 18, responseBytes: 9 },
    server: { cpuMsPer1kCalls: null, peakRssMiB: null },
    client: { cpuPercent: 10 * spec.index, cpuUsPerCall: 10 * spec.index, bound: false, cpuOf: 'runner' },
    latencyHistogram: encodeLatencyHistogram(histogram),
    window: { start: new Date(startMs).toISOString(), end: new Date(startMs + durationMs).toISOString() },
    host: spec.host ?? `gen-${spec.index}`,
    segment: { index: spec.index, count },
    ...spec.run,
  };
  histogram.destroy();
  const results: ResultsFile = {
    schemaVersion: SCHEMA_VERSION,
    environment: {
      date: new Date(startMs - 5_000).toISOString(), node: 'v20', os: 'test', cpuModel: 'built in a test', cpuCount: 2, totalMemoryMiB: 1, packages: {},
      gitCommit: null, pinning: null,
      options: { ...OPTIONS, segment: { index: spec.index, count }, startAt: '2026-12-01T10:00:00.000Z', outDir: `out-${spec.index}`, ...spec.options },
    },
    // The same figures for REST, so the gRPC-vs-REST readers have a pair.
    runs: [run, { ...run, protocol: 'rest', driver: 'http1-engine', connections: 4, statusCounts: { '200': run.requests } }],
  };
  return { file: `seg-${spec.index}/results.json`, dir: `seg-${spec.index}`, results };
}

const VALUES = [latencies(3_000, 1), latencies(2_000, 2), latencies(2_500, 3)];
const threeSegments = (): LoadedResults[] => VALUES.map((values, i) => segment({ index: i + 1, values }));

describe('histograms', () => {
  test('merging the encoded histograms equals one histogram built from all the values', () => {
    const parts = VALUES.map((values) => encodeLatencyHistogram(histogramOf(values))!);
    const merged = mergeLatencyHistograms(parts);
    const all = histogramOf(VALUES.flat());
    assert.equal(merged.totalCount, 7_500);
    assert.equal(merged.totalCount, all.totalCount);
    for (const percentile of [0, 1, 10, 25, 50, ...PERCENTILE_LADDER, 100]) {
      assert.equal(merged.getValueAtPercentile(percentile), all.getValueAtPercentile(percentile), `p${percentile}`);
    }
    // The encoding keeps counts per bucket, not values: max and min come back within their bucket (3 significant digits).
    assert.ok(Math.abs(merged.maxValue - all.maxValue) <= all.maxValue / 1000, `max ${merged.maxValue} vs ${all.maxValue}`);
    assert.ok(Math.abs(merged.minNonZeroValue - all.minNonZeroValue) <= all.minNonZeroValue / 1000);
    assert.equal(merged.mean, all.mean);
    assert.equal(merged.stdDeviation, all.stdDeviation);
    // The tail really is in there: p99.9 of all values is in the slow 2%.
    assert.ok(all.getValueAtPercentile(99.9) > 1_000);
  });

  test('an empty histogram is null; a string that is not one fails with one line', () => {
    assert.equal(encodeLatencyHistogram(createLatencyHistogram()), null);
    assert.throws(() => decodeLatencyHistogram('HISTFnot-a-histogram'), /latency histogram does not decode/);
  });
});

describe('checks', () => {
  test('three segments of one bench: no problem', () => {
    assert.deepEqual(checkSegments(threeSegments()), []);
  });

  test('one line per problem: doubled, missing, other count, other options, other scenarios, not a segment, no histograms', () => {
    const [one, two] = threeSegments();
    const problems = checkSegments([
      one!,
      two!,
      segment({ index: 2, values: [300] }),
      segment({ index: 4, count: 4, values: [300] }),
      segment({ index: 3, values: [300], options: { durationS: 5 } }),
      segment({ index: 3, values: [300], options: { scenarios: [{ key: 'add/c16', connections: { grpc: 1, rest: 16 }, restPipelining: 1 }] } }),
      segment({ index: 1, values: [300], options: { segment: null } }),
      segment({ index: 1, values: [300], run: { latencyHistogram: undefined } }),
    ]);
    assert.deepEqual(problems, [
      'seg-1: not a segment (run without --segment K/N)',
      'seg-1: its runs carry no latency histograms (written by an older version); run the segment again with this version',
      'seg-4: segment 4/4, but seg-1 is 1/3: the segment counts differ',
      'segment 2/3 given 2 times: seg-2, seg-2',
      'segment 3/3 given 2 times: seg-3, seg-3',
      'seg-3: option durationS is 5, seg-1 has 2',
      'seg-3: scenarios add/c16 {"grpc":1,"rest":16} differ from seg-1\'s add/c12 {"grpc":1,"rest":12}',
    ]);
    assert.deepEqual(checkSegments([one!, two!]), ['segment 3/3 missing']);
  });

  test('options that may differ per generator (output folder, start instant, pinning) do not count', () => {
    const segments = threeSegments();
    segments[1]!.results.environment.options.pin = true;
    segments[2]!.results.environment.options.startAt = '2026-12-01T10:00:00.250Z';
    assert.deepEqual(checkSegments(segments), []);
  });
});

describe('the merged record', () => {
  test('calls added, percentiles from the merged histogram, calls/s over the common window, bytes weighted by calls', () => {
    const segments = threeSegments();
    const merged = mergeSegments(segments);
    assertSchemaValid(merged);
    const run = merged.runs[0]!;
    const all = histogramOf(VALUES.flat());
    assert.equal(run.requests, 7_500);
    assert.equal(run.statusCounts.OK, 7_500);
    assert.equal(run.concurrency, 12);
    assert.equal(run.connections, 3);
    assert.equal(run.rate, 900);
    assert.equal(run.durationS, 2);
    assert.equal(run.rps, 3_750);
    assert.equal(run.latencyMs!.p99, Math.round(all.getValueAtPercentile(99)) / 1000);
    // The max is the segments' exact one, not its bucket's.
    assert.equal(run.latencyMs!.max, Math.max(...segments.map((input) => input.results.runs[0]!.latencyMs!.max)));
    assert.equal(run.latencyMs!.max, all.maxValue / 1000);
    assert.equal(run.latencyPercentilesMs!.at(-1)!.ms, Math.round(all.getValueAtPercentile(99.999)) / 1000);
    assert.equal(decodeLatencyHistogram(run.latencyHistogram!).totalCount, 7_500);
    // Segment k sent 48 + k request bytes per call: weighted by 3,000, 2,000 and 2,500 calls.
    assert.equal(run.wire.requestBytesPerCall, Math.round(((49 * 3_000 + 50 * 2_000 + 51 * 2_500) / 7_500) * 100) / 100);
    // Client: the busiest generator's %, µs per call over all calls, each segment's kept.
    assert.equal(run.client.cpuPercent, 30);
    assert.equal(run.client.cpuUsPerCall, Math.round(((10 * 3_000 + 20 * 2_000 + 30 * 2_500) / 7_500) * 10) / 10);
    assert.deepEqual(run.segments!.map((s) => [s.index, s.host, s.requests, s.client.cpuPercent]), [[1, 'gen-1', 3_000, 10], [2, 'gen-2', 2_000, 20], [3, 'gen-3', 2_500, 30]]);
    assert.equal(run.host, 'gen-1,gen-2,gen-3');
    assert.equal(run.segment, null);
    assert.deepEqual(run.skew, { startMs: 0, endMs: 0, percent: 0, flagged: false });
    assert.equal(merged.environment.options.segment, null);
    assert.deepEqual(merged.merge!.inputs.map((input) => input.segment), [1, 2, 3]);
    // Merged p99 lies between the segments' own.
    const p99s = run.segments!.map((s) => s.p99Ms!);
    assert.ok(run.latencyMs!.p99 >= Math.min(...p99s) && run.latencyMs!.p99 <= Math.max(...p99s));
  });

  test('windows 150 ms apart on a 2 s run: 7.5% skew, flagged, with a note; calls/s over the whole span', () => {
    const merged = mergeSegments(VALUES.map((values, i) => segment({ index: i + 1, values, startMs: i * 75 })));
    const run = merged.runs[0]!;
    assert.deepEqual(run.skew, { startMs: 150, endMs: 150, percent: 7.5, flagged: true });
    assert.equal(run.durationS, 2.15);
    assert.equal(run.rps, Math.round((7_500 / 2.15) * 10) / 10);
    assert.match(run.notes!.join('\n'), /7\.5% of the run apart .*over 5%/);
    assert.match(renderTable(merged), /7\.5% of the run apart/);
  });

  test('a failed or missing segment run fails the merged run with each reason; a client-bound segment flags it', () => {
    const segments = threeSegments();
    segments[0]!.results.runs[0]!.client.bound = true;
    segments[1]!.results.runs[0] = { ...segments[1]!.results.runs[0]!, status: 'failed', failure: 'server stopped answering' };
    segments[2]!.results.runs = [];
    const run = mergeSegments(segments).runs[0]!;
    assert.equal(run.status, 'failed');
    assert.equal(run.failure, 'segment 3 has no record of this run (its bench stopped before it); segment 2: server stopped answering');
    assert.equal(run.client.bound, true);
  });
});

describe('renderers and bench:compare on a merged folder', () => {
  test('bench:merge writes a folder every renderer and bench:compare read as they are', async () => {
    const root = tempDir('callbench-merge-');
    const dirs = threeSegments().map((input) => {
      const dir = path.join(root, input.dir);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'results.json'), JSON.stringify(input.results));
      return dir;
    });
    const out = path.join(root, 'merged');
    const result = await runMergeCli([...dirs, '--out', out]);
    assert.equal(result.exitCode, 0, result.problems.join('\n'));
    assert.match(result.stdout, /add\/c12 gRPC trial 1: 3750 calls\/s, p99 [\d.]+ ms from 3 segments \(1500\.0 \+ 1000\.0 \+ 1250\.0 calls\/s, p99 [\d.]+-[\d.]+ ms\); window skew 0% of the run/);
    for (const file of ['results.json', 'report.md', 'results.csv', 'report.html']) assert.ok(existsSync(path.join(out, file)), file);
    const merged = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ResultsFile;
    assertSchemaValid(merged);
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /## Segments[\s\S]*\| add\/c12 gRPC trial 1 \| 3 \| gen-3 \| completed \| 2500 \|/);

    assert.match(renderTable(merged), /^add\/c12 .* 3750 /m);
    assert.match(renderMarkdown(merged), /add\/c12/);
    assert.match(renderCsv(merged).split('\n')[1]!, /^add\/c12,grpc/);
    const html = await writeHtmlReport(tempDir('callbench-merge-html-'), merged);
    assert.ok(html.charts.length > 0);
    assert.equal(compareProtocols(merged, 0.05).length, 1);
    assert.equal(compareResults(merged, merged, { threshold: 0.05 }).rows.length, 2);
    assert.equal(runCompareCli([dirs[0]!, out]).exitCode, 0);

    const bad = await runMergeCli([dirs[0]!, dirs[0]!, '--out', path.join(root, 'never')]);
    assert.equal(bad.exitCode, 2);
    assert.deepEqual(bad.problems, [`segment 1/3 given 2 times: ${dirs[0]}, ${dirs[0]}`, 'segment 2/3 missing', 'segment 3/3 missing']);
    assert.ok(!existsSync(path.join(root, 'never')));
  });
});

describe('--segment shares and flags', () => {
  const resolve = (args: string[]) => resolveBenchOptions([...args, '--no-pin'], driverCatalog(), { canPin: false, nowMs: Date.parse('2026-12-01T10:00:00Z') });

  test('whole numbers split with the remainder to the first segments, the rate exactly', () => {
    assert.deepEqual([1, 2, 3].map((index) => shareOf(10, { index, count: 3 })), [4, 3, 3]);
    assert.deepEqual([1, 2, 3].map((index) => shareOf(12, { index, count: 3 })), [4, 4, 4]);
    assert.equal(segmentRate(900, { index: 2, count: 3 }), 300);
    assert.equal(segmentRate(null, { index: 2, count: 3 }), null);
    const [scenario] = segmentScenarios(buildScenarios({ ops: ['add'], sizes: [], concurrency: [10], sumConcurrency: [], connections: null, shapes: ['double'], compression: ['none'] }), { index: 3, count: 3 });
    assert.equal(scenario!.key, 'add/c10');
    assert.equal(scenario!.concurrency, 3);
    // gRPC's one connection cannot be split: every generator opens its own.
    assert.deepEqual(scenario!.connections, { grpc: 1, rest: 3 });
  });

  test('a scenario with fewer calls in flight than segments is a usage error naming it', () => {
    const scenarios = buildScenarios({ ops: ['add'], sizes: [], concurrency: [1, 2, 16], sumConcurrency: [], connections: null, shapes: ['double'], compression: ['none'] });
    assert.throws(
      () => segmentScenarios(scenarios, { index: 1, count: 3 }),
      (error: Error) => error instanceof UsageError && /add\/c1 \(1 in flight\), add\/c2 \(2 in flight\) cannot be split into 3 shares/.test(error.message),
    );
  });

  test('--segment and --start-at parse; bad ones and a segment without targets get one line', () => {
    const targets = ['--grpc-target', 'svc:50051', '--rest-target', 'http://svc:3000'];
    const options = resolve(['--segment', '2/3', '--start-at', '+30s', ...targets]);
    assert.deepEqual(options.segment, { index: 2, count: 3 });
    assert.equal(options.startAt, '2026-12-01T10:00:30.000Z');
    assert.equal(resolve(['--start-at', '2026-12-01T11:00:00+01:00']).startAt, '2026-12-01T10:00:00.000Z');
    assert.equal(resolve(['--start-at', '+2m']).startAt, '2026-12-01T10:02:00.000Z');
    assert.equal(resolve([]).segment, null);
    for (const [args, message] of [
      [['--segment', '4/3', ...targets], /--segment must be K\/N with 1 <= K <= N/],
      [['--segment', '0/3', ...targets], /--segment must be K\/N/],
      [['--segment', '1/3'], /--segment: every segment must load the same running servers; give --grpc-target and --rest-target/],
      [['--segment', '1/3', '--protocols', 'grpc', '--grpc-target', 'svc:50051'], null],
      [['--start-at', '2026-12-01T10:00:00'], /--start-at must be an ISO instant with its zone/],
      [['--start-at', 'soon'], /--start-at must be an ISO instant/],
      [['--start-at', '+30d'], /--start-at must be/],
    ] as const) {
      if (message === null) assert.doesNotThrow(() => resolve([...args]));
      else assert.throws(() => resolve([...args]), (error: Error) => error instanceof UsageError && message.test(error.message) && !error.message.includes('\n'));
    }
  });
});
