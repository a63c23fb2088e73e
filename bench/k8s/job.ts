/**
 * The Kubernetes Job that runs a bench's segments, one pod each: an Indexed
 * Job (completions = parallelism = N) whose pod k runs `npm run bench --
 * --segment k+1/N --start-at <one instant>` with the user's bench flags, then
 * prints its results.json after a marker line, so `kubectl logs` is all it
 * takes to collect the segments (no volume). Kubernetes schedules, restarts
 * nothing (backoffLimit 0: a segment that ran twice would load the server
 * twice) and spreads the pods over nodes where it can. Pure: builds the
 * objects and the text; bench/cli/k8s.ts prints them.
 */

/** The line before a pod's results.json in its log. */
export const RESULTS_MARKER = '=== callbench results.json ===';
/** Where a pod's bench writes (inside the container). */
export const POD_RESULTS_DIR = '/tmp/callbench-results';

export interface JobSpec {
  name: string;
  image: string;
  segments: number;
  /** ISO instant every pod's first measured run starts at. */
  startAt: string;
  /** Bench flags every pod gets (targets, scenarios, durations...). */
  benchArgs: readonly string[];
}

/** One argument for sh, single-quoted unless plainly safe. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The pod's shell command: its segment from JOB_COMPLETION_INDEX (0-based), the bench's output to stderr, then the marker and results.json. */
export function podScript(spec: JobSpec): string {
  const bench = [
    'npm', 'run', '--silent', 'bench', '--',
    '--segment', `"$((JOB_COMPLETION_INDEX + 1))/${spec.segments}"`,
    '--start-at', shellQuote(spec.startAt),
    '--out', POD_RESULTS_DIR,
    '--progress', 'plain',
    ...spec.benchArgs.map(shellQuote),
  ].join(' ');
  // A failed scenario still leaves results.json (bench:merge marks its row failed); the pod keeps the bench's exit code.
  return `${bench} >&2; status=$?; echo '${RESULTS_MARKER}'; cat ${POD_RESULTS_DIR}/latest/results.json; exit $status`;
}

export function buildJob(spec: JobSpec): Record<string, unknown> {
  const labels = { 'app.kubernetes.io/name': 'callbench', 'app.kubernetes.io/instance': spec.name };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: spec.name, labels },
    spec: {
      completionMode: 'Indexed',
      completions: spec.segments,
      parallelism: spec.segments,
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          // One generator per node where the cluster has the nodes: the point is more machines.
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } } },
              ],
            },
          },
          containers: [{ name: 'bench', image: spec.image, command: ['/bin/sh', '-c'], args: [podScript(spec)] }],
        },
      },
    },
  };
}

/** The shell commands that apply the Job, wait for it, collect each pod's results.json and merge them. */
export function collectCommands(spec: JobSpec, waitMinutes: number): string[] {
  const indexes = Array.from({ length: spec.segments }, (_, i) => i).join(' ');
  return [
    `kubectl apply -f ${spec.name}-job.yaml        # before ${spec.startAt}, when the first measured run starts`,
    `kubectl wait --for=condition=complete --timeout=${waitMinutes}m job/${spec.name}`,
    `for i in ${indexes}; do mkdir -p ${spec.name}-segments/$((i + 1)); ` +
      `kubectl logs "$(kubectl get pods -l job-name=${spec.name},batch.kubernetes.io/job-completion-index=$i -o name)" ` +
      `| sed '1,/^${RESULTS_MARKER}$/d' > ${spec.name}-segments/$((i + 1))/results.json; done`,
    `npm run bench:merge -- ${spec.name}-segments/*`,
  ];
}
