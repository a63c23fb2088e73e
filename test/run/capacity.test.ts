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
import { compareResults } from '../../bench/compare/compare.ts';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import { canPin, SERVER_CPUS } from '../../bench/host/pinning.ts';
import { resolveBenchOptions } from '../../bench/options/options.ts';
import { parseSlo } from '../../bench/options/slo.ts';
import type { CapacityStep, ResultsFile, RunRecord } from '../../bench/results/record.ts';
import { CAPACITY_RULE, capacityRange, searchCapacity, starvedNote, starvedSteps, type CapacityTiming, type StepLoad } from '../../bench/run/capacity.ts';
import { capacityHeadline, renderCapacityTable } from '../../bench/report/capacity.ts';
import { createLatencyHistogram, encodeLatencyHistogram } from '../../bench/results/histogram.ts';
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
      '--slo', `p99<${OBJECTIVE_MS}ms`, '--slo-step', '1',
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
    // Every answer with its spread, in the terminal, report.md and report.html.
    const withRange = /\d+ \(range \d+-(\d+|\?)\)|none/;
    assert.match(run.stdout, withRange);
    assert.match(readFileSync(path.join(out, 'latest', 'report.md'), 'utf8'), withRange);
    assert.match(run.stderr, /capacity step \d+ at [\d,]+\/s: [\d,]+\/s completed, p50 [\d.]+ ms, p99 [\d.]+ ms/);
    const html = readFileSync(path.join(out, 'latest', 'report.html'), 'utf8');
    assert.match(html, /data-chart="capacity"/);
    assert.match(html, withRange);
    for (const protocol of ['grpc', 'rest'] as const) {
      const record = results.runs.find((r) => r.protocol === protocol)!;
      const capacity = record.capacity!;
      assert.equal(capacity.slo, `p99<${OBJECTIVE_MS}ms,errors<0.1%`);
      const found = capacity.rps;
      const steps = capacity.steps
        .map((s) => `${s.phase} ${s.rate ?? 'closed'}/s: ${s.pass ? 'pass' : s.misses.join('; ') || 'probe'}${s.pooled ? ` (pooled ${s.pooled.runs}: ${s.pooled.pass ? 'pass' : 'fail'})` : ''}`)
        .join(' | ');
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
        // The search's own steps first: below the lowest answer this test accepts, evenly spaced calls never queue on
        // this server, so a rate whose pooled runs missed there measured stalls of the machine during the search, not
        // the server (seen: p99 14 ms at 94/s; and, in a CI run, p99 41 and 29 ms at 375/s, 75% of the capacity, which
        // held the answer to 370/s while two plain runs at 425/s a moment later met the objective).
        const stalled = capacity.steps.filter((s) => s.phase === 'search' && !s.pooled!.pass && s.rate !== null && s.rate < lowest);
        if (stalled.length > 0) {
          t.skip(`machine too noisy for a ${OBJECTIVE_MS} ms p99: ${protocol} found ${found} calls/s, and steps below ${lowest}/s, where this server queues nothing, missed (${stalled.map((s) => `${s.rate}/s: ${s.pooled!.misses.join('; ')}`).join(', ')})`);
          return;
        }
        const lowestP99 = [await p99At(protocol, lowest), await p99At(protocol, lowest)];
        if (lowestP99.some((p99) => p99 > OBJECTIVE_MS)) {
          t.skip(`machine too noisy for a ${OBJECTIVE_MS} ms p99: ${protocol} found ${found} calls/s, and plain runs at ${lowest}/s had p99 ${lowestP99.join(' and ')} ms`);
          return;
        }
      }
      assert.ok(found !== null && found >= lowest, `${protocol}: found ${found} calls/s; ${steps}`);
      // The steps say how: a closed-loop probe, open-loop steps, a confirmation whose rate passed, pooled with its steps.
      assert.equal(capacity.steps[0]!.phase, 'probe');
      const confirm = capacity.steps.at(-1)!;
      assert.equal(confirm.phase, 'confirm');
      assert.equal(confirm.rate, found);
      assert.ok(confirm.pooled!.pass);
      assert.ok(capacity.latencyMs!.p99! <= OBJECTIVE_MS);
      // Above the capacity the one-at-a-time server cannot keep up: some rate above it failed, and the range says where.
      assert.ok(capacity.steps.some((s) => s.phase === 'search' && !s.pooled!.pass && s.rate! > found), 'a failing step above the answer');
      assert.equal(capacity.range!.low, found);
      assert.ok(capacity.range!.high !== null && capacity.range!.high > found, `range ${JSON.stringify(capacity.range)}`);
      assert.deepEqual(capacity.searches!.map((s) => s.rps), [found]);
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
  const timing: CapacityTiming = { stepS: 1, stepWarmupS: 0.1, confirmS: 2, confirmWarmupS: 0.2, searches: 1, rule: CAPACITY_RULE };
  /** 1,000 calls a second of run: `tail` % of them at `tailMs`, the rest at 1 ms. */
  const histogram = (calls: number, tail: number, tailMs: number): string => {
    const h = createLatencyHistogram();
    const slow = Math.round((calls * tail) / 100);
    h.recordValueWithCount(1_000, calls - slow);
    if (slow > 0) h.recordValueWithCount(tailMs * 1_000, slow);
    const text = encodeLatencyHistogram(h)!;
    h.destroy();
    return text;
  };
  /**
   * A record as runOne makes it: at or below `capacity` calls/s 0.5% of calls take 2 ms, above it 5% queue (50 ms)
   * and at most `capacity` complete. `stallEvery`: every Nth open-loop step below capacity has a stall, 1.5% of its
   * calls at 12 ms (its own p99 misses 10 ms; pooled with one clean step it meets it). `starveStep`: that open-loop
   * step's server gets 40% of the CPU per call of the others and 5% of its calls wait 50 ms (a starved server).
   * `coldSteps`: the first N open-loop steps, whatever their rate, have 5% of their calls at 50 ms (a server warming up).
   * `slowAbove`: open-loop steps above this rate complete it all, 5% of their calls at 50 ms (a knee below the capacity).
   */
  const model = (
    capacity: number,
    extra: { boundAbove?: number; failConfirmAbove?: number; stallEvery?: number; starveStep?: number; coldSteps?: number; slowAbove?: number } = {},
  ) => {
    const loads: StepLoad[] = [];
    let openLoop = 0;
    const measure = async (load: StepLoad): Promise<RunRecord> => {
      loads.push(load);
      const rate = load.rate ?? capacity;
      if (load.rate !== null) openLoop += 1;
      const over = rate > capacity || (load.countBytes && extra.failConfirmAbove !== undefined && rate > extra.failConfirmAbove);
      const stalled = !over && load.rate !== null && extra.stallEvery !== undefined && openLoop % extra.stallEvery === 0;
      const starved = load.rate !== null && openLoop === extra.starveStep;
      const cold = load.rate !== null && (openLoop <= (extra.coldSteps ?? 0) || rate > (extra.slowAbove ?? Infinity));
      const rps = Math.min(rate, capacity);
      const requests = Math.round(rps * load.durationS);
      const [tail, tailMs] = load.rate === null ? [5, 30] : over || starved || cold ? [5, 50] : stalled ? [1.5, 12] : [0.5, 2];
      const p99 = tail > 1 ? tailMs : 1;
      return {
        scenario: 'add/c16', protocol: 'grpc', driver: 'grpc-engine', operation: 'add', payloadValues: null, concurrency: 16, connections: 1,
        rate: load.rate, trial: 1, durationS: load.durationS, status: 'completed', failure: null, requests, errors: 0,
        statusCounts: {}, rps, latencyMs: { p50: 1, p90: 1, p99, p999: tailMs, max: tailMs, mean: 1, stdev: 0.5 },
        latencyPercentilesMs: [{ percentile: 50, ms: 1 }, { percentile: 99, ms: p99 }],
        latencyHistogram: histogram(requests, tail, tailMs),
        wire: { requestBytesPerCall: null, responseBytesPerCall: null, requestHeaderBytesPerCall: null, responseHeaderBytesPerCall: null, countedBy: null },
        body: { requestBytes: 18, responseBytes: 9 }, server: { cpuMsPer1kCalls: (1e6 / capacity) * (starved ? 0.4 : 1), peakRssMiB: null },
        client: { cpuPercent: 50, cpuUsPerCall: null, bound: extra.boundAbove !== undefined && rate > extra.boundAbove },
      } as RunRecord;
    };
    return { loads, measure };
  };
  const io = { log: () => {}, aborted: () => false };
  // The step-down mechanics, with every run pooled: with the bench's rule one failed confirmation among three runs is left out.
  const untrimmed: CapacityTiming = { ...timing, rule: { ...CAPACITY_RULE, trimWorstFrom: null } };

  test('one failed confirmation among three runs at the answer is left out of its pool, and the answer holds', async () => {
    const record = await searchCapacity(slo, timing, model(4_000, { failConfirmAbove: 3_900 }).measure, io);
    const confirm = record.capacity!.steps.at(-1)!;
    assert.equal(confirm.phase, 'confirm');
    assert.equal(confirm.pass, false);
    assert.equal(confirm.pooled!.pass, true);
    assert.equal(confirm.pooled!.leftOut, 1);
    assert.equal(record.capacity!.rps, confirm.rate);
  });

  test('brackets, bisects to within 2% below the knee, confirms with a longer run that counts bytes', async () => {
    const { loads, measure } = model(4_000);
    const record = await searchCapacity(slo, timing, measure, io);
    const found = record.capacity!.rps!;
    assert.ok(found <= 4_000 && found >= 4_000 / (1 + CAPACITY_RULE.tolerance), `found ${found}`);
    assert.deepEqual(loads[0], { rate: null, durationS: 1, warmupS: 0.1, countBytes: false, label: 'capacity probe (closed loop)' });
    assert.deepEqual({ ...loads.at(-1)!, label: '' }, { rate: found, durationS: 2, warmupS: 0.2, countBytes: true, label: '' });
    // Saturated steps are not repeated and cap the bracket at what they completed.
    assert.ok(record.capacity!.steps.some((s) => s.saturated && !s.pass && s.pooled!.runs === 1));
    assert.equal(record.capacity!.loadGeneratorBound, false);
    // 1/capacity s of CPU per call: below a full core at the answer, so per server core = calls/s.
    assert.equal(record.capacity!.rpsPerServerCore, found);
    // Near the knee every rate is judged on two runs at least; the answer's range is its bracket.
    const bisected = record.capacity!.steps.filter((s) => s.phase === 'search' && s.rate! > found * 0.9 && !s.saturated);
    assert.ok(bisected.every((s) => s.pooled!.runs <= CAPACITY_RULE.maxRunsPerRate));
    assert.equal(record.capacity!.range!.low, found);
    assert.ok(record.capacity!.range!.high! > found && record.capacity!.range!.high! <= Math.ceil(found * (1 + CAPACITY_RULE.tolerance)) + 1);
    assert.ok(record.capacity!.steps.filter((s) => s.phase === 'search').length <= CAPACITY_RULE.maxSteps);
  });

  test('a step that misses alone but meets the objective pooled with the others at its rate does not decide', async () => {
    // Every third open-loop step has a stall: its own p99 is 12 ms, the pooled p99 of its rate stays under 10 ms.
    const { measure } = model(4_000, { stallEvery: 3 });
    const record = await searchCapacity(slo, timing, measure, io);
    const found = record.capacity!.rps!;
    assert.ok(found <= 4_000 && found >= 4_000 / (1 + CAPACITY_RULE.tolerance), `found ${found}`);
    const steps = record.capacity!.steps;
    // A run that missed alone at a rate whose pool (two runs or more) then met the objective.
    const rescued = steps.filter((s) => s.rate !== null && !s.pass && !s.saturated && steps.some((t) => t.rate === s.rate && t.pooled!.runs >= 2 && t.pooled!.pass));
    assert.ok(rescued.length > 0, 'a failing run whose rate passed pooled');
    // With a rule that leaves the worst of three steps out of a pool, it is left out (never the confirmation).
    const trimmed = await searchCapacity(slo, { ...timing, rule: { ...CAPACITY_RULE, trimWorstFrom: 3 } }, model(4_000, { stallEvery: 3 }).measure, io);
    assert.ok(trimmed.capacity!.steps.some((s) => s.pooled?.leftOut === 1 && s.phase === 'search'));
  });

  test('a first rate that missed before any rate passed is tried again once a lower one passes', async () => {
    // The first two open-loop runs (both at the first rate, 75% of the capacity) meet a server warming up.
    const record = await searchCapacity(slo, timing, model(4_000, { coldSteps: 2 }).measure, io);
    const capacity = record.capacity!;
    const first = capacity.steps.find((s) => s.phase === 'search')!.rate!;
    const atFirst = capacity.steps.filter((s) => s.phase === 'search' && s.rate === first);
    // Two cold runs failed its pool; tried again after half of it passed, a fresh pool of one run passed.
    assert.deepEqual(atFirst.map((s) => [s.pass, s.pooled!.runs, s.pooled!.pass]), [[false, 1, false], [false, 2, false], [true, 1, true]]);
    assert.ok(capacity.steps.some((s) => s.phase === 'search' && s.rate! < first && s.pass));
    // So the search went on above it and found the knee, not a rate under the cold failure.
    assert.ok(capacity.rps! >= 4_000 / (1 + CAPACITY_RULE.tolerance) && capacity.rps! <= 4_000, `found ${capacity.rps}`);
    assert.ok(capacity.notes.some((n) => n.startsWith(`${first.toLocaleString('en-US')}/s missed the objective before any rate passed and met it when tried again`)), capacity.notes.join(' | '));
    // A rate that misses for good misses again: the failure stands, once, and the search bisects below it.
    const stays = await searchCapacity(slo, timing, model(4_000, { slowAbove: 2_000 }).measure, io);
    const again = stays.capacity!.steps.filter((s) => s.phase === 'search' && s.rate === first);
    assert.deepEqual(again.map((s) => s.pooled!.runs), [1, 2, 1, 2]);
    assert.ok(again.every((s) => !s.pass));
    assert.ok(stays.capacity!.rps! <= 2_000 && stays.capacity!.rps! >= 2_000 / (1 + CAPACITY_RULE.tolerance), `found ${stays.capacity!.rps}`);
    assert.ok(!stays.capacity!.notes.some((n) => n.includes('tried again')));
  });

  test('--slo-repeats: the median of independent searches, each answer kept, every step tagged with its search', async () => {
    const { measure } = model(4_000);
    const record = await searchCapacity(slo, { ...timing, searches: 3 }, measure, io);
    const capacity = record.capacity!;
    assert.equal(capacity.searches!.length, 3);
    const answers = capacity.searches!.map((s) => s.rps!);
    assert.equal(capacity.rps, [...answers].sort((a, b) => a - b)[1]);
    assert.deepEqual([...new Set(capacity.steps.map((s) => s.search))], [1, 2, 3]);
    assert.equal(capacity.steps.filter((s) => s.phase === 'probe').length, 3);
    assert.equal(capacity.range!.low, Math.min(...answers));
    // The row is the median search's confirmation run.
    assert.equal(record.rate, capacity.rps);
  });

  test('the range spans every search: lowest answer to the highest rate that failed just above one', () => {
    assert.deepEqual(capacityRange([{ rps: 800, failedAboveRps: 815, searchS: 1 }, { rps: 790, failedAboveRps: 805, searchS: 1 }]), { low: 790, high: 815 });
    assert.deepEqual(capacityRange([{ rps: 800, failedAboveRps: null, searchS: 1 }]), { low: 800, high: null });
    assert.equal(capacityRange([{ rps: null, failedAboveRps: null, searchS: 1 }]), null);
  });

  test('a generator-bound failure above the answer makes it "at least"', async () => {
    const { measure } = model(4_000, { boundAbove: 3_000 });
    const record = await searchCapacity(slo, timing, measure, io);
    assert.equal(record.capacity!.loadGeneratorBound, true);
    assert.match(capacityHeadline({ ...emptyResults(), runs: [record] })[0]!, /sustains at least [\d,]+ calls\/s \(range [\d,]+-[\d,]+\) \(load generator bound\)/);
  });

  test('a failed confirmation steps down to the highest rate below that passed, and says so', async () => {
    // Bisected to 3,940/s, whose confirmation fails; 3,880/s passed two steps and its confirmation.
    const { measure } = model(4_000, { failConfirmAbove: 3_900 });
    const record = await searchCapacity(slo, untrimmed, measure, io);
    assert.equal(record.capacity!.rps, 3_880);
    assert.match(record.capacity!.notes[0]!, /the confirmation at [\d,]+\/s failed \(p99 50\.0 ms > 10 ms\); stepped down to [\d,]+\/s, the highest rate below it that passed$/);
    // The rate whose confirmation failed is the lowest failing rate above the answer.
    assert.equal(record.capacity!.range!.high, 3_940);
  });

  test('a confirmation that fails further below bisects again between it and the highest rate that passed', async () => {
    // Confirmations fail above 3,850/s: 3,940 and then 3,880 fail theirs; between 3,750 (passed) and 3,880 the search
    // bisects again (3,820: two runs) and 3,820 holds.
    const record = await searchCapacity(slo, untrimmed, model(4_000, { failConfirmAbove: 3_850 }).measure, io);
    assert.equal(record.capacity!.rps, 3_820, record.capacity!.notes.join(' | '));
    assert.match(record.capacity!.notes[1]!, /the confirmation at 3,880\/s failed .*; bisected again below it in 2 steps; stepped down to 3,820\/s/);
    assert.deepEqual(record.capacity!.range, { low: 3_820, high: 3_880 });
  });

  test('confirmations that never pass end with no confirmed rate after three tries', async () => {
    const never = await searchCapacity(slo, untrimmed, model(4_000, { failConfirmAbove: 0 }).measure, io);
    assert.equal(never.capacity!.rps, null);
    assert.equal(never.capacity!.range, null);
    assert.equal(never.capacity!.steps.filter((s) => s.phase === 'confirm').length, 3);
    assert.match(never.capacity!.notes.at(-1)!, /: no confirmed rate$/);
  });

  /** A run of a search as the record keeps it; `cpu`: the server's % of a core. */
  const step = (phase: CapacityStep['phase'], rate: number | null, achievedRps: number, cpu: number | null, pass: boolean): CapacityStep => ({
    phase, rate, achievedRps, latencyMs: { p50: 1, p99: pass ? 3 : 12 }, errorsPercent: 0, serverCpuPercent: cpu, clientCpuPercent: 8,
    clientBound: false, saturated: false, pass, misses: pass ? [] : ['p99 12.0 ms > 5 ms'], durationS: 1.5,
  });
  /** A search on the one-at-a-time reference server (1 ms of work) without a stall, as measured: about 1.05 ms of CPU a call. */
  const clean = (): CapacityStep[] => [
    step('probe', null, 1_000, 101, false),
    step('search', 750, 750, 83.2, true),
    step('search', 938, 937, 97.2, false),
    step('search', 938, 937, 97.1, false),
    step('search', 844, 843, 91.2, true),
    step('search', 891, 890, 95.9, true),
    step('search', 915, 914, 97.2, true),
    step('search', 927, 926, 95.8, false),
    step('confirm', 915, 915, 96.9, true),
  ];

  test('a clean search, and a starved run that met the objective, leave no starved note', () => {
    assert.deepEqual(starvedSteps(clean(), true), []);
    assert.equal(starvedNote(clean(), true), null);
    // 375/s at 45% (1.2 ms a call): a low rate costs more per call, never less.
    assert.equal(starvedNote([...clean(), step('search', 375, 375, 45.2, false)], true), null);
    // express, quick profile, a quiet machine: its closed-loop probe cost 0.27 ms a call, its steps 0.17-0.22. The
    // probe is no bound on a step's CPU per call; the steps at a rate and above are.
    const express = [
      step('probe', null, 3_763, 101.1, false),
      step('search', 2_820, 2_799, 62.4, false),
      step('search', 2_820, 2_806, 57, false),
      step('search', 2_120, 2_120, 37.4, false),
      step('search', 2_120, 2_120, 37.3, false),
      step('search', 1_770, 1_762, 30.5, false),
    ];
    assert.equal(starvedNote(express, true), null);
    const passedStarved = [...clean(), step('search', 903, 902, 40, true)];
    assert.equal(starvedSteps(passedStarved, true).length, 1);
    assert.equal(starvedNote(passedStarved, true), null);
  });

  test('a step whose server CPU per call fell far below the open-loop runs at its rate and above: the note says starved, the answer may be low', () => {
    // 913/s at 43% of a core where the open-loop runs at 913/s and above used about 1.05% a call/s: starved for half the step.
    const steps = [...clean(), step('search', 913, 913, 43, false)];
    const [starved] = starvedSteps(steps, true);
    assert.equal(starved!.step.rate, 913);
    assert.equal(starved!.sign, 'per-call');
    assert.ok(starved!.expectedPercent > 90 && starved!.expectedPercent < 100, `expected ${starved!.expectedPercent}%`);
    assert.equal(starvedNote(steps, true), 'the server was starved (another process had its CPU) at 913/s (43% of a core, where its CPU per call at this rate and above needs 96%): the answer may be low');
    // A starved confirmation that failed is named as the confirmation.
    assert.match(starvedNote([...clean(), step('confirm', 903, 903, 40, false)], true)!, /at the confirmation at 903\/s \(40% of a core/);
    // Where the server would need under a fifth of a core its CPU time (10 ms ticks) says too little: not judged.
    assert.equal(starvedNote([...clean(), step('search', 150, 150, 5, false)], true), null);
    // No CPU read (an external server on another host): nothing to say.
    assert.equal(starvedNote(clean().map((s) => ({ ...s, serverCpuPercent: null })), true), null);
  });

  test('a closed-loop probe that left a busy server well short of its core: starved, unless the probe could not keep it busy', () => {
    // Modelled on a search in docs/capacity.md whose probe found the reference server at 77% of a core and that
    // answered 352/s (the other runs here are made up).
    const steps = [step('probe', null, 1_000, 77, false), step('search', 750, 748, 80, false), step('search', 375, 375, 41, true), step('confirm', 352, 352, 38, true)];
    assert.equal(starvedNote(steps, true), 'the server was starved (another process had its CPU) at the probe (77% of a core in a closed loop): the answer may be low');
    // One call in flight, an emulated network or a proxy: a closed loop waits on round trips, and 77% says nothing.
    assert.equal(starvedNote(steps, false), null);
    // A generator-bound probe measured the generator.
    assert.equal(starvedNote([{ ...steps[0]!, clientBound: true }, ...steps.slice(1)], true), null);
  });

  test('a starved step in a search reaches the capacity record\'s notes and the capacity view', async () => {
    // The model's fourth open-loop step gets 40% of the CPU per call of the others and misses the objective.
    const record = await searchCapacity(slo, timing, model(4_000, { starveStep: 4 }).measure, io);
    const capacity = record.capacity!;
    const note = capacity.notes.find((n) => n.startsWith('the server was starved'));
    assert.ok(note, capacity.notes.join(' | '));
    assert.match(note!, /at [\d,]+\/s \(\d+% of a core, where its CPU per call at this rate and above needs \d+%\): the answer may be low$/);
    const results = { ...emptyResults(), runs: [record] };
    assert.ok(renderCapacityTable(results).includes(`note: add/c16 gRPC: ${note}`));
    // With --slo-repeats each search's note names its search.
    const repeated = await searchCapacity(slo, { ...timing, searches: 2 }, model(4_000, { starveStep: 4 }).measure, io);
    assert.ok(repeated.capacity!.notes.some((n) => /^search 1: the server was starved/.test(n)), repeated.capacity!.notes.join(' | '));
  });

  test('the capacity view shows each answer with its range, and the repeated searches', async () => {
    const grpc = await searchCapacity(slo, { ...timing, searches: 3 }, model(4_000).measure, io);
    const rest = await searchCapacity(slo, timing, model(2_000).measure, io);
    const results = { ...emptyResults(), runs: [grpc, { ...rest, protocol: 'rest' as const, driver: 'http1-engine' }] };
    const view = renderCapacityTable(results);
    assert.match(view, /\d{4} \(range \d{4}-\d{4}\)/);
    assert.match(view, /searches: add\/c16 gRPC: \d{4}, \d{4}, \d{4} \(median \d{4}, largest\/smallest \d\.\d\dx\)/);
    assert.match(capacityHeadline(results)[0]!, /: gRPC [\d,]+ calls\/s \(range [\d,]+-[\d,]+\), REST [\d,]+ calls\/s \(range [\d,]+-[\d,]+\)$/);
    // With repeats the view lists them; with one search per row it says what its range is not.
    assert.ok(!view.includes('one search per row'));
    const single = renderCapacityTable({ ...emptyResults(), runs: [rest] });
    assert.match(single, /one search per row: its range is its bracket, not how far the answer moves between searches; --slo-repeats 5 shows that/);
  });
});

