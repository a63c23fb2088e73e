/**
 * The stream load generator: `streams` concurrent streams of one method on
 * one transport, keyed by the method's kind, each carrying `messages`
 * messages or held open for `durationMs` (then half-closed), measured per
 * message:
 * - bidi: closed loop per stream, one message in flight, latency from a
 *   message sent -> its answer received; or open loop (`rate`), a message due
 *   every 1/rate s whether or not the last was answered, latency from each
 *   message's DUE time -> its answer, so a late generator, a full send buffer
 *   or a stalled server shows in the percentiles (no coordinated omission);
 * - client-stream: all messages sent (closed loop: at once; open loop: each at
 *   its due time), then half-close; latency is the last message sent (open
 *   loop: due) -> the one answer received (one sample per stream);
 * - server-stream: one request per stream; latency is the inter-arrival time
 *   of the answers (the gap), and the first answer is the stream's
 *   first-message latency. A request that says how many answers it gets
 *   (StreamPayload.requestOf: the calculator's prefix-sums) makes one stream
 *   of `messages` per lane; any other server stream is answered with as many
 *   messages as the server decides, and each of the `streams` lanes opens its
 *   next stream when the last ended, until the lane has `messages` answers or
 *   the held run's duration is over (a stream in flight then ends as the
 *   server ends it).
 * openUs is the cost of a new stream: opening it (open loop: its first
 * message's due time) -> its first answer (a new HTTP/2 stream on a live
 * connection, a new HTTP/1.1 request, a WebSocket connection and upgrade),
 * first message included.
 * The pacing is the one scheduler's (Schedule, bench/drivers/schedule.ts):
 * the clock, the open loop's due times, the message limit, the held run's
 * duration and drain grace, progress and abort. The rate is per stream: the
 * run's message n is due at t0 + n/(rate × streams) and goes to stream
 * n % streams, and a message never waits for room. A stream's closed loop
 * (bidi: its next message when its last is answered, up to its own count)
 * and the shapes of the three kinds are this file's.
 * The generator counts the answers (bidi: one per message sent; client
 * stream: one; a sized server stream: `messages`) and times them; their
 * values are the scenario layer's to check (StreamPayload.answers), and a
 * wrong one fails its stream.
 */
import type * as hdr from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { readCpuMsPrecise, selfCpuUs } from '../../host/process-stats.ts';
import { createLatencyHistogram } from '../../results/histogram.ts';
import type { CallPayload } from '../../types.ts';
import { Schedule } from '../schedule.ts';
import { createGrpcStreamClient } from './grpc.ts';
import { createHttp1StreamClient } from './http1.ts';
import { TRANSPORTS_OF_KIND, type OpenStream, type StreamCall, type StreamClient, type StreamKind, type StreamRequest, type StreamTarget, type StreamTransport } from './types.ts';
import { createWebSocketStreamClient } from './websocket.ts';

interface StreamLoadBase {
  /** The method (its kind and paths) and its prepared messages (bench/types.ts CallPayload, StreamPayload). */
  payload: CallPayload;
  transport: StreamTransport;
  target: StreamTarget;
  /** Concurrent streams. */
  streams: number;
  /** Open loop: messages per second per stream, each due 1/rate s after the last; absent: closed loop. */
  rate?: number;
  /** HTTP/2 connections the gRPC streams share (REST: one connection per stream in flight). */
  connections: number;
  /** The server's pid, for its CPU per 1,000 messages; null when it is not a local process. */
  serverPid: number | null;
  /** Extra request headers / gRPC metadata on every stream. */
  metadata?: Readonly<Record<string, string>>;
  /** Aborting cuts every stream (each counts as an error) and ends the run with what it measured. */
  signal?: AbortSignal;
  /** Called about every 250 ms with the answers received so far (the bench's stall watchdog and progress line). */
  onProgress?: (progress: { calls: number; elapsedS: number }) => void;
}

/** How long a stream lasts: `messages` messages, or held open until `durationMs` after the run starts, then half-closed. */
export type StreamLength = { messages: number; durationMs?: never } | { durationMs: number; messages?: never };

export type StreamLoadOptions = StreamLoadBase & StreamLength;

