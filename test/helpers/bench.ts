/**
 * Test servers for the bench: minimal REST and gRPC calculators (the
 * calculator's own answers, so they pass the bench's pre-flight check of
 * external targets) that can wait a fixed delay before answering and that count
 * the bytes on their own sockets, plus helpers to run the bench CLI and to
 * validate results against results/schema.json.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import Ajv from 'ajv';
import { driverCatalog } from '../../bench/drivers/index.ts';
import { resolveBenchOptions, type BenchOptions } from '../../bench/options/options.ts';
import type { ResultsFile } from '../../bench/results/record.ts';
import type { StreamsFile } from '../../bench/results/stream-record.ts';
import type { ProgressSink } from '../../bench/run/progress.ts';
import { runBench, type BenchOutcome, type RunnerIo } from '../../bench/run/runner.ts';
import { writeRunReports } from '../../bench/report/write.ts';
import { frameGrpcMessage } from '../../bench/wire/grpc-frame.ts';
import { calculate, isOperation } from '../../servers/calculator.ts';
import { CalcError } from '../../servers/errors.ts';
import { GRPC_STATUS } from '../../servers/grpc-status.ts';
import { HTTP_STATUS } from '../../servers/rest-server.ts';
import { decodeRequestMessage, encodeResultMessage } from '../../servers/contenders/protobuf-codec.ts';
import { encodeGrpcMessage, operationOfGrpcPath } from '../../servers/contenders/grpc-protocol.ts';

export { REPO_ROOT } from '../../bench/results/repo-root.ts';
import { REPO_ROOT } from '../../bench/results/repo-root.ts';

export interface FakeServer {
  host: string;
  port: number;
  /** Bytes read and written on every socket the server accepted so far (closed ones included). */
  socketBytes(): { read: number; written: number };
  /** Calculator calls answered (health checks excluded). */
  calls(): number;
  /** How long each answered call was really held, ms from its arrival to its answer: timers fire late on a busy machine. */
  heldMs(): readonly number[];
  close(): Promise<void>;
}

function trackSockets(server: { on(event: 'connection', fn: (socket: Socket) => void): unknown }): () => { read: number; written: number } {
  const sockets: Socket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  return () => sockets.reduce((sum, s) => ({ read: sum.read + s.bytesRead, written: sum.written + s.bytesWritten }), { read: 0, written: 0 });
}

/** Listens on a free loopback port; close() first cuts what `dropConnections` cuts, so it never waits on a client. */
async function listenFake(server: http.Server | http2.Http2Server, calls: () => number, heldMs: readonly number[], dropConnections: () => void): Promise<FakeServer> {
  const socketBytes = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    socketBytes,
    calls,
    heldMs: () => heldMs,
    close: () =>
      new Promise((resolve) => {
        dropConnections();
        server.close(() => resolve());
      }),
  };
}

const later = (ms: number, fn: () => void): void => {
  if (ms > 0) setTimeout(fn, ms);
  else fn();
};

export interface FakeServerOptions {
  /**
   * Serve one call at a time: a single FIFO queue in front of a `delayMs`
   * service time, whatever the connection or stream a call came on (so REST's
   * one connection per call in flight and gRPC's streams on one connection
   * queue alike). True capacity: 1000 / delayMs calls/s.
   */
  oneAtATime?: boolean;
}

interface AnswerScheduler {
  schedule(answer: () => void): void;
  /** Arrival to answer of every call scheduled and answered so far, ms. */
  readonly heldMs: number[];
}

/** When to answer a call: `delayMs` after it arrived (calls overlap), or one at a time. */
function answerScheduler(delayMs: number, options: FakeServerOptions): AnswerScheduler {
  const heldMs: number[] = [];
  const schedule = answerTimer(delayMs, options);
  return {
    heldMs,
    schedule: (answer) => {
      const arrived = performance.now();
      schedule(() => {
        heldMs.push(performance.now() - arrived);
        answer();
      });
    },
  };
}

