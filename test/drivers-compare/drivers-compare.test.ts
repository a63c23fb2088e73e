/**
 * bench:drivers end to end, very short: the CLI starts the servers as child
 * processes, runs every generator once for a fraction of a second and writes
 * drivers.json + drivers.md. Asserts structure and counts, never speeds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseDriversArgs } from '../../bench/cli/drivers.ts';
import { H2LOAD_MISSING_LINE, median, runComparison, type GeneratorSummary, type ScenarioResult } from '../../bench/drivers-compare/run.ts';
import { renderHeadroomLines, renderMarkdownTable, renderTargetLines, TABLE_HEADER } from '../../bench/drivers-compare/render.ts';
import { engineTarget, targetVerdict } from '../../bench/drivers-compare/target.ts';
import { findH2load } from '../../bench/drivers/h2load.ts';
import { goUnavailable } from '../../servers/contenders/go-contenders.ts';
import { spawnScript } from '../helpers/bench.ts';

const out = mkdtempSync(path.join(os.tmpdir(), 'callbench-drivers-'));
after(() => rmSync(out, { recursive: true, force: true }));

const runCli = (args: string[]) => spawnScript('bench/cli/drivers.ts', args).done;

test('a one-round run writes drivers.json and drivers.md with every scenario and generator', { timeout: 90_000 }, async () => {
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
      // The generator's headroom against the fastest server (grpc-go); skipped with the reason without Go.
      ['grpc-go/add/conn1-inflight64', 1, 64],
    ],
  );
  const hasH2load = findH2load() !== null;
  const noGo = goUnavailable();
  const expected = [
    ['grpc-engine', 'h2load', 'grpc-js-client'],
    ['grpc-engine', 'h2load', 'grpc-js-client'],
    ['autocannon', 'h2load', 'http1-engine', 'undici-client'],
    noGo === null ? ['grpc-engine', 'h2load'] : [],
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
    if (scenario.server !== undefined && noGo !== null) assert.deepEqual(scenario.skipped.map((s) => s.reason), ['grpc-engine', 'h2load'].map(() => `grpc-go unavailable: ${noGo}`));
    else if (!hasH2load) assert.deepEqual(scenario.skipped, [{ generator: 'h2load', reason: 'h2load not on PATH' }]);
  }
  // One headroom line per generator on grpc-go: its CPU per call against the server's, client-bound or not.
  for (const line of renderHeadroomLines(scenarios)) {
    assert.match(line, noGo === null ? /^Headroom against grpc-go 1 conn, 64 in flight: (grpc-engine|h2load) .* (not client-bound|CLIENT-BOUND .*)$/ : /: not measured \(grpc-go unavailable: /);
    assert.ok(result.stdout.includes(`${line}\n`), line);
  }

  // One verdict per gRPC scenario, in the JSON, in drivers.md and under the printed table.
  assert.deepEqual(
    report.target.verdicts.map((v: { scenario: string }) => v.scenario),
    ['grpc/add/conn1-inflight64', 'grpc/add/conn4-inflight256', 'grpc-go/add/conn1-inflight64'],
  );
  assert.equal(report.target.minRpsRatio, 0.95);
  assert.equal(report.target.maxCpuPerCallRatio, 2);
  const verdictLines = renderTargetLines(report);
  assert.equal(verdictLines.length, 4);
  for (const line of verdictLines.slice(1)) {
    // In 0.3 s h2load may use less CPU than its 10 ms clock tick: then there is no ratio and no verdict.
    const judged = /: target (met|NOT met): [\d.]+x calls\/s, [\d.]+x CPU\/call \(>= 0\.95x, <= 2x\)$/;
    if (noGo !== null && line.startsWith('grpc-go ')) assert.match(line, /: no verdict .*: grpc-go unavailable: /);
    else assert.match(line, hasH2load ? new RegExp(`${judged.source}|: no verdict on the target .*: no round measured`) : /: no verdict .*: h2load not on PATH$/);
  }

  const markdown = readFileSync(path.join(dir, 'drivers.md'), 'utf8');
  for (const line of verdictLines.slice(1)) {
    assert.ok(markdown.includes(`- ${line}`), line);
    assert.ok(result.stdout.includes(`${line}\n`), line);
  }
  assert.ok(markdown.includes(`| ${TABLE_HEADER.join(' | ')} |`));
  for (const id of ['grpc-engine', 'autocannon', 'http1-engine', 'grpc-js-client', 'undici-client']) assert.ok(markdown.includes(id));
  assert.match(markdown, /npm run bench:drivers -- --rounds 1/);
  assert.match(result.stdout, /wrote .*drivers\.json/);

  // The stream generators against their servers: every operation and transport, both ends' CPU per message measured.
  const streams = report.streams as Array<{ operation: string; transport: string; generatorUsPerMessage: number | null; serverUsPerMessage: number | null; ratio: number | null }>;
  assert.deepEqual(
    streams.map((r) => `${r.operation}/${r.transport}`),
    ['running-sum/grpc', 'running-sum/ndjson', 'running-sum/websocket', 'sum-stream/grpc', 'sum-stream/ndjson', 'prefix-sums/grpc', 'prefix-sums/ndjson', 'prefix-sums/sse'],
  );
  for (const row of streams) {
    assert.ok(row.generatorUsPerMessage! > 0 && row.serverUsPerMessage! > 0, `${row.operation}/${row.transport}: both ends' CPU measured`);
    assert.equal(row.ratio, Math.round((row.generatorUsPerMessage! / row.serverUsPerMessage!) * 100) / 100);
  }
  assert.ok(markdown.includes('## Stream generators'));
  assert.match(result.stdout, /^stream generators \(bench:streams --profile quick\)/m);
});

test('bad arguments: one line and the usage, exit 2', async () => {
  const result = await runCli(['--rounds', '0']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^--rounds must be a positive integer, got "0"\nusage: bench:drivers/);
  assert.throws(() => parseDriversArgs(['--duration', 'abc']), /--duration must be a duration: 3 \(seconds\), 3s, 500ms, 1m or 1m30s, got "abc"/);
  assert.throws(() => parseDriversArgs(['--bogus']), /bogus/);
  assert.deepEqual(parseDriversArgs([]), { rounds: 3, durationS: 3, warmupS: 2, timeoutMs: 5000, withClients: true, withStreams: true, pin: true, outDir: 'results' });
  assert.equal(parseDriversArgs(['--no-streams']).withStreams, false);
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

/** A gRPC scenario with grpc-engine's ratios against h2load as given. */
function grpcScenario(
  connections: number,
  concurrency: number,
  rpsRatio: number | null,
  cpuPerCallRatio: number | null,
  h2load: 'measured' | 'skipped' = 'measured',
): ScenarioResult {
  const summary = (generator: GeneratorSummary['generator'], ratios: [number | null, number | null]): GeneratorSummary => ({
    generator,
    kind: generator === 'h2load' ? 'neutral' : 'engine',
    rounds: [],
    medianRps: 10_000,
    medianClientCpuUsPerCall: 5,
    medianClientCpuPercent: 5,
    medianServerCpuUsPerCall: 50,
    medianServerCpuPercent: 50,
    clientBound: false,
    medianP50Ms: 1,
    medianP99Ms: 5,
    rpsRatio: ratios[0],
    cpuPerCallRatio: ratios[1],
    errors: 0,
  });
  return {
    id: `grpc/add/conn${connections}-inflight${concurrency}`,
    protocol: 'grpc',
    connections,
    concurrency,
    reference: 'h2load',
    generators: [
      summary('grpc-engine', h2load === 'measured' ? [rpsRatio, cpuPerCallRatio] : [null, null]),
      ...(h2load === 'measured' ? [summary('h2load', [null, null])] : []),
    ],
    skipped: h2load === 'skipped' ? [{ generator: 'h2load', reason: 'h2load not on PATH' }] : [],
  };
}

