/**
 * Capacity at a latency objective (--slo, bench/run/capacity.ts): the search
 * finds a known capacity over real sockets, records its steps, and bad
 * objectives are refused with one line.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import { canPin, SERVER_CPUS } from '../../bench/host/pinning.ts';
import { resolveBenchOptions } from '../../bench/options/options.ts';
import { parseSlo } from '../../bench/options/slo.ts';
import type { ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { searchCapacity, TOLERANCE, type StepLoad } from '../../bench/run/capacity.ts';
import { capacityHeadline } from '../../bench/report/capacity.ts';
import { assertSchemaValid, REPO_ROOT, runBenchCli, tempDir } from '../helpers/bench.ts';

/**
 * The issue asks for 1 ms of service under p99<5ms (850-1,050 of 1,000 calls/s). That sits at this machine's
 * noise floor: a gRPC run at 56-75% of that server's capacity measured p99 5.0-5.5 ms with nothing queueing
 * (Node's HTTP/2 server collects garbage for 2-10 ms now and then). The same proportions at 2 ms (objective 5x
 * the service time, 85-105% of the true capacity) test the same search with half the relative noise.
 */
const SERVICE_MS = 2;
const CAPACITY = 1000 / SERVICE_MS;
const OBJECTIVE_MS = 5 * SERVICE_MS;

