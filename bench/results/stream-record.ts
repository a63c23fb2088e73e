/**
 * The stream bench's results (bench/cli/streams.ts): one record per operation
 * and transport, in results/streams-<time>.json. Its contract is
 * results/streams-schema.json, as results/schema.json is record.ts's.
 */
import type { StreamOperation } from '../../servers/calculator.ts';
import type { StreamTransport } from '../drivers/streams/types.ts';
import type { Environment, LatencySummaryMs } from './record.ts';

/**
 * 3: the file records its environment (as results.json does);
 * 2: open loop and held streams (mode, ratePerStream, durationS, elapsedS; messagesPerStream null when held).
 */
export const STREAM_RECORD_SCHEMA_VERSION = 3;

/** results/streams-<time>.json: the machine and options, then one record per operation and transport. */
export interface StreamsFile {
  schemaVersion: number;
  environment: Environment;
  records: StreamRecord[];
}

export interface StreamRecord {
  schemaVersion: number;
  operation: StreamOperation;
  transport: StreamTransport;
  streams: number;
  /** closed: running-sum waits for each answer before the next value; open: values go at ratePerStream. */
  mode: 'closed' | 'open';
  /** Open loop: values per second per stream; null when closed. */
  ratePerStream: number | null;
  /** Values per stream; null when the streams were held for durationS. */
  messagesPerStream: number | null;
  /** How long the streams were held open before half-close; null when each carried messagesPerStream. */
  durationS: number | null;
  /** The measured run's wall time: opening the first stream -> the last one ended. */
  elapsedS: number;
  /** Answered (summed, for sum-stream) by streams that ended well. */
  messages: number;
  errors: number;
  firstError: string | null;
  messagesPerSecond: number;
  /**
   * Per message, ms: bidi round trip (open loop: from each value's due time);
   * sum-stream last value sent (open loop: due) -> total; prefix-sums inter-arrival.
   */
  latencyMs: LatencySummaryMs | null;
  /** New stream -> its first answer, ms; null for sum-stream. */
  openMs: LatencySummaryMs | null;
  /** Bytes on the wire per message, each way, from the counting proxy's pass; null if it carried none. */
  requestBytesPerMessage: number | null;
  responseBytesPerMessage: number | null;
  serverCpuMsPer1000: number | null;
  clientCpuMsPer1000: number | null;
  /** % of one core during the measured run (CPU per message x messages/s). */
  clientCpuPercent: number | null;
  serverCpuPercent: number | null;
  /** The unary rule (bench/results/client-bound.ts): the generator near a full core while the server was not. */
  clientBound: boolean;
}
