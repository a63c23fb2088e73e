/**
 * `npm run bench:k8s -- --segments N --image IMAGE [--name NAME] [--start-at ISO|+S] [bench flags]`:
 * prints the Kubernetes Job (bench/k8s/job.ts) that runs the bench's N
 * segments in N pods, with the commands to collect and merge their results
 * as comments on top, so the output can go to a file or to `kubectl apply -f -`.
 * The bench flags are checked here, as the bench would (plus the segment
 * shares), so a bad flag fails now rather than in N pods.
 * Exit codes: 0 printed; 2 bad usage.
 */
import { stringify } from 'yaml';
import { driverCatalog, openLoopDriverNames } from '../drivers/index.ts';
import { MAX_SEGMENTS, parseStartAt, resolveBenchOptions } from '../options/options.ts';
import { UsageError } from '../../shared/usage-error.ts';
import { buildJob, collectCommands, type JobSpec } from '../k8s/job.ts';
import { runSchedule } from '../run/schedule.ts';
import { buildScenarios } from '../scenario/matrix.ts';
import { segmentScenarios } from '../scenario/segment.ts';
import { isMain } from './main.ts';

/** Default lead before the first measured run: time to apply the Job, pull the image and start the pods. */
export const DEFAULT_START_LEAD_S = 300;

export const K8S_USAGE = `usage: npm run bench:k8s -- --segments N --image IMAGE [--name NAME] [--start-at ISO|+S] [bench flags]
  --segments N        pods (load generators), each running one segment (--segment K/N) of the load
  --image IMAGE       the callbench image (docker build -t IMAGE . from the repository, see docs/scale-out.md)
  --name NAME         the Job's name (default callbench)
  --start-at ISO|+S   when every pod starts its first measured run (default +${DEFAULT_START_LEAD_S}s from now: apply before then)
  bench flags         passed to every pod: --grpc-target and --rest-target (needed), scenarios, --rate, durations...`;
const OWN_FLAGS = ['--segments', '--image', '--name', '--start-at'] as const;
/** Flags bench:k8s sets for each pod itself. */
const POD_FLAGS = ['--segment', '--out', '--progress'];

export function runK8sCli(argv: readonly string[], nowMs = Date.now()): string {
  if (argv.includes('--help') || argv.includes('-h')) return `${K8S_USAGE}\n`;
  const own: Partial<Record<(typeof OWN_FLAGS)[number], string>> = {};
  const benchArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    if ((OWN_FLAGS as readonly string[]).includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      own[flag as (typeof OWN_FLAGS)[number]] = value;
    } else if (POD_FLAGS.includes(flag)) {
      throw new UsageError(`${flag}: bench:k8s sets it for each pod; drop it`);
    } else {
      benchArgs.push(argv[i]!);
    }
  }
  const segmentsText = own['--segments'];
  const segments = Number(segmentsText);
  if (segmentsText === undefined || !/^\d+$/.test(segmentsText) || segments < 1 || segments > MAX_SEGMENTS) {
    throw new UsageError(`--segments must be a whole number from 1 to ${MAX_SEGMENTS}, got ${segmentsText === undefined ? 'nothing' : `"${segmentsText}"`}`);
  }
  const image = own['--image'];
  if (!image) throw new UsageError('--image: give the callbench image the pods run (see docs/scale-out.md)');
  const name = own['--name'] ?? 'callbench';
  if (!/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(name)) throw new UsageError(`--name must be a DNS label (lower-case letters, digits, '-'), got "${name}"`);
  const startAt = parseStartAt(own['--start-at'] ?? `+${DEFAULT_START_LEAD_S}`, nowMs);

  // As a pod would resolve them; the last segment gets the smallest share.
  const options = resolveBenchOptions([...benchArgs, '--segment', `${segments}/${segments}`, '--start-at', startAt], driverCatalog(), {
    canPin: false,
    openLoopDrivers: openLoopDriverNames(),
    nowMs,
  });
  const scenarios = buildScenarios(options);
  segmentScenarios(scenarios, options.segment!);

  const spec: JobSpec = { name, image, segments, startAt, benchArgs };
  const runs = scenarios.length * options.protocols.length * options.trials;
  const benchMinutes = Math.ceil((Math.max(0, Date.parse(startAt) - nowMs) / 1000 + runs * runSchedule(options)!.slotS) / 60) + 10;
  const comments = [
    `callbench: ${segments} pod(s), each one segment of ${scenarios.length} scenario(s) x ${options.protocols.join(', ')} x ${options.trials} trial(s);`,
    `first measured run at ${startAt}. Save this as ${name}-job.yaml, then:`,
    ...collectCommands(spec, benchMinutes).map((command) => `  ${command}`),
  ];
  return `${comments.map((line) => `# ${line}`).join('\n')}\n${stringify(buildJob(spec), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

if (isMain(import.meta.url)) {
  try {
    process.stdout.write(runK8sCli(process.argv.slice(2)));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench:k8s: ${error.message}\n`);
    process.exitCode = 2;
  }
}
