/**
 * Capacity at a latency objective (--slo): for one scenario and protocol, the
 * highest open-loop rate whose runs meet every bound of the objective. Each
 * step is a measured run with its own warm-up, latency from each call's due
 * time (so queueing shows), driven through the runner's `measure` function.
 *
 * The search, after Nighthawk's adaptive load controller (exponential search,
 * then bisection, then a longer testing run at the converged load):
 * 1. probe: a closed-loop run at the scenario's concurrency; its calls/s is
 *    about the most the target completes with that many calls in flight, so
 *    the open-loop steps start below it (START_FRACTION) instead of crawling up
 *    from a guess;
 * 2. bracket: grow the rate by GROWTH while steps pass, halve it while they
 *    fail, until there is a passing rate below a failing one;
 * 3. bisect between them until they are within the rule's tolerance (2%);
 * 4. confirm the highest passing rate with one longer run; when that rate no
 *    longer passes, it becomes the failing end of the bracket, the search
 *    bisects again below it and confirms the new answer in turn.
 *
 * Why verdicts are pooled. Near the knee a tail percentile from one short step
 * is mostly luck: whether a collector pause or a stall of the machine fell in
 * its window (on a one-at-a-time server at 876/s, p99 16.2 ms and then 4.6 ms).
 * A search that takes each step as a yes/no answer turns that luck into a
 * 10-18% spread between searches. So every run at a rate (steps and the
 * confirmation) adds its HDR histogram to that rate's pool, and the rate's
 * verdict is the objective read on the pool: histograms add exactly, so the
 * pooled p99 is the p99 of all those calls, never an average of percentiles.
 * From three runs at a rate on, the one that went furthest past the objective
 * is left out of the pool (one stall of a shared machine must not decide). A
 * rate runs more steps while its runs disagree with the pooled verdict (or
 * while the search is bisecting near the knee and it has fewer than the rule's
 * minimum), up to the rule's maximum per rate and the search's step budget.
 *
 * A step whose completed calls/s is well below the offered rate (the target is
 * saturated) fails without repeats, and its completed rate caps the search.
 *
 * A search's first open-loop runs can meet a server that is still warming up: in
 * five-search runs on the reference server, the first search's first rate (75%
 * of the capacity) missed at p99 6-36 ms where the other searches passed it at
 * 2.5-5.8 ms, and the search bisected below it, 0.73-0.74 of the capacity. So the
 * lowest rate that missed before any rate passed (not a saturated one) is tried
 * once more, on a fresh pool, when a lower rate has passed: if it passes, the
 * bracket grows from it and a note says so; if not, it stays the failing end.
 * --slo-repeats N runs N independent searches; the answer is their median and
 * the record keeps each one's answer and bracket.
 *
 * A search whose server did not get its CPU at a run that can have lowered the
 * answer (its probe, or a run that missed) says so in a note (starvedSteps):
 * read from the server's CPU per call and, in the probe, its share of a core.
 */
import type { Histogram } from 'hdr-histogram-js';
import { describeSlo, percentileKey, type Slo } from '../options/slo.ts';
import { createLatencyHistogram, decodeLatencyHistogram } from '../results/histogram.ts';
import type { CapacityRecord, CapacitySearch, CapacityStep, RunRecord } from '../results/record.ts';
import { round } from '../results/round.ts';

/** The first open-loop step, as a fraction of the probe's closed-loop calls/s. */
const START_FRACTION = 0.75;
/** Rate factor between bracketing steps that pass. */
const GROWTH = 1.25;
/** A step that completed less than this fraction of its offered rate is saturated. */
const SATURATED_BELOW = 0.9;
/** Confirmation runs of one search at most (the first, and steps down to a lower passing rate). */
const MAX_CONFIRMATIONS = 3;
/** No rate down to this fraction of the probe's calls/s passed: the objective is out of reach. */
const LOWEST_FRACTION = 1 / 16;
/** A range (lowest answer to highest failing rate above one) wider than this gets a note: the answer is not steady. */
const WIDE_RANGE = 1.06;
/** Open-loop rates below this are not tried (calls/s). */
const MIN_RATE = 1;
/**
 * A run whose server CPU per call fell below this fraction of the median of the search's open-loop runs at its rate
 * or above: the server did not get its core for part of the run. A server's CPU per call falls, if anything, as its
 * open-loop rate grows (more calls per turn of its event loop), so those runs bound it from below; the closed-loop
 * probe is no such bound (express: 0.27 ms a call in its probe, 0.16-0.24 in its steps). Measured (docs/capacity.md,
 * 2026-12-05): on the reference server, the runs of searches with the machine quiet 0.95-1.13 of that median, runs
 * while a test file shared the server's CPU down to 0.63; on grpc-js and express with the machine quiet, whose CPU
 * per call moves more from run to run, down to 0.83. So runs starved by less than a quarter go unnoticed.
 */
