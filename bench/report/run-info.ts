/**
 * The "Run" section: what ran, where, with which connections and load model.
 * Every figure of a report means something only together with this block.
 */
import { integer, machineLabel } from '../compare/labels.ts';
import { escapeHtml } from './html-parts.ts';
import { section } from './section.ts';
import { driverMode, loadModel, runNotes, sharedDrivers } from './table.ts';

interface RunInfo {
  date: string;
  machine: string;
  /** "<cpu> (2 CPUs, 4096 MiB), linux, Node v20". */
  host: string;
  /** "<cpu> ×2, 4,096 MiB". */
  hardware: string;
  node: string;
  os: string;
  commit: string;
  packages: string;
  pinning: string;
  connections: string | null;
  profile: string;
  trials: number;
  /** The profile's durations, trials, shapes, compression and drivers, in a sentence. */
  options: string;
  /** Null for a file without call rows. */
  load: string | null;
  driverMode: string | null;
  notes: string[];
  schemaVersion: number;
  callRows: number;
  streamRows: number;
}

export const runSection = section<RunInfo>({
  id: 'run',
  title: 'Run',
  applies: () => true,
  model: ({ results, calls }) => {
    const env = results.environment;
    const options = (env.options ?? {}) as Record<string, unknown>;
    const policy = options.connectionsPolicy as { grpc?: string; rest?: string } | undefined;
    const shared = calls.runs.length > 0 ? sharedDrivers(calls) : null;
    return {
      date: env.date,
      machine: machineLabel(env),
      host: `${env.cpuModel} (${env.cpuCount} CPUs, ${env.totalMemoryMiB} MiB), ${env.os}, Node ${env.node}`,
      hardware: `${env.cpuModel} ×${env.cpuCount}, ${integer(env.totalMemoryMiB)} MiB`,
      node: env.node,
      os: env.os,
      commit: env.gitCommit ?? 'unknown',
      packages: Object.entries(env.packages ?? {}).map(([k, v]) => `${k} ${v}`).join(', '),
      pinning: env.pinning ? `servers on CPU ${env.pinning.server}, load generator on CPU ${env.pinning.client} (taskset)` : 'none (servers and load generator share the CPUs)',
      connections: policy ? `gRPC ${policy.grpc}; REST ${policy.rest}` : null,
      profile: String(options.profile ?? '?'),
      trials: Math.max(1, ...results.runs.map((r) => r.trial)),
      options:
        `${String(options.durationS ?? '?')} s measured after ${String(options.warmupS ?? '?')} s warm-up, ` +
        `${String(options.trials ?? 1)} trial(s), sum values shaped "${(Array.isArray(options.shapes) ? options.shapes : [options.shape ?? '?']).join(', ')}", ` +
        `compression ${(Array.isArray(options.compression) ? options.compression : ['none']).join(', ')}. ` +
        `Drivers: ${Object.entries((options.drivers as Record<string, string>) ?? {}).map(([p, d]) => `${p} ${d}`).join(', ')}`,
      load: calls.runs.length > 0 ? loadModel(calls.runs) : null,
      driverMode: shared ? driverMode(shared) : null,
      notes: runNotes(results),
      schemaVersion: results.schemaVersion,
      callRows: calls.runs.length,
      streamRows: results.runs.length - calls.runs.length,
    };
  },
  terminal: (m) => `run: ${m.date}, ${m.machine}; profile ${m.profile}, ${m.trials} trial(s); ${rowsText(m)}`,
  markdown: (m) =>
    [
      '## Run',
      '',
      `Run ${m.date} on ${m.host}.`,
      `Commit ${m.commit}. Packages: ${m.packages}.`,
      '',
      `Pinning: ${m.pinning}.`,
      ...(m.connections ? [`Connections: ${m.connections}.`] : []),
      `Profile ${m.profile}: ${m.options}.`,
      ...(m.load ? ['', `Load: ${m.load}.${m.driverMode ? ` Drivers in ${m.driverMode}.` : ''}`] : []),
      ...(m.notes.length > 0 ? ['', ...m.notes.map((note) => `- Note: ${note}.`)] : []),
    ].join('\n'),
  html: (m) => {
    const items: Array<[string, string]> = [
      ['date', m.date],
      ['machine', m.hardware],
      ['software', `Node ${m.node} on ${m.os}`],
      ['commit', m.commit],
      ['profile', `${m.profile}, ${m.trials} trial(s) per scenario; ${m.options}`],
      ['CPU pinning', m.pinning],
      ...(m.connections ? [['connections', m.connections] as [string, string]] : []),
      ...(m.load ? [['load', `${m.load}${m.driverMode ? `; drivers in ${m.driverMode}` : ''}`] as [string, string]] : []),
      ...m.notes.map((note) => ['note', note] as [string, string]),
      ['packages', m.packages || '–'],
      ['results', `schema v${m.schemaVersion}, ${rowsText(m)}`],
    ];
    return `<h2>Run</h2>\n<dl class="env">${items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
  },
});

function rowsText(m: Pick<RunInfo, 'callRows' | 'streamRows'>): string {
  return `${integer(m.callRows)} call row(s)${m.streamRows > 0 ? `, ${integer(m.streamRows)} stream row(s)` : ''}`;
}
