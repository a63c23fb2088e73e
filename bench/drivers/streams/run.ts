/**
 * The stream load generator: `streams` concurrent streams of one operation on
 * one transport, each carrying `messages` values or held open for `durationMs`
 * (then half-closed), measured per message:
 * - running-sum (bidi): closed loop per stream, one value in flight, latency
 *   from a value sent -> its total received; or open loop (`rate`), a value
 *   due every 1/rate s whether or not the last was answered, latency from each
 *   value's DUE time -> its total, so a late generator, a full send buffer or
 *   a stalled server shows in the percentiles (no coordinated omission);
 * - sum-stream (client streaming): all values sent (closed loop: at once; open
 *   loop: each at its due time), then half-close; latency is the last value
 *   sent (open loop: due) -> the total received (one sample per stream);
 * - prefix-sums (server streaming): one request of `messages` values; latency is
 *   the inter-arrival time of the totals, and the first total is the stream's
 *   first-message latency.
 * openUs is the cost of a new stream: opening it (open loop: its first value's
 * due time) -> its first answer (a new HTTP/2 stream on a live connection, a
 * new HTTP/1.1 request, a WebSocket connection and upgrade), first message
 * included.
 * Every answer is checked (values are all 1, so the k-th total is k).
 */
import type * as hdr from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import type { StreamOperation } from '../../../servers/calculator.ts';
import { readCpuMsPrecise, selfCpuUs } from '../../host/process-stats.ts';
import { createLatencyHistogram } from '../../results/histogram.ts';
import { createGrpcStreamClient } from './grpc.ts';
import { createHttp1StreamClient } from './http1.ts';
import type { OpenStream, StreamClient, StreamTarget, StreamTransport } from './types.ts';
import { TRANSPORTS_OF } from './types.ts';
import { createWebSocketStreamClient } from './websocket.ts';

interface StreamLoadBase {
  operation: StreamOperation;
  transport: StreamTransport;
  target: StreamTarget;
  /** Concurrent streams. */
  streams: number;
  /** Open loop: values per second per stream, each due 1/rate s after the last; absent: closed loop. */
  rate?: number;
  /** HTTP/2 connections the gRPC streams share (REST: one connection per stream in flight). */
  connections: number;
  /** The server's pid, for its CPU per 1,000 messages; null when it is not a local process. */
  serverPid: number | null;
  /** Aborting cuts every stream (each counts as an error) and ends the run with what it measured. */
  signal?: AbortSignal;
  /** Called about every 250 ms with the answers received so far (the bench's stall watchdog and progress line). */
  onProgress?: (progress: { calls: number; elapsedS: number }) => void;
}

/** How long a stream lasts: `messages` values, or held open until `durationMs` after the run starts, then half-closed. */
export type StreamLength = { messages: number; durationMs?: never } | { durationMs: number; messages?: never };

export type StreamLoadOptions = StreamLoadBase & StreamLength;

/**
 * Why `operation` cannot run with this pacing, or null when it can; the CLI
 * refuses (or leaves out) such an operation with this line, and runStreamLoad
 * checks again.
 * - prefix-sums is one request of N values and the server sets the pace of
 *   the answers: there is nothing for the client to send at a rate or to keep
 *   sending for a duration, and a "rate" of requests would make it a different
 *   benchmark (new streams per second), so both are refused rather than given a
 *   meaning a user would have to look up.
 * - sum-stream held for a duration needs a rate: a client stream has no answer
 *   per value to pace a closed loop, so "as fast as possible" would only fill
 *   the send buffers for the whole duration.
 */
export function pacingRefusal(operation: StreamOperation, pacing: { rate: boolean; duration: boolean }): string | null {
  if (operation === 'prefix-sums' && (pacing.rate || pacing.duration)) {
    return `prefix-sums takes neither ${pacing.rate ? '--rate' : '--duration'}: it is one request of --messages values, answered at the server's pace`;
  }
  if (operation === 'sum-stream' && pacing.duration && !pacing.rate) {
    return 'sum-stream held for a --duration needs a --rate: a client stream has no answer per value to pace a closed loop';
  }
  return null;
}

export interface StreamLoadResult {
  operation: StreamOperation;
  transport: StreamTransport;
  streams: number;
  /** Open loop's values per second per stream; null: closed loop. */
  rate: number | null;
  /** Values per stream; null when the streams were held for `durationMs`. */
  messagesPerStream: number | null;
  durationMs: number | null;
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
  /** Streams opened again because the server never processed them (GOAWAY, REFUSED_STREAM); absent when the transport does not count. */
  retried?: number;
  /** Connections the transport established, the first ones included; absent when it does not count. */
  connectionsOpened?: number;
}

async function clientFor(options: StreamLoadOptions): Promise<StreamClient> {
  switch (options.transport) {
    case 'grpc':
      return createGrpcStreamClient(options.target, options.connections);
    case 'ndjson':
      return createHttp1StreamClient(options.target, false);
    case 'sse':
      return createHttp1StreamClient(options.target, true);
    case 'websocket':
      return createWebSocketStreamClient(options.target);
  }
}

