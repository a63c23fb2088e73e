/**
 * Shared test plumbing: the two servers in this process (port 0), the serve CLI
 * as a child process, and raw clients below the libraries (node:http2 for gRPC
 * frames, node:net for HTTP/1.1 bytes) so tests can send what no well-behaved
 * client would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { startRestServer } from '../../servers/rest-server.ts';
import type { RunningServer, ServerOptions } from '../../servers/server-options.ts';

export { REPO_ROOT } from '../../bench/results/repo-root.ts';
import { REPO_ROOT } from '../../bench/results/repo-root.ts';
export const SERVE_SCRIPT = fileURLToPath(new URL('../../servers/serve.ts', import.meta.url));

// ---- in-process servers ----------------------------------------------------

export interface Servers {
  grpc: RunningServer;
  rest: RunningServer;
  /** host:port for grpc-js and node:http2 */
  grpcAddress: string;
  grpcPort: number;
  /** http://127.0.0.1:port */
  restUrl: string;
  restPort: number;
  close(): Promise<void>;
}

export async function startServers(host = '127.0.0.1', options: Pick<ServerOptions, 'streamIdleMs'> = {}): Promise<Servers> {
  const grpc = await startGrpcServer({ host, port: 0, ...options });
  const rest = await startRestServer({ host, port: 0, ...options });
  return {
    grpc,
    rest,
    grpcAddress: grpc.address,
    grpcPort: grpc.port,
    restUrl: rest.address,
    restPort: rest.port,
    close: async () => {
      await Promise.all([grpc.close(1_000), rest.close(1_000)]);
    },
  };
}

/** This process's open-file limit (`ulimit -n`): tests that hold 1,000 connections skip below what they need. */
export function fdLimit(): number {
  try {
    const text = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return text === 'unlimited' ? Infinity : Number(text);
  } catch {
    return NaN;
  }
}

// ---- the serve CLI as a child process ---------------------------------------

export interface ServeChild {
  child: ChildProcess;
  /** Set once the ready line arrived (unless that server was not started). */
  grpcAddress?: string;
  restUrl?: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exited and its output is fully read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGTERM) if still running and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns `servers/serve.ts` under tsx. `node --import tsx` rather than the tsx
 * binary, so the child pid IS the server and signals reach it directly.
 * With `ready` (default) resolves once every expected ready line is printed.
 */
export async function spawnServe(
  args: string[],
  { ready = true, timeoutMs = 20_000 }: { ready?: boolean; timeoutMs?: number } = {},
): Promise<ServeChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVE_SCRIPT, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // 'close', not 'exit': it fires after stdout/stderr are drained, so the output is complete.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const handle: ServeChild = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (!ready) return handle;

  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
  const wantGrpc = only !== 'rest';
  const wantRest = only !== 'grpc';
  const deadline = Date.now() + timeoutMs;
  let done = false;
  exited.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    handle.grpcAddress = /gRPC server listening on (\S+)/.exec(out)?.[1];
    handle.restUrl = /REST server listening on (\S+)/.exec(out)?.[1];
    if ((!wantGrpc || handle.grpcAddress) && (!wantRest || handle.restUrl)) return handle;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`serve ${args.join(' ')} did not become ready; stdout: ${out} stderr: ${err}`);
}

// ---- raw gRPC over node:http2 -------------------------------------------------

/** The 5-byte gRPC message prefix: compressed flag + big-endian uint32 length. */
export function grpcFrame(message: Uint8Array, { compressed = false, declaredLength }: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(compressed ? 1 : 0, 0);
  prefix.writeUInt32BE(declaredLength ?? message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** Hand-encoded Operands: tag 0x09 (field 1, wire type 1 = 64-bit) + float64 LE, tag 0x11 (field 2). */
export function encodeOperandsByHand(a?: number, b?: number): Buffer {
  const parts: Buffer[] = [];
  if (a !== undefined) parts.push(Buffer.from([0x09]), float64(a));
  if (b !== undefined) parts.push(Buffer.from([0x11]), float64(b));
  return Buffer.concat(parts);
}

function float64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value, 0);
  return buffer;
}

export interface RawGrpcResponse {
  /** HTTP :status */
  httpStatus: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  /** Response DATA bytes (length-prefixed messages). */
  data: Buffer;
  /** grpc-status from trailers (or from headers in a trailers-only answer); undefined if absent. */
  grpcStatus?: number;
  /** grpc-message, percent-decoded. */
  grpcMessage?: string;
  /** The stream was reset or errored instead of answering. */
  resetCode?: number;
}

/** An HTTP/2 session to `address`, resolved once the server's first SETTINGS arrived (its stream limit is known). */
export function connectH2(address: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
    session.once('close', () => reject(new Error(`HTTP/2 session to ${address} closed before SETTINGS`)));
  });
}

export interface RawGrpcRequest {
  path: string;
  /** Raw DATA bytes, sent as given (frames, garbage, nothing). */
  body?: Buffer;
  /** Headers replacing the defaults (set a value to undefined to drop it). */
  headers?: Record<string, string | undefined>;
  /** Write the body in these many pieces with `delayMs` between them. */
  chunks?: number;
  delayMs?: number;
  /** Leave the request stream open after the body (default: end it). */
  keepOpen?: boolean;
  timeoutMs?: number;
}

