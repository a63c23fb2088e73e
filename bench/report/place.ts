/**
 * Where the calls went (--proxy, --replicas, --balance) in the reports: a
 * row's place as a suffix of its scenario (rows of one scenario at different
 * places stay apart), each protocol's spread over the replicas, the proxy's
 * CPU, the proxy tax (the same scenario direct and proxied in one run), and
 * the latency hint for a p50 stuck near 40 or 200 ms (Nagle's algorithm
 * meeting a delayed ACK: docs/proxies.md).
 */
import type { ResultsFile, RunRecord } from '../results/record.ts';
import { spread } from '../results/summary.ts';
import { placeSuffix } from '../results/place-suffix.ts';
import { htmlList } from './html-parts.ts';
import { section } from './section.ts';

export { placeSuffix };

export function hasPlaces(results: ResultsFile): boolean {
  return results.runs.some((run) => run.place?.proxy);
}

const NAMES = { grpc: 'gRPC', rest: 'REST' } as const;
/** A replica carrying at least this share of a protocol's calls "carries the load". */
export const ONE_REPLICA_SHARE = 0.9;

/** The largest replica's share of a run's calls, or null without replicas or calls. */
export function largestShareOf(run: RunRecord): number | null {
  const replicas = run.replicas ?? [];
  const total = replicas.reduce((sum, r) => sum + r.calls, 0);
  return replicas.length < 2 || total === 0 ? null : Math.max(...replicas.map((r) => r.calls)) / total;
}

/** Latencies where Nagle's algorithm meets a delayed ACK (Linux's delayed-ACK timer 40 ms, others' 200 ms), ± this much. */
export const NAGLE_P50_MS = [40, 200] as const;
const NAGLE_WINDOW = 0.15;
/** "Far from saturated": the busiest of the server(s) and proxy under this % of one core. */
export const UNSATURATED_PERCENT = 50;

/**
 * The row's p50 sits near 40 or 200 ms while the servers (and the proxy) used
 * well under a core: the latency is a timer, not work. CPU % = ms per 1,000
 * calls x calls/s / 1,000 / 10. Null CPU (not measured) does not clear the hint.
 */
export function nagleSuspect(run: RunRecord): boolean {
  const p50 = run.latencyMs?.p50;
  if (run.status !== 'completed' || p50 === undefined) return false;
  if (!NAGLE_P50_MS.some((ms) => Math.abs(p50 - ms) <= ms * NAGLE_WINDOW)) return false;
  const percent = (msPer1k: number | null | undefined): number => (msPer1k == null ? 0 : (msPer1k * run.rps) / 1000 / 10);
  const busiest = Math.max(percent(run.server.cpuMsPer1kCalls), percent(run.proxyCpuMsPer1kCalls), ...(run.replicas ?? []).map((r) => percent(r.cpuMsPer1kCalls)));
  return busiest < UNSATURATED_PERCENT;
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;
const num = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** Lines under the comparison: spreads, proxy CPU, proxy tax, latency hints; [] when none applies. */
export function placeLines(results: ResultsFile): string[] {
  const lines: string[] = [];
  const completed = results.runs.filter((run) => run.status === 'completed');
  const groups = new Map<string, RunRecord[]>();
  for (const run of completed) {
    const key = `${run.scenario}${placeSuffix(run)}\t${run.protocol}${run.network ? `\t${run.network.name}` : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  // Spread over the replicas, per row and protocol (median of the trials' largest shares).
  for (const runs of groups.values()) {
    const run = runs[0]!;
    const share = spread(runs.map(largestShareOf));
    if (share === null) continue;
    const replicas = run.replicas!.length;
    const name = NAMES[run.protocol];
    const proxyCpu = spread(runs.map((r) => r.proxyCpuMsPer1kCalls));
    const retried = runs.reduce((sum, r) => sum + (r.retried ?? 0), 0);
    const total = run.replicas!.reduce((sum, r) => sum + r.calls, 0);
    const shares = run.replicas!.map((r) => pct(r.calls / total)).join('/');
    const words =
      share.median >= ONE_REPLICA_SHARE
        ? `one replica of ${replicas} carried ${pct(share.median)} of ${name}'s calls` +
          (run.place?.balance === 'l4' ? ` (L4 balances TCP connections: ${run.connections} connection${run.connections > 1 ? 's' : ''}${run.protocol === 'grpc' && run.connections === 1 ? '; --connections N spreads gRPC' : ''})` : '')
        : `spread over ${replicas} replicas, the largest ${pct(share.median)} of the calls`;
    lines.push(
      `${run.scenario}${placeSuffix(run)} ${name}: ${words} (shares ${shares}${runs.length > 1 ? ', trial 1' : ''})` +
        (proxyCpu ? `; proxy CPU ${num(proxyCpu.median)} ms/1k calls` : '') +
        (retried > 0 ? `; ${retried} calls retried` : ''),
    );
  }
  // The proxy tax: the same scenario and protocol direct and proxied in this file.
  for (const runs of groups.values()) {
    const run = runs[0]!;
    if (!run.place?.proxy) continue;
    const direct = groups.get(`${run.scenario}\t${run.protocol}${run.network ? `\t${run.network.name}` : ''}`);
    if (!direct) continue;
    const rps = (rows: RunRecord[]): number | null => spread(rows.map((r) => r.rps))?.median ?? null;
    const p50 = (rows: RunRecord[]): number | null => spread(rows.map((r) => r.latencyMs?.p50))?.median ?? null;
    const [d, p] = [rps(direct), rps(runs)];
    const [dl, pl] = [p50(direct), p50(runs)];
    if (d === null || p === null || d === 0 || dl === null || pl === null) continue;
    lines.push(
      `proxy tax, ${run.scenario} ${NAMES[run.protocol]} via${placeSuffix(run).replace(' @', ' ')}: ${Math.round(d)} -> ${Math.round(p)} calls/s (${p >= d ? '+' : ''}${Math.round(((p - d) / d) * 100)}%), p50 ${num(dl)} -> ${num(pl)} ms`,
    );
  }
  const suspects = completed.filter(nagleSuspect);
  if (suspects.length > 0) {
    const rows = [...new Set(suspects.map((run) => `${run.scenario}${placeSuffix(run)} ${NAMES[run.protocol]}`))];
    lines.push(
      `latency hint: p50 near 40 or 200 ms with the CPUs far from busy (${rows.join(', ')}): the signature of Nagle's algorithm meeting a delayed ACK, see docs/proxies.md`,
    );
  }
  return lines;
}

/** Behind a proxy (--proxy, --replicas): the spreads, the proxy's CPU and tax, and latency hints. */
export const placeSection = section<string[]>({
  id: 'place',
  title: 'Proxy and replicas',
  applies: ({ calls }) => placeLines(calls).length > 0,
  model: ({ calls }) => placeLines(calls),
  terminal: (lines) => ['proxy and replicas:', ...lines].join('\n'),
  markdown: (lines) => ['## Proxy and replicas', '', ...lines.map((line) => `- ${line}`)].join('\n'),
  html: (lines) => `<h2>Proxy and replicas</h2>\n${htmlList(lines)}`,
});