describe('capacity search against a server of known capacity', () => {
  let servers: ChildProcess;
  let grpcTarget: string;
  let restTarget: string;
  before(async () => {
    // One call at a time, SERVICE_MS each: CAPACITY calls/s at most, whatever the protocol. On the servers' CPU, with
    // V8's collector on the main thread: helper threads pinned to the same single CPU would preempt it for ms.
    const node = [process.execPath, '--single-threaded-gc', '--import', 'tsx', 'test/helpers/one-at-a-time-servers.ts', String(SERVICE_MS)];
    const command = canPin() ? ['taskset', '-c', SERVER_CPUS, ...node] : node;
    servers = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(servers.stdout!, 'data')) as [Buffer];
    const ports = JSON.parse(line.toString('utf8')) as { grpcPort: number; restPort: number };
    grpcTarget = `127.0.0.1:${ports.grpcPort}`;
    restTarget = `http://127.0.0.1:${ports.restPort}`;
  });
  after(async () => {
    servers.stdin!.end();
    await once(servers, 'exit');
  });

  /** The p99 (ms) of one open-loop run of `protocol` at `rate`, as long as a search step, against the same servers: how noisy this machine is. */
  const p99At = async (protocol: 'grpc' | 'rest', rate: number): Promise<number> => {
    const out = tempDir('callbench-capacity-noise-');
    const run = await runBenchCli([
      '--grpc-target', grpcTarget, '--rest-target', restTarget, '--protocols', protocol,
      '--ops', 'add', '--concurrency', '16', '--rate', String(rate),
      '--duration', '1', '--warmup', '0.25', '--wire-calls', '0', '--connection-calls', '0', '--progress', 'none', '--out', out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const results = JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as ResultsFile;
    return results.runs[0]!.latencyMs!.p99!;
  };

  test(`finds 85-105% of a ${CAPACITY} calls/s server for both protocols at p99<${OBJECTIVE_MS}ms, steps in results.json, the capacity view printed`, async (t) => {
    const out = tempDir('callbench-capacity-');
    const run = await runBenchCli([
      '--grpc-target', grpcTarget,
      '--rest-target', restTarget,
      '--ops', 'add', '--concurrency', '16',
      '--slo', `p99<${OBJECTIVE_MS}ms`,
      '--duration', '2', '--warmup', '0.5',
      '--wire-calls', '0', '--connection-calls', '0',
      '--progress', 'plain', '--out', out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const results = JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as ResultsFile;
    assertSchemaValid(results);
    // The capacity view, the step log and the latency-against-rate chart, whatever the machine's noise.
    assert.match(run.stdout, new RegExp(`capacity at p99 ≤ ${OBJECTIVE_MS} ms \\(errors ≤ 0\\.1%\\)`));
    assert.match(run.stdout, new RegExp(`in short:\\n  at p99 ≤ ${OBJECTIVE_MS} ms, `));
    assert.match(run.stderr, /capacity step \d+ at [\d,]+\/s: [\d,]+\/s completed, p50 [\d.]+ ms, p99 [\d.]+ ms/);
    const html = readFileSync(path.join(out, 'latest', 'report.html'), 'utf8');
    assert.match(html, /data-chart="capacity"/);
    for (const protocol of ['grpc', 'rest'] as const) {
      const record = results.runs.find((r) => r.protocol === protocol)!;
      const capacity = record.capacity!;
      assert.equal(capacity.slo, `p99<${OBJECTIVE_MS}ms,errors<0.1%`);
      const found = capacity.rps;
      const steps = capacity.steps.map((s) => `${s.phase} ${s.rate ?? 'closed'}/s: ${s.pass ? 'pass' : s.misses.join('; ') || 'probe'}`).join(' | ');
      // The server never completes more than CAPACITY calls/s: an answer 5% above is wrong, however busy the machine.
      assert.ok(found === null || found <= CAPACITY * 1.05, `${protocol}: found ${found} calls/s; ${steps}`);
      // Calls arrive evenly, so without stalls this server queues nothing below its capacity. With stalls it does,
      // and near capacity the queue drains slowly: at 85% one 12 ms stall of a VM (common here) keeps a dozen calls
      // above 5x the service time, enough to miss a p99 in a 2 s step. So when plain runs at the lowest rate this test
      // accepts also miss the objective, the shortfall measured the machine's stalls, not the search, and the lower
      // bound is not judged. (A check at half the capacity missed such machines: there one stall drains in a few calls.)
      // Measured only when it matters.
      const lowest = Math.round(CAPACITY * 0.85);
      if (found === null || found < lowest) {
        // The search's own steps first: at half the capacity or below this server queues nothing, so a step there
        // that missed measured a stall of the machine during the search (seen: p99 14 ms at 94/s).
        const stalled = capacity.steps.filter((s) => s.phase === 'search' && !s.pass && s.rate !== null && s.rate <= CAPACITY / 2);
        if (stalled.length > 0) {
          t.skip(`machine too noisy for a ${OBJECTIVE_MS} ms p99: ${protocol} found ${found} calls/s, and steps at half the server's capacity or below missed (${stalled.map((s) => `${s.rate}/s: ${s.misses.join('; ')}`).join(', ')})`);
          return;
        }
        const lowestP99 = [await p99At(protocol, lowest), await p99At(protocol, lowest)];
        if (lowestP99.some((p99) => p99 > OBJECTIVE_MS)) {
          t.skip(`machine too noisy for a ${OBJECTIVE_MS} ms p99: ${protocol} found ${found} calls/s, and plain runs at ${lowest}/s had p99 ${lowestP99.join(' and ')} ms`);
          return;
        }
      }
      assert.ok(found !== null && found >= lowest, `${protocol}: found ${found} calls/s; ${steps}`);
      // The steps say how: a closed-loop probe, open-loop steps, a confirmation that passed at the answer.
      assert.equal(capacity.steps[0]!.phase, 'probe');
      const confirm = capacity.steps.at(-1)!;
      assert.equal(confirm.phase, 'confirm');
      assert.equal(confirm.rate, found);
      assert.ok(confirm.pass);
      assert.ok(capacity.latencyMs!.p99! <= OBJECTIVE_MS);
      // Above the capacity the one-at-a-time server cannot keep up: some step above it failed.
      assert.ok(capacity.steps.some((s) => s.phase === 'search' && !s.pass && s.rate! > found), 'a failing step above the answer');
      assert.equal(record.rate, found);
      // An external server on this machine: the bench finds its pid from the listening port and reads its CPU, so
      // the per-core figure rests on a measurement (this server polls while it holds a call: about one core busy).
      assert.ok(capacity.serverCpuPercent !== null && capacity.serverCpuPercent > 0, 'the server\'s CPU measured');
      assert.equal(capacity.rpsPerServerCore, Math.round((found / Math.max(1, capacity.serverCpuPercent / 100)) * 10) / 10);
    }
  });
});

describe('--slo expressions', () => {
  const resolve = (args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() });

  test('reads percentiles, bounds in ms or s and an errors bound; errors<0.1% by default', () => {
    assert.deepEqual(parseSlo('p99<10ms'), { text: 'p99<10ms,errors<0.1%', latency: [{ percentile: 99, maxMs: 10 }], maxErrorsPercent: 0.1 });
    const slo = parseSlo('p99.9 < 0.05s, errors<=1%,p50<2ms');
    assert.deepEqual(slo.latency, [{ percentile: 50, maxMs: 2 }, { percentile: 99.9, maxMs: 50 }]);
    assert.equal(slo.maxErrorsPercent, 1);
    assert.equal(slo.text, 'p50<2ms,p99.9<50ms,errors<1%');
    // The search runs open loop: REST gets the open-loop engine, as with --rate.
    const options = resolve(['--slo', 'p99<10ms']);
    assert.equal(options.slo!.text, 'p99<10ms,errors<0.1%');
    assert.equal(options.drivers.rest, 'http1-engine');
  });

  for (const [name, expression] of [
    ['no unit', 'p99<10'],
    ['unknown percentile', 'p98<10ms'],
    ['no latency bound', 'errors<1%'],
    ['garbage', 'fast please'],
    ['empty term', 'p99<10ms,'],
    ['zero bound', 'p99<0ms'],
  ]) {
    test(`refuses ${name} ("${expression}") with one line naming the accepted forms, exit 2`, async () => {
      assert.throws(() => resolve(['--slo', expression!]), (error: Error & { exitCode?: number }) => {
        assert.equal(error.exitCode, 2);
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.message, /^--slo: .*accepted: pN<Tms or pN<Ts .*errors<E%/);
        return true;
      });
    });
  }

  test('the CLI prints the one line and exits 2 before any server starts', async () => {
    const run = await runBenchCli(['--slo', 'p99 under 10ms', '--progress', 'none', '--out', tempDir()]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.match(run.stderr, /^error: --slo: cannot read "p99 under 10ms"/);
  });

  test('--slo with --rate, --trials or a closed-loop driver is refused', () => {
    assert.throws(() => resolve(['--slo', 'p99<10ms', '--rate', '100']), /--slo searches for the rate itself; drop --rate/);
    assert.throws(() => resolve(['--slo', 'p99<10ms', '--trials', '3']), /drop --trials/);
    assert.throws(() => resolve(['--slo', 'p99<10ms', '--driver', 'rest=autocannon']), /--slo: driver autocannon cannot run an open loop/);
  });
});

describe('the search itself, on a model of a server (bench/run/capacity.ts)', () => {
  const slo = parseSlo('p99<10ms');
  const timing = { stepS: 1, stepWarmupS: 0.1, confirmS: 2, confirmWarmupS: 0.2 };
  /** A record as runOne makes it: at or below `capacity` calls/s the p99 is 2 ms, above it calls queue (50 ms) and at most `capacity` complete. */
  const model = (capacity: number, extra: { boundAbove?: number; failConfirmAbove?: number } = {}) => {
    const loads: StepLoad[] = [];
    const measure = async (load: StepLoad): Promise<RunRecord> => {
      loads.push(load);
      const rate = load.rate ?? capacity;
      const over = rate > capacity || (load.countBytes && extra.failConfirmAbove !== undefined && rate > extra.failConfirmAbove);
      const rps = Math.min(rate, capacity);
      const p99 = load.rate === null ? 30 : over ? 50 : 2;
      return {
        scenario: 'add/c16', protocol: 'grpc', driver: 'grpc-engine', operation: 'add', payloadValues: null, concurrency: 16, connections: 1,
        rate: load.rate, trial: 1, durationS: load.durationS, status: 'completed', failure: null, requests: Math.round(rps * load.durationS), errors: 0,
        statusCounts: {}, rps, latencyMs: { p50: 1, p90: 1.5, p99, p999: p99, max: p99, mean: 1, stdev: 0.5 },
        latencyPercentilesMs: [{ percentile: 50, ms: 1 }, { percentile: 99, ms: p99 }],
        wire: { requestBytesPerCall: null, responseBytesPerCall: null, requestHeaderBytesPerCall: null, responseHeaderBytesPerCall: null, countedBy: null },
        body: { requestBytes: 18, responseBytes: 9 }, server: { cpuMsPer1kCalls: 1e6 / capacity, peakRssMiB: null },
        client: { cpuPercent: 50, cpuUsPerCall: null, bound: extra.boundAbove !== undefined && rate > extra.boundAbove },
      };
    };
    return { loads, measure };
  };
  const io = { log: () => {}, aborted: () => false };

  test('brackets, bisects to within 5% below the knee, confirms with a longer run that counts bytes', async () => {
    const { loads, measure } = model(4_000);
    const record = await searchCapacity(slo, timing, measure, io);
    const found = record.capacity!.rps!;
    assert.ok(found <= 4_000 && found >= 4_000 / (1 + TOLERANCE), `found ${found}`);
    assert.deepEqual(loads[0], { rate: null, durationS: 1, warmupS: 0.1, countBytes: false, label: 'capacity probe (closed loop)' });
    assert.deepEqual({ ...loads.at(-1)!, label: '' }, { rate: found, durationS: 2, warmupS: 0.2, countBytes: true, label: '' });
    // Saturated steps are not repeated and cap the bracket at what they completed.
    assert.ok(record.capacity!.steps.some((s) => s.saturated && !s.pass));
    assert.equal(record.capacity!.loadGeneratorBound, false);
    // 1/capacity s of CPU per call: below a full core at the answer, so per server core = calls/s.
    assert.equal(record.capacity!.rpsPerServerCore, found);
  });

  test('a generator-bound failure above the answer makes it "at least"', async () => {
    const { measure } = model(4_000, { boundAbove: 3_000 });
    const record = await searchCapacity(slo, timing, measure, io);
    assert.equal(record.capacity!.loadGeneratorBound, true);
    assert.match(capacityHeadline({ ...emptyResults(), runs: [record] })[0]!, /sustains at least [\d,]+ calls\/s \(load generator bound\)/);
  });

  test('a failed confirmation steps down and says so', async () => {
    const { measure } = model(4_000, { failConfirmAbove: 3_500 });
    const record = await searchCapacity(slo, timing, measure, io);
    assert.ok(record.capacity!.rps! <= 3_500);
    assert.match(record.capacity!.notes[0]!, /the confirmation at [\d,]+\/s failed \(p99 50\.0 ms > 10 ms\); stepped down to [\d,]+\/s$/);
    assert.equal(record.capacity!.notes.length, 1);
  });

  test('a second failed confirmation steps down to the highest step that passed below, and a third gives up', async () => {
    // Confirmations fail above 3,000/s: 10% below the answer fails too; the first step (3,000/s, 75% of the probe) passed.
    const { measure } = model(4_000, { failConfirmAbove: 3_000 });
    const record = await searchCapacity(slo, timing, measure, io);
    const passed = record.capacity!.steps.filter((s) => s.phase === 'search' && s.pass).map((s) => s.rate!);
    assert.equal(record.capacity!.rps, 3_000, record.capacity!.notes.join(' | '));
    assert.ok(passed.includes(3_000), passed.join(', '));
    assert.match(record.capacity!.notes[1]!, /stepped down to 3,000\/s, the highest rate below it whose step passed$/);
    // No confirmation ever passes: three tries, then no confirmed rate.
    const never = await searchCapacity(slo, timing, model(4_000, { failConfirmAbove: 0 }).measure, io);
    assert.equal(never.capacity!.rps, null);
    assert.equal(never.capacity!.steps.filter((s) => s.phase === 'confirm').length, 3);
    assert.match(never.capacity!.notes.at(-1)!, /: no confirmed rate$/);
  });
});

function emptyResults(): ResultsFile {
  return {
    schemaVersion: 2,
    environment: { date: '2026-12-01T00:00:00Z', node: 'v20', os: 'linux', cpuModel: 'cpu', cpuCount: 2, totalMemoryMiB: 1, packages: {}, gitCommit: null, options: {}, pinning: null },
    runs: [],
  };
}
