/**
 * bench:compare: verdicts, exit codes and the gRPC-vs-REST headline.
 * Most tests use SYNTHETIC results (bench/compare/synthetic.ts) with
 * realistic trial spreads; the last one compares two REAL small bench runs
 * side by side (about 16 s).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { runCompareCli } from '../../bench/cli/compare.ts';
import { compareMetric, compareResults, METRICS, shouldFail, type Comparison } from '../../bench/compare/compare.ts';
import { compareProtocols, headline } from '../../bench/compare/protocols.ts';
import { mannWhitneyFloor, mannWhitneyP, median } from '../../bench/compare/stats.ts';
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { spawnBench } from '../helpers/bench.ts';

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
after(() => rm(dir, { recursive: true, force: true }));

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

  test('the same 15% drop is within noise inside a ±25% trial spread and a regression with ±1% trials', () => {
    // Same seed on both sides: every head trial is exactly 0.85× its base trial, so the medians differ by
    // 15% (over the 10% threshold) in both cases and only the spread of the trials tells them apart.
    // Three uniform draws can land close together; with seed 4 every ±25% row spreads wider than 15%.
    const shape = { seed: 4, sizes: [], concurrency: [64] };
    for (const [noise, verdict] of [[0.25, 'within noise'], [0.01, 'regression']] as const) {
      const c = compareResults(syntheticResults({ ...shape, noise }), syntheticResults({ ...shape, noise, rpsFactor: 0.85 }));
      assert.equal(c.rows.length, 2);
      for (const row of c.rows) {
        const rps = row.metrics.find((m) => m.metric === 'rps')!;
        assert.ok(Math.abs(rps.change! + 0.15) < 1e-9, String(rps.change));
        assert.ok(noise === 0.25 ? rps.noise! > 0.15 : rps.noise! < 0.05, `±${noise * 100}% ${row.protocol}: rps noise ${rps.noise}`);
        assert.equal(row.verdict, verdict, `±${noise * 100}% ${row.protocol}`);
      }
    }
  });

  test('bands that miss each other are not enough when the trials overlap', () => {
    // gRPC p99 (ms) of two real runs of the same code: +71% change, ±69% combined spread, but the
    // head's fastest trial equals the base's fastest.
    const run = (p99: number) => ({ latencyMs: { p99 } }) as unknown as RunRecord;
    const m = compareMetric(METRICS.p99, [28.335, 21.119, 18.063].map(run), [37.151, 36.031, 18.111].map(run), 0.1);
    assert.ok(m.change! > m.noise! && m.noise! > 0.1, `${m.change} vs ${m.noise}`);
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
      const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli/compare.ts', ...args], { encoding: 'utf8' });
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

  test('gRPC is compared with REST in the same place only: TLS with TLS, through a proxy with the same proxy', () => {
    const base = syntheticResults({ seed: 1, sizes: [], concurrency: [16] });
    const at = (place: RunRecord['place'], rpsFactor: number): RunRecord[] => base.runs.map((run) => ({ ...run, place, rps: run.rps * rpsFactor }));
    const direct = { tls: false, proxy: null, replicas: null, balance: null };
    const results: ResultsFile = {
      ...base,
      runs: [...at(direct, 1), ...at({ ...direct, tls: true }, 0.5), ...at({ tls: false, proxy: 'nginx', replicas: 2, balance: 'l7' }, 0.25)],
    };
    const lines = headline(results);
    // Three places, one sentence each (not 3 x 3 pairs), each named.
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, /^add, 16 in flight, direct: /);
    assert.match(lines[1]!, /^add, 16 in flight, TLS, direct: /);
    assert.match(lines[2]!, /^add, 16 in flight via nginx l7 x2: /);
    // Each place's ratio is its own rows': the same factor on both protocols leaves it unchanged.
    const ratios = compareProtocols(results).map((c) => c.grpcOverRest.toFixed(6));
    assert.equal(new Set(ratios).size, 1, ratios.join());
  });
});

/** Runs a small real bench (add at 16 in flight, 5 trials of 0.5 s) writing to `out`; resolves to its run folder. */
async function smallBench(out: string): Promise<string> {
  const run = await spawnBench([
    ...['--profile', 'quick', '--ops', 'add', '--concurrency', '16', '--trials', '5'],
    ...['--duration', '0.5', '--warmup', '0.3', '--connection-calls', '0', '--progress', 'none', '--out', out],
  ]).done;
  if (run.code !== 0) throw new Error(`bench exited ${run.code}: ${run.stderr.slice(-2000)}`);
  return path.join(out, 'latest');
}

