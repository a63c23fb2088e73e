/**
 * Load from several generators, on one machine: three bench processes, each
 * `--segment k/3 --rate 900` (300 calls/s each) with the same --start-at,
 * against one pair of real calculator servers (servers/serve.ts), then bench:merge. The merged
 * folder must add the calls up, report about 900 calls/s, put its p99 between
 * the segments' smallest and largest, say how far apart the windows were, and
 * be read by bench:compare like any run. About 30 s.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCompareCli } from '../../bench/cli/compare.ts';
import { runMergeCli } from '../../bench/cli/merge.ts';
import type { ResultsFile } from '../../bench/results/record.ts';
import { assertSchemaValid, runBenchCli, tempDir } from '../helpers/bench.ts';
import { spawnServe, type ServeChild } from '../helpers/servers.ts';

const SEGMENTS = 3;
const RATE = 900;
/** Time for three tsx processes to start and pass their connection-cost pass on a busy 2-core machine before the first warm-up. */
const START_LEAD_S = 15;

describe('three generators, one server, bench:merge', () => {
  // The servers in a process of their own, as the generators would find them on another machine.
  let servers: ServeChild;
  before(async () => {
    servers = await spawnServe(['--grpc-port', '0', '--rest-port', '0']);
  });
  after(async () => {
    await servers.stop();
  });

  test('merged calls = sum, calls/s ≈ sum of the segments\' (≈ 900), p99 between theirs, a skew line, bench:compare reads it', async () => {
    const root = tempDir('callbench-segments-');
    // 16 calls in flight per segment: room for 300 calls/s even when a busy machine makes calls take 30 ms.
    const startAt = new Date(Date.now() + START_LEAD_S * 1000).toISOString();
    const common = [
      '--ops', 'add', '--concurrency', '48', '--rate', String(RATE), '--duration', '2', '--warmup', '0.5',
      '--wire-calls', '100', '--connection-calls', '0', '--no-pin', '--progress', 'none', '--start-at', startAt,
      '--grpc-target', servers.grpcAddress!, '--rest-target', servers.restUrl!,
    ];
    const outs = Array.from({ length: SEGMENTS }, (_, i) => path.join(root, `segment-${i + 1}`));
    const runs = await Promise.all(outs.map((out, i) => runBenchCli([...common, '--segment', `${i + 1}/${SEGMENTS}`, '--out', out])));
    runs.forEach((run, i) => assert.equal(run.code, 0, `segment ${i + 1}: ${run.stderr}`));
    const segments = outs.map((out) => JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as ResultsFile);
    for (const [i, segment] of segments.entries()) {
      assertSchemaValid(segment);
      for (const run of segment.runs) {
        assert.deepEqual(run.segment, { index: i + 1, count: SEGMENTS });
        assert.equal(run.rate, RATE / SEGMENTS);
        assert.equal(run.concurrency, 16);
        assert.ok(run.window && run.latencyHistogram, `${run.scenario} ${run.protocol}: window and histogram recorded`);
      }
    }

    const merged = path.join(root, 'merged');
    const result = await runMergeCli([...outs.map((out) => path.join(out, 'latest')), '--out', merged]);
    assert.equal(result.exitCode, 0, result.problems.join('\n'));
    const file = JSON.parse(readFileSync(path.join(merged, 'results.json'), 'utf8')) as ResultsFile;
    assertSchemaValid(file);
    assert.equal(file.runs.length, 2);
    for (const run of file.runs) {
      const parts = segments.map((segment) => segment.runs.find((r) => r.protocol === run.protocol)!);
      const label = `${run.scenario} ${run.protocol}`;
      assert.equal(run.status, 'completed', `${label}: ${run.failure}`);
      assert.equal(run.requests, parts.reduce((sum, part) => sum + part.requests, 0), `${label}: calls = sum of the segments'`);
      assert.equal(run.rate, RATE);
      assert.equal(run.concurrency, 48);
      const sumOfRates = parts.reduce((sum, part) => sum + part.rps, 0);
      assert.ok(Math.abs(run.rps - sumOfRates) / sumOfRates < 0.1, `${label}: ${run.rps} calls/s merged vs ${sumOfRates} summed, skew ${JSON.stringify(run.skew)}`);
      assert.ok(Math.abs(run.rps - RATE) / RATE < 0.15, `${label}: ${run.rps} calls/s, asked ${RATE}`);
      const p99s = parts.map((part) => part.latencyMs!.p99);
      assert.ok(run.latencyMs!.p99 >= Math.min(...p99s) && run.latencyMs!.p99 <= Math.max(...p99s), `${label}: p99 ${run.latencyMs!.p99} vs ${p99s}`);
      assert.ok(run.skew, `${label}: skew measured`);
      assert.match(result.stdout, new RegExp(`${run.scenario} ${run.protocol === 'grpc' ? 'gRPC' : 'REST'} trial 1: [\\d.]+ calls/s, .*window skew [\\d.]+% of the run`));
    }
    const compared = runCompareCli([merged]);
    assert.equal(compared.exitCode, 0);
    assert.match(compared.stdout, /add, open loop at 900\/s \(≤48 in flight\)/);
    assert.equal(runCompareCli([path.join(outs[0]!, 'latest'), merged]).exitCode, 0);
  });
});