const STARVED_CPU_PER_CALL = 0.75;
/** Runs within this fraction below a run's completed calls/s count as "at its rate" (two runs at one offered rate complete a little more or less). */
const SAME_RATE = 0.97;
/** Steps at which the server would need less than this % of a core are not judged by their CPU per call: its CPU time is read in 10 ms ticks. */
const STARVED_MIN_PERCENT = 20;
/**
 * A closed-loop probe with this many calls in flight or more, on loopback with no proxy between, keeps a one-core
 * server busy (the reference server 99-101%, grpc-js and express 97-101%); with fewer it waits on round trips
 * (README: grpc-js at one call in flight, 70%).
 */
const SATURATING_CONCURRENCY = 8;
/** Such a probe's server below this % of a core, with the generator not CPU-bound: something else had the server's CPU. */
const STARVED_PROBE_PERCENT = 85;

/** How a search turns measured runs into verdicts; CAPACITY_RULE is the bench's. */
export interface CapacityRule {
  /** Bisect until the lowest failing rate is within this fraction above the highest passing one. */
  tolerance: number;
  /** While bisecting (near the knee), runs at a rate before its pooled verdict counts. */
  minRunsNearKnee: number;
  /** Runs at one rate at most (steps; the confirmation adds to the pool beyond it). */
  maxRunsPerRate: number;
  /** Open-loop steps of one search at most, repeats included (probe and confirmations not counted): bounds its time. */
  maxSteps: number;
  /** From this many runs at a rate on (the confirmation counted), the one that went furthest past the objective is left out of its pool; null: none is. */
  trimWorstFrom: number | null;
}

/**
 * Measured on the one-at-a-time reference server (docs/capacity.md, "How steady the answer is"): a 2% final bracket
 * instead of 5% removes up to 5% of spread by itself; two runs per rate near the knee, up to four while they
 * disagree, turn single-step coin flips into pooled verdicts; leaving the worst of three runs out keeps one stall of
 * a shared machine from deciding a rate (with every run counted, one stalled step failed a rate a quarter below the
 * knee, and with the confirmation never left out, a stall in it ended searches with no answer).
 */
export const CAPACITY_RULE: CapacityRule = { tolerance: 0.02, minRunsNearKnee: 2, maxRunsPerRate: 4, maxSteps: 16, trimWorstFrom: 3 };

/** What one step asks of the runner: a warm-up and a measured run at `rate` (null: closed loop). */
export interface StepLoad {
  rate: number | null;
  durationS: number;
  warmupS: number;
  /** Run the byte-counting pass after the measured run (the confirmation only). */
  countBytes: boolean;
  /** For progress: "capacity step 3 at 12,000/s". */
  label: string;
}

export type MeasureStep = (load: StepLoad) => Promise<RunRecord>;

/** How long the steps run and how many searches: the resolved --slo-step and --slo-repeats, with the profile's durations. */
export interface CapacityTiming {
  stepS: number;
  stepWarmupS: number;
  confirmS: number;
  confirmWarmupS: number;
  /** Independent searches; the answer is their median. */
  searches: number;
  /** The decision rule; CAPACITY_RULE unless a measuring script compares another. */
  rule: CapacityRule;
}

/** Steps last --slo-step (half a measured run of the profile unless given) after half the profile's warm-up; the confirmation is a whole run. */
export function capacityTiming(options: { durationS: number; warmupS: number; sloStepS: number; sloRepeats: number }): CapacityTiming {
  return {
    stepS: options.sloStepS,
    stepWarmupS: options.warmupS / 2,
    confirmS: options.durationS,
    confirmWarmupS: options.warmupS,
    searches: options.sloRepeats,
    rule: CAPACITY_RULE,
  };
}

/** Seconds of load the searches usually take (probe, twelve steps, confirmation, each search), for the ETA. */
export function plannedSearchS(options: { durationS: number; warmupS: number; sloStepS: number; sloRepeats: number }): number {
  const t = capacityTiming(options);
  return t.searches * (13 * (t.stepS + t.stepWarmupS) + t.confirmS + t.confirmWarmupS);
}

export interface CapacitySearchIo {
  /** A line that stays: one per step. */
  log(line: string): void;
  /** The bench is stopping (Ctrl-C, a server died): end the search with the step that saw it. */
  aborted(): boolean;
}