describe('bench:compare on --slo rows', () => {
  test('compares the capacity answers, one sample per search, not the confirmation run\'s calls/s', () => {
    const row = (answers: number[], confirmRps: number): RunRecord =>
      ({
        scenario: 'add/c64', protocol: 'grpc', driver: 'grpc-engine', status: 'completed', rps: confirmRps, latencyMs: null,
        wire: { requestBytesPerCall: null, responseBytesPerCall: null }, client: { bound: false },
        capacity: { rps: answers[Math.floor((answers.length - 1) / 2)]!, searches: answers.map((rps) => ({ rps, failedAboveRps: null, searchS: 1 })) },
      }) as unknown as RunRecord;
    const file = (run: RunRecord): ResultsFile => ({ ...emptyResults(), runs: [run] });
    // The confirmation runs moved 20% (noise of one run); the answers did not.
    const same = compareResults(file(row([800, 810, 805], 800)), file(row([805, 800, 812], 960)));
    const rps = same.rows[0]!.metrics.find((m) => m.metric === 'rps')!;
    assert.deepEqual(rps.base, [800, 810, 805]);
    assert.equal(rps.verdict, 'within noise');
    // The answers fell 25%, clear of their spread.
    const fell = compareResults(file(row([800, 810, 805], 800)), file(row([600, 605, 598], 600)));
    assert.equal(fell.rows[0]!.metrics.find((m) => m.metric === 'rps')!.verdict, 'regression');
  });
});

