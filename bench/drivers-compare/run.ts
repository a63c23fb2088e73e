/**
 * Measures load generators against each other on the same server and shape:
 * how many calls/s each gets and how much CPU each burns per call. Generators
 * of a scenario take turns (the order rotates every round) so drift on the
 * machine falls on all of them; figures are medians over rounds, and the
 * ratios are medians of per-round ratios against the scenario's reference
 * (h2load, the neutral generator) so a slow round does not skew them.
 *
 * No printing here: the CLI (bench/cli/drivers.ts) prints and writes,
 * render.ts formats.
 */
import { performance } from 'node:perf_hooks';
import { autocannonDriver } from '../drivers/autocannon.ts';
import { grpcJsClientDriver, undiciClientDriver } from '../drivers/clients.ts';
import { grpcEngine } from '../drivers/grpc-engine.ts';
import { findH2load, h2loadDriver, type H2loadOptions, type H2loadResult } from '../drivers/h2load.ts';
import { http1Engine } from '../drivers/http1-engine.ts';
import { startContenderProcess } from '../host/contenders.ts';
import { readCpuMs } from '../host/process-stats.ts';
import type { ServerProcess } from '../host/server-process.ts';
import { getContender } from '../../servers/contenders/index.ts';
import { CLIENT_BOUND_PERCENT, SERVER_BUSY_PERCENT } from '../results/client-bound.ts';
import type { CallPayload, Driver, LoadOptions, LoadResult, Protocol, Target } from '../types.ts';
import { encodeRequest } from '../../servers/proto.ts';
import { calculatorMethod } from '../scenario/matrix.ts';
import { round } from '../results/round.ts';

export const SCHEMA = 'callbench-drivers/1';

export type GeneratorId = 'grpc-engine' | 'h2load' | 'autocannon' | 'http1-engine' | 'grpc-js-client' | 'undici-client';

export interface GeneratorInfo {
  id: GeneratorId;
  driver: Driver;
  /** Runs in this process (CPU from process.cpuUsage) or as a child process (its own CPU). */
  inProcess: boolean;
  kind: 'engine' | 'neutral' | 'client-library';
}

export const GENERATORS: Readonly<Record<GeneratorId, GeneratorInfo>> = {
  'grpc-engine': { id: 'grpc-engine', driver: grpcEngine, inProcess: true, kind: 'engine' },
  h2load: { id: 'h2load', driver: h2loadDriver, inProcess: false, kind: 'neutral' },
  autocannon: { id: 'autocannon', driver: autocannonDriver, inProcess: true, kind: 'engine' },
  'http1-engine': { id: 'http1-engine', driver: http1Engine, inProcess: true, kind: 'engine' },
  'grpc-js-client': { id: 'grpc-js-client', driver: grpcJsClientDriver, inProcess: true, kind: 'client-library' },
  'undici-client': { id: 'undici-client', driver: undiciClientDriver, inProcess: true, kind: 'client-library' },
};

export interface Scenario {
  id: string;
  protocol: Protocol;
  /** A server other than the protocol's default, by contender name (FASTEST_SERVER: how much headroom the generator has); absent: the default. */
  server?: string;
  connections: number;
  concurrency: number;
  generators: GeneratorId[];
  /** The generator the ratios are taken against. */
  reference: GeneratorId;
}

/**
 * The fastest server the bench measures (grpc-go: about 5x grpc-js's calls/s
 * at a fraction of its CPU per call), loaded at 1 connection x 64 in flight to
 * see whether the generator, not the server, is the limit: a generator whose
 * CPU per call is not below the server's, or that fills its core while the
 * server does not, is flagged client-bound.
 */
export const FASTEST_SERVER = 'grpc-go';

/** Unary Add at the shapes the bench uses, each generator the scenario can run; with `fastest`, Add on FASTEST_SERVER too. */
export function defaultScenarios(withClients: boolean, fastest = false): Scenario[] {
  const grpc = (connections: number, concurrency: number): Scenario => ({
    id: `grpc/add/conn${connections}-inflight${concurrency}`,
    protocol: 'grpc',
    connections,
    concurrency,
    generators: ['grpc-engine', 'h2load', ...(withClients ? (['grpc-js-client'] as const) : [])],
    reference: 'h2load',
  });
  return [
    grpc(1, 64),
    grpc(4, 256),
    {
      id: 'rest/add/conn64-inflight64',
      protocol: 'rest',
      connections: 64,
      concurrency: 64,
      generators: ['autocannon', 'h2load', 'http1-engine', ...(withClients ? (['undici-client'] as const) : [])],
      reference: 'h2load',
    },
    ...(fastest
      ? [{ id: `${FASTEST_SERVER}/add/conn1-inflight64`, protocol: 'grpc' as const, server: FASTEST_SERVER, connections: 1, concurrency: 64, generators: ['grpc-engine', 'h2load'] as GeneratorId[], reference: 'h2load' as const }]
      : []),
  ];
}

