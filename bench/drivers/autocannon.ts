/**
 * REST load with autocannon's programmatic API: `connections` keep-alive
 * HTTP/1.1 connections, each with `pipelining` requests queued (1 unless fewer
 * connections than calls in flight were asked for), closed loop.
 *
 * Latency is recorded per response from autocannon's 'response' event
 * (responseTime: hrtime from the request write to the parsed response, in ms)
 * into our own HDR histogram in µs, so it is sampled exactly as the gRPC
 * engine samples its calls; autocannon's own aggregate is skipped.
 */
import { usableConnections } from '../scenario/connections.ts';
import autocannon from 'autocannon';
import { REST_GZIP_HEADERS } from '../scenario/compression.ts';
import { assertDrivable, requestLine, restBodyOf } from '../wire/http-call.ts';
import { createLatencyHistogram } from '../results/histogram.ts';
import type { Driver, LoadOptions, LoadResult } from '../types.ts';
import { PROGRESS_INTERVAL_MS } from './schedule.ts';

/** How often autocannon checks its stop flag (its default is 1 s, too coarse for short runs). */
const SAMPLE_INTERVAL_MS = 50;

export const autocannonDriver: Driver = {
  name: 'autocannon',
  protocols: ['rest'],
  compression: true,
  restWires: ['http1'],
  run: runAutocannon,
};

function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { target, payload } = options;
  if (target.protocol !== 'rest') return Promise.reject(new Error('autocannon drives REST targets only'));
  const connections = usableConnections(options.connections, options.concurrency);
  const pipelining = Math.max(1, Math.ceil(options.concurrency / connections));
  const latencyUs = createLatencyHistogram();
  const statusCounts: Record<string, number> = {};
  let calls = 0;
  let errors = 0;
  let failure: string | undefined;
  const bump = (key: string): void => {
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
  };

  let call;
  try {
    call = assertDrivable('autocannon', autocannonDriver.restWires, target);
  } catch (error) {
    return Promise.reject(error);
  }
  const line = requestLine(call, payload);
  const url = new URL(line.path, target.url).toString();
  const requests = options.requests;
  if (requests !== undefined && requests < connections) {
    // autocannon refuses more connections than calls; the caller caps it, but be safe.
    return runAutocannon({ ...options, connections: requests, concurrency: Math.min(options.concurrency, requests) });
  }

  return new Promise<LoadResult>((resolve, reject) => {
    const started = process.hrtime.bigint();
    let lastDone = started;
    let instance: autocannon.Instance;
    // Declared before autocannon() runs: it calls back synchronously (and returns nothing) when it refuses its options.
    let progressTimer: NodeJS.Timeout | undefined;
    let ended = false;
    try {
      instance = autocannon(
        {
          url,
          method: line.verb as 'POST',
          // A compressed run (--compression gzip) sends the precomputed gzip body and asks for gzip back.
          headers: { 'content-type': call.contentType, ...(payload.compressed ? REST_GZIP_HEADERS : {}), ...options.metadata },
          body: restBodyOf(call, payload),
          connections,
          pipelining,
          // autocannon's duration is ignored when amount is set.
          duration: requests === undefined ? options.durationS : 0,
          amount: requests,
          timeout: options.timeoutMs / 1000,
          sampleInt: SAMPLE_INTERVAL_MS,
          skipAggregateResult: true,
        } as autocannon.Options,
        (error) => {
          ended = true;
          clearInterval(progressTimer);
          options.signal?.removeEventListener('abort', onAbort);
          if (error) return reject(error);
          const elapsedS = Number(lastDone - started) / 1e9;
          resolve({ calls, errors, statusCounts, elapsedS, latencyUs, socketBytes: null, failure });
        },
      );
    } catch (error) {
      reject(error);
      return;
    }
    if (ended) return;
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      calls += 1;
      lastDone = process.hrtime.bigint();
      latencyUs.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
      bump(String(statusCode));
      if (statusCode < 200 || statusCode >= 300) errors += 1;
    });
    instance.on('reqError', (error: Error) => {
      // Timeouts and connection failures: a call that did not complete with a response.
      calls += 1;
      errors += 1;
      lastDone = process.hrtime.bigint();
      const key = /timed out/.test(error.message) ? 'timeout' : 'connection-error';
      bump(key);
    });
    progressTimer = setInterval(() => {
      options.onProgress?.({ calls, elapsedS: Number(process.hrtime.bigint() - started) / 1e9 });
    }, PROGRESS_INTERVAL_MS);
    function onAbort(): void {
      const reason: unknown = options.signal?.reason;
      failure ??= reason instanceof Error ? reason.message : String(reason ?? 'aborted');
      instance.stop();
    }
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
