/**
 * The connection-cost pass: what opening a connection costs, apart from what a
 * call costs. Per protocol, sequential, one call at a time:
 *
 *   - `calls` calls each on a NEW connection (TCP connect, TLS handshake when
 *     on, HTTP/2 preface + SETTINGS for gRPC, the call, close), timed from
 *     before connect to the complete response;
 *   - `calls` calls on ONE kept-alive connection, timed from send to response;
 *
 * interleaved (new, kept, new, kept, ...) so both see the same machine, after a
 * few untimed calls of each kind. handshakeMs = median(new) - median(kept): the
 * connection set-up a client pays once per connection (with TLS: the full
 * handshake; no session resumption, each new connection is a first contact).
 *
 * Bytes per handshake come from the counting proxy (bench/wire/proxy.ts, which
 * forwards TLS records unchanged and counts every byte each way): bytes of a
 * new-connection call minus the marginal bytes of one more call on a kept-alive
 * connection. TCP's own SYN/ACK packets are not payload and are not counted.
 *
 * The clients are minimal and the same for both kinds of call, so the
 * difference is the connection, not the client library: gRPC uses the engine's
 * Http2ClientConnection (bench/drivers/http2/), REST a raw HTTP/1.1 exchange on
 * a net/tls socket. The bench's certificate is self-signed and generated at
 * start; these connections accept it explicitly (rejectUnauthorized: false on
 * this socket only), never through NODE_TLS_REJECT_UNAUTHORIZED.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { frameGrpcMessage } from '../wire/grpc-frame.ts';
import { CallStream, Http2ClientConnection, type ConnectionEvents } from '../drivers/http2/client-connection.ts';
import type { ConnectionCostRecord } from '../results/record.ts';
import type { CallPayload, Protocol, Target } from '../types.ts';
import { startCountingProxy } from '../wire/proxy.ts';
import { round } from '../results/round.ts';

/** Untimed calls of each kind before the timed ones (JIT, server accept path), unless warmupCalls says. */
const WARMUP_CALLS = 5;
/** New-connection calls through the counting proxy for the byte counts. */
const BYTE_CALLS = 10;

/** The record's shape (bench/results/record.ts is the contract). */
export type ConnectionCost = ConnectionCostRecord;

export interface ConnectionCostOptions {
  calls: number;
  /** Per-call (and per-connect) deadline in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Count bytes through the proxy as well (default true). */
  countBytes?: boolean;
  /** Untimed calls of each kind first (default WARMUP_CALLS). */
  warmupCalls?: number;
}

export function isTlsTarget(target: Target): boolean {
  return target.protocol === 'grpc' ? target.tls === true : target.url.startsWith('https:');
}

/** A figure-less record: the pass was skipped (or failed) for a target. */
export function emptyConnectionCost(target: Target): ConnectionCost {
  return { enabled: isTlsTarget(target), version: null, calls: 0, newConnectionCallMs: null, keptAliveCallMs: null, handshakeMs: null, handshakeBytes: null };
}

export async function measureConnectionCost(target: Target, payload: CallPayload, options: ConnectionCostOptions): Promise<ConnectionCost> {
  const address = addressOf(target);
  const open = (at: Address): Promise<OneCallClient> => openClient(target.protocol, at, payload, options.timeoutMs, options.signal);
  const calls = Math.max(1, Math.floor(options.calls));
  const warmupCalls = options.warmupCalls ?? WARMUP_CALLS;

  const kept = await open(address);
  const newMs: number[] = [];
  const keptMs: number[] = [];
  let version: string | null;
  try {
    version = kept.version;
    for (let i = 0; i < warmupCalls + calls; i++) {
      checkAborted(options.signal);
      const t0 = performance.now();
      const fresh = await open(address);
      try {
        await fresh.call();
      } finally {
        fresh.close();
      }
      const t1 = performance.now();
      await kept.call();
      const t2 = performance.now();
      if (i >= warmupCalls) {
        newMs.push(t1 - t0);
        keptMs.push(t2 - t1);
      }
    }
  } finally {
    kept.close();
  }
  const newConnectionCallMs = median(newMs);
  const keptAliveCallMs = median(keptMs);
  const handshakeBytes = options.countBytes === false ? null : await countHandshakeBytes(target.protocol, address, open, options.signal);
  return {
    enabled: address.tls,
    version,
    calls,
    newConnectionCallMs: round(newConnectionCallMs, 3),
    keptAliveCallMs: round(keptAliveCallMs, 3),
    handshakeMs: round(Math.max(0, newConnectionCallMs - keptAliveCallMs), 3),
    handshakeBytes,
  };
}

