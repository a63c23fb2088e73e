/**
 * Runs the micro-benchmark cases with tinybench and returns the result record.
 * No printing and no files here: the CLI passes the record to the renderers.
 *
 * Timing: a JSON encode of {a:20,b:10} takes a few hundred nanoseconds, close
 * to the cost of reading the clock, so each tinybench sample times a batch of
 * calls sized to last about BATCH_TARGET_MS and reports the batch mean
 * (tinybench's overriddenDuration). Large messages run one call per sample.
 * Percentiles are therefore percentiles of batch means for small messages.
 */
import { performance } from 'node:perf_hooks';
import { Bench, type FnReturnedObject, type Task } from 'tinybench';
import { PAYLOAD_SIZES, VALUE_SHAPES, type ValueShape } from '../scenario/payloads.ts';
import { collectEnvironment } from './environment.ts';
import {
  MICRO_SCHEMA_VERSION,
  SMALL_BODY_BYTES,
  type CaseResult,
  type DirectionResult,
  type MicroReport,
  type MicroSettings,
  type TimingStats,
} from './report.ts';
import { buildCases, DIRECTIONS, FORMATS, type Direction, type Format, type MicroCase } from './suites.ts';
import { summarize } from './summary.ts';

/** Target duration of one timed batch, in ms (50 µs: clock overhead well under 1%). */
export const BATCH_TARGET_MS = 0.05;
/** Messages with more values than this get the `largeTimeMs` budget and fewer minimum iterations. */
export const LARGE_MESSAGE_VALUES = 10_000;

export interface MicroOptions {
  quick?: boolean;
  sizes?: readonly number[];
  shapes?: readonly ValueShape[];
  /** Called before each case runs (for progress output). */
  onCase?: (index: number, total: number, item: MicroCase) => void;
}

export function microSettings(options: MicroOptions = {}): MicroSettings {
  const quick = options.quick ?? false;
  return {
    quick,
    sizes: [...(options.sizes ?? PAYLOAD_SIZES)],
    shapes: [...(options.shapes ?? VALUE_SHAPES)],
    timeMs: quick ? 15 : 300,
    largeTimeMs: quick ? 15 : 200,
    warmupTimeMs: quick ? 5 : 80,
  };
}

// Every result goes here, so the engine cannot drop a call whose result is unused.
let sink: unknown;

/** Calls per sample so a sample lasts about BATCH_TARGET_MS; also serves as a first warm-up. */
export function calibrateBatch(call: () => unknown): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    sink = call();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < 2 && calls < 20_000);
  const perCall = elapsed / calls;
  return Math.max(1, Math.min(10_000, Math.round(BATCH_TARGET_MS / Math.max(perCall, 1e-6))));
}

export function batched(call: () => unknown, batch: number): () => FnReturnedObject {
  return () => {
    const start = performance.now();
    for (let i = 0; i < batch; i++) sink = call();
    const elapsed = performance.now() - start;
    return { overriddenDuration: elapsed / batch, overriddenIterationCost: elapsed };
  };
}

function stats(task: Task, batch: number): TimingStats {
  const result = task.result;
  if (result.state !== 'completed') {
    const reason = result.state === 'errored' ? `: ${result.error.message}` : '';
    throw new Error(`micro-benchmark task "${task.name}" ended ${result.state}${reason}`);
  }
  const { latency } = result;
  return {
    opsPerSec: latency.mean > 0 ? 1000 / latency.mean : 0,
    meanNs: latency.mean * 1e6,
    p99Ns: latency.p99 * 1e6,
    rmePct: latency.rme,
    samples: latency.samplesCount,
    batch,
  };
}

function runCase(item: MicroCase, settings: MicroSettings): CaseResult {
  const large = (item.values ?? 0) > LARGE_MESSAGE_VALUES;
  const bench = new Bench({
    name: item.id,
    time: large ? settings.largeTimeMs : settings.timeMs,
    iterations: settings.quick ? 3 : large ? 8 : 32,
    warmupTime: settings.warmupTimeMs,
    warmupIterations: settings.quick || large ? 1 : 8,
    throws: true,
  });
  const batches = new Map<string, number>();
  for (const direction of DIRECTIONS) {
    for (const format of FORMATS) {
      const call = item.codecs[format][direction];
      const batch = calibrateBatch(call);
      const name = `${direction} ${format}`;
      batches.set(name, batch);
      bench.add(name, batched(call, batch));
    }
  }
  bench.runSync();

  const direction = (which: Direction): DirectionResult => {
    const timing = (format: Format): TimingStats => {
      const name = `${which} ${format}`;
      return stats(bench.getTask(name) as Task, batches.get(name) ?? 1);
    };
    const json = timing('json');
    const protobuf = timing('protobuf');
    return { json, protobuf, jsonToProtobufTime: json.meanNs / protobuf.meanNs };
  };

  const json = item.encoded.json.byteLength;
  const protobuf = item.encoded.protobuf.length;
  return {
    id: item.id,
    label: item.label,
    message: item.message,
    values: item.values,
    shape: item.shape,
    bytes: { json, protobuf, jsonToProtobuf: json / protobuf },
    bodies:
      Math.max(json, protobuf) <= SMALL_BODY_BYTES
        ? {
            json: Buffer.from(item.encoded.json).toString('utf8'),
            protobufHex: Buffer.from(item.encoded.protobuf).toString('hex'),
          }
        : null,
    encode: direction('encode'),
    decode: direction('decode'),
  };
}

export async function runMicro(options: MicroOptions = {}): Promise<MicroReport> {
  const settings = microSettings(options);
  const environment = collectEnvironment();
  const started = performance.now();
  const cases = buildCases(settings);
  const results: CaseResult[] = [];
  for (const [index, item] of cases.entries()) {
    options.onCase?.(index, cases.length, item);
    results.push(runCase(item, settings));
    // Let pending I/O (progress output, signals) through between cases.
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (sink === undefined) throw new Error('micro-benchmark produced no results');
  return {
    schemaVersion: MICRO_SCHEMA_VERSION,
    kind: 'micro',
    environment,
    settings,
    durationS: (performance.now() - started) / 1000,
    cases: results,
    summary: summarize(results),
  };
}
