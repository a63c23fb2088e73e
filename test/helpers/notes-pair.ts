/**
 * The example notes API's two Python servers (examples/notes/: grpcio and
 * http.server, one service module) as child processes for tests: stubs built
 * once into a cache under .tmp/, both servers on a port of their own choosing
 * on 127.0.0.1 (`--port 0`; each prints the port it got), ready once they
 * print "listening on". Not pinned to a CPU: like the Python servers of
 * test/host/external-targets.test.ts, they carry test traffic, not
 * measurements.
 *
 * Kept free of bench/ and servers/ imports so that the bench's own tests can
 * start the pair without pulling in the code under test.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT } from '../../bench/results/repo-root.ts';
import { startPythonServer } from './python-server.ts';
export const NOTES_DIR = path.join(REPO_ROOT, 'examples', 'notes');
/** The card that benches the pair. */
export const NOTES_CARD = path.join(NOTES_DIR, 'card.yaml');
/** The .proto's import root, and the google/api and google/protobuf protos the bench always finds. */
export const NOTES_INCLUDE_DIRS = [path.join(NOTES_DIR, 'protos'), path.join(REPO_ROOT, 'node_modules', 'google-proto-files')];
const STUB_CACHE = path.join(REPO_ROOT, '.tmp', 'notes-stubs');

/** What the REST server counted on its own sockets: every byte of every connection, headers included. */
export interface RestStats {
  received: number;
  sent: number;
  connections: number;
  requests: number;
}

export interface NotesPair {
  /** host:port of the grpcio server */
  grpcTarget: string;
  /** http://127.0.0.1:port of the http.server server */
  restTarget: string;
  grpcPid: number;
  restPid: number;
  /** The stubs folder; `notes.binpb` in it is the API's FileDescriptorSet, imports included. */
  stubsDir: string;
  descriptorSetPath: string;
  /** Where the REST server writes its byte counts (on SIGUSR1 and at exit). */
  statsFile: string;
  /** Signals the REST server (SIGUSR1) and resolves with the totals it writes in answer. */
  readRestStats(): Promise<RestStats>;
  /**
   * Ends both servers (SIGTERM), waits for them to exit and resolves with the totals the REST server
   * wrote as it exited (undefined if it wrote none, e.g. killed); the stats file is removed after.
   */
  stop(): Promise<RestStats | undefined>;
}

function firstPython(): string | undefined {
  // Debian's python3-grpcio is for /usr/bin/python3; a pyenv or venv python3 on PATH may not see it.
  return ['/usr/bin/python3', 'python3'].find((candidate) => {
    try {
      execFileSync(candidate, ['-c', 'import grpc, google.protobuf.json_format'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

function hasCommand(name: string): boolean {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

/** Why the pair cannot start here, in one line, or undefined when it can: for `describe(..., { skip })`. */
export function notesPairMissing(): string | undefined {
  if (!firstPython()) return 'no python3 that can import grpc and google.protobuf (Debian: apt-get install python3-grpcio python3-protobuf)';
  if (!hasCommand('protoc') || !hasCommand('grpc_python_plugin')) {
    return 'protoc or grpc_python_plugin missing (Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)';
  }
  if (!existsSync(path.join(NOTES_INCLUDE_DIRS[1]!, 'google', 'api', 'annotations.proto'))) return 'google-proto-files not installed (npm install)';
  return undefined;
}

/**
 * examples/notes/build_stubs.sh into .tmp/notes-stubs/<hash of its inputs>/, once: later calls (and
 * other test files) reuse it. Built aside and renamed, so a concurrent build never shows half a folder.
 */
export function notesStubs(): string {
  const hash = createHash('sha256');
  for (const file of ['build_stubs.sh', 'protos/notes/v1/notes.proto']) hash.update(readFileSync(path.join(NOTES_DIR, file)));
  const dir = path.join(STUB_CACHE, hash.digest('hex').slice(0, 16));
  if (existsSync(dir)) return dir;
  mkdirSync(STUB_CACHE, { recursive: true });
  const aside = mkdtempSync(`${dir}.building-`);
  try {
    execFileSync('sh', [path.join(NOTES_DIR, 'build_stubs.sh'), aside], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(aside, dir);
  } catch (error) {
    rmSync(aside, { recursive: true, force: true });
    if (!existsSync(dir)) throw error; // else another process built it first
  }
  return dir;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface StatsFile extends RestStats {
  snapshot: number;
}

function readStatsFile(file: string): StatsFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StatsFile;
  } catch {
    return undefined; // not written yet (the server replaces it whole, so never half written)
  }
}

/** Builds the stubs if needed and starts both servers; reject if either does not start (the other is stopped). */
export async function startNotesPair(): Promise<NotesPair> {
  const missing = notesPairMissing();
  if (missing) throw new Error(missing);
  const python = firstPython()!;
  const stubsDir = notesStubs();
  const statsDir = mkdtempSync(path.join(os.tmpdir(), 'callbench-notes-'));
  const statsFile = path.join(statsDir, 'rest-stats.json');
  const [grpc, rest] = await Promise.allSettled([
    startPythonServer(python, path.join(NOTES_DIR, 'grpc_server.py'), { env: { PYTHONPATH: stubsDir } }),
    startPythonServer(python, path.join(NOTES_DIR, 'rest_server.py'), { env: { PYTHONPATH: stubsDir }, args: ['--stats', statsFile] }),
  ]);
  if (grpc.status === 'rejected' || rest.status === 'rejected') {
    await Promise.all([grpc, rest].map((started) => (started.status === 'fulfilled' ? exited(started.value.child) : undefined)));
    rmSync(statsDir, { recursive: true, force: true });
    throw grpc.status === 'rejected' ? grpc.reason : (rest as PromiseRejectedResult).reason;
  }
  const grpcChild = grpc.value.child;
  const restChild = rest.value.child;

  const totals = (stats: StatsFile): RestStats => ({ received: stats.received, sent: stats.sent, connections: stats.connections, requests: stats.requests });

  // One signal at a time: each waits for the snapshot its own signal produced.
  let reading: Promise<unknown> = Promise.resolve();
  const readOnce = async (): Promise<RestStats> => {
    const before = readStatsFile(statsFile)?.snapshot ?? 0;
    restChild.kill('SIGUSR1');
    for (let waited = 0; waited < 5_000; waited += 10) {
      const stats = readStatsFile(statsFile);
      if (stats && stats.snapshot > before) return totals(stats);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`rest_server.py (pid ${restChild.pid}) wrote no stats to ${statsFile} within 5 s of SIGUSR1`);
  };

  let stopping: Promise<RestStats | undefined> | undefined;
  return {
    grpcTarget: grpc.value.address,
    restTarget: rest.value.address,
    grpcPid: grpcChild.pid!,
    restPid: restChild.pid!,
    stubsDir,
    descriptorSetPath: path.join(stubsDir, 'notes.binpb'),
    statsFile,
    readRestStats() {
      const next = reading.then(readOnce, readOnce);
      reading = next;
      return next;
    },
    stop() {
      stopping ??= Promise.all([exited(grpcChild), exited(restChild)]).then(() => {
        const last = readStatsFile(statsFile);
        rmSync(statsDir, { recursive: true, force: true });
        return last && totals(last);
      });
      return stopping;
    },
  };
}