describe('--slo-repeats and --slo-step', () => {
  const resolve = (args: string[]) => resolveBenchOptions(args, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() });

  test('default to one search and steps of half a measured run; set, they are the timing of the search', () => {
    const quick = resolve(['--profile', 'quick', '--slo', 'p99<10ms']);
    assert.equal(quick.sloRepeats, 1);
    assert.equal(quick.sloStepS, 0.75);
    const set = resolve(['--slo', 'p99<5ms', '--slo-repeats', '5', '--slo-step', '2s']);
    assert.equal(set.sloRepeats, 5);
    assert.equal(set.sloStepS, 2);
  });

  test('are refused without --slo and out of range', () => {
    assert.throws(() => resolve(['--slo-repeats', '3']), /--slo-repeats and --slo-step shape a --slo search; add --slo/);
    assert.throws(() => resolve(['--slo', 'p99<10ms', '--slo-repeats', '0']), /--slo-repeats must be a whole number from 1 to 20/);
    assert.throws(() => resolve(['--slo', 'p99<10ms', '--slo-step', '0.1']), /--slo-step/);
  });
});

function emptyResults(): ResultsFile {
  return {
    schemaVersion: 2,
    environment: { date: '2026-12-01T00:00:00Z', node: 'v20', os: 'linux', cpuModel: 'cpu', cpuCount: 2, totalMemoryMiB: 1, packages: {}, gitCommit: null, options: {}, pinning: null },
    runs: [],
  };
}