export interface ServerUnderTest {
  target: Target;
  /** The server's pid, to read its CPU time; null when not known. */
  pid: number | null;
}

/**
 * Starts a contender by name (FASTEST_SERVER) in its own pinned process for a
 * scenario's `server`; an unavailable or failing one is a reason, not an error,
 * so its scenario is skipped with it. The caller stops `server`.
 */
export async function startNamedServer(name: string, prefix: string[]): Promise<{ server: ServerProcess | null; entry: ServerUnderTest | { missing: string } }> {
  const contender = getContender(name);
  const unavailable = contender.unavailable?.() ?? null;
  if (unavailable !== null) return { server: null, entry: { missing: `${name} unavailable: ${unavailable}` } };
  try {
    const server = await startContenderProcess(contender, prefix);
    return { server, entry: { target: server.target, pid: server.pid } };
  } catch (error) {
    return { server: null, entry: { missing: `${name} did not start: ${(error as Error).message.split('\n')[0]}` } };
  }
}

export interface CompareOptions {
  servers: Record<Protocol, ServerUnderTest>;
  /** Servers scenarios name by `server` (FASTEST_SERVER), or why one is missing (not installed, did not start). */
  namedServers?: Record<string, ServerUnderTest | { missing: string }>;
  scenarios: Scenario[];
  rounds: number;
  durationS: number;
  /** Warm-up per server before the first round (not measured). */
  warmupS: number;
  timeoutMs: number;
  /** Command prefix for child-process generators (h2load), e.g. ['taskset', '-c', '1']. */
  childPrefix: string[];
  /** Skip h2load (and say so) when false; default: found on PATH. */
  h2loadAvailable?: boolean;
  onLine?: (line: string) => void;
}

export interface RoundMeasurement {
  round: number;
  /** Position in this round's order (0 = ran first). */
  order: number;
  calls: number;
  errors: number;
  statusCounts: Record<string, number>;
  elapsedS: number;
  rps: number;
  /** Generator CPU time during the run, µs (this process, or the h2load child). */
  clientCpuUs: number | null;
  clientCpuUsPerCall: number | null;
  /** Generator CPU / wall time, in % of one core. */
  clientCpuPercent: number | null;
  serverCpuUsPerCall: number | null;
  serverCpuPercent: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  failure: string | null;
}

export interface GeneratorSummary {
  generator: GeneratorId;
  kind: GeneratorInfo['kind'];
  rounds: RoundMeasurement[];
  medianRps: number | null;
  medianClientCpuUsPerCall: number | null;
  medianClientCpuPercent: number | null;
  medianServerCpuUsPerCall: number | null;
  medianServerCpuPercent: number | null;
  /**
   * The generator was the limit: its median CPU per call not below the
   * server's, or its core at CLIENT_BOUND_PERCENT while the server's was under
   * SERVER_BUSY_PERCENT (bench/results/client-bound.ts). False when not known.
   */
  clientBound: boolean;
  medianP50Ms: number | null;
  medianP99Ms: number | null;
  /** Median over rounds of (this generator's calls/s ÷ the reference's in the same round); null for the reference. */
  rpsRatio: number | null;
  cpuPerCallRatio: number | null;
  errors: number;
}

export interface ScenarioResult {
  id: string;
  protocol: Protocol;
  /** The server loaded when not the protocol's default (Scenario.server). */
  server?: string;
  connections: number;
  concurrency: number;
  reference: GeneratorId;
  generators: GeneratorSummary[];
  /** Generators left out, with the reason. */
  skipped: Array<{ generator: GeneratorId; reason: string }>;
}

export interface CompareResult {
  scenarios: ScenarioResult[];
  notes: string[];
}

const INPUT = { a: 20, b: 10 };

export function addPayload(): CallPayload {
  return { method: calculatorMethod('add'), input: INPUT, json: Buffer.from(JSON.stringify(INPUT)), protobuf: encodeRequest('add', INPUT), restPath: '/v1/add' };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}


