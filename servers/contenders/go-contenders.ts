/**
 * The Go contenders (grpc-go, go-net-http): their sources are
 * servers/contenders/go/, built with `go build` on first use, offline, in
 * GOPATH mode (GO111MODULE=off) against Debian's Go packages under
 * /usr/share/gocode, and cached in .tmp/go-contenders/ (git-ignored) under a
 * hash of every Go source file, so an edit rebuilds and nothing else does.
 * The packet forwarder (bench/network/forwarder.ts) is built with gcc the same way.
 *
 * start() runs the binary as a child of the calling process (serve-contender.ts
 * in a bench), waits for its own ready line and returns it as a RunningServer;
 * the binary exits when its stdin pipe closes, so a killed parent leaves no
 * orphan. Its pid is not the parent's: the bench finds the server's CPU by the
 * process holding the listening socket (bench/host/contenders.ts).
 *
 * Without `go` or the Debian packages the contenders are unavailable
 * (`goUnavailable()` says what to install), reported and not measured.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer, ServerOptions } from '../server-options.ts';

const SOURCE_DIR = fileURLToPath(new URL('./go/', import.meta.url));
import { REPO_ROOT } from '../../bench/results/repo-root.ts';
/** Where built binaries are kept (tests pass their own, to build from a clean cache). */
export const DEFAULT_GO_CACHE_DIR = path.join(REPO_ROOT, '.tmp', 'go-contenders');
/** Debian's Go packages live here; GOPATH lists it after the build's own tree. */
export const DEBIAN_GOPATH = '/usr/share/gocode';

export type GoContenderName = 'grpc-go' | 'go-net-http';

/** The Debian packages the Go contenders are built from (.ci/run installs them). */
export const GO_PACKAGES = ['golang-go', 'golang-google-grpc-dev', 'golang-google-protobuf-dev', 'golang-golang-x-net-dev'] as const;
export const GO_INSTALL_HINT = `apt-get install ${GO_PACKAGES.join(' ')}`;

/** A Go package each contender imports, and the Debian package that ships it. */
const IMPORTS: ReadonlyArray<{ importPath: string; debian: string }> = [
  { importPath: 'google.golang.org/grpc', debian: 'golang-google-grpc-dev' },
  { importPath: 'google.golang.org/protobuf/encoding/protowire', debian: 'golang-google-protobuf-dev' },
  { importPath: 'golang.org/x/net/websocket', debian: 'golang-golang-x-net-dev' },
];

let unavailableMemo: string | null | undefined;

/** Why the Go contenders cannot be built here, in one line with the apt line; null when they can. */
export function goUnavailable(): string | null {
  if (unavailableMemo !== undefined) return unavailableMemo;
  let reason: string | null = null;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore', timeout: 10_000 });
    const missing = IMPORTS.filter(({ importPath }) => !existsSync(path.join(DEBIAN_GOPATH, 'src', importPath))).map(({ debian }) => debian);
    if (missing.length > 0) reason = `the Go contenders need Debian's ${missing.join(', ')} (install: ${GO_INSTALL_HINT})`;
  } catch {
    reason = `the Go contenders are built with go on first use, and go is not installed (install: ${GO_INSTALL_HINT})`;
  }
  unavailableMemo = reason;
  return reason;
}

function goFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? goFiles(path.join(dir, entry.name)) : entry.name.endsWith('.go') ? [path.join(dir, entry.name)] : []))
    .sort();
}

