/**
 * Rows the renderers share: the runs of one scenario grouped, one cell per
 * protocol with the median over trials and the min–max, and gRPC/REST ratios.
 * Pure data; the table, markdown and csv printers only format it.
 */
import type { Protocol } from '../types.ts';
import type { ResultsFile, RunRecord } from './record.ts';
import { placeSuffix } from './place-suffix.ts';

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** How many trials had a value. */
  n: number;
}

export interface ProtocolCell {
  runs: RunRecord[];
  driver: string;
  connections: number;
  rps: Spread | null;
  p50: Spread | null;
  p99: Spread | null;
  requestBytes: Spread | null;
  responseBytes: Spread | null;
  serverCpuMsPer1k: Spread | null;
  errors: number;
  requests: number;
  failed: boolean;
  clientBound: boolean;
}

export interface ScenarioRow {
  scenario: string;
  concurrency: number;
  cells: Partial<Record<Protocol, ProtocolCell>>;
}

export const METRICS = ['rps', 'p50', 'p99', 'requestBytes', 'responseBytes', 'serverCpuMsPer1k'] as const;
export type Metric = (typeof METRICS)[number];

export function spread(values: (number | null | undefined)[]): Spread | null {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (present.length === 0) return null;
  const mid = Math.floor(present.length / 2);
  const median = present.length % 2 === 1 ? present[mid]! : (present[mid - 1]! + present[mid]!) / 2;
  return { median, min: present[0]!, max: present[present.length - 1]!, n: present.length };
}

function cellOf(runs: RunRecord[]): ProtocolCell {
  // Failed runs do not count in the medians, but they flag the cell.
  const ok = runs.filter((run) => run.status === 'completed');
  return {
    runs,
    driver: runs[0]!.driver,
    connections: runs[0]!.connections,
    rps: spread(ok.map((r) => r.rps)),
    p50: spread(ok.map((r) => r.latencyMs?.p50)),
    p99: spread(ok.map((r) => r.latencyMs?.p99)),
    requestBytes: spread(ok.map((r) => r.wire.requestBytesPerCall)),
    responseBytes: spread(ok.map((r) => r.wire.responseBytesPerCall)),
    serverCpuMsPer1k: spread(ok.map((r) => r.server.cpuMsPer1kCalls)),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    failed: runs.some((r) => r.status === 'failed'),
    clientBound: ok.some((r) => r.client.bound),
  };
}

/**
 * Runs grouped by scenario, scenarios in the order they first appear (a Map iterates in insertion order).
 * Behind a proxy (--proxy) the place is part of the key ("add/c16 @nginx l4 x2"), so a scenario measured
 * direct and proxied in one run makes two rows.
 */
export function runsByScenario(runs: Iterable<RunRecord>): Map<string, RunRecord[]> {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = run.scenario + placeSuffix(run);
    const group = groups.get(key);
    if (group) group.push(run);
    else groups.set(key, [run]);
  }
  return groups;
}

/** One row per scenario, in the order scenarios first appear in the file. */
export function summarize(results: ResultsFile): ScenarioRow[] {
  return [...runsByScenario(results.runs)].map(([scenario, runs]) => {
    const cells: Partial<Record<Protocol, ProtocolCell>> = {};
    for (const protocol of ['grpc', 'rest'] as const) {
      const mine = runs.filter((run) => run.protocol === protocol);
      if (mine.length > 0) cells[protocol] = cellOf(mine);
    }
    return { scenario, concurrency: runs[0]!.concurrency, cells };
  });
}

/** gRPC median / REST median, or null when either is missing or REST is 0. */
export function ratio(row: ScenarioRow, metric: Metric): number | null {
  const g = row.cells.grpc?.[metric]?.median;
  const r = row.cells.rest?.[metric]?.median;
  if (g === undefined || r === undefined || r === 0) return null;
  return g / r;
}

/** Whether a metric is better when higher (throughput) or lower (latency, bytes, CPU). */
export const HIGHER_IS_BETTER: Readonly<Record<Metric, boolean>> = {
  rps: true,
  p50: false,
  p99: false,
  requestBytes: false,
  responseBytes: false,
  serverCpuMsPer1k: false,
};

export function trialsIn(results: ResultsFile): number {
  return results.runs.reduce((max, run) => Math.max(max, run.trial), 1);
}