/** performance.now() in µs: one timestamp per answer, and no BigInt allocated for it (hrtime.bigint() was a visible share of the generator's CPU). */
const nowUs = (): number => performance.now() * 1000;

/**
 * After a held run's half-close, streams get this long to deliver their last
 * answers and end; one still open is cut and counted as an error (a server far
 * behind its load, or one that never ends a stream, must not hang the run).
 */
const DRAIN_GRACE_MS = 5_000;

export async function runStreamLoad(options: StreamLoadOptions): Promise<StreamLoadResult> {
  if (!TRANSPORTS_OF[options.operation].includes(options.transport)) {
    throw new Error(`${options.operation} is not served over ${options.transport} (it is over ${TRANSPORTS_OF[options.operation].join(', ')})`);
  }
  const refusal = pacingRefusal(options.operation, { rate: options.rate !== undefined, duration: options.durationMs !== undefined });
  if (refusal !== null) throw new Error(refusal);
  const client = await clientFor(options);
  const latencyUs = createLatencyHistogram();
  const openUs = createLatencyHistogram();
  let messages = 0;
  /** Answers received and values sent so far, for progress (messages counts only streams that ended well). */
  let answered = 0;
  let sentTotal = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (reason: string): void => {
    errors++;
    firstError ??= reason;
  };
  const { operation, streams: streamCount } = options;
  const perStream = options.messages ?? null;
  const openLoop = options.rate !== undefined;
  // Open loop: value n of the run is due at t0 + n × spacing and goes to stream n % streams, so each stream sends
  // every 1/rate s and the streams take turns evenly instead of all sending at the same instants.
  const spacingUs = openLoop ? 1e6 / options.rate! / streamCount : 0;
  let t0 = 0;
  const dueOf = (n: number): number => t0 + n * spacingUs;

  interface StreamState {
    stream: OpenStream;
    /** When it was opened (open loop: when its first value was due). */
    openedUs: number;
    sent: number;
    /** When the last value was sent (open loop: when it was due). */
    lastSentUs: number;
    answers: number;
    wrong: string | null;
    halfClosed: boolean;
    ended: boolean;
  }
  const states: StreamState[] = [];
  /** Every stream the run will have is open (closed loop: at once; open loop: by the first values' due times). */
  let allOpened = false;
  /** The held run's duration is over: no stream sends another value. */
  let stopped = false;
  let allEnded!: () => void;
  const done = new Promise<void>((resolve) => (allEnded = resolve));
  const settleIfOver = (): void => {
    if (allOpened && states.every((state) => state.ended)) allEnded();
  };
  const send = (state: StreamState, sentUs: number): void => {
    state.sent++;
    sentTotal++;
    state.lastSentUs = sentUs;
    state.stream.send(1);
  };
  const halfClose = (state: StreamState): void => {
    if (state.halfClosed || state.ended) return;
    state.halfClosed = true;
    state.stream.end();
  };
  const finish = (state: StreamState, error?: string): void => {
    if (state.ended) return;
    state.ended = true;
    const expected = operation === 'sum-stream' ? 1 : operation === 'prefix-sums' ? perStream : state.sent;
    if (error) fail(error);
    else if (state.wrong !== null) fail(state.wrong);
    else if (state.answers !== expected) fail(`stream ended after ${state.answers} answers, expected ${expected}`);
    else messages += operation === 'sum-stream' ? state.sent : state.answers;
    settleIfOver();
  };

  const openOne = (index: number, openedUs: number): StreamState => {
    const values = operation === 'prefix-sums' ? new Array<number>(perStream!).fill(1) : undefined;
    let lastAt = 0;
    const state: StreamState = { stream: undefined!, openedUs, sent: 0, lastSentUs: openedUs, answers: 0, wrong: null, halfClosed: false, ended: false };
    states.push(state);
    state.stream = client.open(
      operation,
      {
        onAnswer: (value) => {
          const at = nowUs();
          state.answers++;
          answered++;
          const expected = operation === 'sum-stream' ? state.sent : state.answers;
          if (value !== expected) state.wrong ??= `answer ${state.answers} was ${value}, expected ${expected}`;
          if (operation === 'running-sum') {
            if (state.answers === 1) openUs.recordValue(Math.max(1, at - state.openedUs));
            else latencyUs.recordValue(Math.max(1, at - (openLoop ? dueOf((state.answers - 1) * streamCount + index) : state.lastSentUs)));
            // Closed loop: the answer lets the next value go, until the count is reached or the held run is over.
            if (!openLoop && !stopped) {
              if (perStream !== null && state.sent >= perStream) halfClose(state);
              else send(state, nowUs());
            }
          } else if (operation === 'prefix-sums') {
            if (state.answers === 1) openUs.recordValue(Math.max(1, at - state.openedUs));
            else latencyUs.recordValue(Math.max(1, at - lastAt));
          } else latencyUs.recordValue(Math.max(1, at - state.lastSentUs));
          lastAt = at;
        },
        onEnd: (error) => finish(state, error),
      },
      values,
    );
    return state;
  };

  // Open loop: sends every value that is due (opening each stream at its first value's due time), then sleeps
  // until the next is due. A late value is sent late, never skipped: its lateness is part of its latency.
  let pumpTimer: NodeJS.Timeout | undefined;
  let next = 0;
  const total = perStream === null ? Infinity : perStream * streamCount;
  const pump = (): void => {
    const now = nowUs();
    for (; !stopped && next < total && dueOf(next) <= now; next++) {
      const index = next % streamCount;
      const state = next < streamCount ? openOne(index, dueOf(next)) : states[index]!;
      if (state.ended) continue;
      send(state, dueOf(next));
      if (state.sent === perStream) halfClose(state);
    }
    allOpened ||= next >= streamCount;
    settleIfOver();
    if (next < total && !stopped) pumpTimer = setTimeout(pump, Math.max(0, (dueOf(next) - nowUs()) / 1000));
  };

  // A held run is over: no more values; every stream half-closes, and one still open after the grace is cut.
  let drainTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    stopped = true;
    allOpened = true;
    clearTimeout(pumpTimer);
    for (const state of states) halfClose(state);
    settleIfOver();
    drainTimer = setTimeout(() => {
      for (const state of states.filter((one) => !one.ended)) {
        state.stream.cancel();
        finish(state, `stream still open ${DRAIN_GRACE_MS} ms after half-close`);
      }
    }, DRAIN_GRACE_MS);
  };

  let stopTimer: NodeJS.Timeout | undefined;
  const start = (startedUs: number): void => {
    t0 = startedUs;
    if (options.durationMs !== undefined) {
      // Timers run on the event loop's clock, cached in whole ms: one can fire a fraction of a ms before the
      // performance clock the run is measured on says the duration is over, so the stop is re-armed until it does.
      const stopAtUs = t0 + options.durationMs * 1000;
      const stopWhenDue = (): void => {
        const leftMs = (stopAtUs - nowUs()) / 1000;
        if (leftMs > 0) stopTimer = setTimeout(stopWhenDue, leftMs);
        else stop();
      };
      stopTimer = setTimeout(stopWhenDue, options.durationMs);
    }
    if (openLoop) return pump();
    for (let i = 0; i < streamCount; i++) {
      const state = openOne(i, t0);
      if (operation === 'running-sum') send(state, nowUs());
      if (operation === 'sum-stream') {
        for (let v = 0; v < perStream!; v++) state.stream.send(1);
        state.sent = perStream!;
        sentTotal += perStream!;
        state.lastSentUs = nowUs();
        halfClose(state);
      }
    }
    allOpened = true;
    settleIfOver();
  };

  // Aborted (the bench's Ctrl-C, a stall): no more values, every open stream is cut.
  const abort = (): void => {
    stopped = true;
    allOpened = true;
    clearTimeout(pumpTimer);
    for (const state of states.filter((one) => !one.ended)) {
      state.stream.cancel();
      finish(state, 'aborted');
    }
    settleIfOver();
  };
  let stats: { retried: number; connectionsOpened: number } | undefined;
  const serverCpuBefore = options.serverPid === null ? null : readCpuMsPrecise(options.serverPid);
  const clientCpuBefore = selfCpuUs();
  const started = nowUs();
  const progressTimer = options.onProgress ? setInterval(() => options.onProgress!({ calls: operation === 'sum-stream' ? sentTotal : answered, elapsedS: (nowUs() - started) / 1e6 }), 250) : undefined;
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    start(started);
    if (options.signal?.aborted) abort();
    await done;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    clearInterval(progressTimer);
    clearTimeout(pumpTimer);
    clearTimeout(stopTimer);
    clearTimeout(drainTimer);
    stats = client.stats?.();
    await client.close();
  }
  const elapsedS = (nowUs() - started) / 1e6;
  const serverCpuAfter = options.serverPid === null ? null : readCpuMsPrecise(options.serverPid);
  const per1000 = (amount: number): number | null => (messages > 0 ? (amount * 1000) / messages : null);
  return {
    operation,
    transport: options.transport,
    streams: options.streams,
    rate: options.rate ?? null,
    messagesPerStream: perStream,
    durationMs: options.durationMs ?? null,
    messages,
    errors,
    firstError,
    elapsedS,
    messagesPerSecond: elapsedS > 0 ? messages / elapsedS : 0,
    latencyUs,
    openUs,
    clientCpuUsPer1000: per1000(selfCpuUs() - clientCpuBefore),
    ...(stats !== undefined ? { retried: stats.retried, connectionsOpened: stats.connectionsOpened } : {}),
    // Nanoseconds from schedstat; a server that used none is not measured (null), not 0.
    serverCpuMsPer1000: serverCpuBefore === null || serverCpuAfter === null || serverCpuAfter === serverCpuBefore ? null : per1000(serverCpuAfter - serverCpuBefore),
  };
}
