/**
 * bench:compare: verdicts, exit codes and the gRPC-vs-REST headline.
 * Default tests use SYNTHETIC results (bench/compare/synthetic.ts) with
 * realistic trial spreads; the test on two REAL quick runs is opt-in
 * (CALLBENCH_REAL_RUNS=1, about two minutes) because it runs the bench twice.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { runCompareCli } from '../bench/compare/cli.ts';
import { compareMetric, compareResults, METRICS, shouldFail } from '../bench/compare/compare.ts';
import { compareProtocols, headline } from '../bench/compare/protocols.ts';
import { mannWhitneyFloor, mannWhitneyP, median } from '../bench/compare/stats.ts';
import { syntheticResults } from '../bench/compare/synthetic.ts';
import type { ResultsFile, RunRecord } from '../bench/results/record.ts';

let dir: string;
async function save(name: string, results: ResultsFile): Promise<string> {
  const folder = path.join(dir, name);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'results.json'), JSON.stringify(results));
  return folder;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'callbench-compare-'));
});

describe('synthetic fixtures', () => {
  test('follow the results contract (results/schema.json) and say they are not measured', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(JSON.parse(readFileSync('results/schema.json', 'utf8')));
    const results = syntheticResults({ boundFrom: 64 });
    assert.ok(validate(results), ajv.errorsText(validate.errors));
    assert.match(results.environment.cpuModel, /synthetic fixture \(not measured\)/);
  });
});

describe('statistics', () => {
  test('median and the exact Mann–Whitney p-value', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    // Fully separated 3 vs 3: 2 of the 20 splits are as extreme.
    assert.equal(mannWhitneyP([1, 2, 3], [4, 5, 6]), 0.1);
    assert.equal(mannWhitneyFloor(3, 3), 0.1);
    assert.equal(mannWhitneyP([1, 4, 5], [2, 3, 6]), 1);
    assert.ok(mannWhitneyP([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]) < 0.001);
  });
});

describe('base → head (synthetic results)', () => {
  test('a 30% throughput drop in gRPC is a regression; REST, unchanged, is within noise', () => {
    const base = syntheticResults({ seed: 1, noise: 0.03 });
    const head = syntheticResults({ seed: 2, noise: 0.03, rpsFactor: 0.7, factorProtocols: ['grpc'] });
    const comparison = compareResults(base, head);
    const grpc = comparison.rows.filter((r) => r.protocol === 'grpc');
    const rest = comparison.rows.filter((r) => r.protocol === 'rest');
    assert.ok(grpc.length > 0 && grpc.every((r) => r.verdict === 'regression'), grpc.map((r) => r.verdict).join());
    assert.ok(grpc.every((r) => r.because.includes('rps')));
    for (const row of grpc) {
      const rps = row.metrics.find((m) => m.metric === 'rps')!;
      assert.ok(rps.change! < -0.25 && rps.change! > -0.35, String(rps.change));
    }
    assert.ok(rest.every((r) => r.verdict === 'within noise'), rest.map((r) => r.verdict).join());
    assert.equal(comparison.environment.sameMachine, true);
    assert.equal(shouldFail(comparison, { failOnRegression: true }), true);
    assert.equal(shouldFail(comparison, { failOnRegression: false }), false);
  });

  test('two repeated runs of the same code (realistic synthetic spreads, ±5% between trials) are within noise', () => {
    for (const seeds of [[1, 2], [3, 4], [5, 6], [7, 8]]) {
      const base = syntheticResults({ seed: seeds[0], noise: 0.05 });
      const head = syntheticResults({ seed: seeds[1], noise: 0.05 });
      const comparison = compareResults(base, head);
      assert.equal(comparison.regressions, 0, `seeds ${seeds}`);
      assert.equal(comparison.improvements, 0, `seeds ${seeds}`);
    }
  });

  test('a change above the threshold but inside the trials\' spread is within noise', () => {
    const run = (rps: number, trial: number) => ({ rps, trial }) as unknown as RunRecord;
    const base = [run(100, 1), run(130, 2), run(75, 3)];
    const head = [run(85, 1), run(110, 2), run(60, 3)];
    const m = compareMetric(METRICS.rps, base, head, 0.1);
    assert.ok(Math.abs(m.change! + 0.15) < 1e-9);
    assert.ok(m.noise! > 0.15);
    assert.equal(m.verdict, 'within noise');
  });

  test('with one trial the threshold alone decides, and the row says so', () => {
    const base = syntheticResults({ trials: 1, seed: 1, noise: 0 });
    const small = compareResults(base, syntheticResults({ trials: 1, seed: 1, noise: 0, rpsFactor: 0.95 }));
    assert.equal(small.regressions, 0);
    const big = compareResults(base, syntheticResults({ trials: 1, seed: 1, noise: 0, rpsFactor: 0.8 }));
    assert.ok(big.regressions > 0);
    assert.ok(big.rows[0]!.notes.some((n) => n.includes('1 trial, no spread')));
    assert.equal(big.rows[0]!.metrics[0]!.noise, null);
  });

  test('a faster head is an improvement, a failed head trial fails the row, missing/new rows are named', () => {
    const base = syntheticResults({ seed: 1, sizes: [] });
    const faster = compareResults(base, syntheticResults({ seed: 2, sizes: [], rpsFactor: 1.4 }));
    assert.ok(faster.rows.every((r) => r.verdict === 'improvement'));

    const head = syntheticResults({ seed: 2, sizes: [] });
    head.runs[0] = { ...head.runs[0]!, status: 'failed', failure: 'server exited' };
    head.runs = head.runs.filter((r) => r.scenario !== 'add/c256');
    head.runs.push({ ...head.runs[1]!, scenario: 'add/c512', concurrency: 512 });
    const c = compareResults(base, head);
    assert.equal(c.rows.find((r) => r.scenario === 'add/c1' && r.protocol === 'grpc')!.verdict, 'failed');
    assert.equal(c.rows.find((r) => r.scenario === 'add/c256')!.verdict, 'missing in head');
    assert.equal(c.rows.find((r) => r.scenario === 'add/c512')!.verdict, 'new in head');
  });

  test('different machines are reported and do not fail unless asked', () => {
    const base = syntheticResults({ seed: 1 });
    const head = syntheticResults({ seed: 2, rpsFactor: 0.7, environment: { cpuModel: 'Other CPU', cpuCount: 4 } });
    const c = compareResults(base, head);
    assert.equal(c.environment.sameMachine, false);
    assert.ok(c.environment.differences.some((d) => d.includes('Other CPU')));
    assert.equal(shouldFail(c, { failOnRegression: true }), false);
    assert.equal(shouldFail(c, { failOnRegression: true, acrossMachines: true }), true);
  });
});

describe('bench:compare CLI (synthetic results)', () => {
  test('prints a table per scenario with verdicts; --fail-on-regression exits 1 on a 30% drop', async () => {
    const base = await save('base', syntheticResults({ seed: 1 }));
    const head = await save('head', syntheticResults({ seed: 2, rpsFactor: 0.7, factorProtocols: ['grpc'] }));
    const plain = runCompareCli([base, head]);
    assert.equal(plain.exitCode, 0);
    assert.match(plain.stdout, /\| add\/c64 \| gRPC \| grpc-engine \| 3→3 \|.*regression/);
    assert.match(plain.stdout, /\| add\/c64 \| REST \| autocannon \| 3→3 \|.*within noise/);
    const failing = runCompareCli([base, head, '--fail-on-regression']);
    assert.equal(failing.exitCode, 1);
    assert.match(failing.stdout, /Failing: \d+ regression/);
    assert.equal(runCompareCli([base, head, '--fail-on-regression', '--threshold', '50%']).exitCode, 0);
    const json = JSON.parse(runCompareCli([base, head, '--json']).stdout);
    assert.ok(json.regressions > 0);
  });

  test('one argument: gRPC vs REST inside the run, with ratio and confidence', async () => {
    const run = await save('one', syntheticResults({ seed: 1 }));
    const out = runCompareCli([run]).stdout;
    assert.match(out, /## gRPC vs REST/);
    assert.match(out, /add, 64 in flight: gRPC \d+(\.\d+)?× REST calls\/s \(trials 3, min–max ratio [\d.]+–[\d.]+, confidence high\) on synthetic fixture/);
  });

  test('bad input: one line on stderr, exit 2', () => {
    const cases = [[], ['/nonexistent/run'], [dir], ['a', 'b', 'c'], ['--threshold', 'lots', 'x', 'y'], ['--bogus']];
    for (const args of cases) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/compare/cli.ts', ...args], { encoding: 'utf8' });
      assert.equal(child.status, 2, `${args.join(' ')}: ${child.stderr}`);
      assert.equal(child.stderr.trim().split('\n').length, 1, child.stderr);
      assert.match(child.stderr, /^bench:compare: /);
    }
  });
});

describe('headline (synthetic results)', () => {
  test('names the winner, the ratio, the trials\' min–max ratio, the machine and Node', () => {
    const results = syntheticResults({ seed: 1 });
    const lines = headline(results);
    assert.equal(lines.length, compareProtocols(results).length);
    assert.match(lines[1]!, /^add, 16 in flight: gRPC [\d.]+× REST calls\/s \(trials 3, min–max ratio [\d.]+–[\d.]+, confidence high\) on synthetic fixture \(not measured\) ×8, Node v20\.0\.0$/);
  });

  test('REST winning, ties, one trial and disagreeing trials are worded as such', () => {
    const restWins = syntheticResults({ seed: 1, sizes: [], concurrency: [16], rpsFactor: 0.3, factorProtocols: ['grpc'] });
    assert.match(headline(restWins)[0]!, /: REST [\d.]+× gRPC calls\/s/);
    const tie = syntheticResults({ seed: 1, sizes: [], concurrency: [16], rpsFactor: 0.45, factorProtocols: ['grpc'], noise: 0 });
    assert.match(headline(tie)[0]!, /gRPC and REST within 10% calls\/s/);
    const single = syntheticResults({ trials: 1, sizes: [], concurrency: [16] });
    assert.match(headline(single)[0]!, /\(trials 1, no spread\)/);
    const noisy = syntheticResults({ seed: 4, sizes: [], concurrency: [16], rpsFactor: 0.5, factorProtocols: ['grpc'], noise: 0.4 });
    const c = compareProtocols(noisy)[0]!;
    assert.ok(c.confidence === 'low' || c.confidence === 'medium', c.confidence);
  });
});

describe('two REAL quick runs of the same code', () => {
  const skip = process.env.CALLBENCH_REAL_RUNS === '1' ? false : 'set CALLBENCH_REAL_RUNS=1 to run the bench twice (about two minutes)';
  test('are within noise', { skip, timeout: 600_000 }, async () => {
    const dirs: string[] = [];
    for (const name of ['real-a', 'real-b']) {
      const out = path.join(dir, name);
      const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli.ts', '--profile', 'quick', '--trials', '3', '--out', out], {
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      assert.equal(child.status, 0);
      dirs.push(path.join(out, 'latest'));
    }
    const result = runCompareCli([dirs[0]!, dirs[1]!, '--fail-on-regression']);
    process.stdout.write(result.stdout.replace(/^/gm, '# '));
    assert.equal(result.exitCode, 0);
  });
});