describe('two REAL runs of the same code, side by side', () => {
  // At the same time, so whatever else the machine runs slows both alike. Measured one after the
  // other on a shared 2-CPU machine, a head run that other processes starved looked 90% slower
  // (docs/reports.md, "Busy machines"): that is the machine, which no trial spread can see.
  test('are within noise on every row, and --fail-on-regression exits 0', { timeout: 120_000 }, async (t) => {
    const [a, b] = await Promise.all([smallBench(path.join(dir, 'real-a')), smallBench(path.join(dir, 'real-b'))]);
    const result = runCompareCli([a, b, '--fail-on-regression', '--json']);
    const comparison = JSON.parse(result.stdout) as Comparison;
    const rows = comparison.rows.map(
      (r) => `${r.protocol} ${r.verdict}: ${r.metrics.map((m) => `${m.metric} ${((m.change ?? 0) * 100).toFixed(1)}% ±${((m.noise ?? 0) * 100).toFixed(1)}%`).join(', ')}`,
    );
    for (const row of rows) t.diagnostic(row);
    const flagged = comparison.rows.flatMap((r) =>
      r.metrics.filter((m) => m.verdict === 'regression' || m.verdict === 'improvement').map((m) => `${r.protocol} ${m.metric} base ${m.base.join('/')} head ${m.head.join('/')}`),
    );
    const spreads = [...rows, ...flagged].join('; ');
    assert.deepEqual(comparison.rows.map((r) => `${r.protocol} ${r.trials.base}→${r.trials.head}`), ['grpc 5→5', 'rest 5→5']);
    assert.ok(comparison.rows.every((r) => r.verdict === 'within noise'), spreads);
    assert.equal(result.exitCode, 0, spreads);
  });
});

describe('row keys: every dimension that tells two rows apart', () => {
  const base = syntheticResults().runs[0]!;
  test('TLS and cleartext rows, stream transports and contenders are rows of their own; defaults add nothing', async () => {
    const { groupRuns, rowKey } = await import('../../bench/compare/compare.ts');
    // A calculator row as schema 1-3 files wrote it keeps its key (a baseline written before schema 4 still matches).
    assert.equal(rowKey(base), `${base.scenario}\u0000${base.protocol}\u0000${base.driver}`);
    assert.equal(rowKey({ ...base, place: { tls: false, proxy: null, replicas: null, balance: null } }), rowKey(base));
    const variants = [
      base,
      { ...base, place: { tls: true, proxy: null, replicas: null, balance: null } },
      // Before schema 4 a sweep's TLS rows said so only in their connection-cost record.
      { ...base, tls: { enabled: true, version: 'TLSv1.3', calls: 0, newConnectionCallMs: null, keptAliveCallMs: null, handshakeMs: null, handshakeBytes: null } },
      { ...base, transport: 'ndjson' as const, unit: 'message' as const },
      { ...base, transport: 'websocket' as const, unit: 'message' as const },
      { ...base, contender: { name: 'fastify', wire: 'http1' as const, encoding: 'json' as const, implementation: 'fastify 5' } },
      { ...base, contender: { name: 'node-http', wire: 'http1' as const, encoding: 'json' as const, implementation: 'node:http' } },
      { ...base, place: { tls: false, proxy: 'nginx', replicas: 2, balance: 'l4' as const } },
    ];
    const groups = groupRuns(variants);
    // The two TLS spellings are one row; every other variant is a row of its own.
    assert.equal(groups.size, variants.length - 1);
    assert.equal(rowKey(variants[1]!), rowKey(variants[2]!));
  });
});
