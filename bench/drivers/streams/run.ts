/**
 * The stream load generator: `streams` concurrent streams of one operation on
 * one transport, `messages` values each, measured per message:
 * - running-sum (bidi): closed loop per stream, one value in flight; latency is
 *   a value sent -> its total received;
 * - sum-stream (client streaming): all values sent, then half-close; latency is
 *   the last value sent -> the total received (one sample per stream);
 * - prefix-sums (server streaming): one request of `messages` values; latency is
 *   the inter-arrival time of the totals, and the first total is the stream's
 *   first-message latency.
 * openUs is the cost of a new stream: opening it -> its first answer (a new
 * HTTP/2 stream on a live connection, a new HTTP/1.1 request, a WebSocket
 * connection and upgrade), first message included.
 * Every answer is checked (values are all 1, so the k-th total is k).
 */
import type * as hdr from 'hdr-histogram-js';
import type { StreamOperation } from '../../../servers/calculator.ts';
import { readCpuMs, selfCpuUs } from '../../host/process-stats.ts';
import { createLatencyHistogram } from '../../results/histogram.ts';
import { createGrpcStreamClient } from './grpc.ts';
import { createHttp1StreamClient } from './http1.ts';
import type { StreamClient, StreamTarget, StreamTransport } from './types.ts';
import { TRANSPORTS_OF } from './types.ts';
import { createWebSocketStreamClient } from './websocket.ts';

export interface StreamLoadOptions {
  operation: StreamOperation;
  transport: StreamTransport;
  target: StreamTarget;
  /** Concurrent streams. */
  streams: number;
  /** Values per stream. */
  messages: number;
  /** HTTP/2 connections the gRPC streams share (REST: one connection per stream in flight). */
  connections: number;
  /** The server's pid, for its CPU per 1,000 messages; null when it is not a local process. */
  serverPid: number | null;
}

export interface StreamLoadResult {
  operation: StreamOperation;
  transport: StreamTransport;
  streams: number;
  messagesPerStream: number;
  /** Messages answered (running-sum, prefix-sums) or summed (sum-stream) by streams that ended well. */
  messages: number;
  /** Streams that failed or answered a wrong total. */
  errors: number;
  firstError: string | null;
  elapsedS: number;
  messagesPerSecond: number;
  /** Per message, µs (see the module comment for what each operation measures). */
  latencyUs: hdr.Histogram;
  /** New stream -> first answer, µs; empty for sum-stream (its one answer is the total). */
  openUs: hdr.Histogram;
  clientCpuUsPer1000: number | null;
  /** null without a pid, or when the server used less than one /proc clock tick. */
  serverCpuMsPer1000: number | null;
}

async function clientFor(options: StreamLoadOptions): Promise<StreamClient> {
  switch (options.transport) {
    case 'grpc':
      return createGrpcStreamClient(options.target, options.connections);
    case 'ndjson':
      return createHttp1StreamClient(options.target, false, options.streams);
    case 'sse':
      return createHttp1StreamClient(options.target, true, options.streams);
    case 'websocket':
      return createWebSocketStreamClient(options.target);
  }
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function runStreamLoad(options: StreamLoadOptions): Promise<StreamLoadResult> {
  if (!TRANSPORTS_OF[options.operation].includes(options.transport)) {
    throw new Error(`${options.operation} is not served over ${options.transport} (it is over ${TRANSPORTS_OF[options.operation].join(', ')})`);
  }
  const client = await clientFor(options);
  const latencyUs = createLatencyHistogram();
  const openUs = createLatencyHistogram();
  let messages = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (reason: string): void => {
    errors++;
    firstError ??= reason;
  };
  const { operation, messages: perStream } = options;

  const runOne = (): Promise<void> =>
    new Promise((resolve) => {
      const opened = nowUs();
      let sentAt = opened;
      let answers = 0;
      let wrong: string | null = null;
      let lastAt = 0;
      const values = operation === 'prefix-sums' ? new Array<number>(perStream).fill(1) : undefined;
      const stream = client.open(
        operation,
        {
          onAnswer: (value) => {
            const at = nowUs();
            answers++;
            const expected = operation === 'sum-stream' ? perStream : answers;
            if (value !== expected && wrong === null) wrong = `answer ${answers} was ${value}, expected ${expected}`;
            if (operation === 'running-sum') {
              (answers === 1 ? openUs : latencyUs).recordValue(Math.max(1, at - sentAt));
              if (answers < perStream) {
                sentAt = nowUs();
                stream.send(1);
              } else stream.end();
            } else if (operation === 'prefix-sums') {
              if (answers === 1) openUs.recordValue(Math.max(1, at - opened));
              else latencyUs.recordValue(Math.max(1, at - lastAt));
            } else latencyUs.recordValue(Math.max(1, at - sentAt));
            lastAt = at;
          },
          onEnd: (error) => {
            if (error) fail(error);
            else if (wrong !== null) fail(wrong);
            else if (answers !== (operation === 'sum-stream' ? 1 : perStream)) fail(`stream ended after ${answers} answers`);
            else messages += perStream;
            resolve();
          },
        },
        values,
      );
      if (operation === 'running-sum') stream.send(1);
      if (operation === 'sum-stream') {
        for (let i = 0; i < perStream; i++) stream.send(1);
        sentAt = nowUs();
        stream.end();
      }
    });

  const serverCpuBefore = options.serverPid === null ? null : readCpuMs(options.serverPid);
  const clientCpuBefore = selfCpuUs();
  const started = nowUs();
  try {
    await Promise.all(Array.from({ length: options.streams }, runOne));
  } finally {
    await client.close();
  }
  const elapsedS = (nowUs() - started) / 1e6;
  const serverCpuAfter = options.serverPid === null ? null : readCpuMs(options.serverPid);
  const per1000 = (amount: number): number | null => (messages > 0 ? (amount * 1000) / messages : null);
  return {
    operation,
    transport: options.transport,
    streams: options.streams,
    messagesPerStream: perStream,
    messages,
    errors,
    firstError,
    elapsedS,
    messagesPerSecond: elapsedS > 0 ? messages / elapsedS : 0,
    latencyUs,
    openUs,
    clientCpuUsPer1000: per1000(selfCpuUs() - clientCpuBefore),
    // /proc counts CPU in clock ticks (10 ms): a run shorter than one tick of server CPU is not measured, not 0.
    serverCpuMsPer1000: serverCpuBefore === null || serverCpuAfter === null || serverCpuAfter === serverCpuBefore ? null : per1000(serverCpuAfter - serverCpuBefore),
  };
}