async function countHandshakeBytes(
  protocol: Protocol,
  address: Address,
  open: (at: Address) => Promise<OneCallClient>,
  signal: AbortSignal | undefined,
): Promise<{ request: number; response: number }> {
  const proxy = await startCountingProxy({ host: address.host, port: address.port }, protocol === 'grpc' ? 'http2' : 'http1');
  const via: Address = { ...address, host: proxy.host, port: proxy.port, servername: address.servername ?? null };
  try {
    const snapshot = (): { request: number; response: number } => {
      const counts = proxy.counts();
      return { request: counts.request.totalBytes, response: counts.response.totalBytes };
    };
    // One kept-alive connection: the marginal bytes of one more call.
    const kept = await open(via);
    await kept.call();
    await settle();
    const before = snapshot();
    for (let i = 0; i < BYTE_CALLS; i++) {
      checkAborted(signal);
      await kept.call();
    }
    await settle();
    const after = snapshot();
    kept.close();
    await settle();
    const perCall = { request: (after.request - before.request) / BYTE_CALLS, response: (after.response - before.response) / BYTE_CALLS };
    // New connections, closed after their call: everything they moved, set-up and close included.
    const start = snapshot();
    for (let i = 0; i < BYTE_CALLS; i++) {
      checkAborted(signal);
      const fresh = await open(via);
      try {
        await fresh.call();
      } finally {
        fresh.close();
      }
    }
    await settle(150);
    const end = snapshot();
    return {
      request: round(Math.max(0, (end.request - start.request) / BYTE_CALLS - perCall.request), 1),
      response: round(Math.max(0, (end.response - start.response) / BYTE_CALLS - perCall.response), 1),
    };
  } finally {
    await proxy.close();
  }
}

// ---- minimal one-call-at-a-time clients ----

interface Address {
  host: string;
  port: number;
  tls: boolean;
  /** SNI; null for IP addresses (RFC 6066 forbids them there). */
  servername?: string | null;
}

interface OneCallClient {
  /** Negotiated TLS version, null without TLS. */
  readonly version: string | null;
  /** One call; rejects on a non-OK answer, a closed connection or the deadline. */
  call(): Promise<void>;
  close(): void;
}

function addressOf(target: Target): Address {
  if (target.protocol === 'grpc') {
    return { host: target.host, port: target.port, tls: target.tls === true, servername: net.isIP(target.host) ? null : target.host };
  }
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const secure = url.protocol === 'https:';
  return { host, port: Number(url.port || (secure ? 443 : 80)), tls: secure, servername: net.isIP(host) ? null : host };
}

function openClient(protocol: Protocol, address: Address, payload: CallPayload, timeoutMs: number, signal?: AbortSignal): Promise<OneCallClient> {
  checkAborted(signal);
  return protocol === 'grpc' ? openGrpc(address, payload, timeoutMs) : openRest(address, payload, timeoutMs);
}

function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

