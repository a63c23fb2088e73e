/**
 * Client-library mode: "what an application's client pays". The load comes
 * from the libraries an application would use, not from a lean engine:
 * - 'grpc-js-client': the @grpc/grpc-js client, the method's request and
 *   response types loaded from its .proto at run time (ApiMethod.schema), one
 *   channel per connection (a local subchannel pool, so channels do not share
 *   one TCP connection), protobufjs serialising the request object and
 *   decoding the answer on every call, as a generated client does;
 * - 'undici-client': an undici Pool with `connections` keep-alive HTTP/1.1
 *   connections, pipelining 1, each answer's JSON body read and parsed.
 *
 * Both run on the one scheduler's CallScheduler (schedule.ts), as http1-engine: closed loop at `concurrency`
 * calls in flight (open loop if `rate` is set), latency per call into the HDR
 * histogram, a deadline of `timeoutMs` per call (the call is cancelled and
 * counted as 'timeout'). Statuses: gRPC status names ('OK', 'INVALID_ARGUMENT',
 * 'UNAVAILABLE' for a lost connection, as the application sees it) and HTTP
 * statuses ('200', '400', 'connection-error' when no answer came).
 * Neither library exposes socket byte counts: socketBytes is null.
 */
import fs from 'node:fs';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import protobuf from 'protobufjs';
import type { ApiMethod, Driver, LoadOptions, LoadResult } from '../types.ts';
import { CallScheduler, type CallSlot } from './schedule.ts';
import { createLatencyHistogram } from '../results/histogram.ts';

const CONNECT_TIMEOUT_MS = 5_000;
/** Messages up to this size each way (grpc-js's default receive limit is 4 MiB; the bench's large sums exceed it). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The method's request and response types, from its .proto files, as a generated client would hold them. */
function methodTypes(method: ApiMethod): { request: protobuf.Type; response: protobuf.Type } {
  if (!method.schema) throw new Error(`grpc-js-client needs the .proto of ${method.api}/${method.name}`);
  const root = new protobuf.Root();
  const importPaths = method.schema.importPaths;
  root.resolvePath = (origin, target) => {
    for (const dir of importPaths) {
      const candidate = `${dir}/${target}`;
      try {
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not under this import path
      }
    }
    return protobuf.util.path.resolve(origin, target);
  };
  root.loadSync([...method.schema.protoFiles], { keepCase: false });
  const service = root.lookupService(method.api);
  const rpc = service.methods[method.name];
  if (!rpc) throw new Error(`grpc-js-client: ${method.api} has no method ${method.name}`);
  rpc.resolve();
  return { request: rpc.resolvedRequestType!, response: rpc.resolvedResponseType! };
}

export const grpcJsClientDriver: Driver = {
  name: 'grpc-js-client',
  protocols: ['grpc'],
  run: runGrpcJsClient,
};

export const undiciClientDriver: Driver = {
  name: 'undici-client',
  protocols: ['rest'],
  run: runUndiciClient,
};

function failedBeforeStart(failure: string): LoadResult {
  return { calls: 0, errors: 0, statusCounts: {}, elapsedS: 0, latencyUs: createLatencyHistogram(), socketBytes: null, failure };
}

const STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value as number, name]),
);

/** gRPC status code -> its name ('OK', 'INVALID_ARGUMENT', ...). */
export function grpcStatusName(code: number): string {
  return STATUS_NAMES[code] ?? `grpc-status-${code}`;
}


