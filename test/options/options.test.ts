/**
 * Options, scenario matrix and the printers, without any load: defaults and
 * overrides, connection policy, and what the table/markdown/csv show for
 * trials, errors, failures and client-bound rows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { UsageError, parseBenchCommand, PROFILES, resolveBenchOptions, USAGE } from '../../bench/options/options.ts';
import { planBench, WIRE_PASS_PLANNED_S } from '../../bench/run/plan.ts';
import { renderCsv } from '../../bench/report/csv.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { renderTable } from '../../bench/report/table.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { buildPayload, buildScenarios, wireCallsFor } from '../../bench/scenario/matrix.ts';
import { assertSchemaValid } from '../helpers/bench.ts';

const resolve = (...args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: true });

describe('resolveBenchOptions', () => {
  test('resolves every option once: no field is left undefined for the runner to default', () => {
    for (const args of [[], ['--profile', 'quick'], ['--tls'], ['--contenders', 'all'], ['--rate', '100', '--stall-timeout', '0']]) {
      const o = resolve(...args);
      const unset = Object.entries(o).filter(([, value]) => value === undefined).map(([key]) => key);
      assert.deepEqual(unset, [], `unset after resolution with ${args.join(' ') || 'no flags'}`);
      assert.equal(typeof o.tls, 'boolean');
      assert.equal(typeof o.stallTimeoutS, 'number');
      assert.equal(typeof o.connectionCalls, 'number');
      assert.ok(o.contenders === null || Array.isArray(o.contenders));
    }
  });

  test('--help is a parse result carrying the usage, not an error; resolveBenchOptions refuses it', () => {
    assert.deepEqual(parseBenchCommand(['--help'], driverCatalog(), { canPin: false }), { kind: 'help', usage: USAGE });
    assert.deepEqual(parseBenchCommand(['-h', '--profile', 'quick'], driverCatalog(), { canPin: false }), { kind: 'help', usage: USAGE });
    const run = parseBenchCommand(['--profile', 'quick'], driverCatalog(), { canPin: false });
    assert.equal(run.kind, 'run');
    assert.throws(() => resolve('--help'), UsageError);
  });

  test('the run plan counts runs and seconds from the options (the CLI ETA and the runner use it)', () => {
    const o = resolve('--ops', 'add,sum', '--concurrency', '1,16', '--sizes', '10', '--shape', 'double', '--duration', '2', '--warmup', '1', '--trials', '3');
    const plan = planBench(o);
    // add at 1 and 16, sum-10 at 1 and 16 (with --concurrency the sums take it too): 4 scenarios x 2 protocols x 3 trials.
    assert.equal(plan.scenarios.length, 4);
    assert.equal(plan.runs, 24);
    assert.equal(plan.perRunS, 3 + WIRE_PASS_PLANNED_S);
    assert.ok(plan.totalS >= plan.runs * plan.perRunS, `${plan.totalS}`);
    assert.equal(planBench(resolve('--ops', 'add', '--concurrency', '1', '--wire-calls', '0', '--connection-calls', '0', '--duration', '1', '--warmup', '0')).totalS, 2);
  });

  test('--sweep network runs every condition in cleartext then over TLS; --tls keeps TLS only', () => {
    const sweep = resolve('--sweep', 'network');
    assert.deepEqual(sweep.tlsPasses, [false, true]);
    assert.equal(sweep.tls, false);
    // 3 scenarios x 2 protocols x 2 trials x 6 conditions x 2 TLS settings.
    assert.equal(planBench(sweep).runs, 3 * 2 * 2 * sweep.network.length * 2);
    assert.deepEqual(resolve('--sweep', 'network', '--tls').tlsPasses, [true]);
    assert.deepEqual(resolve('--tls').tlsPasses, [true]);
    assert.deepEqual(resolve().tlsPasses, [false]);
  });

  test('behind an emulated link REST defaults to http1-engine (it connects before its clock starts) and says so', () => {
    for (const args of [['--network', 'lan'], ['--network', 'loopback,rtt=20ms'], ['--sweep', 'network']]) {
      const o = resolve(...args);
      assert.deepEqual(o.drivers, { grpc: 'grpc-engine', rest: 'http1-engine' }, args.join(' '));
      assert.equal(o.driverNotes.length, 1);
      assert.match(o.driverNotes[0]!, /^--network: REST driven by http1-engine, not autocannon, whose clock starts before its connections are up/);
    }
    assert.deepEqual(resolve('--network', 'loopback').drivers.rest, 'autocannon');
    const chosen = resolve('--network', 'lan', '--driver', 'rest=autocannon');
    assert.equal(chosen.drivers.rest, 'autocannon');
    assert.deepEqual(chosen.driverNotes, []);
  });

  test('defaults: standard profile, both protocols, default drivers, pinning when possible', () => {
    const o = resolve();
    assert.equal(o.profile, 'standard');
    assert.deepEqual(o.protocols, ['grpc', 'rest']);
    assert.deepEqual(o.drivers, { grpc: 'grpc-engine', rest: 'autocannon' });
    assert.equal(o.connections, null);
    assert.equal(o.pin, true);
    assert.equal(resolveBenchOptions([], driverCatalog(), { canPin: false }).pin, false);
    assert.equal(resolve('--no-pin').pin, false);
    assert.equal(o.shape, 'double');
  });

  test('flags override every dimension of the profile', () => {
    const o = resolve('--profile', 'quick', '--protocols', 'rest', '--ops', 'add,sum', '--sizes', '10,1000', '--concurrency', '1,64',
      '--duration', '0.5', '--warmup', '0', '--connections', '4', '--trials', '3', '--timeout', '500', '--driver', 'rest=autocannon',
      '--grpc-target', '[::1]:50051', '--rest-target', 'http://localhost:3000/');
    assert.deepEqual(o.protocols, ['rest']);
    assert.deepEqual(o.sizes, [10, 1000]);
    assert.deepEqual(o.concurrency, [1, 64]);
    assert.deepEqual(o.sumConcurrency, [1, 64]);
    assert.equal(o.durationS, 0.5);
    assert.equal(o.warmupS, 0);
    assert.equal(o.connections, 4);
    assert.equal(o.trials, 3);
    assert.equal(o.timeoutMs, 500);
    assert.deepEqual(o.grpcTarget, { host: '::1', port: 50051 });
    assert.equal(o.restTarget, 'http://localhost:3000');
  });

  test('bad values name the flag and what it accepts', () => {
    const bad: [string[], RegExp][] = [
      [['--trials', '0'], /--trials must be a whole number from 1/],
      [['--sizes', '0'], /--sizes must be a comma-separated list of whole numbers from 1 to 100000/],
      [['--connections=-1'], /--connections must be a whole number/],
      [['--connections', '-1'], /^Option '--connections' argument is ambiguous \(see --help\)$/],
      [['--driver', 'grpc=autocannon'], /autocannon cannot drive grpc/],
      [['--rest-target', 'http://x:1/v1'], /--rest-target must be an http:\/\/ origin/],
      [['--pin', '--no-pin'], /choose one/],
      [['extra'], /Unexpected argument 'extra'|positional/i],
    ];
    for (const [args, message] of bad) assert.throws(() => resolve(...args), (e: Error) => e instanceof UsageError && message.test(e.message), args.join(' '));
  });
});

describe('scenarios', () => {
  test('quick profile: add and sum-1000 at 16 in flight; gRPC 1 connection, REST one per call', () => {
    // The default run ends with its stream scenario (running-sum, 8 streams in the quick profile).
    const scenarios = buildScenarios(resolve('--profile', 'quick'));
    assert.deepEqual(scenarios.map((s) => s.key), ['add/c16', 'sum-1000/c16', 'running-sum/c8']);
    assert.deepEqual(scenarios[0]!.connections, { grpc: 1, rest: 16 });
    assert.equal(scenarios[0]!.restPipelining, 1);
  });

  test('--connections sets both protocols; REST pipelines the rest', () => {
    const [s] = buildScenarios(resolve('--ops', 'add', '--concurrency', '64', '--connections', '4'));
    assert.deepEqual(s!.connections, { grpc: 4, rest: 4 });
    assert.equal(s!.restPipelining, 16);
  });

  test('the standard profile fits its time budget on paper', () => {
    const p = PROFILES.standard;
    // The unary scenarios' budget; the stream scenario (a count of messages, not a duration) was never in it.
    const unary = (args: string[]) => buildScenarios(resolve(...args)).filter((s) => s.stream === null);
    const runs = unary([]).length * 2;
    assert.ok(runs * (p.durationS + p.warmupS + 0.5) < 80, `${runs} runs`);
    const q = PROFILES.quick;
    assert.ok(unary(['--profile', 'quick']).length * 2 * (q.durationS + q.warmupS + 0.5) < 15);
  });

  test('payloads: same request in both encodings; wire pass shrinks for big bodies', () => {
    const add = buildPayload('add', null, 'double');
    assert.equal(add.protobuf.length, 18);
    assert.deepEqual(JSON.parse(add.json.toString()), add.input);
    const big = buildPayload('sum', 10_000, 'double');
    assert.equal((big.input as { values: number[] }).values.length, 10_000);
    assert.ok(wireCallsFor(1000, big) < 1000 && wireCallsFor(1000, big) >= 50);
    assert.equal(wireCallsFor(1000, add), 1000);
    assert.equal(wireCallsFor(0, add), 0);
  });
});

function run(protocol: 'grpc' | 'rest', trial: number, rps: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    scenario: 'add/c16', protocol, driver: protocol === 'grpc' ? 'grpc-engine' : 'autocannon', operation: 'add', payloadValues: null,
    concurrency: 16, connections: protocol === 'grpc' ? 1 : 16, rate: null, trial, durationS: 1, status: 'completed', failure: null,
    requests: rps, errors: 0, statusCounts: { [protocol === 'grpc' ? 'OK' : '200']: rps }, rps,
    latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1.2, stdev: 0.5 },
    wire: { requestBytesPerCall: protocol === 'grpc' ? 48 : 153, responseBytesPerCall: 50, requestHeaderBytesPerCall: 30, responseHeaderBytesPerCall: 40, countedBy: 'counting-proxy' },
    body: { requestBytes: 18, responseBytes: 9 }, server: { cpuMsPer1kCalls: 100, peakRssMiB: 80 },
    client: { cpuPercent: 50, cpuUsPerCall: 30, bound: false }, ...extra,
  };
}

const sample: ResultsFile = {
  schemaVersion: 1,
  environment: {
    date: '2024-01-01T00:00:00.000Z', node: 'v20', os: 'Linux', cpuModel: 'CPU', cpuCount: 2, totalMemoryMiB: 1024,
    packages: { autocannon: '9.0.0' }, gitCommit: null, options: { profile: 'quick', trials: 3 }, pinning: { server: '0', client: '1' },
  },
  runs: [
    run('grpc', 1, 9000), run('rest', 1, 4000),
    run('rest', 2, 5000, { client: { cpuPercent: 97, cpuUsPerCall: 200, bound: true } }), run('grpc', 2, 10_000),
    run('grpc', 3, 11_000), run('rest', 3, 6000, { errors: 12, statusCounts: { '200': 5988, '503': 12 } }),
    { ...run('grpc', 1, 0), scenario: 'sum-10/c16', operation: 'sum', payloadValues: 10, status: 'failed', failure: 'grpc server exited on SIGKILL', latencyMs: null },
  ],
};

describe('printers', () => {
  test('the sample is schema-valid', () => assertSchemaValid(sample));

  test('table: medians with min-max over trials, ratios, flags', () => {
    const table = renderTable(sample);
    const row = table.split('\n').find((line) => line.startsWith('add/c16'))!;
    assert.match(row, /10\.0k \(9000-11\.0k\)/);
    assert.match(row, /5000 \(4000-6000\)/);
    assert.match(row, /2\.00x/);
    assert.match(row, /REST <0\.1% errors/);
    assert.match(row, /REST client-bound/);
    assert.match(table, /^sum-10\/c16 .*FAILED/m);
  });

  test('markdown states pinning and lists failures and errors by status', () => {
    const md = renderMarkdown(sample);
    assert.match(md, /servers on CPU 0, load generator on CPU 1/);
    assert.match(md, /## Failures\n\n- `sum-10\/c16` grpc trial 1: grpc server exited on SIGKILL/);
    assert.match(md, /503 12/);
  });

  test('csv: a header and one row per run, quoted where needed', () => {
    const lines = renderCsv(sample).trim().split('\r\n');
    assert.equal(lines.length, 1 + sample.runs.length);
    assert.ok(lines[0]!.startsWith('scenario,protocol,driver,'));
    assert.match(lines[6]!, /,200=5988 503=12,/);
  });
});

describe('contenders behind an emulated link', () => {
  test('--contenders composes with --network; running targets still cannot move behind the link', () => {
    const options = resolve('--contenders', 'grpc-js,express', '--network', 'cross-region', '--ops', 'add');
    assert.deepEqual(options.contenders, ['grpc-js', 'express']);
    assert.deepEqual(options.network.map((condition) => condition?.name), ['cross-region']);
    assert.throws(() => resolve('--grpc-target', '127.0.0.1:50051', '--network', 'lan'), /--network runs the bench's own servers behind the emulated link; drop --grpc-target/);
  });
});