/** The kind of a payload's method, or why the generator cannot stream it. */
export function streamKindOf(payload: CallPayload): StreamKind {
  const { kind, name } = payload.method;
  if (kind === 'unary') throw new Error(`${name} is not a streaming method`);
  return kind;
}

/**
 * Why a method of `kind` cannot run with this pacing, or null when it can;
 * runStreamLoad refuses such a run with this line (the CLI checks its own
 * flags first).
 * - a server stream's answers come at the server's pace: there is nothing for
 *   the client to send at a rate, and a "rate" of requests would make it a
 *   different benchmark (new streams per second), so it is refused rather than
 *   given a meaning a user would have to look up. A sized one (its request
 *   asks for `messages` answers) has no duration either.
 * - a client stream held for a duration needs a rate: it has no answer per
 *   message to pace a closed loop, so "as fast as possible" would only fill
 *   the send buffers for the whole duration.
 */
export function pacingRefusal(kind: StreamKind, name: string, pacing: { rate: boolean; duration: boolean; sized: boolean }): string | null {
  if (kind === 'server-stream' && pacing.rate) return `${name} is a server stream: it takes no --rate, its answers come at the server's pace`;
  if (kind === 'server-stream' && pacing.sized && pacing.duration) return `${name} takes no --duration: its one request asks for --messages answers, answered at the server's pace`;
  if (kind === 'client-stream' && pacing.duration && !pacing.rate) {
    return `${name} (a client stream) held for a --duration needs a --rate: it has no answer per message to pace a closed loop`;
  }
  return null;
}

export interface StreamLoadResult {
  kind: StreamKind;
  transport: StreamTransport;
  streams: number;
  /** Streams opened over the run (server streams answered at the server's pace open one after another on each lane). */
  streamsOpened: number;
  /** Open loop's messages per second per stream; null: closed loop. */
  rate: number | null;
  /** Messages per stream; null when the streams were held for `durationMs`. */
  messagesPerStream: number | null;
  durationMs: number | null;
  /** Messages answered (bidi, server streams) or sent (client streams) by streams that ended well. */
  messages: number;
  /** Streams that failed or got a wrong answer. */
  errors: number;
  firstError: string | null;
  elapsedS: number;
  messagesPerSecond: number;
  /** Per message, µs (see the module comment for what each kind measures). */
  latencyUs: hdr.Histogram;
  /** New stream -> first answer, µs; empty for client streams (their one answer is the total). */
  openUs: hdr.Histogram;
  clientCpuUsPer1000: number | null;
  /** null without a pid, or when the server used less than one /proc clock tick. */
  serverCpuMsPer1000: number | null;
  /** Streams opened again because the server never processed them (GOAWAY, REFUSED_STREAM); absent when the transport does not count. */
  retried?: number;
  /** Connections the transport established, the first ones included; absent when it does not count. */
  connectionsOpened?: number;
}

