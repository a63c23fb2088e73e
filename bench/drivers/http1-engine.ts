/**
 * http1-engine: a light HTTP/1.1 load generator on raw `net.Socket`s, so REST
 * gets the same two load shapes as the gRPC engine:
 * - closed loop: `concurrency` slots, each sending its next call as soon as the
 *   previous answer is in; latency runs from the actual send;
 * - open loop (`rate`): call k is due at t0 + k/rate, a free slot sends it, and
 *   latency runs from the DUE time, so a server stall shows in the percentiles
 *   instead of being hidden by coordinated omission (the wrk2/Nighthawk rule).
 *
 * One request in flight per connection (keep-alive, no pipelining), so the
 * engine opens `concurrency` connections whatever `connections` says: HTTP/1.1
 * has no other way to carry that many calls at once. The request bytes are
 * built once; a response is parsed just far enough to find its status and its
 * end (content-length, chunked, or close). Socket bytes are counted both ways.
 *
 * A server may close an idle keep-alive connection just as a request goes out
 * on it (its keep-alive timeout, a proxy's idle limit): the connection closes
 * before any byte of the answer. Such a request was not answered and, on a
 * connection about to close, most likely not processed: it is sent once more
 * on a new connection (counted in `retried`; latency still from the first
 * send, or the due time in the open loop), as browsers and undici do for
 * requests they may repeat. A second such loss is a connection-error.
 *
 * The scheduling is the one scheduler's CallScheduler (schedule.ts), as for
 * every Node generator; a call's deadline runs from its actual send.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Driver, LoadOptions, LoadResult } from '../types.ts';
import { assertDrivable, requestLine, requestsOf, restBodyOf } from '../wire/http-call.ts';
import { CallScheduler } from './schedule.ts';
import { createLatencyHistogram } from '../results/histogram.ts';

const RECONNECT_MIN_MS = 20;
const RECONNECT_MAX_MS = 1_000;
/** A response head larger than this is treated as a broken server (connection-error). */
const MAX_HEAD_BYTES = 64 * 1024;