test('target verdict: >= 0.95x calls/s and <= 2x CPU/call against h2load, on hand-made figures', () => {
  assert.deepEqual(targetVerdict(grpcScenario(1, 64, 0.99, 0.69)), {
    scenario: 'grpc/add/conn1-inflight64',
    met: true,
    rpsRatio: 0.99,
    cpuPerCallRatio: 0.69,
    reason: null,
  });
  // The bounds themselves pass.
  assert.equal(targetVerdict(grpcScenario(1, 64, 0.95, 2)).met, true);
  assert.equal(targetVerdict(grpcScenario(1, 64, 0.949, 0.5)).met, false);
  assert.equal(targetVerdict(grpcScenario(1, 64, 1.2, 2.001)).met, false);
  assert.deepEqual(targetVerdict(grpcScenario(1, 64, 1, 1, 'skipped')), {
    scenario: 'grpc/add/conn1-inflight64',
    met: null,
    rpsRatio: null,
    cpuPerCallRatio: null,
    reason: 'h2load not on PATH',
  });
  const unmeasured = targetVerdict(grpcScenario(1, 64, 1.01, null));
  assert.equal(unmeasured.met, null);
  assert.match(unmeasured.reason!, /no round measured both calls\/s and CPU per call/);

  const rest: ScenarioResult = { ...grpcScenario(64, 64, 0.5, 3), id: 'rest/add/conn64-inflight64', protocol: 'rest' };
  const scenarios = [grpcScenario(1, 64, 0.99, 0.69), grpcScenario(4, 256, 0.949, 2.004), rest];
  const target = engineTarget(scenarios);
  assert.deepEqual(target.verdicts.map((v) => v.met), [true, false], 'REST scenarios have no verdict line');
  assert.deepEqual(renderTargetLines({ scenarios, target }), [
    'Target: grpc-engine vs h2load, median of per-round ratios:',
    'grpc 1 conn, 64 in flight: target met: 0.99x calls/s, 0.69x CPU/call (>= 0.95x, <= 2x)',
    // Three decimals where two would round onto the bound.
    'grpc 4 conn, 256 in flight: target NOT met: 0.949x calls/s, 2.004x CPU/call (>= 0.95x, <= 2x)',
  ]);
  const missing = [grpcScenario(1, 64, null, null, 'skipped')];
  assert.deepEqual(renderTargetLines({ scenarios: missing, target: engineTarget(missing) }).slice(1), [
    'grpc 1 conn, 64 in flight: no verdict on the target (>= 0.95x calls/s, <= 2x CPU/call): h2load not on PATH',
  ]);
});