function openGrpc(address: Address, payload: CallPayload, timeoutMs: number): Promise<OneCallClient> {
  const framedMessage = frameGrpcMessage(payload.protobuf);
  let ready!: () => void;
  let notReady!: (error: Error) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    ready = resolve;
    notReady = reject;
  });
  let pending: { resolve: () => void; reject: (error: Error) => void } | null = null;
  const events: ConnectionEvents = {
    onReady: () => ready(),
    onCallEnd: (_stream, outcome) => {
      const p = pending;
      pending = null;
      if (outcome === 'OK') p?.resolve();
      else p?.reject(new Error(`gRPC call ended ${outcome}`));
    },
    onRetiring: () => {},
    onClosed: (_connection, reason) => {
      notReady(new Error(`connection closed: ${reason ?? 'by the server'}`));
      pending?.reject(new Error(`connection closed: ${reason ?? 'by the server'}`));
      pending = null;
    },
  };
  const connection = new Http2ClientConnection(
    {
      host: address.host,
      port: address.port,
      tls: address.tls,
      path: payload.method.grpcPath,
      framedMessage,
      metadata: [],
      connectTimeoutMs: timeoutMs,
    },
    events,
  );
  const stream = new CallStream();
  const client: OneCallClient = {
    get version() {
      return address.tls ? ((connection.socket as tls.TLSSocket).getProtocol?.() ?? null) : null;
    },
    call: () => {
      const done = new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
      });
      connection.start(stream);
      return withDeadline(done, timeoutMs, 'gRPC call', () => {
        pending = null;
        connection.cancel(stream);
      });
    },
    close: () => connection.close(),
  };
  return withDeadline(readyPromise, timeoutMs, 'gRPC connect', () => connection.close()).then(
    () => client,
    (error: unknown) => {
      connection.close();
      throw error;
    },
  );
}

function openRest(address: Address, payload: CallPayload, timeoutMs: number): Promise<OneCallClient> {
  const authority = `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  const request = Buffer.concat([
    Buffer.from(
      `${payload.method.rest.verb} ${payload.restPath} HTTP/1.1\r\nhost: ${authority}\r\ncontent-type: application/json\r\ncontent-length: ${payload.json.length}\r\n\r\n`,
      'latin1',
    ),
    payload.json,
  ]);
  const socket: net.Socket = address.tls
    ? tls.connect({
        host: address.host,
        port: address.port,
        ALPNProtocols: ['http/1.1'],
        // The bench's own self-signed certificate, accepted for this socket only.
        rejectUnauthorized: false,
        ...(address.servername ? { servername: address.servername } : {}),
      })
    : net.connect({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  let buffered: Buffer = Buffer.alloc(0);
  let pending: { resolve: () => void; reject: (error: Error) => void } | null = null;
  let closedReason: string | null = null;
  const failPending = (reason: string): void => {
    closedReason ??= reason;
    pending?.reject(new Error(reason));
    pending = null;
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || pending === null) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      failPending(`REST answer without content-length (status ${status})`);
      socket.destroy();
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (buffered.length < total) return;
    buffered = buffered.subarray(total);
    const p = pending;
    pending = null;
    if (status >= 200 && status < 300) p.resolve();
    else p.reject(new Error(`REST call answered ${status}`));
  });
  socket.on('error', (error: Error) => failPending(`connection error: ${error.message}`));
  socket.on('close', () => failPending('connection closed by the server'));

  const connected = new Promise<void>((resolve, reject) => {
    socket.once(address.tls ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', (error: Error) => reject(new Error(`cannot connect: ${error.message}`)));
    socket.once('close', () => reject(new Error(`cannot connect: ${closedReason ?? 'connection closed'}`)));
  });
  const client: OneCallClient = {
    version: null,
    call: () => {
      if (closedReason !== null) return Promise.reject(new Error(closedReason));
      const done = new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
      });
      socket.write(request);
      return withDeadline(done, timeoutMs, 'REST call', () => socket.destroy());
    },
    close: () => socket.destroy(),
  };
  return withDeadline(connected, timeoutMs, 'REST connect', () => socket.destroy()).then(
    () => ({ ...client, version: address.tls ? ((socket as tls.TLSSocket).getProtocol() ?? null) : null }),
    (error: unknown) => {
      socket.destroy();
      throw error;
    },
  );
}

// ---- helpers ----

function checkAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error ? reason : new Error(String(reason ?? 'aborted'));
}

function settle(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

