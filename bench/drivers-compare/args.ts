/** bench:drivers' flags, resolved once (bench/cli/drivers.ts). */
import { parseArgs } from 'node:util';
import { durationSeconds } from '../../shared/duration.ts';
import { parseArgsUsageError, UsageError } from '../../shared/usage-error.ts';

export const USAGE =
  'usage: bench:drivers [--rounds 3] [--duration 3s] [--warmup 2s] [--timeout-ms 5000] [--no-clients] [--no-streams] [--no-pin] [--out results]\n' +
  '  durations: 3 (seconds), 3s, 500ms, 1m or 1m30s';

export interface DriversCliOptions {
  rounds: number;
  durationS: number;
  warmupS: number;
  timeoutMs: number;
  withClients: boolean;
  /** The stream generators' section (bench:streams, quick profile). */
  withStreams: boolean;
  pin: boolean;
  outDir: string;
}

export function parseDriversArgs(argv: string[]): DriversCliOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rounds: { type: 'string', default: '3' },
        duration: { type: 'string', default: '3' },
        warmup: { type: 'string', default: '2' },
        'timeout-ms': { type: 'string', default: '5000' },
        'no-clients': { type: 'boolean', default: false },
        'no-streams': { type: 'boolean', default: false },
        'no-pin': { type: 'boolean', default: false },
        out: { type: 'string', default: 'results' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    throw parseArgsUsageError(error);
  }
  if (values.help) throw new HelpRequested(USAGE);
  const positive = (name: string, text: string, integer = false): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
    }
    return value;
  };
  // A DurationError is a UsageError too: main() prints its line and the usage, and exits 2.
  const seconds = (name: string, text: string, minS: number): number => durationSeconds(`--${name}`, text, { minS, maxS: 3_600 });
  return {
    rounds: positive('rounds', values.rounds!, true),
    durationS: seconds('duration', values.duration!, 0.1),
    warmupS: seconds('warmup', values.warmup!, 0),
    timeoutMs: positive('timeout-ms', values['timeout-ms']!),
    withClients: !values['no-clients'],
    withStreams: !values['no-streams'],
    pin: !values['no-pin'],
    outDir: values.out!,
  };
}

/** --help: not an error; main() prints the usage and exits 0. */
export class HelpRequested extends Error {}