async function runGrpcJsClient(options: LoadOptions): Promise<LoadResult> {
  const { target, payload } = options;
  if (target.protocol !== 'grpc') throw new Error('grpc-js-client drives gRPC targets only');
  if (!(options.connections >= 1)) throw new Error('grpc-js-client: connections must be at least 1');
  const loop = new CallScheduler(options);
  const types = methodTypes(payload.method);
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  const address = `${host}:${target.port}`;
  const credentials = target.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
  const channelCount = Math.min(Math.floor(options.connections), loop.slotCount);
  const clients = Array.from(
    { length: channelCount },
    () =>
      new grpc.Client(address, credentials, {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
        'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      }),
  );
  const closeAll = (): void => {
    for (const client of clients) client.close();
  };

  try {
    await Promise.all(
      clients.map(
        (client) =>
          new Promise<void>((resolve, reject) =>
            client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (error) => (error ? reject(error) : resolve())),
          ),
      ),
    );
  } catch (error) {
    closeAll();
    return failedBeforeStart(`cannot connect to ${address}: ${(error as Error).message}`);
  }

  const path = payload.method.grpcPath;
  const serialize = (value: object): Buffer => Buffer.from(types.request.encode(value).finish());
  const deserialize = (bytes: Buffer): object => types.response.decode(bytes);
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(options.metadata ?? {})) metadata.set(name, value);
  // The request object an application would hold, decoded once from the prepared bytes.
  const request = types.request.decode(payload.protobuf);
  const inFlight: Array<grpc.ClientUnaryCall | null> = new Array(loop.slotCount).fill(null);
  /** Per slot, the id of a call cancelled at its deadline: its CANCELLED callback is not an outcome. */
  const cancelled = new Float64Array(loop.slotCount);

  const result = await loop.run({
    start(slot) {
      const { index, callId } = slot;
      const client = clients[index % clients.length]!;
      inFlight[index] = client.makeUnaryRequest(path, serialize, deserialize, request, metadata, {}, (error) => {
        if (cancelled[index] === callId || !loop.isCurrent(slot, callId)) return;
        inFlight[index] = null;
        const outcome = error === null ? 'OK' : grpcStatusName(error.code);
        loop.complete(slot, callId, outcome, error !== null);
      });
    },
    cancel({ index, callId }) {
      const call = inFlight[index];
      inFlight[index] = null;
      cancelled[index] = callId;
      call?.cancel();
    },
    finish() {
      for (const call of inFlight) call?.cancel();
      closeAll();
    },
  });
  return { ...result, socketBytes: null };
}

/** Resolves when a TCP connection to host:port opens; rejects with a short reason otherwise. */
function probe(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message));
    });
  });
}

async function runUndiciClient(options: LoadOptions): Promise<LoadResult> {
  const { target, payload } = options;
  if (target.protocol !== 'rest') throw new Error('undici-client drives REST targets only');
  if (!(options.connections >= 1)) throw new Error('undici-client: connections must be at least 1');
  const loop = new CallScheduler(options);
  const url = new URL(payload.restPath, target.url);
  try {
    await probe(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || (url.protocol === 'https:' ? 443 : 80)));
  } catch (error) {
    return failedBeforeStart(`cannot connect to ${url.host}: ${(error as Error).message}`);
  }
  const pool = new Pool(url.origin, {
    connections: Math.min(Math.floor(options.connections), loop.slotCount),
    pipelining: 1,
    // The loop's deadline cancels calls; these only stop a stuck socket from outliving the run.
    headersTimeout: options.timeoutMs + 1_000,
    bodyTimeout: options.timeoutMs + 1_000,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.metadata };
  // A REST twin without a body (GET, most DELETEs) sends none.
  const body = payload.json.length > 0 ? payload.json : undefined;
  const path = `${url.pathname}${url.search}`;
  const method = payload.method.rest.verb as 'POST';
  const controllers: Array<AbortController | null> = new Array(loop.slotCount).fill(null);

  const call = async (slot: CallSlot, callId: number, controller: AbortController): Promise<void> => {
    let outcome: string;
    let isError: boolean;
    try {
      const response = await pool.request({ path, method, headers, body, signal: controller.signal });
      // An application reads and parses the answer; so does this client.
      const text = await response.body.text();
      try {
        JSON.parse(text);
      } catch {
        // not JSON: the status still says what happened
      }
      outcome = String(response.statusCode);
      isError = response.statusCode < 200 || response.statusCode >= 300;
    } catch {
      if (controller.signal.aborted) return; // cancelled at the deadline: already counted as 'timeout'
      outcome = 'connection-error';
      isError = true;
    }
    if (controllers[slot.index] === controller) controllers[slot.index] = null;
    loop.complete(slot, callId, outcome, isError);
  };

  const result = await loop.run({
    start(slot) {
      const controller = new AbortController();
      controllers[slot.index] = controller;
      void call(slot, slot.callId, controller);
    },
    cancel({ index }) {
      const controller = controllers[index];
      controllers[index] = null;
      controller?.abort();
    },
    finish() {
      for (const controller of controllers) controller?.abort();
      void pool.destroy().catch(() => {});
    },
  });
  return { ...result, socketBytes: null };
}
