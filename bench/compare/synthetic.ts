/**
 * SYNTHETIC results for tests and demos of the renderers and the comparison.
 * Nothing here was measured: the figures come from a toy model plus seeded
 * noise, and the environment says so (cpuModel "synthetic fixture"). Never
 * write these where measured results live (results/<timestamp>, results/baseline).
 */
import { SCHEMA_VERSION, type Environment, type ResultsFile, type RunRecord } from '../results/record.ts';
import type { Protocol } from '../types.ts';
import { mulberry32 } from '../scenario/payloads.ts';

export interface SyntheticOptions {
  trials?: number;
  /** Seed of the noise; same seed, same figures. */
  seed?: number;
  /** Relative spread of calls/s between trials, e.g. 0.03 for ±3 %. */
  noise?: number;
  /** Multiplies every calls/s figure (0.7 = a 30 % drop) and divides latencies by it. */
  rpsFactor?: number;
  /** Only these protocols' figures get rpsFactor (default both). */
  factorProtocols?: readonly Protocol[];
  /** Concurrency sweep of `add`. */
  concurrency?: readonly number[];
  /** Values per sum call (at concurrency 16). */
  sizes?: readonly number[];
  /** Give records the optional full percentile distribution. */
  fullPercentiles?: boolean;
  /** Mark REST runs at concurrency ≥ this as client-bound. */
  boundFrom?: number;
  environment?: Partial<Environment>;
}

export function syntheticEnvironment(overrides: Partial<Environment> = {}): Environment {
  return {
    date: '2026-01-01T00:00:00.000Z',
    node: 'v20.0.0',
    os: 'linux synthetic',
    cpuModel: 'synthetic fixture (not measured)',
    cpuCount: 8,
    totalMemoryMiB: 16_384,
    packages: {},
    gitCommit: null,
    options: { profile: 'synthetic', durationS: 1 },
    pinning: null,
    ...overrides,
  };
}

/** Seeded uniform numbers in [0, 1): same seed, same sequence. */
function prng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4_294_967_296;
}

export function syntheticResults(options: SyntheticOptions = {}): ResultsFile {
  const trials = options.trials ?? 3;
  const noise = options.noise ?? 0.03;
  const factor = options.rpsFactor ?? 1;
  const factorProtocols = options.factorProtocols ?? ['grpc', 'rest'];
  const random = prng(options.seed ?? 1);
  const runs: RunRecord[] = [];
  const scenarios: Array<{ operation: 'add' | 'sum'; values: number | null; concurrency: number }> = [
    ...(options.concurrency ?? [1, 16, 64, 256]).map((c) => ({ operation: 'add' as const, values: null, concurrency: c })),
    ...(options.sizes ?? [10, 1_000, 10_000]).map((n) => ({ operation: 'sum' as const, values: n, concurrency: 16 })),
  ];
  for (let trial = 1; trial <= trials; trial++) {
    for (const s of scenarios) {
      for (const protocol of ['grpc', 'rest'] as const) {
        const values = s.values ?? 0;
        // Toy model: gRPC saturates higher; bigger payloads cost both, JSON more.
        const peak = (protocol === 'grpc' ? 40_000 : 18_000) / (1 + values / (protocol === 'grpc' ? 3_000 : 800));
        const ideal = peak * (s.concurrency / (s.concurrency + 4));
        const f = factorProtocols.includes(protocol) ? factor : 1;
        const rps = ideal * f * (1 + noise * (2 * random() - 1));
        const p50 = (s.concurrency / rps) * 1000;
        const latency = { p50, p90: p50 * 1.6, p99: p50 * 3.2, p999: p50 * 6, max: p50 * 11, mean: p50 * 1.2, stdev: p50 * 0.6 };
        const requestBody = protocol === 'grpc' ? (s.values === null ? 18 : 9 * values + 3) : s.values === null ? 15 : 19 * values + 12;
        const responseBody = protocol === 'grpc' ? 9 : 14;
        const record: RunRecord = {
          scenario: s.values === null ? `${s.operation}/c${s.concurrency}` : `${s.operation}/n${s.values}/c${s.concurrency}`,
          protocol,
          driver: protocol === 'grpc' ? 'grpc-engine' : 'autocannon',
          operation: s.operation,
          payloadValues: s.values,
          concurrency: s.concurrency,
          connections: protocol === 'grpc' ? 1 : s.concurrency,
          rate: null,
          trial,
          durationS: 1,
          status: 'completed',
          failure: null,
          requests: Math.round(rps),
          errors: 0,
          statusCounts: { [protocol === 'grpc' ? 'OK' : '200']: Math.round(rps) },
          rps,
          latencyMs: latency,
          wire: {
            requestBytesPerCall: requestBody + (protocol === 'grpc' ? 5 + 9 + 30 : 120),
            responseBytesPerCall: responseBody + (protocol === 'grpc' ? 5 + 9 + 9 + 25 : 110),
            requestHeaderBytesPerCall: protocol === 'grpc' ? 44 : 120,
            responseHeaderBytesPerCall: protocol === 'grpc' ? 48 : 110,
            countedBy: 'synthetic',
          },
          body: { requestBytes: requestBody, responseBytes: responseBody },
          server: { cpuMsPer1kCalls: null, peakRssMiB: null },
          client: { cpuPercent: 50, cpuUsPerCall: null, bound: options.boundFrom !== undefined && protocol === 'rest' && s.concurrency >= options.boundFrom },
        };
        if (options.fullPercentiles) {
          record.latencyPercentilesMs = [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99].map((percentile) => ({
            percentile,
            ms: p50 * Math.pow(10, 0.25 * (-Math.log10(1 - percentile / 100) - 0.301)),
          }));
        }
        runs.push(record);
      }
    }
  }
  return { schemaVersion: SCHEMA_VERSION, environment: syntheticEnvironment(options.environment), runs };
}
