/**
 * `npm run bench` options: the one place where command-line input is checked,
 * resolved once (resolve.ts) for every command that runs the bench (bench,
 * bench:streams, bench:k8s, bench:drivers' stream section). This module is
 * what the rest of the bench imports; the parts, by role:
 *
 *   flags.ts          the flags: usage text, declarations, each value's reader
 *   values.ts         one flag's value: lists, bounded numbers, targets, segments, instants
 *   profiles.ts       profiles and defaults: the scenario sets, --sweep's, bounds
 *   driver-choice.ts  --driver and the drivers that follow from other flags
 *   rules.ts          the rules between flags, one table
 *   resolve.ts        flags -> defaults -> rules -> BenchOptions
 *   bench-options.ts  the BenchOptions type
 *
 * duration.ts, slo.ts and network.ts are the syntaxes of --duration and the
 * other durations, --slo and --network. A bad flag is a UsageError
 * (shared/usage-error.ts).
 */
import { UsageError } from '../../shared/usage-error.ts';

export { UsageError };
export * from './bench-options.ts';
export * from './profiles.ts';
export { readBenchFlag, USAGE } from './flags.ts';
export { parseGrpcTarget, parseRestTarget, parseSegment, parseStartAt } from './values.ts';
export { openLoopRefusal } from './driver-choice.ts';
export { parseBenchCommand, resolveBenchOptions } from './resolve.ts';
