/**
 * grpc-engine: our own gRPC load generator. It speaks HTTP/2 directly on its
 * sockets (bench/drivers/http2/) so the client costs about as much CPU per
 * call as h2load, instead of the grpc-js client's ~460 µs, and the numbers
 * describe the server rather than the load generator.
 *
 * Scheduling is the one scheduler's (CallScheduler, schedule.ts): closed loop
 * in `concurrency` slots, open loop with latency from each call's due time,
 * deadlines, the duration, the drain grace, progress and abort. The wire
 * protocol lives in Http2ClientConnection. What is this engine's own is
 * passed to the scheduler as parameters:
 * - the slots are the engine's HTTP/2 stream objects (Slot extends
 *   CallStream), so the per-call path is complete(slot) -> start(slot), with
 *   no lookup from a slot number to its stream (this engine must stay within
 *   h2load's calls/s and CPU per call);
 * - a call can wait in its lane's queue for a stream: when issuing stops,
 *   queued calls never sent are withdrawn uncounted (withdrawUnsent), and when
 *   a lane fails to connect they end as 'connection-error';
 * - the clock starts only once every lane is connected (deferBegin);
 * - the deadline runs from the latency origin (the due time in the open loop,
 *   the first send of a call sent again), not from the actual send;
 * - an abort's failure is 'aborted', whatever its reason.
 * Slot i belongs to connection i mod connections (a "lane"); a lane replaces
 * its connection on GOAWAY, stream-id exhaustion or loss, with backoff.
 * A call the server never processed (its stream above a GOAWAY's
 * last-stream-id, or reset with REFUSED_STREAM before an answer) is sent again
 * on the lane's next connection, as gRPC clients retry it transparently; it
 * counts in `retried`, not as an error, and its latency still runs from its
 * first send (open loop: its due time), its deadline too.
 */
import { usableConnections } from '../scenario/connections.ts';
import { performance } from 'node:perf_hooks';
import type { Driver, LoadOptions, LoadResult } from '../types.ts';
import { GRPC_GZIP_HEADERS } from '../scenario/compression.ts';
import { frameGrpcMessage } from '../wire/grpc-frame.ts';
import { requestLine, restBodyOf, restCallOf } from '../wire/http-call.ts';
import { CallStream, Http2ClientConnection, type ConnectionEvents } from './http2/client-connection.ts';
import { CallScheduler, type CallSender, type CallSlot } from './schedule.ts';

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
/**
 * Re-sends of one call the server did not process. One is what a graceful
 * GOAWAY costs; a server that refuses the same call again and again (going
 * away before it reads anything) gets it counted as 'goaway'/'stream-reset'
 * after this many, rather than re-sent until its deadline.
 */
const MAX_RETRIES_PER_CALL = 3;

class Slot extends CallStream implements CallSlot {
  /** The scheduler's: the call in flight (0: none), when it started (closed loop) or was due (open loop), its deadline. */
  callId = 0;
  originMs = 0;
  deadlineMs = 0;
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

class EngineRun implements ConnectionEvents, CallSender<Slot> {
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
  private readonly lanes: Lane[];
  private readonly schedule: CallScheduler<Slot>;
  private readonly connections = new Set<Http2ClientConnection>();

