/**
 * Capacity at a latency objective (--slo): for one scenario and protocol, the
 * highest open-loop rate whose steps meet every bound of the objective. Each
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
 * 3. bisect between them until they are within TOLERANCE (5%); a step that
 *    missed the objective without saturating runs once more (a noisy machine's
 *    single stall does not decide), and fails only if the repeat misses too;
 * 4. confirm the highest passing rate with one longer run; a confirmation that
 *    fails steps the rate down (by STEP_DOWN, then to the highest step that
 *    passed below it) and says so in the notes.
 * A step whose completed calls/s is well below the offered rate (the target is
 * saturated) fails, and its completed rate caps the search: no rate above what
 * the target completed can pass, so the bracket closes early.
 */
import { describeSlo, percentileKey, type Slo } from '../options/slo.ts';
import type { CapacityRecord, CapacityStep, RunRecord } from '../results/record.ts';

/** The first open-loop step, as a fraction of the probe's closed-loop calls/s. */
const START_FRACTION = 0.75;
/** Rate factor between bracketing steps that pass. */
const GROWTH = 1.25;
/** Bisect until the failing rate is within this fraction above the passing one. */
export const TOLERANCE = 0.05;
/** A step that completed less than this fraction of its offered rate is saturated. */
const SATURATED_BELOW = 0.9;
/** A failed confirmation lowers the rate by this factor first; a second goes to the highest step that passed below. */
const STEP_DOWN = 0.9;
const MAX_STEP_DOWNS = 2;
/** Open-loop steps of one search at most, repeats included (probe and confirmations not counted): bounds its time. */
const MAX_STEPS = 8;
/** No rate down to this fraction of the probe's calls/s passed: the objective is out of reach. */
const LOWEST_FRACTION = 1 / 16;
/** Open-loop rates below this are not tried (calls/s). */
const MIN_RATE = 1;

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

export interface CapacityTiming {
  stepS: number;
  stepWarmupS: number;
  confirmS: number;
  confirmWarmupS: number;
}

/** Steps are half a measured run of the profile (and half its warm-up); the confirmation is a whole one. */
export function capacityTiming(options: { durationS: number; warmupS: number }): CapacityTiming {
  return {
    stepS: options.durationS / 2,
    stepWarmupS: options.warmupS / 2,
    confirmS: options.durationS,
    confirmWarmupS: options.warmupS,
  };
}

/** Seconds of load a search usually takes (probe, six steps, confirmation), for the ETA. */
export function plannedSearchS(options: { durationS: number; warmupS: number }): number {
  const t = capacityTiming(options);
  return 7 * (t.stepS + t.stepWarmupS) + t.confirmS + t.confirmWarmupS;
}

export interface CapacitySearchIo {
  /** A line that stays: one per step. */
  log(line: string): void;
  /** The bench is stopping (Ctrl-C, a server died): end the search with the step that saw it. */
  aborted(): boolean;
}

/**
 * Runs the search and returns the row for the table: the confirmation run's
 * record (or, when no rate met the objective, the last step's) with `capacity`.
 */
