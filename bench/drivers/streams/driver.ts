/**
 * The stream generator as a Driver: the bench runs a streaming method's
 * scenario through the same runner as unary calls (trials, network, TLS,
 * segments, capacity), with this driver instead of the protocol's call driver.
 *
 * LoadOptions as a stream run reads them: `concurrency` streams at once on
 * `stream.transport`, each carrying `stream.messagesPerStream` messages (or
 * `requests` spread over the streams, for the byte-counting pass), or held
 * open for `durationS` when neither is set; `rate` is messages/s over all
 * streams (each stream sends every concurrency/rate s). The result counts
 * messages: `latencyUs` per message, `firstMessageUs` from a new stream to its
 * first answer, `gapUs` between a server stream's answers (bench/drivers/streams/run.ts
 * says what each kind measures). The payload carries the method (its kind
 * and paths), the prepared messages and, optionally, the check of the
 * answers' values (CallPayload.stream).
 */
import type { Driver, LoadOptions, LoadResult } from '../../types.ts';
import { createLatencyHistogram } from '../../results/histogram.ts';
import { runStreamLoad, streamKindOf, type StreamLength } from './run.ts';
import type { StreamTarget } from './types.ts';

function streamTarget(options: LoadOptions): StreamTarget {
  const { target } = options;
  if (target.protocol === 'grpc') return { host: target.host, port: target.port, ...(target.tls ? { tls: true } : {}) };
  const url = new URL(target.url);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), ...(url.protocol === 'https:' ? { tls: true } : {}) };
}

export const streamEngine: Driver = {
  name: 'stream-engine',
  protocols: ['grpc', 'rest'],
  openLoop: true,
  async run(options: LoadOptions): Promise<LoadResult> {
    const stream = options.stream;
    if (!stream) throw new Error('stream-engine runs streaming methods only (LoadOptions.stream)');
    const kind = streamKindOf(options.payload);
    const streams = Math.max(1, Math.floor(options.concurrency));
    // A server stream the server sizes (no requestOf) opens stream after stream on each lane: a warm-up, given a
    // count of messages and a duration, runs for its duration (its count in whole streams could be thousands of
    // them); only a pass without a duration (the byte-counting pass) runs to its count.
    const serverSized = kind === 'server-stream' && options.payload.stream?.requestOf === undefined;
    const length: StreamLength =
      serverSized && options.durationS > 0 && stream.messagesPerStream === null
        ? { durationMs: Math.max(1, Math.round(options.durationS * 1000)) }
        : options.requests !== undefined
        ? { messages: Math.max(1, Math.ceil(options.requests / streams)) }
        : stream.messagesPerStream !== null
          ? { messages: stream.messagesPerStream }
          : { durationMs: Math.max(1, Math.round(options.durationS * 1000)) };
    const result = await runStreamLoad({
      payload: options.payload,
      transport: stream.transport,
      target: streamTarget(options),
      streams,
      ...length,
      ...(options.rate !== undefined ? { rate: options.rate / streams } : {}),
      connections: Math.max(1, Math.floor(options.connections)),
      serverPid: null,
      ...(options.metadata ? { metadata: options.metadata } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    // A server stream's answers have no request each: their per-message figure is the gap between them.
    const serverStream = kind === 'server-stream';
    const statusCounts: Record<string, number> = {};
    if (result.messages > 0) statusCounts.OK = result.messages;
    if (result.errors > 0) statusCounts['stream-error'] = result.errors;
    return {
      calls: result.messages,
      errors: result.errors,
      statusCounts,
      elapsedS: result.elapsedS,
      latencyUs: serverStream ? createLatencyHistogram() : result.latencyUs,
      socketBytes: null,
      unit: 'message',
      firstMessageUs: result.openUs,
      ...(serverStream ? { gapUs: result.latencyUs } : {}),
      firstError: result.firstError,
      ...(result.retried !== undefined ? { retried: result.retried } : {}),
      ...(result.connectionsOpened !== undefined ? { connectionsOpened: result.connectionsOpened } : {}),
      ...(options.signal?.aborted ? { failure: 'aborted' } : {}),
    };
  },
};
