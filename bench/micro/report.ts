/**
 * The micro-benchmark's result record: what the runner produces and every
 * renderer (terminal, Markdown, CSV, micro.json) reads. Numbers stay numbers;
 * formatting happens only in the renderers.
 */
import type { ValueShape } from '../scenario/payloads.ts';
import type { Direction, Format, MessageName } from './suites.ts';

/** Bump when a field changes meaning or is removed. */
export const MICRO_SCHEMA_VERSION = 1;

export interface Environment {
  node: string;
  v8: string;
  os: { platform: string; release: string; arch: string };
  cpu: { model: string; count: number };
  packages: Record<string, string>;
  /** ISO 8601 time the run started. */
  date: string;
}

/** Bodies up to this size are kept in the record, to show what the bytes are. */
export const SMALL_BODY_BYTES = 64;

/** Timing of one function (e.g. protobuf decode of Numbers ×1,000 double). */
export interface TimingStats {
  /** Operations per second: calls / total measured time. */
  opsPerSec: number;
  /** Mean time per call, in nanoseconds. */
  meanNs: number;
  /** 99th percentile of the samples, in nanoseconds (a sample is the mean of `batch` calls). */
  p99Ns: number;
  /** Relative margin of error of the mean, in percent (95% confidence, Student's t). */
  rmePct: number;
  /** Number of samples tinybench took. */
  samples: number;
  /** Calls per sample: small messages are timed in batches so timer overhead stays negligible. */
  batch: number;
}

export interface DirectionResult {
  json: TimingStats;
  protobuf: TimingStats;
  /** JSON mean time / protobuf mean time: above 1, JSON is slower. */
  jsonToProtobufTime: number;
}

export interface CaseResult {
  id: string;
  label: string;
  message: MessageName;
  values: number | null;
  shape: ValueShape | null;
  bytes: {
    /** Buffer.byteLength of the JSON text (the REST body). */
    json: number;
    /** Length of the protobuf message (the gRPC body, without the 5-byte gRPC frame prefix). */
    protobuf: number;
    /** json / protobuf: above 1, JSON is bigger. */
    jsonToProtobuf: number;
  };
  /** The bodies themselves, for messages of at most SMALL_BODY_BYTES (else null). */
  bodies: { json: string; protobufHex: string } | null;
  encode: DirectionResult;
  decode: DirectionResult;
}

export interface MicroSettings {
  quick: boolean;
  sizes: number[];
  shapes: ValueShape[];
  /** tinybench time budget per task in ms, for messages up to 10,000 values. */
  timeMs: number;
  /** The budget for the largest messages (over 10,000 values). */
  largeTimeMs: number;
  warmupTimeMs: number;
}

export interface MicroReport {
  schemaVersion: number;
  kind: 'micro';
  environment: Environment;
  settings: MicroSettings;
  /** Wall time of the whole run, in seconds. */
  durationS: number;
  cases: CaseResult[];
  /** Sentences generated from the measured numbers. */
  summary: string[];
}

export type { Direction, Format };
