/**
 * Runs grouped by the network condition they ran under (--network), in the
 * order the conditions ran. When a file holds both cleartext and TLS runs
 * (--sweep network), each condition is two groups, "cross-region" and
 * "cross-region TLS". The comparison and the reports read these groups.
 */
import type { NetworkRecord, ResultsFile, RunRecord } from './record.ts';

export interface NetworkGroup {
  /** 'loopback' or the condition's name, with " TLS" after it when the file also holds cleartext runs. */
  name: string;
  /** The group's runs were over TLS. */
  tls: boolean;
  /** The first run's record (the condition and its link probe); null on loopback. */
  network: NetworkRecord | null;
  /** The results file with this condition's runs only. */
  results: ResultsFile;
}

export function networkName(run: Pick<RunRecord, 'network'>): string {
  return run.network?.name ?? 'loopback';
}

/** The run went over TLS (schema 4 says so in place; older files only in the connection-cost record). */
const overTls = (run: Pick<RunRecord, 'tls' | 'place'>): boolean => run.place?.tls ?? run.tls?.enabled === true;

/** Names runs by condition, and by TLS too when the file holds both cleartext and TLS runs. */
export function conditionNamer(results: ResultsFile): (run: RunRecord) => string {
  const mixed = results.runs.some(overTls) && !results.runs.every(overTls);
  return (run) => networkName(run) + (mixed && overTls(run) ? ' TLS' : '');
}

/** Any run went through an emulated link. */
export function hasNetworks(results: ResultsFile): boolean {
  return results.runs.some((run) => run.network != null);
}

export function splitByNetwork(results: ResultsFile): NetworkGroup[] {
  const groups = new Map<string, NetworkGroup>();
  const nameOf = conditionNamer(results);
  for (const run of results.runs) {
    const name = nameOf(run);
    let group = groups.get(name);
    if (!group) {
      group = { name, tls: overTls(run), network: run.network ?? null, results: { ...results, runs: [] } };
      groups.set(name, group);
    }
    group.results.runs.push(run);
  }
  return [...groups.values()];
}
