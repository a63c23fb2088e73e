/**
 * .github/workflows/bench.yml and bench:ci. The workflow is parsed with `yaml`
 * and checked for its triggers and steps; then its bench step is executed
 * for real with bash (npm run, tee to a fake $GITHUB_STEP_SUMMARY) against
 * SYNTHETIC results (--results/--baseline appended, so no bench runs), to show
 * that what the workflow posts is exactly bench:ci's stdout. One more test
 * runs bench:ci end to end on a REAL quick run with 1 trial (~15 s).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { runCi } from '../../bench/cli/ci.ts';
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import type { ResultsFile } from '../../bench/results/record.ts';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  with?: Record<string, unknown>;
}

const workflow = parse(readFileSync('.github/workflows/bench.yml', 'utf8')) as {
  on: { pull_request?: unknown; push?: { branches?: string[] } };
  jobs: Record<string, { steps: Step[] }>;
};
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
const benchStep = steps.find((s) => s.run?.includes('bench:ci'));

let dir: string;
async function save(name: string, results: ResultsFile): Promise<string> {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'results.json'), JSON.stringify(results));
  return folder;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'callbench-workflow-'));
});

describe('.github/workflows/bench.yml', () => {
  test('runs on pull requests and on pushes to main', () => {
    assert.ok('pull_request' in workflow.on);
    assert.deepEqual(workflow.on.push?.branches, ['main']);
  });

  test('checkout, Node 20, npm ci, h2load, bench:ci, summary, artifact, in that order', () => {
    const index = (predicate: (s: Step) => boolean, what: string) => {
      const i = steps.findIndex(predicate);
      assert.ok(i >= 0, `missing step: ${what}`);
      return i;
    };
    const order = [
      index((s) => s.uses?.startsWith('actions/checkout@') ?? false, 'checkout'),
      index((s) => s.uses?.startsWith('actions/setup-node@') === true && String(s.with?.['node-version']) === '20', 'setup-node 20'),
      index((s) => /^npm ci\b/m.test(s.run ?? ''), 'npm ci'),
      index((s) => /apt-get install -y nghttp2-client/.test(s.run ?? ''), 'h2load'),
      index((s) => s === benchStep, 'bench:ci'),
      index((s) => s.uses?.startsWith('actions/upload-artifact@') ?? false, 'upload-artifact'),
    ];
    assert.deepEqual([...order].sort((a, b) => a - b), order);
  });

  test('the bench step posts bench:ci stdout to the summary, compares with --fail-on-regression, fails on its exit code', () => {
    const run = benchStep!.run!;
    assert.match(run, /npm run --silent bench:ci -- /, 'calls the script, --silent keeps npm banners out of stdout');
    assert.match(run, /--fail-on-regression/);
    assert.match(run, /\|\s*tee -a "\$GITHUB_STEP_SUMMARY"/);
    assert.match(run, /set -o pipefail/, 'the step fails when bench:ci does, not with tee');
    assert.equal(benchStep!.shell, 'bash');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts['bench:ci'], 'tsx bench/cli/ci.ts');
    assert.match(run, /bench:ci -- [^|]*--out results\/ci/);
  });

  test('the artifact holds the run folder even when the bench step failed', () => {
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    assert.equal(upload.if, 'always()');
    assert.match(String(upload.with?.path), /results\/ci\//);
  });
});

describe('bench:ci output is what the workflow posts (synthetic results)', () => {
  test('executing the workflow step writes exactly bench:ci stdout to $GITHUB_STEP_SUMMARY', async () => {
    const base = await save('baseline', syntheticResults({ seed: 1 }));
    const head = await save('head', syntheticResults({ seed: 2, rpsFactor: 0.7, factorProtocols: ['grpc'] }));
    const extra = `--results ${head} --baseline ${base}`;
    const script = benchStep!.run!.replace('bench:ci -- ', `bench:ci -- ${extra} `);
    const summary = path.join(dir, 'summary.md');
    await writeFile(summary, '');
    const step = spawnSync('bash', ['-e', '-c', script], { encoding: 'utf8', env: { ...process.env, GITHUB_STEP_SUMMARY: summary } });
    const posted = readFileSync(summary, 'utf8');

    const args = benchStep!.run!.match(/bench:ci -- ([^|]*)\|/)![1]!.trim().split(/\s+/);
    const direct = await runCi([...extra.split(' '), ...args]);
    assert.equal(posted, direct.stdout, 'summary = bench:ci stdout');
    assert.equal(step.stdout, direct.stdout, 'the log shows the same');
    assert.match(posted, /^# callbench: gRPC vs REST/);
    assert.match(posted, /## gRPC vs REST/);
    assert.match(posted, /## Comparison: base → head/);
    assert.match(posted, /regression/);
    // A 30% drop on the same (synthetic) machine with --fail-on-regression fails the step.
    assert.equal(direct.exitCode, 1);
    assert.equal(step.status, 1);
    assert.ok(existsSync(path.join(head, 'report.html')) && existsSync(path.join(head, 'charts', 'throughput.svg')));
  });

  test('without --fail-on-regression, or against another machine, a regression is reported but exits 0', async () => {
    const base = await save('baseline-other', syntheticResults({ seed: 1, environment: { cpuModel: 'Other CPU', cpuCount: 64 } }));
    const head = await save('head-2', syntheticResults({ seed: 2, rpsFactor: 0.7, factorProtocols: ['grpc'] }));
    const across = await runCi(['--results', head, '--baseline', base, '--fail-on-regression']);
    assert.equal(across.exitCode, 0);
    assert.match(across.stdout, /Different machines/);
    assert.match(across.stdout, /Not failing despite \d+ regression/);
    const same = await save('baseline-same', syntheticResults({ seed: 1 }));
    assert.equal((await runCi(['--results', head, '--baseline', same])).exitCode, 0);
    const none = await runCi(['--results', head, '--baseline', path.join(dir, 'no-baseline')]);
    assert.equal(none.exitCode, 0);
    assert.match(none.stdout, /No baseline at/);
  });

  test('bad input: one line on stderr, exit 2', async () => {
    // The three refusals are independent processes that send no load: started side by side, checked one by one.
    const cases = [['--trials', 'x'], ['--results', '/nonexistent'], ['extra']];
    const children = await Promise.all(
      cases.map(
        (args) =>
          new Promise<{ status: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', 'bench/cli/ci.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
            child.on('close', (status) => resolve({ status, stderr }));
          }),
      ),
    );
    for (const [i, child] of children.entries()) {
      assert.equal(child.status, 2, `${cases[i]!.join(' ')}: ${child.stderr}`);
      assert.equal(child.stderr.trim().split('\n').length, 1, child.stderr);
    }
  });
});

describe('bench:ci on a REAL quick run', () => {
  test('runs the bench, renders report.html and prints the report', { timeout: 120_000 }, async () => {
    const out = path.join(dir, 'ci-real');
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cli/ci.ts', '--out', out, '--trials', '1', '--baseline', path.join(dir, 'none')], {
      encoding: 'utf8',
      timeout: 110_000,
    });
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    // The quick profile at its real lengths stays quick (the check test/cli/cli.test.ts made before it cut its runs).
    assert.ok(Date.now() - started < 30_000, `bench:ci on the quick profile took ${Date.now() - started} ms`);
    assert.match(child.stdout, /^# callbench: gRPC vs REST/);
    assert.match(child.stdout, /: (gRPC|REST) [\d.]+× (REST|gRPC) calls\/s \(trials 1, no spread\)|within 10% calls\/s/);
    assert.match(child.stdout, /No baseline at/);
    assert.ok(existsSync(path.join(out, 'latest', 'results.json')));
    assert.ok(existsSync(path.join(out, 'latest', 'report.html')));
    assert.ok(existsSync(path.join(out, 'latest', 'charts', 'latency-percentiles.svg')));
    assert.doesNotMatch(child.stdout, /bench: \d+ scenario/, 'bench progress stays on stderr');
  });
});