export const H2LOAD_MISSING_LINE = 'h2load not found on PATH: h2load rows skipped (install: apt-get install nghttp2-client)';

export async function runComparison(options: CompareOptions): Promise<CompareResult> {
  const say = options.onLine ?? (() => {});
  const h2loadAvailable = options.h2loadAvailable ?? findH2load() !== null;
  const notes: string[] = [];
  if (!h2loadAvailable) {
    notes.push(H2LOAD_MISSING_LINE);
    say(H2LOAD_MISSING_LINE);
  }
  const payload = addPayload();

  const runOnce = async (
    generator: GeneratorInfo,
    scenario: Scenario,
    durationS: number,
  ): Promise<{ result: LoadResult; clientCpuUs: number | null; serverCpuUs: number | null; wallS: number }> => {
    const server = serverOf(scenario) as ServerUnderTest;
    const load: LoadOptions & H2loadOptions = {
      target: server.target,
      payload,
      concurrency: scenario.concurrency,
      connections: scenario.connections,
      durationS,
      timeoutMs: options.timeoutMs,
      ...(generator.id === 'h2load' ? { prefix: options.childPrefix } : {}),
    };
    const serverBefore = server.pid === null ? null : readCpuMs(server.pid);
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const result = await generator.driver.run(load);
    const wallS = (performance.now() - wallBefore) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = server.pid === null ? null : readCpuMs(server.pid);
    const clientCpuUs = generator.inProcess ? cpu.user + cpu.system : ((result as Partial<H2loadResult>).clientCpuUs ?? null);
    const serverCpuUs = serverBefore !== null && serverAfter !== null ? (serverAfter - serverBefore) * 1000 : null;
    return { result, clientCpuUs, serverCpuUs, wallS };
  };

  const serverOf = (scenario: Scenario): ServerUnderTest | { missing: string } =>
    scenario.server === undefined ? options.servers[scenario.protocol] : (options.namedServers?.[scenario.server] ?? { missing: `${scenario.server} not started` });
  const scenarios: ScenarioResult[] = [];
  const warmed = new Set<string>();
  for (const scenario of options.scenarios) {
    const skipped: ScenarioResult['skipped'] = [];
    const server = serverOf(scenario);
    const generators = scenario.generators.filter((id) => {
      if ('missing' in server) {
        skipped.push({ generator: id, reason: server.missing });
        return false;
      }
      if (id === 'h2load' && !h2loadAvailable) {
        skipped.push({ generator: id, reason: 'h2load not on PATH' });
        return false;
      }
      return true;
    });
    say(`${scenario.id}: ${generators.join(' vs ')}, ${options.rounds} rounds × ${options.durationS} s`);
    const serverKey = scenario.server ?? scenario.protocol;
    if (!warmed.has(serverKey) && options.warmupS > 0 && generators.length > 0) {
      warmed.add(serverKey);
      // Warm the server's JIT with an in-process generator (the first one), not measured.
      const warmer = GENERATORS[generators.find((id) => GENERATORS[id].inProcess) ?? generators[0]!];
      await runOnce(warmer, scenario, options.warmupS);
    }
    const measurements = new Map<GeneratorId, RoundMeasurement[]>(generators.map((id) => [id, []]));
    for (let r = 0; r < options.rounds; r++) {
      // Rotate the order each round so no generator always runs first (or last).
      const order = generators.map((_, i) => generators[(i + r) % generators.length]!);
      for (let position = 0; position < order.length; position++) {
        const id = order[position]!;
        const { result, clientCpuUs, serverCpuUs, wallS } = await runOnce(GENERATORS[id], scenario, options.durationS);
        const elapsedS = result.elapsedS > 0 ? result.elapsedS : wallS;
        const calls = result.calls;
        const measurement: RoundMeasurement = {
          round: r + 1,
          order: position,
          calls,
          errors: result.errors,
          statusCounts: result.statusCounts,
          elapsedS: round(elapsedS, 3),
          rps: elapsedS > 0 ? round(calls / elapsedS, 1) : 0,
          clientCpuUs,
          clientCpuUsPerCall: clientCpuUs !== null && calls > 0 ? round(clientCpuUs / calls, 2) : null,
          // CPU covers the whole driver call (connect, drain; h2load's whole process), so divide by that wall time.
          clientCpuPercent: clientCpuUs !== null && wallS > 0 ? round((clientCpuUs / 1e6 / wallS) * 100, 1) : null,
          serverCpuUsPerCall: serverCpuUs !== null && calls > 0 ? round(serverCpuUs / calls, 2) : null,
          serverCpuPercent: serverCpuUs !== null && wallS > 0 ? round((serverCpuUs / 1e6 / wallS) * 100, 1) : null,
          p50Ms: result.latencyUs.totalCount > 0 ? round(result.latencyUs.getValueAtPercentile(50) / 1000, 3) : null,
          p99Ms: result.latencyUs.totalCount > 0 ? round(result.latencyUs.getValueAtPercentile(99) / 1000, 3) : null,
          failure: result.failure ?? null,
        };
        measurements.get(id)!.push(measurement);
        say(
          `  round ${r + 1} ${id.padEnd(14)} ${String(Math.round(measurement.rps)).padStart(7)} calls/s` +
            `  client ${measurement.clientCpuUsPerCall ?? '-'} µs/call` +
            (measurement.errors > 0 ? `  errors ${measurement.errors}` : '') +
            (measurement.failure ? `  FAILED: ${measurement.failure}` : ''),
        );
      }
    }
    scenarios.push({
      id: scenario.id,
      protocol: scenario.protocol,
      ...(scenario.server !== undefined ? { server: scenario.server } : {}),
      connections: scenario.connections,
      concurrency: scenario.concurrency,
      reference: scenario.reference,
      generators: summarize(generators, measurements, generators.includes(scenario.reference) ? scenario.reference : null),
      skipped,
    });
  }
  return { scenarios, notes };
}