/** One run at a rate, as its pool keeps it. */
interface PoolRun {
  /** Null: the run came without a histogram (the rate is then judged on its newest run alone). */
  histogram: Histogram | null;
  requests: number;
  errors: number;
  /** Elapsed seconds (requests / calls/s). */
  elapsedS: number;
  /** Failed as a run (a lost connection). */
  failed: boolean;
  /** Its own verdict. */
  pass: boolean;
  /** How far its worst percentile went past its bound (value / bound): the run left out first. */
  score: number;
}

/** Every run at one offered rate within a search: the evidence its verdict rests on. */
interface Pool {
  runs: PoolRun[];
  /** The runs the verdict pooled: all of them, or all but the worst from the rule's trimWorstFrom on. */
  counted: PoolRun[];
  /** The pooled verdict after the newest run. */
  pass: boolean;
}

/** One search's outcome, before the searches are combined. */
interface SearchOutcome {
  rps: number | null;
  /** The lowest rate above the answer that failed, or null. */
  failedAboveRps: number | null;
  confirm: CapacityStep | null;
  /** The search's newest record: the confirmation run at its answer, or the step that ended it. */
  record: RunRecord;
  notes: string[];
  searchS: number;
}

/**
 * Runs the searches and returns the row for the table: the median search's
 * confirmation run (or, when no rate met the objective, its last step's
 * record) with `capacity`.
 */
export async function searchCapacity(slo: Slo, timing: CapacityTiming, measure: MeasureStep, io: CapacitySearchIo): Promise<RunRecord> {
  const started = process.hrtime.bigint();
  const steps: CapacityStep[] = [];
  const outcomes: SearchOutcome[] = [];
  for (let index = 1; index <= timing.searches; index++) {
    const outcome = await searchOnce(slo, timing, measure, io, steps, timing.searches > 1 ? index : null);
    outcomes.push(outcome);
    if (io.aborted()) break;
  }
  const searchS = Number(process.hrtime.bigint() - started) / 1e9;
  // The median answer (the lower one of an even count, so that it is a rate some search confirmed); no answer counts lowest.
  const ranked = [...outcomes].sort((a, b) => (a.rps ?? -1) - (b.rps ?? -1));
  const median = ranked[Math.floor((ranked.length - 1) / 2)]!;
  const notes = outcomes.flatMap((o, i) => o.notes.map((note) => (outcomes.length > 1 ? `search ${i + 1}: ${note}` : note)));
  return { ...median.record, capacity: capacityRecord(slo, median, outcomes, steps, notes, searchS) };
}

