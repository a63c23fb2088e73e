/**
 * The replicas behind a proxy (--replicas): each one's calls and CPU over a
 * measured run, read before and after it. Calls come from the server's own
 * counter (servers/call-counter.ts), so the warm-up and the byte-counting pass,
 * which run outside the window, are not in a replica's share.
 */
import type { ReplicaRecord } from '../results/record.ts';
import { readCpuMs } from './process-stats.ts';
import type { ServerProcess } from './server-process.ts';

export interface ReplicaSnapshot {
  pid: number;
  calls: number | null;
  cpuMs: number | null;
}

/** Every replica's call count and CPU now (the counts read in parallel, a signal each). */
export async function snapshotReplicas(replicas: readonly ServerProcess[]): Promise<ReplicaSnapshot[]> {
  return Promise.all(
    replicas.map(async (replica) => ({ pid: replica.pid, calls: (await replica.readCalls?.()) ?? null, cpuMs: readCpuMs(replica.pid) })),
  );
}

/**
 * Each replica's share between two snapshots; null when a count could not be read
 * (a replica that did not answer its signal: no share is better than a wrong one).
 */
export function replicaRecords(before: readonly ReplicaSnapshot[], after: readonly ReplicaSnapshot[]): ReplicaRecord[] | null {
  const records: ReplicaRecord[] = [];
  for (const [i, b] of before.entries()) {
    const a = after[i];
    if (!a || a.pid !== b.pid || a.calls === null || b.calls === null) return null;
    const calls = a.calls - b.calls;
    const cpuMs = a.cpuMs !== null && b.cpuMs !== null ? a.cpuMs - b.cpuMs : null;
    // /proc counts 10 ms ticks: a replica that served calls but used less than one tick is not measured (null).
    records.push({ pid: b.pid, calls, cpuMsPer1kCalls: calls > 0 && cpuMs !== null && cpuMs > 0 ? Math.round((cpuMs / calls) * 1000 * 100) / 100 : null });
  }
  return records;
}

/** The largest replica's share of the calls (0..1), or null with no call. */
export function largestShare(replicas: readonly Pick<ReplicaRecord, 'calls'>[]): number | null {
  const total = replicas.reduce((sum, r) => sum + r.calls, 0);
  return total === 0 ? null : Math.max(...replicas.map((r) => r.calls)) / total;
}

/** CPU ms per 1,000 calls between two readings; null when either is missing, no call completed or under one /proc tick was used. */
export function cpuMsPer1k(beforeMs: number | null, afterMs: number | null, calls: number): number | null {
  if (beforeMs === null || afterMs === null || calls <= 0 || afterMs - beforeMs <= 0) return null;
  return Math.round(((afterMs - beforeMs) / calls) * 1000 * 100) / 100;
}

/** The servers' connection limits (--max-connection-age, --max-connection-calls) as servers/serve.ts flags. */
export function connectionLimitArgs(options: { maxConnectionAgeMs: number | null; maxConnectionCalls: number | null }): string[] {
  return [
    ...(options.maxConnectionAgeMs !== null ? ['--max-connection-age', `${options.maxConnectionAgeMs}ms`] : []),
    ...(options.maxConnectionCalls !== null ? ['--max-connection-calls', String(options.maxConnectionCalls)] : []),
  ];
}