export const GRPC_DEFAULT_HEADERS: Record<string, string> = {
  ':method': 'POST',
  'content-type': 'application/grpc',
  te: 'trailers',
};

/** One gRPC call made of raw HTTP/2 pieces on `session`. */
export function rawGrpc(session: http2.ClientHttp2Session, request: RawGrpcRequest): Promise<RawGrpcResponse> {
  const headers: Record<string, string> = { ':path': request.path };
  for (const [name, value] of Object.entries({ ...GRPC_DEFAULT_HEADERS, ...request.headers })) {
    if (value !== undefined) headers[name] = value;
  }
  const timeoutMs = request.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: false });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`raw gRPC ${request.path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('response', (h) => (responseHeaders = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.resume();
    stream.on('error', () => {
      /* reported through 'close' with rstCode */
    });
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const statusText = trailers['grpc-status'] ?? responseHeaders['grpc-status'];
      const messageText = trailers['grpc-message'] ?? responseHeaders['grpc-message'];
      resolve({
        httpStatus: Number(responseHeaders[':status'] ?? 0),
        headers: responseHeaders,
        trailers,
        data: Buffer.concat(chunks),
        grpcStatus: statusText === undefined ? undefined : Number(statusText),
        grpcMessage: messageText === undefined ? undefined : decodeURIComponent(String(messageText)),
        resetCode: stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR ? stream.rstCode : undefined,
      });
      // The server may answer before the request side ended (keepOpen, or an answer
      // that does not wait for the body): stop sending.
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    };
    // The answer is complete when its readable side ends (trailers or a trailers-only
    // response), even while our request side is still open.
    stream.on('end', () => setImmediate(settle));
    stream.on('close', settle);
    const body = request.body ?? Buffer.alloc(0);
    const pieces = Math.max(1, request.chunks ?? 1);
    const size = Math.ceil(body.length / pieces);
    const writePiece = (index: number): void => {
      if (stream.destroyed) return;
      if (index >= pieces) {
        if (!request.keepOpen) stream.end();
        return;
      }
      stream.write(body.subarray(index * size, (index + 1) * size));
      if (request.delayMs) setTimeout(() => writePiece(index + 1), request.delayMs);
      else writePiece(index + 1);
    };
    writePiece(0);
  });
}

/** The value of the first Result message in a gRPC response body (field 1, double). */
export function decodeResultByHand(data: Buffer): number | undefined {
  if (data.length < 5) return undefined;
  const length = data.readUInt32BE(1);
  const message = data.subarray(5, 5 + length);
  if (message.length === 0) return 0; // proto3: a 0 result may be left off the wire
  if (message[0] !== 0x09 || message.length < 9) throw new Error(`unexpected Result bytes ${message.toString('hex')}`);
  return message.readDoubleLE(1);
}

// ---- raw HTTP/1.1 over node:net ---------------------------------------------------

export interface RawHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The whole response as text (status line, headers, body). */
  raw: string;
}

/**
 * Writes `request` bytes on a fresh TCP connection and reads one HTTP/1.1
 * response (by content-length or until the server closes). `chunks`/`delayMs`
 * trickle the bytes. Rejects on timeout.
 */
export function rawHttp(
  port: number,
  request: Buffer | string,
  { timeoutMs = 10_000, chunks = 1, delayMs = 0, host = '127.0.0.1' }: { timeoutMs?: number; chunks?: number; delayMs?: number; host?: string } = {},
): Promise<RawHttpResponse> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const parsed = parseHttpResponse(received);
      if (!parsed) return reject(new Error(`no HTTP response; got ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
      resolve(parsed);
    };
    const timer = setTimeout(() => finish(new Error(`raw HTTP: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseHttpResponse(received);
      if (parsed && parsed.complete) finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after the answer arrived (server cut an unread body) still counts as an answer.
      if (parseHttpResponse(received)) finish();
      else finish(error);
    });
    socket.on('close', () => finish());
    socket.on('connect', () => {
      const size = Math.ceil(bytes.length / Math.max(1, chunks));
      let index = 0;
      const next = (): void => {
        if (settled || socket.destroyed) return;
        if (index * size >= bytes.length) return;
        socket.write(bytes.subarray(index * size, (index + 1) * size));
        index++;
        if (delayMs) setTimeout(next, delayMs);
        else next();
      };
      next();
    });
  });
}

function parseHttpResponse(buffer: Buffer): (RawHttpResponse & { complete: boolean }) | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = buffer.subarray(0, end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyBytes = buffer.subarray(end + 4);
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const complete = length !== undefined && bodyBytes.length >= length;
  const body = (length === undefined ? bodyBytes : bodyBytes.subarray(0, length)).toString('utf8');
  return { status: Number(match[1]), headers, body, raw: buffer.toString('latin1'), complete };
}

/** A minimal HTTP/1.1 POST request, as bytes, with a correct content-length unless one is given. */
export function httpPost(path: string, body: Buffer | string, headers: Record<string, string> = {}): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const all: Record<string, string> = {
    host: '127.0.0.1',
    'content-type': 'application/json',
    'content-length': String(payload.length),
    connection: 'close',
    ...headers,
  };
  const head = `POST ${path} HTTP/1.1\r\n${Object.entries(all)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}