async function clientFor(options: StreamLoadOptions, call: StreamCall): Promise<StreamClient> {
  switch (options.transport) {
    case 'grpc':
      return createGrpcStreamClient(options.target, call, options.connections);
    case 'ndjson':
      return createHttp1StreamClient(options.target, call, false);
    case 'sse':
      return createHttp1StreamClient(options.target, call, true);
    case 'websocket':
      return createWebSocketStreamClient(options.target, call);
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
  const { payload } = options;
  const kind = streamKindOf(payload);
  const { name } = payload.method;
  if (!TRANSPORTS_OF_KIND[kind].includes(options.transport)) {
    throw new Error(`${name} is a ${kind} method: it is not streamed over ${options.transport} (a ${kind} is over ${TRANSPORTS_OF_KIND[kind].join(', ')})`);
  }
  const requestOf = kind === 'server-stream' ? payload.stream?.requestOf : undefined;
  const sized = requestOf !== undefined;
  const refusal = pacingRefusal(kind, name, { rate: options.rate !== undefined, duration: options.durationMs !== undefined, sized });
  if (refusal !== null) throw new Error(refusal);
  const { streams: streamCount } = options;
  const perStream = options.messages ?? null;
  // A server stream's requests, prepared before any stream opens: sized for this run's length, or the payload's pool.
  const requests: StreamRequest[] =
    kind !== 'server-stream' ? [] : sized ? [requestOf(perStream!)] : (payload.pool ?? [payload]).map(({ protobuf, json, restPath }) => ({ protobuf, json, restPath }));
  const call: StreamCall = {
    kind,
    grpcPath: payload.method.grpcPath,
    restVerb: payload.method.rest.verb,
    restPath: payload.restPath,
    message: { protobuf: payload.protobuf, json: payload.json },
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  const answers = payload.stream?.answers;
  const encoding = options.transport === 'grpc' ? 'protobuf' : 'json';
  const client = await clientFor(options, call);
  const latencyUs = createLatencyHistogram();
  const openUs = createLatencyHistogram();
  let messages = 0;
  /** Answers received and messages sent so far, for progress (messages counts only streams that ended well). */
  let answered = 0;
  let sentTotal = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (reason: string): void => {
    errors++;
    firstError ??= reason;
  };
  const openLoop = options.rate !== undefined;
  /** A server stream of the server's length: each lane opens its next stream when the last ended. */
  const repeat = kind === 'server-stream' && !sized;
  /** The run's messages in all (`messages` per stream); Infinity for a held run. */
  const total = perStream === null ? Infinity : perStream * streamCount;
  // Open loop: message n of the run is due at t0 + n/(rate × streams) and goes to stream n % streams, so each stream
  // sends every 1/rate s and the streams take turns evenly instead of all sending at the same instants.
  const schedule = new Schedule(
    {
      ...(openLoop ? { rate: options.rate! * streamCount } : {}),
      ...(total !== Infinity ? { items: total } : {}),
      durationMs: options.durationMs ?? 0,
      drainGraceMs: DRAIN_GRACE_MS,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
    {
      hasRoom: () => true,
      issueDue: (n, dueMs) => issueDue(n, dueMs * 1000),
      onStopIssuing: () => stop(),
      onDrainOver: () => cutAll(`stream still open ${DRAIN_GRACE_MS} ms after half-close`),
      progressCount: () => (kind === 'client-stream' ? sentTotal : answered),
      onFinish: (failure) => {
        // Aborted (the bench's Ctrl-C, a stall): every open stream is cut.
        if (failure !== undefined) cutAll('aborted');
        allEnded();
      },
    },
  );
  /** When the run's message n is due, µs. */
  const dueOf = (n: number): number => schedule.dueMs(n) * 1000;

  interface StreamState {
    lane: number;
    stream: OpenStream;
    /** When it was opened (open loop: when its first message was due). */
    openedUs: number;
    sent: number;
    /** When the last message was sent (open loop: when it was due). */
    lastSentUs: number;
    answers: number;
    /** When the last answer came. */
    lastAt: number;
    wrong: string | null;
    halfClosed: boolean;
    ended: boolean;
  }
  /** Each lane's current stream. */
  const lanes: StreamState[] = [];
  /** Answers per lane, over its streams (server streams of the server's length). */
  const laneAnswers = new Array<number>(streamCount).fill(0);
  let live = 0;
  let opened = 0;
  /** Every stream the run will have is open (closed loop: at once; open loop: by the first messages' due times). */
  let allOpened = false;
  let allEnded!: () => void;
  const done = new Promise<void>((resolve) => (allEnded = resolve));
  const settleIfOver = (): void => {
    if (allOpened && live === 0) schedule.finish();
  };
  const send = (state: StreamState, sentUs: number): void => {
    state.sent++;
    sentTotal++;
    state.lastSentUs = sentUs;
    state.stream.send();
  };
  const halfClose = (state: StreamState): void => {
    if (state.halfClosed || state.ended) return;
    state.halfClosed = true;
    state.stream.end();
  };
  const finish = (state: StreamState, error?: string): void => {
    if (state.ended) return;
    state.ended = true;
    live--;
    const expected = kind === 'client-stream' ? 1 : kind === 'server-stream' ? (sized ? perStream : state.answers) : state.sent;
    let ok = false;
    if (error) fail(error);
    else if (state.wrong !== null) fail(state.wrong);
    else if (state.answers !== expected) fail(`stream ended after ${state.answers} answers, expected ${expected}`);
    else {
      ok = true;
      messages += kind === 'client-stream' ? state.sent : state.answers;
    }
    // The lane goes on with a new stream while the run lasts; a stream that failed, or brought nothing, ends its lane.
    // schedule.stopped: the held run's duration is over (or the run ended), no lane opens another stream.
    if (repeat && ok && state.answers > 0 && !schedule.stopped && (perStream === null || laneAnswers[state.lane]! < perStream)) openOne(state.lane, nowUs());
    settleIfOver();
  };

  const openOne = (lane: number, openedUs: number): StreamState => {
    const state: StreamState = { lane, stream: undefined!, openedUs, sent: 0, lastSentUs: openedUs, answers: 0, lastAt: 0, wrong: null, halfClosed: kind === 'server-stream', ended: false };
    lanes[lane] = state;
    live++;
    const request = kind === 'server-stream' ? requests[opened % requests.length] : undefined;
    opened++;
    state.stream = client.open(
      {
        onAnswer: (buf, start, end) => {
          const at = nowUs();
          const index = state.answers++;
          answered++;
          if (answers !== undefined && state.wrong === null) state.wrong = answers.check(index, buf.subarray(start, end), encoding, state.sent);
          if (kind === 'bidi') {
            if (index === 0) openUs.recordValue(Math.max(1, at - state.openedUs));
            else latencyUs.recordValue(Math.max(1, at - (openLoop ? dueOf(index * streamCount + lane) : state.lastSentUs)));
            // Closed loop: the answer lets the next message go, until the count is reached or the held run is over.
            if (!openLoop && !schedule.stopped) {
              if (perStream !== null && state.sent >= perStream) halfClose(state);
              else send(state, nowUs());
            }
          } else if (kind === 'server-stream') {
            laneAnswers[lane]!++;
            if (index === 0) openUs.recordValue(Math.max(1, at - state.openedUs));
            else latencyUs.recordValue(Math.max(1, at - state.lastAt));
          } else latencyUs.recordValue(Math.max(1, at - state.lastSentUs));
          state.lastAt = at;
        },
        onEnd: (error) => finish(state, error),
      },
      request,
    );
    return state;
  };

  // Open loop: the schedule hands over each message when it is due (the stream opens at its first message's due time).
  // A late message is sent late, never skipped: its lateness is part of its latency.
  const issueDue = (n: number, dueUs: number): void => {
    const lane = n % streamCount;
    const state = n < streamCount ? openOne(lane, dueUs) : lanes[lane]!;
    allOpened ||= n + 1 >= streamCount;
    if (!state.ended) {
      send(state, dueUs);
      if (state.sent === perStream) halfClose(state);
    }
    settleIfOver();
  };

  const cutAll = (reason: string): void => {
    for (const state of lanes.filter((one) => !one.ended)) {
      state.stream.cancel();
      finish(state, reason);
    }
  };

  // A held run is over: no more messages; every stream half-closes, and one still open after the drain grace is cut.
  const stop = (): number => {
    allOpened = true;
    for (const state of lanes) halfClose(state);
    return live;
  };

  const start = (): void => {
    if (openLoop) return schedule.pump();
    const t0 = schedule.t0 * 1000;
    for (let lane = 0; lane < streamCount; lane++) {
      const state = openOne(lane, t0);
      if (kind === 'bidi') send(state, nowUs());
      if (kind === 'client-stream') {
        for (let m = 0; m < perStream!; m++) state.stream.send();
        state.sent = perStream!;
        sentTotal += perStream!;
        state.lastSentUs = nowUs();
        halfClose(state);
      }
    }
    allOpened = true;
    settleIfOver();
  };

  let stats: { retried: number; connectionsOpened: number } | undefined;
  const serverCpuBefore = options.serverPid === null ? null : readCpuMsPrecise(options.serverPid);
  const clientCpuBefore = selfCpuUs();
  try {
    // An abort before the start ends the run unstarted, as it does a call generator's.
    if (schedule.open()) {
      schedule.begin();
      start();
    }
    await done;
  } finally {
    // Ends the schedule's timers if the start threw.
    schedule.finish();
    stats = client.stats?.();
    await client.close();
  }
  const elapsedS = schedule.started ? (nowUs() - schedule.t0 * 1000) / 1e6 : 0;
  const serverCpuAfter = options.serverPid === null ? null : readCpuMsPrecise(options.serverPid);
  const per1000 = (amount: number): number | null => (messages > 0 ? (amount * 1000) / messages : null);
  return {
    kind,
    transport: options.transport,
    streams: options.streams,
    streamsOpened: opened,
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
