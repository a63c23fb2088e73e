/**
 * grpc-engine: our own gRPC load generator. It speaks HTTP/2 directly on its
 * sockets (bench/drivers/http2/) so the client costs about as much CPU per
 * call as h2load, instead of the grpc-js client's ~460 µs, and the numbers
 * describe the server rather than the load generator.
 *
 * Scheduling lives here; wire protocol lives in Http2ClientConnection.
 * - Closed loop: `concurrency` slots, each starting its next call as soon as
 *   the previous one ends; latency runs from the actual send.
 * - Open loop (`rate`): call k is due at t0 + k/rate; a free slot starts it;
 *   latency runs from the due time, so waiting for a slot (a stalled server)
 *   shows up in the percentiles instead of being omitted.
 * Slot i belongs to connection i mod connections (a "lane"); a lane replaces
 * its connection on GOAWAY, stream-id exhaustion or loss, with backoff.
 * A call the server never processed (its stream above a GOAWAY's
 * last-stream-id, or reset with REFUSED_STREAM before an answer) is sent again
 * on the lane's next connection, as gRPC clients retry it transparently; it
 * counts in `retried`, not as an error, and its latency still runs from its
 * first send (open loop: its due time), its deadline too.
 *
 * Why this is not CallLoop (call-loop.ts), which the other Node drivers share:
 * the two differ in what they do, not only in how, so merging would change
 * results. Here a call can wait in its lane's queue for a stream; at the end of
 * the duration queued calls are withdrawn uncounted, and when a lane fails to
 * connect they end as 'connection-error'. The clock starts only once every lane
 * is connected. The deadline runs from the latency origin (the due time in the
 * open loop), CallLoop's from the actual send. Slots are the stream objects
 * themselves, so the hot path has no hook call or call-id check per call (this
 * engine must stay within h2load's calls/s and CPU per call). Keep the two
 * loops' closed/open-loop rules in step.
 */
import { usableConnections } from '../scenario/connections.ts';
import { performance } from 'node:perf_hooks';
import { createLatencyHistogram } from '../results/histogram.ts';
import { DEFAULT_DRAIN_GRACE_MS, type Driver, type LoadOptions, type LoadResult } from '../types.ts';
import { GRPC_GZIP_HEADERS } from '../scenario/compression.ts';
import { frameGrpcMessage } from '../wire/grpc-frame.ts';
import { requestLine, restBodyOf, restCallOf } from '../scenario/http-call.ts';
import { CallStream, Http2ClientConnection, type ConnectionEvents } from './http2/client-connection.ts';

export interface GrpcEngineOptions extends LoadOptions {
  /**
   * Streams to open on a connection before replacing it. Defaults to the
   * protocol limit (stream ids up to 2^31-1); tests set it low to exercise the
   * switch to a new connection.
   */
  maxStreamsPerConnection?: number;
  /** Called with each response message (protobuf bytes, gRPC prefix removed); costs an allocation per call. */
  onResponseMessage?: (message: Buffer) => void;
}

export const grpcEngine: Driver = {
  name: 'grpc-engine',
  protocols: ['grpc'],
  compression: true,
  // Also a plain HTTP/2 engine: a REST target whose Target.call is on h2 (JSON over h2c, ...).
  restWires: ['h2'],
  // gRPC calls go round robin over CallPayload.pool.
  pools: true,
  run: (options: LoadOptions) => new EngineRun(options as GrpcEngineOptions).run(),
};

const RECONNECT_MIN_MS = 20;
const RECONNECT_MAX_MS = 1_000;
const PROGRESS_INTERVAL_MS = 250;
/**
 * Re-sends of one call the server did not process. One is what a graceful
 * GOAWAY costs; a server that refuses the same call again and again (going
 * away before it reads anything) gets it counted as 'goaway'/'stream-reset'
 * after this many, rather than re-sent until its deadline.
 */
const MAX_RETRIES_PER_CALL = 3;

class Slot extends CallStream {
  /** When the call started (closed loop) or was due (open loop), performance.now() ms. */
  startMs = 0;
  deadlineMs = 0;
  inFlight = false;
  queued = false;
  /** Re-sends of the current call (see MAX_RETRIES_PER_CALL). */
  retries = 0;

  constructor(
    readonly index: number,
    readonly lane: Lane,
  ) {
    super();
  }
}