function answerTimer(delayMs: number, { oneAtATime = false }: FakeServerOptions): (answer: () => void) => void {
  if (!oneAtATime) return (answer) => later(delayMs, answer);
  // A call's service starts when it arrives or when the previous one ends, whichever is later. The
  // queue keeps its own clock: an answer sent late does not delay the next call's service, so a busy
  // machine adds latency but never lowers the capacity.
  let busyUntil = 0;
  const queue: Array<{ dueMs: number; answer: () => void }> = [];
  let pumping = false;
  // Timers fire up to a millisecond or two late, as much as the service time itself: sleep until
  // shortly before the next answer is due, then poll the event loop (setImmediate) until it is.
  const pump = (): void => {
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.dueMs <= now) queue.shift()!.answer();
    if (queue.length === 0) {
      pumping = false;
      return;
    }
    const waitMs = queue[0]!.dueMs - now;
    if (waitMs > 2) setTimeout(pump, waitMs - 2);
    else setImmediate(pump);
  };
  return (answer) => {
    const now = performance.now();
    busyUntil = Math.max(now, busyUntil) + delayMs;
    queue.push({ dueMs: busyUntil, answer });
    if (!pumping) {
      pumping = true;
      pump();
    }
  };
}

export async function startFakeRestServer(delayMs = 0, options: FakeServerOptions = {}): Promise<FakeServer> {
  let calls = 0;
  const { schedule, heldMs } = answerScheduler(delayMs, options);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SERVING"}');
        return;
      }
      schedule(() => {
        calls += 1;
        const { status, body } = restAnswer(req.url ?? '', Buffer.concat(chunks));
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  return listenFake(server, () => calls, heldMs, () => server.closeAllConnections());
}

/** The calculator's answer to POST <path> with a JSON body: {"value"} or its {"error"} with the HTTP status. */
function restAnswer(url: string, body: Buffer): { status: number; body: string } {
  const operation = /^\/v1\/([a-z]+)$/.exec(url)?.[1] ?? '';
  try {
    if (!isOperation(operation)) throw new CalcError('NOT_FOUND', `no route ${url}`);
    return { status: 200, body: JSON.stringify({ value: calculate(operation, JSON.parse(body.toString('utf8'))) }) };
  } catch (reason) {
    const error = CalcError.from(reason);
    return { status: HTTP_STATUS[error.code], body: JSON.stringify({ error: { code: error.code, message: error.message } }) };
  }
}

/** The calculator's answer to a gRPC call: the framed Result, or a grpc-status and message. */
function grpcAnswer(path: string, framed: Buffer): { message: Buffer | null; status: number; text: string } {
  const operation = operationOfGrpcPath(path);
  try {
    if (operation === undefined) throw new CalcError('UNIMPLEMENTED', `unknown method ${path}`);
    const value = calculate(operation, decodeRequestMessage(operation, framed.subarray(5)));
    return { message: frameGrpcMessage(encodeResultMessage(value)), status: 0, text: '' };
  } catch (reason) {
    const error = CalcError.from(reason);
    return { message: null, status: GRPC_STATUS[error.code], text: error.message };
  }
}
/** HealthCheckResponse { status: SERVING }. */
const SERVING_MESSAGE = Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]);

export async function startFakeGrpcServer(delayMs = 0, options: FakeServerOptions = {}): Promise<FakeServer> {
  let calls = 0;
  const { schedule, heldMs } = answerScheduler(delayMs, options);
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const health = headers[':path'] === '/grpc.health.v1.Health/Check';
      (health ? (answer: () => void) => answer() : schedule)(() => {
        if (stream.destroyed) return;
        if (!health) calls += 1;
        const answer = health ? { message: SERVING_MESSAGE, status: 0, text: '' } : grpcAnswer(String(headers[':path']), Buffer.concat(chunks));
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(answer.status), ...(answer.text ? { 'grpc-message': encodeGrpcMessage(answer.text) } : {}) }));
        stream.end(answer.message ?? undefined);
      });
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  return listenFake(server, () => calls, heldMs, () => {
    for (const session of sessions) session.destroy();
  });
}