/** GeneratorSummary.clientBound from the medians; false when a figure is missing. */
export function isClientBound(clientUsPerCall: number | null, serverUsPerCall: number | null, clientPercent: number | null, serverPercent: number | null): boolean {
  if (clientUsPerCall !== null && serverUsPerCall !== null && clientUsPerCall >= serverUsPerCall) return true;
  return clientPercent !== null && serverPercent !== null && clientPercent >= CLIENT_BOUND_PERCENT && serverPercent < SERVER_BUSY_PERCENT;
}

function summarize(
  generators: GeneratorId[],
  measurements: Map<GeneratorId, RoundMeasurement[]>,
  reference: GeneratorId | null,
): GeneratorSummary[] {
  const refRounds = reference ? measurements.get(reference)! : [];
  const pick = (rounds: RoundMeasurement[], key: keyof RoundMeasurement): number | null =>
    median(rounds.map((m) => m[key]).filter((v): v is number => typeof v === 'number'));
  const roundOrNull = (value: number | null, digits = 2): number | null => (value === null ? null : round(value, digits));
  return generators.map((id) => {
    const rounds = measurements.get(id)!;
    const ratios = (key: 'rps' | 'clientCpuUsPerCall'): number | null => {
      if (reference === null || id === reference) return null;
      const perRound: number[] = [];
      for (const m of rounds) {
        const ref = refRounds.find((x) => x.round === m.round);
        const mine = m[key];
        const theirs = ref?.[key];
        if (typeof mine === 'number' && typeof theirs === 'number' && theirs > 0) perRound.push(mine / theirs);
      }
      return roundOrNull(median(perRound), 3);
    };
    return {
      generator: id,
      kind: GENERATORS[id].kind,
      rounds,
      medianRps: roundOrNull(pick(rounds, 'rps'), 1),
      medianClientCpuUsPerCall: roundOrNull(pick(rounds, 'clientCpuUsPerCall')),
      medianClientCpuPercent: roundOrNull(pick(rounds, 'clientCpuPercent'), 1),
      medianServerCpuUsPerCall: roundOrNull(pick(rounds, 'serverCpuUsPerCall')),
      medianServerCpuPercent: roundOrNull(pick(rounds, 'serverCpuPercent'), 1),
      clientBound: isClientBound(pick(rounds, 'clientCpuUsPerCall'), pick(rounds, 'serverCpuUsPerCall'), pick(rounds, 'clientCpuPercent'), pick(rounds, 'serverCpuPercent')),
      medianP50Ms: roundOrNull(pick(rounds, 'p50Ms'), 3),
      medianP99Ms: roundOrNull(pick(rounds, 'p99Ms'), 3),
      rpsRatio: ratios('rps'),
      cpuPerCallRatio: ratios('clientCpuUsPerCall'),
      errors: rounds.reduce((sum, m) => sum + m.errors, 0),
    };
  });
}