  private bytesSent = 0;
  private bytesReceived = 0;
  private retried = 0;
  private connectionsOpened = 0;

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
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`grpc-engine speaks h2c or h2 over TLS to REST targets, not ${url.protocol}`);
      const tls = url.protocol === 'https:';
      this.target = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (tls ? 443 : 80)), tls };
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
    this.schedule = new CallScheduler<Slot>({ ...options, deadlineFrom: 'origin', abortFailure: 'aborted' }, (i) => new Slot(i, this.lanes[i % laneCount]!));
    if (options.onResponseMessage) for (const slot of this.schedule.slots) slot.responseChunks = [];
  }

  async run(): Promise<LoadResult> {
    // The clock starts when every lane is connected (onReady); an abort or a failed first connection ends the run before.
    const running = this.schedule.run(this, { deferBegin: true });
    if (!this.schedule.isFinished) for (const lane of this.lanes) this.connect(lane);
    const result = await running;
    return {
      ...result,
      socketBytes: { sent: this.bytesSent, received: this.bytesReceived },
      retried: this.retried,
      connectionsOpened: this.connectionsOpened,
    };
  }

  // ---- the scheduler's sender ----

  /**
   * Issuing is over: calls never sent are not calls; one waiting to be sent
   * again (retries > 0) was, and stays.
   */
  withdrawUnsent(): void {
    for (const lane of this.lanes) {
      for (const slot of lane.queue) {
        if (slot.retries > 0) continue;
        slot.queued = false;
        this.schedule.withdraw(slot);
      }
      lane.queue = lane.queue.filter((slot) => slot.queued);
    }
  }

  /** The run ended: connections close and their bytes are counted. Returns the failure of a server lost mid-run. */
  finish(): string | undefined {
    // Every lane down and failing to reconnect at the end: the server went away mid-run.
    const down = this.lanes.filter((lane) => lane.connection === null || !lane.connection.ready);
    const lost = this.schedule.started && down.length === this.lanes.length && down.some((l) => l.failures > 0);
    const failure = lost ? `lost ${this.target.host}:${this.target.port}: ${down.find((l) => l.failures > 0)!.lastError}` : undefined;
    for (const lane of this.lanes) if (lane.reconnectTimer !== null) clearTimeout(lane.reconnectTimer);
    for (const connection of this.connections) {
      this.countBytes(connection);
      connection.close();
    }
    this.connections.clear();
    return failure;
  }

  private countBytes(connection: Http2ClientConnection): void {
    this.bytesSent += connection.bytesSent;
    this.bytesReceived += connection.bytesReceived;
  }

  // ---- connections ----

  private connect(lane: Lane): void {
    lane.reconnectTimer = null;
    if (this.schedule.isFinished) return;
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
    if (this.schedule.isFinished) return;
    const lane = laneOf.get(connection)!;
    lane.failures = 0;
    this.connectionsOpened++;
    if (!this.schedule.started && this.lanes.every((l) => l.connection?.ready)) this.schedule.begin();
    else this.drain(lane);
  }

  onMoreStreams(connection: Http2ClientConnection): void {
    if (!this.schedule.isFinished) this.drain(laneOf.get(connection)!);
  }

  onRetiring(connection: Http2ClientConnection): void {
    const lane = laneOf.get(connection)!;
    if (lane.connection === connection && !this.schedule.isFinished) this.connect(lane);
  }

  onClosed(connection: Http2ClientConnection, reason: string | null): void {
    const lane = laneOf.get(connection)!;
    if (this.connections.delete(connection)) this.countBytes(connection);
    if (this.schedule.isFinished || lane.connection !== connection) return;
    lane.connection = null;
    const neverReady = !connection.ready;
    if (!this.schedule.started) {
      // The first connection attempt failed: there is nothing to measure.
      this.schedule.fail(`cannot connect to ${this.target.host}:${this.target.port}: ${reason ?? 'connection closed'}`);
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

  /** Sends the slot's new call, or queues it for a stream on its lane. */
  start(slot: Slot): void {
    slot.retries = 0;
    slot.resend = false;
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
    if (slot.callId === 0 || this.schedule.isFinished) return;
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
    if (slot.callId === 0 || this.schedule.isFinished) return;
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

  /** Records a finished call; its slot makes the next one (the scheduler), after the calls queued on its lane start. */
  private complete(slot: Slot, outcome: string, nowMs: number): void {
    this.drain(slot.lane);
    this.schedule.complete(slot, slot.callId, outcome, !this.succeeded(outcome), nowMs);
  }

  /** The call's deadline passed (the scheduler counts it as 'timeout' next): out of its lane's queue, or its stream reset. */
  cancel(slot: Slot): void {
    if (slot.queued) {
      const queue = slot.lane.queue;
      queue.splice(queue.indexOf(slot), 1);
      slot.queued = false;
    } else {
      slot.connection?.cancel(slot);
    }
    this.drain(slot.lane);
  }
}

const laneOf = new WeakMap<Http2ClientConnection, Lane>();