class Lane {
  connection: Http2ClientConnection | null = null;
  /** Calls waiting for a stream on this lane's connection, oldest first. */
  queue: Slot[] = [];
  failures = 0;
  lastError = '';
  reconnectTimer: NodeJS.Timeout | null = null;

  constructor(readonly index: number) {}
}

class EngineRun implements ConnectionEvents {
  private readonly options: GrpcEngineOptions;
  private readonly target: { host: string; port: number; tls: boolean };
  /** 'grpc': outcome = grpc-status name, OK succeeds; 'http' (REST over h2): outcome = :status, 2xx succeeds. */
  private readonly mode: 'grpc' | 'http';
  private readonly path: string;
  private readonly contentType: string | undefined;
  private readonly framedMessage: Buffer;
  /** The pool's requests, framed (CallPayload.pool), sent round robin; null: framedMessage on every call. */
  private readonly framedMessages: Buffer[] | null = null;
  private readonly metadata: Array<readonly [string, string]>;
  private readonly histogram = createLatencyHistogram();
  private readonly statusCounts: Record<string, number> = Object.create(null);
  private readonly lanes: Lane[];
  private readonly slots: Slot[];
  private readonly connections = new Set<Http2ClientConnection>();
  private readonly openLoop: boolean;
  private readonly intervalMs: number;
  private readonly requestLimit: number;

  private calls = 0;
  private errors = 0;
  private issued = 0;
  private inFlight = 0;
  private t0 = 0;
  private lastEndMs = 0;
  private stopIssuing = false;
  private finished = false;
  private started = false;
  private failure: string | undefined;
  private bytesSent = 0;
  private bytesReceived = 0;
  private retried = 0;
  private connectionsOpened = 0;
  private freeSlots: Slot[] = [];
  private scheduleTimer: NodeJS.Timeout | null = null;
  private timers: NodeJS.Timeout[] = [];
  private resolve!: (result: LoadResult) => void;
  private readyWaiter: (() => void) | null = null;
  private readonly onAbort = (): void => this.finish('aborted');