async function searchOnce(
  slo: Slo,
  timing: CapacityTiming,
  measure: MeasureStep,
  io: CapacitySearchIo,
  steps: CapacityStep[],
  searchIndex: number | null,
): Promise<SearchOutcome> {
  const { rule } = timing;
  const started = process.hrtime.bigint();
  const notes: string[] = [];
  const pools = new Map<number, Pool>();
  const firstStep = steps.length;
  let probeSaturates = false;
  let searchSteps = 0;
  // The bracket: a passing rate (lo) below a failing one (hi; a saturated step's completed calls/s caps it).
  let lo: number | null = null;
  let hi: number | null = null;
  // The newest step's record: the row returned when the search ends there.
  let last!: RunRecord;
  const finish = (rps: number | null, confirm: CapacityStep | null): SearchOutcome => {
    const failed = [...pools.entries()].filter(([, pool]) => !pool.pass).map(([rate]) => rate);
    const failedAbove = rps === null ? [] : [...failed, ...(hi === null ? [] : [hi])].filter((rate) => rate > rps);
    destroyPools(pools);
    const starved = starvedNote(steps.slice(firstStep), probeSaturates);
    if (starved !== null) notes.push(starved);
    return {
      rps,
      failedAboveRps: failedAbove.length > 0 ? Math.min(...failedAbove) : null,
      confirm,
      record: last,
      notes,
      searchS: round(Number(process.hrtime.bigint() - started) / 1e9, 1),
    };
  };
  const prefix = searchIndex === null ? 'capacity' : `capacity search ${searchIndex}`;
  const run = async (phase: CapacityStep['phase'], rate: number | null): Promise<{ step: CapacityStep; pool: Pool | null }> => {
    const confirm = phase === 'confirm';
    if (phase === 'search') searchSteps += 1;
    const label = rate === null ? `${prefix} probe (closed loop)` : `${prefix} ${confirm ? 'confirmation' : `step ${searchSteps}`} at ${perSecond(rate)}`;
    const record = await measure({
      rate,
      durationS: confirm ? timing.confirmS : timing.stepS,
      warmupS: confirm ? timing.confirmWarmupS : timing.stepWarmupS,
      countBytes: confirm,
      label,
    });
    last = record;
    const own = judgeStep(slo, phase, rate, record);
    const pool = rate === null ? null : addToPool(pools, rate, record, own, slo);
    const step: CapacityStep = {
      ...own,
      ...(searchIndex === null ? {} : { search: searchIndex }),
      ...(pool === null ? {} : { pooled: judgePool(slo, rate!, pool, rule) }),
    };
    if (pool !== null) pool.pass = step.pooled!.pass;
    steps.push(step);
    io.log(`  ${label}: ${describeStep(step)}`);
    return { step, pool };
  };

  /**
   * The verdict at `rate`: its pooled verdict once settled. Settled: a saturated step or a failed run (clear at once);
   * else at least `minRuns` runs and every run agreeing with the pool, or the rule's runs per rate, or the budget
   * spent. A lone failing run never settles (one stall of a shared machine must not end the search low).
   */
  const decide = async (rate: number, minRuns: number): Promise<{ pass: boolean; step: CapacityStep }> => {
    for (;;) {
      const { step, pool } = await run('search', rate);
      const p = pool!;
      const agree = p.counted.every((run) => run.pass === p.pass);
      const settled =
        step.saturated || p.runs.some((run) => run.failed) || p.runs.length >= rule.maxRunsPerRate || (p.runs.length >= minRuns && agree && (p.pass || p.runs.length >= 2));
      if (settled || io.aborted() || searchSteps >= rule.maxSteps) return { pass: p.pass, step };
    }
  };

  const probe = await run('probe', null);
  probeSaturates = closedLoopSaturates(last);
  if (io.aborted() || last.status === 'failed') return finish(null, null);
  const ceiling = probe.step.achievedRps;
  let rate = Math.max(MIN_RATE, niceRate(ceiling * START_FRACTION));

  // Bracket: a passing rate (lo) below a failing one (hi).
  // The lowest rate that missed before any rate passed (not saturated) may have met a server still warming up; once a
  // lower rate passes, it is tried once more on a fresh pool (see the header).
  let coldFailure: number | null = null;
  let coldRetried = false;
  while ((lo === null || hi === null) && searchSteps < rule.maxSteps) {
    const { pass, step } = await decide(rate, 1);
    if (io.aborted()) return finish(null, null);
    if (pass) {
      const retried = coldRetried && rate === coldFailure;
      lo = rate;
      if (retried) notes.push(`${perSecond(rate)} missed the objective before any rate passed and met it when tried again (a search's first runs can meet a server still warming up)`);
      if (hi !== null && hi === coldFailure && !coldRetried) {
        // Try the cold failure again on a fresh pool; its old runs stay in the steps.
        coldRetried = true;
        forgetPool(pools, hi);
        rate = hi;
        hi = null;
      } else if (hi === null) rate = niceRate(rate * GROWTH);
    } else {
      if (lo === null) coldFailure = step.saturated ? null : rate;
      hi = failCap(step, rate, lo);
      if (lo === null) {
        // Saturated: the knee is below what it completed; otherwise halve.
        const next = niceRate(Math.max(rate / 2, step.saturated ? step.achievedRps * 0.8 : 0));
        if (next < Math.max(MIN_RATE, ceiling * LOWEST_FRACTION) || next >= rate) break;
        rate = next;
      }
    }
  }
  if (lo === null) {
    const lowest = steps.at(-1)?.pooled;
    const why = lowest && lowest.misses.length > 0 ? `: ${lowest.misses.join('; ')}` : '';
    notes.push(`no rate tried met ${describeSlo(slo)} (lowest tried ${perSecond(rate)}${why})`);
    return finish(null, null);
  }
  if (hi === null) notes.push(`every step passed up to ${perSecond(lo)}: the search ran out of steps before the objective failed`);

  // Bisect to within the tolerance, each rate judged on its pool of at least minRunsNearKnee runs.
  const bisect = async (): Promise<boolean> => {
    while (hi !== null && lo !== null && hi > lo * (1 + rule.tolerance) && searchSteps < rule.maxSteps) {
      const mid = niceRate((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      const { pass, step } = await decide(mid, rule.minRunsNearKnee);
      if (io.aborted()) return false;
      if (pass) lo = mid;
      else hi = failCap(step, mid, lo);
    }
    return true;
  };
  if (!(await bisect())) return finish(null, null);

  // Confirm with a longer run, which joins the rate's pool. When the pool no longer passes, that rate is the new
  // failing end: the search bisects again between it and the highest rate below that passed (within its budget of
  // steps), and confirms the new answer in turn. (A lucky step can lift the bracket above the knee; stepping down to
  // the last rate that passed would then drop far below it.)
  let answer: number = lo;
  for (let attempt = 1; ; attempt++) {
    // A confirmation that failed as a run (a lost connection) fails its rate's pool like one that missed the objective.
    const { step: confirm, pool } = await run('confirm', answer);
    if (io.aborted()) return finish(null, null);
    if (pool!.pass) return finish(answer, confirm);
    const passedBelow = [...pools.entries()].filter(([r, p]) => r < answer && p.pass).map(([r]) => r);
    const why = confirm.pass ? `pooled with its steps: ${confirm.pooled!.misses.join('; ')}` : confirm.misses.join('; ');
    if (passedBelow.length === 0 || attempt >= MAX_CONFIRMATIONS) {
      const end = passedBelow.length === 0 ? 'no lower rate passed' : `${MAX_CONFIRMATIONS} confirmations failed`;
      notes.push(`the confirmation at ${perSecond(answer)} failed (${why}) and ${end}: no confirmed rate`);
      return finish(null, null);
    }
    hi = answer;
    lo = Math.max(...passedBelow);
    const before = searchSteps;
    if (!(await bisect())) return finish(null, null);
    const again = searchSteps > before ? `; bisected again below it in ${searchSteps - before} steps` : '';
    notes.push(`the confirmation at ${perSecond(answer)} failed (${why})${again}; stepped down to ${perSecond(lo)}, the highest rate below it that passed`);
    answer = lo;
  }
}

function addToPool(pools: Map<number, Pool>, rate: number, record: RunRecord, own: CapacityStep, slo: Slo): Pool {
  const pool = pools.get(rate) ?? { runs: [], counted: [], pass: false };
  pools.set(rate, pool);
  const scores = slo.latency.map((b) => (own.latencyMs?.[percentileKey(b.percentile)] ?? Infinity) / b.maxMs);
  pool.runs.push({
    histogram: typeof record.latencyHistogram === 'string' ? decodeLatencyHistogram(record.latencyHistogram) : null,
    requests: record.requests,
    errors: record.errors,
    elapsedS: record.rps > 0 ? record.requests / record.rps : record.durationS,
    failed: record.status === 'failed',
    pass: own.pass,
    score: Math.max(...scores),
  });
  return pool;
}

/**
 * The objective read on the pooled runs at `rate`: the percentiles of all their calls (histograms added), their
 * errors and calls/s. From the rule's trimWorstFrom runs on, the run that went furthest past the objective is left
 * out, the confirmation included: one stall of the machine in one run must not decide a rate that three runs
 * measured (at 749/s, a quarter of the way below the knee: p99 43.7, 2.8, 3.0 and 5.7 ms, 30.5 ms all pooled). A
 * collector pause of the server's own shows in most runs, so leaving out one does not hide it.
 */
function judgePool(slo: Slo, rate: number, pool: Pool, rule: CapacityRule): NonNullable<CapacityStep['pooled']> {
  const worst = rule.trimWorstFrom !== null && pool.runs.length >= rule.trimWorstFrom ? pool.runs.reduce((a, b) => (b.score > a.score ? b : a)) : null;
  const counted = pool.runs.filter((run) => run !== worst);
  pool.counted = counted;
  const misses: string[] = [];
  let latencyMs: Record<string, number> | null = null;
  const pooledHistogram = counted.every((run) => run.histogram !== null) ? createLatencyHistogram() : null;
  for (const run of counted) pooledHistogram?.add(run.histogram!);
  if (pooledHistogram !== null && pooledHistogram.totalCount > 0) {
    latencyMs = {};
    for (const bound of slo.latency) {
      const key = percentileKey(bound.percentile);
      const value = round(pooledHistogram.getValueAtPercentile(bound.percentile) / 1000, 3);
      latencyMs[key] = value;
      if (value > bound.maxMs) misses.push(`${key} ${formatMs(value)} ms > ${bound.maxMs} ms`);
    }
  }
  pooledHistogram?.destroy();
  const requests = counted.reduce((n, run) => n + run.requests, 0);
  const errorsPercent = requests > 0 ? round((counted.reduce((n, run) => n + run.errors, 0) / requests) * 100, 3) : 0;
  // A run that failed as a run fails its rate, left out or not.
  if (pool.runs.some((run) => run.failed)) misses.push('a run at this rate failed');
  if (errorsPercent > slo.maxErrorsPercent) misses.push(`errors ${errorsPercent}% > ${slo.maxErrorsPercent}%`);
  const elapsedS = counted.reduce((n, run) => n + run.elapsedS, 0);
  const achieved = elapsedS > 0 ? requests / elapsedS : 0;
  if (achieved < rate * SATURATED_BELOW) misses.push(`completed ${perSecond(achieved)} of ${perSecond(rate)} offered`);
  // Without histograms the newest run's own verdict stands in for the pool's.
  const pass = pooledHistogram === null ? pool.runs.at(-1)!.pass && misses.length === 0 : misses.length === 0;
  return {
    runs: pool.runs.length,
    ...(worst === null ? {} : { leftOut: 1 }),
    latencyMs,
    errorsPercent,
    pass,
    misses: pass ? [] : misses.length > 0 ? misses : ['the newest run missed the objective'],
  };
}

/** Drops the runs at `rate` from its pool: the rate is judged afresh. */
function forgetPool(pools: Map<number, Pool>, rate: number): void {
  for (const run of pools.get(rate)?.runs ?? []) run.histogram?.destroy();
  pools.delete(rate);
}

function destroyPools(pools: Map<number, Pool>): void {
  for (const rate of [...pools.keys()]) forgetPool(pools, rate);
}

/** The lowest failing rate a failed step leaves: its completed calls/s when saturated (no rate above it can pass), else its rate. */
function failCap(step: CapacityStep, rate: number, lo: number | null): number {
  return step.saturated && lo !== null && step.achievedRps > lo ? Math.min(rate, step.achievedRps) : rate;
}

/** Whether a closed-loop run like `record` keeps a one-core server busy: enough calls in flight, on loopback, nothing between. */
function closedLoopSaturates(record: RunRecord): boolean {
  return (
    record.concurrency >= SATURATING_CONCURRENCY &&
    (record.network ?? null) === null &&
    record.proxyCpuMsPer1kCalls === undefined &&
    (record.replicas ?? null) === null
  );
}

/** A run of a search at which the server did not get its core, with the share of a core it should have used. */
export interface StarvedStep {
  step: CapacityStep;
  /** 'per-call': its CPU per call fell below the search's open-loop runs at its rate and above; 'probe': a closed-loop probe left the server short of its core. */
  sign: 'per-call' | 'probe';
  /** % of a core the server should have used: the CPU per call of the search's open-loop runs at this rate and above times the calls completed; 100 for a probe. */
  expectedPercent: number;
}

/**
 * The runs of one search (its probe, steps and confirmations) at which the server was starved: another process had
 * its CPU for part of the run. Two signs, read from the server's CPU alone:
 * - its CPU per call fell below STARVED_CPU_PER_CALL of the median of the search's open-loop runs at its completed
 *   rate or above (a server that keeps its own clock, as the reference server does, completes its calls while
 *   descheduled and spends less CPU on them); not judged where it would need under STARVED_MIN_PERCENT of a core;
 * - a closed-loop probe that should keep the server busy (`probeSaturates`: enough calls in flight on loopback)
 *   found it under STARVED_PROBE_PERCENT of a core while the generator was not CPU-bound (a server that does its
 *   work on its CPU completes fewer calls at the same CPU per call, so only its share shows it).
 * Open-loop steps of such a server below its capacity can be starved without either sign: this finds some starved
 * runs, never proves that none was.
 */
export function starvedSteps(steps: readonly CapacityStep[], probeSaturates: boolean): StarvedStep[] {
  const perCall = (s: CapacityStep): number | null => (s.serverCpuPercent === null || !(s.achievedRps > 0) ? null : s.serverCpuPercent / s.achievedRps);
  const starved: StarvedStep[] = [];
  for (const step of steps) {
    if (perCall(step) === null) continue;
    if (step.phase === 'probe' && probeSaturates && !step.clientBound && step.serverCpuPercent! < STARVED_PROBE_PERCENT) {
      starved.push({ step, sign: 'probe', expectedPercent: 100 });
      continue;
    }
    const peers: number[] = [];
    for (const other of steps) {
      const cost = other === step || other.phase === 'probe' || other.achievedRps < step.achievedRps * SAME_RATE ? null : perCall(other);
      if (cost !== null) peers.push(cost);
    }
    if (peers.length === 0) continue;
    const expected = median(peers) * step.achievedRps;
    if (expected >= STARVED_MIN_PERCENT && step.serverCpuPercent! < expected * STARVED_CPU_PER_CALL) starved.push({ step, sign: 'per-call', expectedPercent: round(expected, 1) });
  }
  return starved;
}

/**
 * The note a search's starved runs leave, or null: those that can have lowered its answer (the probe, which sets
 * where the steps start, and runs that missed the objective: a starved run that met it did not lower the answer).
 */
export function starvedNote(steps: readonly CapacityStep[], probeSaturates: boolean): string | null {
  const lowering = starvedSteps(steps, probeSaturates).filter((s) => s.step.phase === 'probe' || !s.step.pass);
  if (lowering.length === 0) return null;
  // One entry per place (the probe, a rate's steps, a confirmation), with its most starved run and how many there were.
  const places = new Map<string, { worst: StarvedStep; runs: number }>();
  for (const s of lowering) {
    const key = `${s.step.phase}:${s.step.rate}`;
    const place = places.get(key);
    const share = (x: StarvedStep): number => x.step.serverCpuPercent! / x.expectedPercent;
    if (place === undefined) places.set(key, { worst: s, runs: 1 });
    else places.set(key, { worst: share(s) < share(place.worst) ? s : place.worst, runs: place.runs + 1 });
  }
  const at = ({ worst: s, runs }: { worst: StarvedStep; runs: number }): string => {
    const where = s.step.phase === 'probe' ? 'the probe' : s.step.phase === 'confirm' ? `the confirmation at ${perSecond(s.step.rate)}` : perSecond(s.step.rate);
    const used = `${Math.round(s.step.serverCpuPercent!)}%`;
    const count = runs > 1 ? `; ${runs} runs, the lowest shown` : '';
    return s.sign === 'probe'
      ? `${where} (${used} of a core in a closed loop${count})`
      : `${where} (${used} of a core, where its CPU per call at this rate and above needs ${Math.round(s.expectedPercent)}%${count})`;
  };
  const list = [...places.values()];
  const shown = list.slice(0, 3).map(at).join(', ');
  const more = list.length > 3 ? ` and ${list.length - 3} more` : '';
  return `the server was starved (another process had its CPU) at ${shown}${more}: the answer may be low`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Whether a measured run met the objective, and what it measured, as a step of the search. */
export function judgeStep(slo: Slo, phase: CapacityStep['phase'], rate: number | null, record: RunRecord): CapacityStep {
  const misses: string[] = [];
  const latencyMs = stepLatency(slo, record);
  const errorsPercent = record.requests > 0 ? round((record.errors / record.requests) * 100, 3) : 0;
  const saturated = rate !== null && record.rps < rate * SATURATED_BELOW;
  if (record.status === 'failed') misses.push(record.failure ?? 'the run failed');
  if (latencyMs === null) {
    if (record.status !== 'failed') misses.push('no call completed');
  } else {
    for (const bound of slo.latency) {
      const value = latencyMs[percentileKey(bound.percentile)]!;
      if (value > bound.maxMs) misses.push(`${percentileKey(bound.percentile)} ${formatMs(value)} ms > ${bound.maxMs} ms`);
    }
  }
  if (errorsPercent > slo.maxErrorsPercent) misses.push(`errors ${errorsPercent}% > ${slo.maxErrorsPercent}%`);
  if (saturated) misses.push(`completed ${perSecond(record.rps)} of ${perSecond(rate)} offered`);
  return {
    phase,
    rate,
    achievedRps: record.rps,
    latencyMs,
    errorsPercent,
    serverCpuPercent: serverCpuPercent(record),
    clientCpuPercent: record.client.cpuPercent,
    clientBound: record.client.bound,
    saturated,
    // The closed-loop probe is not judged: it sets where the open-loop steps start.
    pass: phase !== 'probe' && misses.length === 0,
    misses: phase === 'probe' ? [] : misses,
    durationS: record.durationS,
  };
}

/** p50 and the objective's percentiles from the run's HDR ladder (summary fields as a fallback). */
function stepLatency(slo: Slo, record: RunRecord): Record<string, number> | null {
  if (record.latencyMs === null) return null;
  const ladder = new Map((record.latencyPercentilesMs ?? []).map((p) => [p.percentile, p.ms]));
  const summary: Record<number, number> = { 50: record.latencyMs.p50, 90: record.latencyMs.p90, 99: record.latencyMs.p99, 99.9: record.latencyMs.p999 };
  const out: Record<string, number> = {};
  for (const percentile of [50, ...slo.latency.map((b) => b.percentile)]) {
    const value = ladder.get(percentile) ?? summary[percentile];
    if (value !== undefined) out[percentileKey(percentile)] = value;
  }
  return out;
}

/** Server CPU over the run in % of one core, from its CPU ms per 1,000 calls and calls/s; null when unknown. */
function serverCpuPercent(record: RunRecord): number | null {
  const perK = record.server.cpuMsPer1kCalls;
  return perK === null ? null : round((perK * record.rps) / 10_000, 1);
}

function capacityRecord(slo: Slo, median: SearchOutcome, outcomes: SearchOutcome[], steps: CapacityStep[], notes: string[], searchS: number): CapacityRecord {
  const { rps, confirm } = median;
  const cpu = confirm?.serverCpuPercent ?? null;
  // Limited by the generator: a step at or above the answer failed while the generator was CPU-bound (or the confirmation itself was bound).
  const loadGeneratorBound =
    rps !== null && steps.some((s) => s.phase !== 'probe' && s.rate !== null && s.clientBound && (!s.pass || s.phase === 'confirm') && s.rate >= rps);
  // The percentiles the verdict rested on: every run at the answer pooled (its steps and confirmation).
  const at = confirm?.pooled?.latencyMs ?? confirm?.latencyMs ?? null;
  const latencyMs = at === null ? null : Object.fromEntries(slo.latency.map((b) => [percentileKey(b.percentile), at[percentileKey(b.percentile)]!]));
  const searches: CapacitySearch[] = outcomes.map((o) => ({ rps: o.rps, failedAboveRps: o.failedAboveRps, searchS: o.searchS }));
  const range = capacityRange(searches);
  // Say when the answer is not steady: a range wider than WIDE_RANGE (searches that disagree, or one that ran out of steps).
  if (range !== null && range.high !== null && range.high > range.low * WIDE_RANGE) {
    notes.push(
      `the range ${perSecond(range.low)}-${perSecond(range.high)} is ${(range.high / range.low).toFixed(2)}x wide: at this objective the answer moves with the machine's noise (more --slo-repeats or a longer --slo-step narrow it)`,
    );
  }
  return {
    slo: slo.text,
    rps,
    range,
    searches,
    latencyMs,
    errorsPercent: confirm?.errorsPercent ?? null,
    serverCpuPercent: cpu,
    // A server process needs a core even when the objective stops it short of filling one; one that used more is divided by what it used.
    rpsPerServerCore: rps === null || cpu === null ? null : round(rps / Math.max(1, cpu / 100), 1),
    loadGeneratorBound,
    notes,
    searchS: round(searchS, 1),
    steps,
  };
}

/**
 * Where the knee lies on the evidence of every search: from the lowest answer to the highest rate that failed just
 * above an answer (one search: its answer and the lowest rate that failed above it). high is null when a search
 * found no failing rate above its answer. Null when no search found an answer.
 */
export function capacityRange(searches: readonly CapacitySearch[]): { low: number; high: number | null } | null {
  const found = searches.filter((s) => s.rps !== null);
  if (found.length === 0) return null;
  const low = Math.min(...found.map((s) => s.rps!));
  const high = found.some((s) => s.failedAboveRps === null) ? null : Math.max(...found.map((s) => s.failedAboveRps!));
  return { low, high };
}

/** Rates to 3 significant figures: steps read as 12,300/s, not 12,288.7/s. */
export function niceRate(rate: number): number {
  if (!(rate > 0)) return 0;
  const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 2);
  return Math.round(rate / magnitude) * magnitude;
}

function describeStep(step: CapacityStep): string {
  const latency = step.latencyMs ? Object.entries(step.latencyMs).map(([k, v]) => `${k} ${formatMs(v)} ms`).join(', ') : 'no latency';
  const cpu = `server CPU ${step.serverCpuPercent === null ? '-' : `${Math.round(step.serverCpuPercent)}%`}, generator ${Math.round(step.clientCpuPercent)}%`;
  const verdict = step.phase === 'probe' ? 'the ceiling' : step.pass ? 'pass' : `FAIL (${step.misses.join('; ')})`;
  const pooled =
    step.pooled && step.pooled.runs > 1
      ? `; ${step.pooled.leftOut ? `${step.pooled.runs - step.pooled.leftOut} of ${step.pooled.runs} runs at this rate pooled (the worst left out)` : `${step.pooled.runs} runs at this rate pooled`}: ${describePooled(step.pooled)}`
      : '';
  return `${perSecond(step.achievedRps)} completed, ${latency}, ${cpu}${step.clientBound ? ' (generator-bound)' : ''}: ${verdict}${pooled}`;
}

function describePooled(pooled: NonNullable<CapacityStep['pooled']>): string {
  const latency = pooled.latencyMs ? Object.entries(pooled.latencyMs).map(([k, v]) => `${k} ${formatMs(v)} ms`).join(', ') : 'no histogram';
  return `${latency}, ${pooled.pass ? 'pass' : 'FAIL'}`;
}

function perSecond(rate: number | null): string {
  return rate === null ? 'closed loop' : `${Math.round(rate).toLocaleString('en-US')}/s`;
}

function formatMs(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

