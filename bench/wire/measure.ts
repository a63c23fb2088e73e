/**
 * The wire-sampling pass: the same driver, payload, concurrency and connections
 * as the measured run, for a fixed number of calls, through the counting proxy.
 * Bytes per call = everything the proxy saw each way (connection set-up and
 * teardown included, amortised over the calls) / calls completed.
 */
import type { WireBytesPerCall } from '../results/record.ts';
import type { Driver, LoadOptions, Target } from '../types.ts';
import { startCountingProxy, type ProxyCounts } from './proxy.ts';
import { restCallOf } from './http-call.ts';

/** Lets close frames (GOAWAY, FIN) that follow the last response reach the counters. */
const SETTLE_MS = 100;

export interface WireSample {
  wire: WireBytesPerCall;
  /** Mean response message body per call, as the proxy parsed it; null without calls. */
  responseBodyBytes: number | null;
  calls: number;
  errors: number;
  counts: ProxyCounts;
  failure?: string;
}

export const NULL_WIRE: WireBytesPerCall = {
  requestBytesPerCall: null,
  responseBytesPerCall: null,
  requestHeaderBytesPerCall: null,
  responseHeaderBytesPerCall: null,
  countedBy: null,
};

export async function measureWireBytes(
  driver: Driver,
  options: Omit<LoadOptions, 'requests' | 'durationS' | 'onProgress'>,
  calls: number,
): Promise<WireSample> {
  const upstream = targetAddress(options.target);
  const wire = options.target.protocol === 'grpc' ? 'http2' : restCallOf(options.target).wire === 'h2' ? 'http2-plain' : 'http1';
  const proxy = await startCountingProxy(upstream, wire);
  try {
    const target: Target =
      options.target.protocol === 'grpc'
        ? { ...options.target, host: proxy.host, port: proxy.port }
        : { ...options.target, url: `http://${proxy.host}:${proxy.port}` };
    const result = await driver.run({
      ...options,
      target,
      // The pass is short; never more in flight than calls to make.
      concurrency: Math.min(options.concurrency, calls),
      connections: Math.min(options.connections, calls),
      durationS: 0,
      requests: calls,
    });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    result.latencyUs.destroy?.();
    const counts = proxy.counts();
    const n = result.calls;
    const per = (bytes: number): number | null => (n > 0 ? bytes / n : null);
    return {
      wire: {
        requestBytesPerCall: per(counts.request.totalBytes),
        responseBytesPerCall: per(counts.response.totalBytes),
        requestHeaderBytesPerCall: per(counts.request.headerBytes),
        responseHeaderBytesPerCall: per(counts.response.headerBytes),
        countedBy: n > 0 ? 'counting-proxy' : null,
      },
      responseBodyBytes: counts.response.messages > 0 ? counts.response.bodyBytes / counts.response.messages : null,
      calls: n,
      errors: result.errors,
      counts,
      failure: result.failure,
    };
  } finally {
    await proxy.close();
  }
}

function targetAddress(target: Target): { host: string; port: number } {
  if (target.protocol === 'grpc') return { host: target.host, port: target.port };
  const url = new URL(target.url);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
}