export async function searchCapacity(slo: Slo, timing: CapacityTiming, measure: MeasureStep, io: CapacitySearchIo): Promise<RunRecord> {
  const started = process.hrtime.bigint();
  const steps: CapacityStep[] = [];
  const notes: string[] = [];
  // The newest step's record: the row returned when the search ends there.
  let last!: RunRecord;
  const finish = (record: RunRecord, answer: { rps: number | null; confirm: CapacityStep | null }): RunRecord => ({
    ...record,
    capacity: capacityRecord(slo, answer.rps, answer.confirm, steps, notes, Number(process.hrtime.bigint() - started) / 1e9),
  });
  const run = async (phase: CapacityStep['phase'], rate: number | null): Promise<{ step: CapacityStep; failed: boolean }> => {
    const confirm = phase === 'confirm';
    const label = rate === null ? 'capacity probe (closed loop)' : `capacity ${confirm ? 'confirmation' : `step ${steps.length}`} at ${perSecond(rate)}`;
    const record = await measure({
      rate,
      durationS: confirm ? timing.confirmS : timing.stepS,
      warmupS: confirm ? timing.confirmWarmupS : timing.stepWarmupS,
      countBytes: confirm,
      label,
    });
    last = record;
    const step = judgeStep(slo, phase, rate, record);
    steps.push(step);
    io.log(`  ${label}: ${describeStep(step)}`);
    return { step, failed: record.status === 'failed' };
  };

  // A step that missed on latency or errors alone runs once more and fails only if the repeat misses too:
  // one stall of a shared machine should not end the search low. A saturated step is not repeated.
  const searchStep = async (rate: number): Promise<CapacityStep> => {
    const first = await run('search', rate);
    if (first.step.pass || first.step.saturated || first.failed || io.aborted() || searchSteps() >= MAX_STEPS) return first.step;
    return (await run('search', rate)).step;
  };

  const probe = await run('probe', null);
  if (io.aborted() || probe.failed) return finish(last, { rps: null, confirm: null });
  const ceiling = probe.step.achievedRps;
  let lo: number | null = null;
  let hi: number | null = null;
  let rate = Math.max(MIN_RATE, niceRate(ceiling * START_FRACTION));
  const searchSteps = (): number => steps.filter((step) => step.phase === 'search').length;

  // Bracket: a passing rate (lo) below a failing one (hi).
  while ((lo === null || hi === null) && searchSteps() < MAX_STEPS) {
    const step = await searchStep(rate);
    if (io.aborted()) return finish(last, { rps: null, confirm: null });
    if (step.pass) {
      lo = rate;
      if (hi === null) rate = niceRate(rate * GROWTH);
    } else {
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
    notes.push(`no rate tried met ${describeSlo(slo)} (lowest tried ${perSecond(rate)})`);
    return finish(last, { rps: null, confirm: null });
  }
  if (hi === null) notes.push(`every step passed up to ${perSecond(lo)}: the search ran out of steps before the objective failed`);

  // Bisect to within TOLERANCE.
  while (hi !== null && hi > lo * (1 + TOLERANCE) && searchSteps() < MAX_STEPS) {
    const mid = niceRate((lo + hi) / 2);
    if (mid <= lo || mid >= hi) break;
    const step = await searchStep(mid);
    if (io.aborted()) return finish(last, { rps: null, confirm: null });
    if (step.pass) lo = mid;
    else hi = failCap(step, mid, lo);
  }

  // Confirm with a longer run; step down when it fails: first by STEP_DOWN, then (when that fails too) to the
  // highest rate below it whose step passed, if there is one: a rate with evidence behind it. (Steps near the
  // knee can pass on a short run that a longer one fails: at 97% of a saturated server's rate.)
  let answer = lo;
  for (let attempt = 0; ; attempt++) {
    // A confirmation that failed as a run (a lost connection) steps down like one that missed the objective.
    const { step: confirm } = await run('confirm', answer);
    if (io.aborted()) return finish(last, { rps: null, confirm: null });
    if (confirm.pass) return finish(last, { rps: answer, confirm });
    const passedBelow = steps.filter((s) => s.phase === 'search' && s.pass && s.rate !== null && s.rate < answer).map((s) => s.rate!);
    const lower = attempt === 0 ? niceRate(answer * STEP_DOWN) : passedBelow.length > 0 && attempt < MAX_STEP_DOWNS ? Math.max(...passedBelow) : null;
    if (lower === null) {
      notes.push(`the confirmation failed at ${perSecond(answer)} too (${confirm.misses.join('; ')}): no confirmed rate`);
      return finish(last, { rps: null, confirm: null });
    }
    notes.push(`the confirmation at ${perSecond(answer)} failed (${confirm.misses.join('; ')}); stepped down to ${perSecond(lower)}${attempt === 0 ? '' : ', the highest rate below it whose step passed'}`);
    answer = lower;
  }
}

/** The lowest failing rate a failed step leaves: its completed calls/s when saturated (no rate above it can pass), else its rate. */
function failCap(step: CapacityStep, rate: number, lo: number | null): number {
  return step.saturated && lo !== null && step.achievedRps > lo ? Math.min(rate, step.achievedRps) : rate;
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

function capacityRecord(
  slo: Slo,
  rps: number | null,
  confirm: CapacityStep | null,
  steps: CapacityStep[],
  notes: string[],
  searchS: number,
): CapacityRecord {
  const cpu = confirm?.serverCpuPercent ?? null;
  // Limited by the generator: a step at or above the answer failed while the generator was CPU-bound (or the confirmation itself was bound).
  const loadGeneratorBound =
    rps !== null && steps.some((s) => s.phase !== 'probe' && s.rate !== null && s.clientBound && (!s.pass || s.phase === 'confirm') && s.rate >= rps);
  const latencyMs =
    confirm?.latencyMs == null ? null : Object.fromEntries(slo.latency.map((b) => [percentileKey(b.percentile), confirm.latencyMs![percentileKey(b.percentile)]!]));
  return {
    slo: slo.text,
    rps,
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
  return `${perSecond(step.achievedRps)} completed, ${latency}, ${cpu}${step.clientBound ? ' (generator-bound)' : ''}: ${verdict}`;
}

function perSecond(rate: number | null): string {
  return rate === null ? 'closed loop' : `${Math.round(rate).toLocaleString('en-US')}/s`;
}

function formatMs(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