  constructor(options: GrpcEngineOptions) {
    if (!(options.concurrency >= 1)) throw new Error('grpc-engine: concurrency must be at least 1');
    if (!(options.connections >= 1)) throw new Error('grpc-engine: connections must be at least 1');
    if (!(options.timeoutMs > 0)) throw new Error('grpc-engine: timeoutMs must be positive');
    if (options.rate !== undefined && !(options.rate > 0)) throw new Error('grpc-engine: rate must be positive');
    this.options = options;
    const target = options.target;
    // A compressed payload (--compression gzip, bench/scenario/compression.ts) goes precomputed, with the compressed flag.
    const compressed = options.payload.compressed;
    if (target.protocol === 'rest') {
      const call = restCallOf(target);
      if (call.wire !== 'h2') throw new Error('grpc-engine drives gRPC targets and REST targets whose call is on h2 only');
      if (compressed) throw new Error('grpc-engine: compressed REST calls over h2 are not supported');
      const url = new URL(target.url);
      if (url.protocol !== 'http:') throw new Error(`grpc-engine speaks h2c to REST targets, not ${url.protocol}`);
      this.target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80), tls: false };
      this.mode = 'http';
      this.path = requestLine(call, options.payload).path;
      this.contentType = call.contentType;
      this.framedMessage = restBodyOf(call, options.payload);
    } else {
      this.target = { host: target.host, port: target.port, tls: target.tls === true };
      this.mode = 'grpc';
      this.path = options.payload.method.grpcPath;
      this.contentType = undefined;
      const message = compressed?.protobuf ?? options.payload.protobuf;
      this.framedMessage = frameGrpcMessage(message, compressed !== undefined);
      const pool = options.payload.pool;
      if (pool && pool.length > 1 && !compressed) this.framedMessages = pool.map((request) => frameGrpcMessage(request.protobuf));
    }
    this.metadata = Object.entries(options.metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
    for (const [name] of this.metadata) {
      if (!/^[0-9a-z_.-]+$/.test(name) || name.startsWith('grpc-')) {
        throw new Error(`grpc-engine: invalid metadata key "${name}"`);
      }
    }
    // Reserved grpc-* headers are ours to set, after the check on user metadata.
    if (compressed) this.metadata.push(...Object.entries(GRPC_GZIP_HEADERS));
    const concurrency = Math.floor(options.concurrency);
    const laneCount = usableConnections(options.connections, concurrency);
    this.lanes = Array.from({ length: laneCount }, (_, i) => new Lane(i));
    this.slots = Array.from({ length: concurrency }, (_, i) => new Slot(i, this.lanes[i % laneCount]));
    if (options.onResponseMessage) for (const slot of this.slots) slot.responseChunks = [];
    this.openLoop = options.rate !== undefined;
    this.intervalMs = this.openLoop ? 1000 / options.rate! : 0;
    this.requestLimit = options.requests !== undefined ? Math.floor(options.requests) : Infinity;
  }

  run(): Promise<LoadResult> {
    return new Promise<LoadResult>((resolve) => {
      this.resolve = resolve;
      const signal = this.options.signal;
      if (signal?.aborted) {
        this.finish('aborted');
        return;
      }
      signal?.addEventListener('abort', this.onAbort, { once: true });
      this.readyWaiter = () => this.begin();
      for (const lane of this.lanes) this.connect(lane);
    });
  }

  // ---- run lifecycle ----

  /** All lanes connected: start the clock and the calls. */
  private begin(): void {
    this.readyWaiter = null;
    this.started = true;
    this.t0 = performance.now();
    this.lastEndMs = this.t0;
    if (this.requestLimit === Infinity) {
      this.timers.push(setTimeout(() => this.endIssuing(), Math.max(0, this.options.durationS * 1000)));
    }
    if (this.requestLimit === 0) {
      this.finish();
      return;
    }
    const sweepMs = Math.min(100, Math.max(5, this.options.timeoutMs / 10));
    this.timers.push(setInterval(() => this.sweepDeadlines(), sweepMs));
    if (this.options.onProgress) {
      const onProgress = this.options.onProgress;
      this.timers.push(
        setInterval(() => onProgress({ calls: this.calls, elapsedS: (performance.now() - this.t0) / 1000 }), PROGRESS_INTERVAL_MS),
      );
    }
    if (this.openLoop) {
      this.freeSlots = [...this.slots].reverse();
      this.pumpSchedule();
    } else {
      for (const slot of this.slots) {
        if (!this.mayIssue()) break;
        this.issued++;
        this.startCall(slot, this.t0);
      }
    }
  }

  private mayIssue(): boolean {
    return !this.stopIssuing && this.issued < this.requestLimit;
  }

  private endIssuing(): void {
    if (this.stopIssuing) return;
    this.stopIssuing = true;
    if (this.scheduleTimer !== null) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = null;
    // Calls never sent are not calls; one waiting to be sent again (retries > 0) was, and stays.
    for (const lane of this.lanes) {
      for (const slot of lane.queue) {
        if (slot.retries > 0) continue;
        slot.queued = false;
        slot.inFlight = false;
        this.inFlight--;
      }
      lane.queue = lane.queue.filter((slot) => slot.queued);
    }
    if (this.inFlight === 0) {
      this.finish();
      return;
    }
    const graceMs = Math.min(this.options.drainGraceMs ?? DEFAULT_DRAIN_GRACE_MS, this.options.timeoutMs + 50);
    this.timers.push(setTimeout(() => this.expireInFlight(), graceMs));
  }

  /**
   * The drain grace is over and some calls are still unanswered. Dropping them
   * would hide a server that stalls at the end of a run, so each is a
   * 'timeout', with its age so far as its latency (a lower bound), as a call cut
   * at its deadline is.
   */
  private expireInFlight(): void {
    if (this.finished) return;
    const now = performance.now();
    for (const slot of this.slots) if (slot.inFlight) this.record(slot, 'timeout', now);
    this.finish();
  }

  private finish(failure?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (failure !== undefined) this.failure = failure;
    // Every lane down and failing to reconnect at the end: the server went away mid-run.
    const down = this.lanes.filter((lane) => lane.connection === null || !lane.connection.ready);
    if (this.failure === undefined && this.started && down.length === this.lanes.length && down.some((l) => l.failures > 0)) {
      this.failure = `lost ${this.target.host}:${this.target.port}: ${down.find((l) => l.failures > 0)!.lastError}`;
    }
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const timer of this.timers) clearTimeout(timer);
    if (this.scheduleTimer !== null) clearTimeout(this.scheduleTimer);
    for (const lane of this.lanes) if (lane.reconnectTimer !== null) clearTimeout(lane.reconnectTimer);
    for (const connection of this.connections) {
      this.countBytes(connection);
      connection.close();
    }
    this.connections.clear();
    const endMs = this.started ? (this.calls > 0 ? this.lastEndMs : performance.now()) : this.t0;
    this.resolve({
      calls: this.calls,
      errors: this.errors,
      statusCounts: { ...this.statusCounts },
      elapsedS: this.started ? Math.max(0, endMs - this.t0) / 1000 : 0,
      latencyUs: this.histogram,
      socketBytes: { sent: this.bytesSent, received: this.bytesReceived },
      retried: this.retried,
      connectionsOpened: this.connectionsOpened,
      ...(this.failure !== undefined ? { failure: this.failure } : {}),
    });
  }

  private countBytes(connection: Http2ClientConnection): void {
    this.bytesSent += connection.bytesSent;
    this.bytesReceived += connection.bytesReceived;
  }

  // ---- connections ----

  private connect(lane: Lane): void {
    lane.reconnectTimer = null;
    if (this.finished) return;
    const connection = new Http2ClientConnection(
      {
        host: this.target.host,
        port: this.target.port,
        tls: this.target.tls,
        path: this.path,
        framedMessage: this.framedMessage,
        ...(this.framedMessages ? { framedMessages: this.framedMessages } : {}),
        mode: this.mode,
        contentType: this.contentType,
        metadata: this.metadata,
        maxStreams: this.options.maxStreamsPerConnection,
        connectTimeoutMs: Math.min(10_000, Math.max(1_000, this.options.timeoutMs)),
      },
      this,
    );
    laneOf.set(connection, lane);
    lane.connection = connection;
    this.connections.add(connection);
  }

  onReady(connection: Http2ClientConnection): void {
    // A lane that becomes ready after the run ended (aborted while connecting) must not start it.
    if (this.finished) return;
    const lane = laneOf.get(connection)!;
    lane.failures = 0;
    this.connectionsOpened++;
    if (this.readyWaiter !== null && this.lanes.every((l) => l.connection?.ready)) this.readyWaiter();
    else this.drain(lane);
  }

  onMoreStreams(connection: Http2ClientConnection): void {
    if (!this.finished) this.drain(laneOf.get(connection)!);
  }

  onRetiring(connection: Http2ClientConnection): void {
    const lane = laneOf.get(connection)!;
    if (lane.connection === connection && !this.finished) this.connect(lane);
  }

  onClosed(connection: Http2ClientConnection, reason: string | null): void {
    const lane = laneOf.get(connection)!;
    if (this.connections.delete(connection)) this.countBytes(connection);
    if (this.finished || lane.connection !== connection) return;
    lane.connection = null;
    const neverReady = !connection.ready;
    if (!this.started) {
      // The first connection attempt failed: there is nothing to measure.
      this.finish(`cannot connect to ${this.target.host}:${this.target.port}: ${reason ?? 'connection closed'}`);
      return;
    }
    if (neverReady) {
      lane.failures++;
      lane.lastError = reason ?? 'connection closed';
      // Calls waiting for this lane fail now rather than hang while the server is away.
      const waiting = lane.queue;
      lane.queue = [];
      for (const slot of waiting) {
        slot.queued = false;
        this.complete(slot, 'connection-error', performance.now());
      }
    }
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(lane.failures, 10));
    lane.reconnectTimer = setTimeout(() => this.connect(lane), lane.failures === 0 ? 0 : delay);
  }

  // ---- calls ----

  private startCall(slot: Slot, startMs: number): void {
    slot.startMs = startMs;
    slot.deadlineMs = startMs + this.options.timeoutMs;
    slot.inFlight = true;
    slot.retries = 0;
    slot.resend = false;
    this.inFlight++;
    const lane = slot.lane;
    const connection = lane.connection;
    if (lane.queue.length === 0 && connection !== null && connection.canStart()) {
      connection.start(slot);
    } else {
      slot.queued = true;
      lane.queue.push(slot);
    }
  }

  /** Starts queued calls while the lane's connection has stream capacity. */
  private drain(lane: Lane): void {
    while (lane.queue.length > 0) {
      const connection = lane.connection;
      if (connection === null || !connection.canStart()) return;
      const slot = lane.queue.shift()!;
      slot.queued = false;
      connection.start(slot);
    }
  }

  /**
   * The server never processed this call: send it again, first in its lane's
   * queue (the lane's connection is already a new one after a GOAWAY), keeping
   * its start and deadline.
   */
  onRefused(stream: CallStream, outcome: string): void {
    const slot = stream as Slot;
    if (this.finished || !slot.inFlight) return;
    if (slot.retries >= MAX_RETRIES_PER_CALL) {
      this.complete(slot, outcome, performance.now());
      return;
    }
    slot.retries++;
    this.retried++;
    const lane = slot.lane;
    const connection = lane.connection;
    if (lane.queue.length === 0 && connection !== null && connection.canStart()) {
      connection.start(slot);
    } else {
      slot.queued = true;
      lane.queue.unshift(slot);
    }
  }

  onCallEnd(stream: CallStream, outcome: string): void {
    const slot = stream as Slot;
    if (this.finished || !slot.inFlight) return;
    if (this.options.onResponseMessage && this.succeeded(outcome) && slot.responseChunks !== null) {
      const body = Buffer.concat(slot.responseChunks);
      if (this.mode === 'http') this.options.onResponseMessage(body);
      else if (body.length >= 5) this.options.onResponseMessage(body.subarray(5, 5 + body.readUInt32BE(1)));
    }
    this.complete(slot, outcome, performance.now());
  }

  private succeeded(outcome: string): boolean {
    return this.mode === 'grpc' ? outcome === 'OK' : outcome.length === 3 && outcome[0] === '2';
  }

  private record(slot: Slot, outcome: string, nowMs: number): void {
    slot.inFlight = false;
    this.inFlight--;
    this.calls++;
    if (!this.succeeded(outcome)) this.errors++;
    this.statusCounts[outcome] = (this.statusCounts[outcome] ?? 0) + 1;
    const latencyUs = Math.round((nowMs - slot.startMs) * 1000);
    this.histogram.recordValue(latencyUs > 0 ? latencyUs : 1);
    if (nowMs > this.lastEndMs) this.lastEndMs = nowMs;
  }

  /** Records a finished call and lets its slot make the next one. */
  private complete(slot: Slot, outcome: string, nowMs: number): void {
    this.record(slot, outcome, nowMs);
    if (this.openLoop) {
      this.freeSlots.push(slot);
      this.pumpSchedule();
    } else if (this.mayIssue()) {
      this.issued++;
      this.startCall(slot, nowMs);
    }
    this.drain(slot.lane);
    if (this.inFlight === 0 && (this.stopIssuing || this.issued >= this.requestLimit)) this.finish();
  }

  /** Open loop: start every call that is due and has a free slot; wake up for the next one. */
  private pumpSchedule(): void {
    if (this.finished || this.stopIssuing) return;
    const now = performance.now();
    while (this.freeSlots.length > 0 && this.issued < this.requestLimit) {
      const dueMs = this.t0 + this.issued * this.intervalMs;
      if (dueMs > now) break;
      this.issued++;
      this.startCall(this.freeSlots.pop()!, dueMs);
    }
    if (this.issued >= this.requestLimit) return;
    // With no free slot the next completion calls back here; otherwise sleep until the next due time.
    if (this.freeSlots.length > 0 && this.scheduleTimer === null) {
      const dueMs = this.t0 + this.issued * this.intervalMs;
      this.scheduleTimer = setTimeout(() => {
        this.scheduleTimer = null;
        this.pumpSchedule();
      }, Math.max(0, dueMs - now));
    }
  }

  private sweepDeadlines(): void {
    if (this.finished) return;
    const now = performance.now();
    for (const slot of this.slots) {
      if (!slot.inFlight || slot.deadlineMs > now) continue;
      if (slot.queued) {
        const queue = slot.lane.queue;
        queue.splice(queue.indexOf(slot), 1);
        slot.queued = false;
      } else {
        slot.connection?.cancel(slot);
      }
      this.complete(slot, 'timeout', now);
      if (this.finished) return;
    }
  }
}

const laneOf = new WeakMap<Http2ClientConnection, Lane>();