/** Hash of every Go source (paths and contents) and of the go version: a change to either rebuilds. */
export function goSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of goFiles(SOURCE_DIR)) hash.update(path.relative(SOURCE_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  try {
    hash.update(execFileSync('go', ['version'], { encoding: 'utf8', timeout: 10_000 }));
  } catch {
    // No go: nothing will be built anyway.
  }
  return hash.digest('hex').slice(0, 12);
}

function buildEnv(gopath: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${gopath}${path.delimiter}${DEBIAN_GOPATH}`,
    GOFLAGS: '',
    // Offline: nothing is fetched, everything comes from GOPATH.
    GOPROXY: 'off',
    // Pure Go (no gcc needed; net's resolver in Go).
    CGO_ENABLED: '0',
  };
  // go needs a build cache; without HOME (some CI shells) it would refuse to build.
  if (!env.GOCACHE && !env.HOME && !env.XDG_CACHE_HOME) env.GOCACHE = path.join(REPO_ROOT, '.tmp', 'go-build');
  return env;
}

/**
 * The binary of `name`, built when it is not in `cacheDir` yet. Concurrent
 * builders (two contenders started at once) each build into their own
 * temporary tree and rename the result into place, so the last one wins with
 * an identical file. Rejects with one line: go missing, or the compiler's first error.
 */
export async function goContenderBinary(name: GoContenderName, cacheDir = DEFAULT_GO_CACHE_DIR): Promise<string> {
  const binary = path.join(cacheDir, `${name}-${goSourceHash()}`);
  if (existsSync(binary)) return binary;
  const unavailable = goUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(path.join(cacheDir, `build-${name}-`));
  try {
    // GOPATH mode wants the packages under <GOPATH>/src/<import path>: callbench/calc, callbench/grpc-go, ...
    cpSync(SOURCE_DIR, path.join(work, 'src', 'callbench'), { recursive: true });
    const partial = path.join(work, name);
    await new Promise<void>((resolve, reject) => {
      execFile('go', ['build', '-o', partial, `callbench/${name}`], { cwd: work, env: buildEnv(work), timeout: 300_000 }, (error, _stdout, stderr) => {
        if (!error) return resolve();
        const first = String(stderr).split('\n').find((line) => line.trim() !== '' && !line.startsWith('#'));
        reject(new Error(`building ${name} with go failed: ${first ?? error.message}`));
      });
    });
    renameSync(partial, binary);
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Options of a Go contender's process beyond ServerOptions. */
export interface GoStartOptions {
  cacheDir?: string;
  /** How long to wait for the ready line once the binary runs. */
  readyTimeoutMs?: number;
}

const READY_TIMEOUT_MS = 15_000;

/**
 * Builds (if needed) and starts `name` on options.host:options.port, with
 * options.tls's PEM files (written to a private temporary directory, removed
 * once the server has read them) and options.streamIdleMs.
 */
export async function startGoContender(name: GoContenderName, options: ServerOptions, goOptions: GoStartOptions = {}): Promise<RunningServer> {
  const binary = await goContenderBinary(name, goOptions.cacheDir);
  const args = ['--host', options.host, '--port', String(options.port), '--exit-with-stdin'];
  if (options.streamIdleMs !== undefined) args.push('--stream-idle-ms', String(options.streamIdleMs));
  let tlsDir: string | null = null;
  if (options.tls) {
    tlsDir = mkdtempSync(path.join(os.tmpdir(), 'callbench-go-tls-'));
    chmodSync(tlsDir, 0o700);
    writeFileSync(path.join(tlsDir, 'key.pem'), options.tls.key, { mode: 0o600 });
    writeFileSync(path.join(tlsDir, 'cert.pem'), options.tls.cert, { mode: 0o600 });
    args.push('--tls-cert', path.join(tlsDir, 'cert.pem'), '--tls-key', path.join(tlsDir, 'key.pem'));
  }
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4_000);
    // The server's own log lines go on to ours (a bench keeps the last one as the exit reason).
    process.stderr.write(text);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(stderr.trim().split('\n').pop()?.replace(/^error:\s*/, '') || `${name} exited ${signal ? `on ${signal}` : `with code ${code}`}`));
    child.once('error', (error) => resolve(`${name} could not start: ${error.message}`));
  });
  const readyLine = new RegExp(`^${name} server listening on (\\S+)$`, 'm');
  let stdout = '';
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not print its listening line within ${goOptions.readyTimeoutMs ?? READY_TIMEOUT_MS} ms`)), goOptions.readyTimeoutMs ?? READY_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        stdout += text;
        const match = readyLine.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      void exited.then((reason) => {
        clearTimeout(timer);
        reject(new Error(reason));
      });
    });
    // Later output (none is expected) must not fill the pipe.
    child.stdout!.resume();
    const port = Number(new URL(/^[a-z]+:\/\//i.test(address) ? address : `http://${address}`).port);
    const close = async (graceMs = 5_000): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // The Go side drains for at most 5 s; past graceMs (+ a margin for its exit) it is killed.
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs + 1_000);
      await exited;
      clearTimeout(timer);
    };
    return { protocol: name === 'grpc-go' ? 'grpc' : 'rest', host: options.host, port, address, close };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  }
}

export const startGrpcGo = (options: ServerOptions): Promise<RunningServer> => startGoContender('grpc-go', options);
export const startGoNetHttp = (options: ServerOptions): Promise<RunningServer> => startGoContender('go-net-http', options);

/** Builds both binaries ahead of a bench, outside any ready timeout (bench/host/contenders.ts calls a contender's prepare()). */
export const prepareGrpcGo = (): Promise<unknown> => goContenderBinary('grpc-go');
export const prepareGoNetHttp = (): Promise<unknown> => goContenderBinary('go-net-http');