type Validator = ((data: unknown) => boolean) & { errors?: unknown };
let ajvWithSchemas: InstanceType<typeof Ajv.default> | undefined;

/** One ajv holding both contracts: the stream records' file takes its environment from results/schema.json. */
function schemaValidator(file: 'schema.json' | 'streams-schema.json'): Validator {
  if (!ajvWithSchemas) {
    ajvWithSchemas = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, strict: true });
    for (const name of ['schema.json', 'streams-schema.json']) ajvWithSchemas.addSchema(JSON.parse(readFileSync(path.join(REPO_ROOT, 'results', name), 'utf8')) as object);
  }
  return ajvWithSchemas.getSchema(`https://github.com/callbench/callbench/results/${file}`)! as Validator;
}

/**
 * A fake REST and a fake gRPC server (answering after `delayMs`) for the tests of
 * one describe(): started before them, closed after them. Read them inside a
 * test, not at describe time.
 */
export function fakeServersPerSuite(delayMs = 0): { readonly rest: FakeServer; readonly grpc: FakeServer } {
  let rest: FakeServer | undefined;
  let grpc: FakeServer | undefined;
  before(async () => {
    rest = await startFakeRestServer(delayMs);
    grpc = await startFakeGrpcServer(delayMs);
  });
  after(async () => {
    await rest?.close();
    await grpc?.close();
  });
  return {
    get rest() {
      return rest!;
    },
    get grpc() {
      return grpc!;
    },
  };
}

/** Validates a results file against results/schema.json; throws with ajv's errors. */
export function assertSchemaValid(data: unknown): asserts data is ResultsFile {
  const validate = schemaValidator('schema.json');
  if (!validate(data)) throw new Error(`results.json does not match the schema: ${JSON.stringify(validate.errors, null, 2)}`);
}

/** Validates a stream records file against results/streams-schema.json; throws with ajv's errors. */
export function assertStreamsSchemaValid(data: unknown): asserts data is StreamsFile {
  const validate = schemaValidator('streams-schema.json');
  if (!validate(data)) throw new Error(`the stream records file does not match results/streams-schema.json: ${JSON.stringify(validate.errors, null, 2)}`);
}

export function tempDir(prefix = 'callbench-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawns `node --import tsx <script> ...args` from the repository root, as CI would (CI=true, no colour), collecting its output. */
export function spawnScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return { child, done, stderr: () => stderr, stdout: () => stdout };
}

/** Spawns `node --import tsx bench/cli/bench.ts ...args` (the runner is the spawned process itself). */
export function spawnBench(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnScript('bench/cli/bench.ts', args, env);
}

export function runBenchCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return spawnBench(args, env).done;
}

/** Pids of the direct children of `pid` (via ps) whose command line contains `match`. */
export function childPids(pid: number, match = ''): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(match))
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); ps shows its state as Z.
  try {
    const state = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return state !== '' && !state.startsWith('Z');
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return check();
}

/** A progress sink that shows nothing: for tests that call runBench directly. */
export const quietProgress: ProgressSink = { phase() {}, update() {}, endPhase() {}, log() {}, close() {} };

/** Options as the bench CLI resolves them, unpinned and without a progress display: for tests that call runBench. */
export function benchOptions(args: string[]): BenchOptions {
  return resolveBenchOptions([...args, '--no-pin', '--progress', 'none'], driverCatalog());
}

/** runBench followed by the report files, as `npm run bench` does (bench/cli/bench.ts). */
export async function runBenchWithReports(options: BenchOptions, io: RunnerIo): Promise<BenchOutcome> {
  const outcome = await runBench(options, io);
  if (outcome.dir) outcome.files.push(...(await writeRunReports(outcome.dir, outcome.results)));
  return outcome;
}
