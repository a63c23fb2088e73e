/**
 * Are these results folders the segments of one bench? The same options
 * (but for the ones that may differ per generator), the same scenarios, the
 * same segment count, every segment once, latency histograms in every run. Returns one line per problem, so a
 * user sees all of them at once; an empty list means the merge may go ahead.
 */
import type { LoadedResults } from '../results/read.ts';
import type { SegmentInfo } from '../results/record.ts';

/**
 * Options that may differ between generators: which segment, where it writes,
 * how it shows progress, whether its host can pin, the ports of servers it
 * never starts (segments load --grpc-target/--rest-target), and the start
 * instant (a relative +30s resolves on each host; the windows' skew says
 * whether they ran together).
 */
export const PER_GENERATOR_OPTIONS: readonly string[] = ['segment', 'startAt', 'outDir', 'progress', 'pin', 'grpcPort', 'restPort'];

/** The segment a folder says it is, or null when it was not run with --segment. */
export function segmentOf(input: LoadedResults): SegmentInfo | null {
  const segment = input.results.environment.options.segment as SegmentInfo | null | undefined;
  return segment && typeof segment.index === 'number' && typeof segment.count === 'number' ? segment : null;
}

export function checkSegments(inputs: readonly LoadedResults[]): string[] {
  const problems: string[] = [];
  if (inputs.length === 0) return ['no results folders given'];
  const segmented: Array<{ input: LoadedResults; segment: SegmentInfo }> = [];
  for (const input of inputs) {
    // Schema 1 files, and version 2 files from before histograms were recorded, cannot be added up. A run with no
    // latency at all (a server stream: its answers have no request of their own, latencyMs is null) has none to add.
    if (input.results.runs.some((run) => run.status === 'completed' && run.latencyMs !== null && typeof run.latencyHistogram !== 'string')) {
      problems.push(`${input.dir}: its runs carry no latency histograms (written by an older version); run the segment again with this version`);
      continue;
    }
    const segment = segmentOf(input);
    if (segment === null) problems.push(`${input.dir}: not a segment (run without --segment K/N)`);
    else segmented.push({ input, segment });
  }
  if (segmented.length === 0) return problems;

  const first = segmented[0]!;
  const count = first.segment.count;
  for (const { input, segment } of segmented.slice(1)) {
    if (segment.count !== count) {
      problems.push(`${input.dir}: segment ${segment.index}/${segment.count}, but ${first.input.dir} is ${first.segment.index}/${count}: the segment counts differ`);
    }
  }
  const byIndex = new Map<number, string[]>();
  for (const { input, segment } of segmented) byIndex.set(segment.index, [...(byIndex.get(segment.index) ?? []), input.dir]);
  for (const [index, dirs] of [...byIndex].sort((a, b) => a[0] - b[0])) {
    if (dirs.length > 1) problems.push(`segment ${index}/${count} given ${dirs.length} times: ${dirs.join(', ')}`);
  }
  for (let index = 1; index <= count; index++) {
    if (!byIndex.has(index)) problems.push(`segment ${index}/${count} missing`);
  }

  const reference = first.input.results.environment.options;
  for (const { input } of segmented.slice(1)) {
    const options = input.results.environment.options;
    const keys = [...new Set([...Object.keys(reference), ...Object.keys(options)])].filter((key) => !PER_GENERATOR_OPTIONS.includes(key));
    for (const key of keys) {
      const mine = JSON.stringify(options[key]);
      const theirs = JSON.stringify(reference[key]);
      if (mine === theirs) continue;
      if (key === 'scenarios') {
        problems.push(`${input.dir}: scenarios ${scenarioKeys(options[key])} differ from ${first.input.dir}'s ${scenarioKeys(reference[key])}`);
      } else {
        problems.push(`${input.dir}: option ${key} is ${mine ?? 'absent'}, ${first.input.dir} has ${theirs ?? 'absent'}`);
      }
    }
  }
  return problems;
}

function scenarioKeys(scenarios: unknown): string {
  if (!Array.isArray(scenarios)) return JSON.stringify(scenarios) ?? 'none';
  return scenarios.map((s: { key?: unknown; connections?: unknown }) => `${String(s.key)} ${JSON.stringify(s.connections)}`).join(', ');
}