/** The whole request (head + JSON body) as one buffer, written unchanged for every call. */
export function buildHttp1Request(
  url: URL,
  body: Buffer,
  metadata: Readonly<Record<string, string>> = {},
  contentType = 'application/json',
  verb = 'POST',
): Buffer {
  // A request without a body (a REST twin's GET) carries no content headers; any other states its length.
  const bodyless = body.length === 0 && (verb === 'GET' || verb === 'HEAD');
  const headers: Array<[string, string]> = bodyless
    ? [['host', url.host]]
    : [
        ['host', url.host],
        ['content-type', contentType],
        ['content-length', String(body.length)],
      ];
  for (const [name, value] of Object.entries(metadata)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(value)) {
      throw new Error(`http1-engine: invalid header ${JSON.stringify(name)}`);
    }
    const lower = name.toLowerCase();
    const existing = headers.findIndex(([n]) => n === lower);
    if (existing >= 0) headers[existing] = [lower, value];
    else headers.push([lower, value]);
  }
  const head = `${verb} ${url.pathname}${url.search} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const LF = 10;

/**
 * Parses a stream of HTTP/1.1 responses just far enough to find each one's
 * status and end. Returns from feed() with the statuses of the responses that
 * completed in that chunk.
 */
export class Http1ResponseParser {
  private head: Buffer | null = null;
  private state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-trailer' | 'until-close' = 'head';
  private remaining = 0;
  private status = 0;
  /** The server said `connection: close` (or spoke HTTP/1.0 without keep-alive) on the last response. */
  closeAfter = false;
  /** Set on a response that cannot be parsed. */
  error: string | null = null;

  /** Feeds bytes; calls onResponse(status) for each complete response. Stops at a parse error. */
  feed(chunk: Buffer, onResponse: (status: number) => void): void {
    let offset = 0;
    while (offset < chunk.length && this.error === null) {
      switch (this.state) {
        case 'head': {
          const data: Buffer = this.head === null ? chunk.subarray(offset) : Buffer.concat([this.head, chunk.subarray(offset)]);
          const searchFrom = this.head === null ? 0 : Math.max(0, this.head.length - 3);
          const end = data.indexOf('\r\n\r\n', searchFrom, 'latin1');
          if (end < 0) {
            if (data.length > MAX_HEAD_BYTES) this.error = 'response head too large';
            this.head = Buffer.from(data);
            return;
          }
          const consumedFromChunk = end + 4 - (this.head === null ? 0 : this.head.length);
          this.head = null;
          offset += consumedFromChunk;
          const parsed = this.parseHead(data.toString('latin1', 0, end));
          if (parsed === 'error') return;
          if (parsed === 'final' && this.state === 'head') onResponse(this.status);
          break;
        }
        case 'body': {
          const take = Math.min(this.remaining, chunk.length - offset);
          offset += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = 'head';
            onResponse(this.status);
          }
          break;
        }
        case 'chunk-size':
        case 'chunk-trailer': {
          const lineEnd = chunk.indexOf(LF, offset);
          const piece = lineEnd < 0 ? chunk.subarray(offset) : chunk.subarray(offset, lineEnd + 1);
          const line = this.head === null ? piece : Buffer.concat([this.head, piece]);
          if (lineEnd < 0) {
            if (line.length > MAX_HEAD_BYTES) this.error = 'chunk line too long';
            this.head = Buffer.from(line);
            return;
          }
          this.head = null;
          offset = lineEnd + 1;
          const text = line.toString('latin1').replace(/\r?\n$/, '');
          if (this.state === 'chunk-trailer') {
            if (text === '') {
              this.state = 'head';
              onResponse(this.status);
            }
            break;
          }
          const size = parseInt(text.split(';')[0]!.trim(), 16);
          if (!Number.isFinite(size) || size < 0) {
            this.error = `bad chunk size ${JSON.stringify(text.slice(0, 20))}`;
            return;
          }
          if (size === 0) this.state = 'chunk-trailer';
          else {
            this.remaining = size + 2; // data + CRLF
            this.state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.remaining, chunk.length - offset);
          offset += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'chunk-size';
          break;
        }
        case 'until-close':
          return;
      }
    }
  }

  /** The connection closed: completes a response delimited by close. */
  end(onResponse: (status: number) => void): void {
    if (this.state === 'until-close') {
      this.state = 'head';
      onResponse(this.status);
    }
  }

  /** True between responses (nothing of the next one read yet). */
  get idle(): boolean {
    return this.state === 'head' && this.head === null;
  }

  /** 'interim' for a 1xx answer (the real one follows), 'final' otherwise. */
  private parseHead(head: string): 'final' | 'interim' | 'error' {
    const lines = head.split('\r\n');
    const match = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!match) {
      this.error = `not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`;
      return 'error';
    }
    this.status = Number(match[2]);
    let contentLength = -1;
    let chunked = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') contentLength = Number(value);
      else if (name === 'transfer-encoding') chunked = /chunked/i.test(value);
      else if (name === 'connection') connection = value.toLowerCase();
    }
    this.closeAfter = connection.includes('close') || (match[1] === '0' && !connection.includes('keep-alive'));
    if (this.status >= 100 && this.status < 200) {
      // 100 Continue and friends: an interim answer, the real one follows.
      this.state = 'head';
      return 'interim';
    }
    if (this.status === 204 || this.status === 304) this.state = 'head';
    else if (chunked) this.state = 'chunk-size';
    else if (contentLength >= 0 && Number.isSafeInteger(contentLength)) {
      this.remaining = contentLength;
      this.state = contentLength === 0 ? 'head' : 'body';
    } else {
      this.state = 'until-close';
      this.closeAfter = true;
    }
    return 'final';
  }
}

class Lane {
  socket: net.Socket | null = null;
  /** The TCP socket under `socket` (the same one without TLS), for an abort with RST. */
  tcp: net.Socket | null = null;
  connected = false;
  parser = new Http1ResponseParser();
  /** The call waiting for (or using) this connection; 0 = none. */
  callId = 0;
  sent = false;
  /** A byte of the current call's answer arrived. */
  answered = false;
  /** The call already sent once more after its connection closed unanswered (it gets one retry). */
  retriedCallId = 0;
  /** The request the current call sends (one of the run's, round robin); null between calls. */
  request: Buffer | null = null;
  failures = 0;
  reconnectTimer: NodeJS.Timeout | null = null;

  constructor(readonly slot: number) {}
}

export const http1Engine: Driver = {
  name: 'http1-engine',
  protocols: ['rest'],
  restWires: ['http1'],
  pools: true,
  run: (options: LoadOptions) => runHttp1Engine(options),
};

async function runHttp1Engine(options: LoadOptions): Promise<LoadResult> {
  const { target, payload } = options;
  if (target.protocol !== 'rest') throw new Error('http1-engine drives REST targets only');
  if (!(options.concurrency >= 1)) throw new Error('http1-engine: concurrency must be at least 1');
  const call = assertDrivable('http1-engine', http1Engine.restWires, target);
  const line = requestLine(call, payload);
  const url = new URL(line.path, target.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`http1-engine speaks HTTP/1.1 over http: or https:, not ${url.protocol}`);
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (secure ? 443 : 80));
  // Every request of the run, built once: the payload's, or each of its pool's (an API card's), sent round robin.
  const requests = requestsOf(payload).map((prepared) => {
    const requestUrl = new URL(requestLine(call, payload, prepared).path, target.url);
    return buildHttp1Request(requestUrl, call.body === 'json' && prepared === payload ? payload.json : restBodyOf(call, payload, prepared), options.metadata, call.contentType, line.verb);
  });
  let nextRequest = 0;
  const loop = new CallScheduler(options);
  const lanes = Array.from({ length: loop.slotCount }, (_, slot) => new Lane(slot));
  let bytesSent = 0;
  let bytesReceived = 0;
  let closing = false;
  let retried = 0;
  let connectionsOpened = 0;

  const countBytes = (socket: net.Socket): void => {
    bytesSent += socket.bytesWritten;
    bytesReceived += socket.bytesRead;
  };

  /**
   * Lets go of the lane's socket; its handlers see `lane.socket !== socket` and stay quiet. With a request
   * on the way (a call cancelled at its deadline or at the end of the run) the connection is reset: a plain
   * close would leave the kernel sending the rest of the request, up to a whole 182 KB body per connection,
   * which behind a slow link starves the next run (measured: a mobile run's 16 uploads all timed out
   * behind the warm-up's).
   */
  const dropSocket = (lane: Lane): void => {
    const socket = lane.socket;
    if (socket === null) return;
    const requestUnderway = lane.callId !== 0 && lane.sent && lane.connected;
    lane.socket = null;
    lane.connected = false;
    if (requestUnderway && lane.tcp !== null && !lane.tcp.destroyed) lane.tcp.resetAndDestroy();
    socket.destroy();
    countBytes(socket);
  };

  const send = (lane: Lane): void => {
    if (lane.callId === 0 || lane.sent || !lane.connected || lane.socket === null) return;
    lane.sent = true;
    lane.answered = false;
    // A call keeps its request when it is sent again on a new connection.
    if (lane.request === null) {
      lane.request = requests[nextRequest]!;
      nextRequest = nextRequest + 1 === requests.length ? 0 : nextRequest + 1;
    }
    lane.socket.write(lane.request);
  };

  const endCall = (lane: Lane, outcome: string, isError: boolean): void => {
    const callId = lane.callId;
    lane.callId = 0;
    lane.sent = false;
    lane.request = null;
    if (callId !== 0) loop.complete(loop.slots[lane.slot]!, callId, outcome, isError);
  };

  const connect = (lane: Lane, onFirst?: (error: Error | null) => void): void => {
    lane.reconnectTimer = null;
    if (closing) return;
    const tcp = net.connect({ host, port, noDelay: true });
    const socket = secure
      ? // The bench's certificates are self-signed; this client measures, it does not authenticate.
        tls.connect({ socket: tcp, ALPNProtocols: ['http/1.1'], rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host })
      : tcp;
    lane.socket = socket;
    lane.tcp = tcp;
    lane.parser = new Http1ResponseParser();
    // A lane is connected (and the clock may start) once TLS's handshake is done too.
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      if (lane.socket !== socket) return;
      lane.connected = true;
      lane.failures = 0;
      connectionsOpened++;
      onFirst?.(null);
      onFirst = undefined;
      send(lane);
    });
    socket.on('data', (chunk: Buffer) => {
      if (lane.socket !== socket) return;
      if (lane.sent) lane.answered = true;
      // One request in flight: at most one answer is expected; anything more is ignored.
      let status = 0;
      lane.parser.feed(chunk, (answered) => {
        if (status === 0) status = answered;
      });
      if (lane.parser.error !== null) {
        dropSocket(lane);
        if (lane.callId !== 0) endCall(lane, 'connection-error', true);
        scheduleReconnect(lane);
        return;
      }
      if (status === 0 || lane.callId === 0 || !lane.sent) return;
      // The server closes after this answer: let go of the socket first, so the slot's next call reconnects.
      if (lane.parser.closeAfter) dropSocket(lane);
      endCall(lane, String(status), status < 200 || status >= 300);
    });
    socket.on('error', () => {
      // Reported through 'close'.
    });
    socket.on('close', () => {
      if (lane.socket !== socket) return;
      const wasConnected = lane.connected;
      lane.socket = null;
      lane.connected = false;
      countBytes(socket);
      if (!wasConnected && onFirst) return onFirst(new Error(`cannot connect to ${host}:${port}`));
      if (!wasConnected) lane.failures++;
      // A response delimited by the close is complete now; any other call in flight failed.
      let status = 0;
      lane.parser.end((answered) => (status = answered));
      if (lane.callId !== 0 && (lane.sent || !wasConnected)) {
        if (status !== 0 && lane.sent) endCall(lane, String(status), status < 200 || status >= 300);
        else if (wasConnected && !lane.answered && lane.retriedCallId !== lane.callId) {
          // Closed before a byte of the answer (an idle keep-alive connection the server let go): once more, on a new one.
          lane.retriedCallId = lane.callId;
          lane.sent = false;
          retried++;
        } else endCall(lane, 'connection-error', true);
      }
      scheduleReconnect(lane);
    });
  };

  const scheduleReconnect = (lane: Lane, delayMs?: number): void => {
    if (closing || loop.isFinished || lane.reconnectTimer !== null || lane.socket !== null) return;
    const delay = delayMs ?? (lane.failures === 0 ? 0 : Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(lane.failures, 10)));
    lane.reconnectTimer = setTimeout(() => connect(lane), delay);
  };

  // Connect every lane before the clock starts (as the gRPC engine does).
  const firstError = await new Promise<Error | null>((resolve) => {
    let pending = lanes.length;
    let failed: Error | null = null;
    for (const lane of lanes) {
      connect(lane, (error) => {
        failed ??= error;
        if (--pending === 0) resolve(failed);
      });
    }
  });

  const closeAll = (): void => {
    closing = true;
    for (const lane of lanes) {
      if (lane.reconnectTimer !== null) clearTimeout(lane.reconnectTimer);
      dropSocket(lane);
    }
  };

  if (firstError !== null) {
    closeAll();
    const latencyUs = createLatencyHistogram();
    return { calls: 0, errors: 0, statusCounts: {}, elapsedS: 0, latencyUs, socketBytes: { sent: bytesSent, received: bytesReceived }, failure: firstError.message };
  }

  const result = await loop.run({
    start({ index, callId }) {
      const lane = lanes[index]!;
      lane.callId = callId;
      lane.sent = false;
      lane.request = null;
      if (lane.connected) send(lane);
      else scheduleReconnect(lane);
    },
    cancel({ index, callId }) {
      const lane = lanes[index]!;
      if (lane.callId !== callId) return;
      // HTTP/1.1 cannot cancel one request: the connection goes (reset, while the request is underway), and a new one takes its place.
      dropSocket(lane);
      lane.callId = 0;
      lane.sent = false;
      lane.request = null;
      scheduleReconnect(lane);
    },
    finish: closeAll,
  });
  return { ...result, socketBytes: { sent: bytesSent, received: bytesReceived }, retried, connectionsOpened };
}
