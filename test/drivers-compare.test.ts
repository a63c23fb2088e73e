/**
 * bench:drivers end to end, very short: the CLI starts the servers as child
 * processes, runs every generator once for a fraction of a second and writes
 * drivers.json + drivers.md. Asserts structure and counts, never speeds.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDriversArgs } from '../bench/drivers-compare.ts';
import { H2LOAD_MISSING_LINE, median, runComparison, type ScenarioResult } from '../bench/drivers-compare/run.ts';
import { renderMarkdownTable, TABLE_HEADER } from '../bench/drivers-compare/render.ts';
import { findH2load } from '../bench/drivers/h2load.ts';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(REPO_ROOT, 'bench/drivers-compare.ts');
const out = mkdtempSync(path.join(os.tmpdir(), 'callbench-drivers-'));
after(() => rmSync(out, { recursive: true, force: true }));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('a one-round run writes drivers.json and drivers.md with every scenario and generator', { timeout: 35_000 }, async () => {
  const result = await runCli(['--rounds', '1', '--duration', '0.3', '--warmup', '0', '--no-pin', '--out', out]);
  assert.equal(result.code, 0, result.stderr || result.stdout);
  const folders = readdirSync(out);
  assert.equal(folders.length, 1);
  assert.match(folders[0]!, /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-drivers$/);
  const dir = path.join(out, folders[0]!);
  assert.deepEqual(readdirSync(dir).sort(), ['drivers.json', 'drivers.md'], 'no temp files left behind');

  const report = JSON.parse(readFileSync(path.join(dir, 'drivers.json'), 'utf8'));
  assert.equal(report.schema, 'callbench-drivers/1');
  assert.equal(report.pinning, null);
  assert.deepEqual(report.options, { rounds: 1, durationS: 0.3, warmupS: 0, timeoutMs: 5000, withClients: true });
  const scenarios = report.scenarios as ScenarioResult[];
  assert.deepEqual(
    scenarios.map((s) => [s.id, s.connections, s.concurrency]),
    [
      ['grpc/add/conn1-inflight64', 1, 64],
      ['grpc/add/conn4-inflight256', 4, 256],
      ['rest/add/conn64-inflight64', 64, 64],
    ],
  );
  const hasH2load = findH2load() !== null;
  const expected = [
    ['grpc-engine', 'h2load', 'grpc-js-client'],
    ['grpc-engine', 'h2load', 'grpc-js-client'],
    ['autocannon', 'h2load', 'http1-engine', 'undici-client'],
  ].map((ids) => (hasH2load ? ids : ids.filter((id) => id !== 'h2load')));
  assert.deepEqual(
    scenarios.map((s) => s.generators.map((g) => g.generator)),
    expected,
  );
  for (const scenario of scenarios) {
    for (const g of scenario.generators) {
      assert.equal(g.rounds.length, 1, `${scenario.id} ${g.generator}`);
      const [m] = g.rounds;
      assert.equal(m!.failure, null, `${scenario.id} ${g.generator}: ${m!.failure}`);
      assert.ok(m!.calls > 0, `${scenario.id} ${g.generator} made calls`);
      assert.equal(g.errors, 0, `${scenario.id} ${g.generator}: ${JSON.stringify(m!.statusCounts)}`);
      assert.equal(typeof g.medianRps, 'number');
      assert.equal(typeof g.medianClientCpuUsPerCall, 'number', `${g.generator} CPU measured`);
      assert.equal(typeof g.medianServerCpuUsPerCall, 'number', `${g.generator} server CPU measured`);
      if (g.generator === scenario.reference) assert.equal(g.rpsRatio, null);
      else if (hasH2load) assert.equal(typeof g.rpsRatio, 'number');
    }
    if (!hasH2load) assert.deepEqual(scenario.skipped, [{ generator: 'h2load', reason: 'h2load not on PATH' }]);
  }

  const markdown = readFileSync(path.join(dir, 'drivers.md'), 'utf8');
  assert.ok(markdown.includes(`| ${TABLE_HEADER.join(' | ')} |`));
  for (const id of ['grpc-engine', 'autocannon', 'http1-engine', 'grpc-js-client', 'undici-client']) assert.ok(markdown.includes(id));
  assert.match(markdown, /npm run bench:drivers -- --rounds 1/);
  assert.match(result.stdout, /wrote .*drivers\.json/);
});

test('bad arguments: one line and the usage, exit 2', async () => {
  const result = await runCli(['--rounds', '0']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^--rounds must be a positive integer, got "0"\nusage: bench:drivers/);
  assert.throws(() => parseDriversArgs(['--duration', 'abc']), /--duration must be a positive number/);
  assert.throws(() => parseDriversArgs(['--bogus']), /bogus/);
  assert.deepEqual(parseDriversArgs([]), { rounds: 3, durationS: 3, warmupS: 2, timeoutMs: 5000, withClients: true, pin: true, outDir: 'results' });
});

test('median and ratio rendering', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), null);
  const table = renderMarkdownTable([
    {
      id: 'x',
      protocol: 'rest',
      connections: 2,
      concurrency: 2,
      reference: 'h2load',
      generators: [],
      skipped: [{ generator: 'h2load', reason: 'h2load not on PATH' }],
    },
  ]);
  assert.match(table, /\| rest 2 conn, 2 in flight \| h2load \| skipped: h2load not on PATH \|/);
});

test('without h2load: one line saying so, and its rows are skipped', async () => {
  const lines: string[] = [];
  const result = await runComparison({
    servers: {
      grpc: { target: { protocol: 'grpc', host: '127.0.0.1', port: 1 }, pid: null },
      rest: { target: { protocol: 'rest', url: 'http://127.0.0.1:1' }, pid: null },
    },
    scenarios: [{ id: 'only-h2load', protocol: 'rest', connections: 1, concurrency: 1, generators: ['h2load'], reference: 'h2load' }],
    rounds: 1,
    durationS: 0.1,
    warmupS: 0,
    timeoutMs: 100,
    childPrefix: [],
    h2loadAvailable: false,
    onLine: (line) => lines.push(line),
  });
  assert.match(H2LOAD_MISSING_LINE, /apt-get install nghttp2-client/);
  assert.equal(lines[0], H2LOAD_MISSING_LINE);
  assert.deepEqual(result.notes, [H2LOAD_MISSING_LINE]);
  assert.deepEqual(result.scenarios[0]!.generators, []);
  assert.deepEqual(result.scenarios[0]!.skipped, [{ generator: 'h2load', reason: 'h2load not on PATH' }]);
});
