/**
 * A calculator server in its own child process (servers/serve.ts --only <protocol>),
 * so its CPU time and memory are its own and it cannot share an event loop with
 * the load generator. Ready = its "listening" line + a passing health check.
 *
 * No orphans: the child watches its stdin (a pipe from the runner) and its
 * parent pid, and exits when either goes away; stop() sends SIGTERM then SIGKILL;
 * killAllServerProcesses() runs from the runner's exit handler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Protocol, Target } from '../types.ts';
import { checkHealth, describeTarget } from './readiness.ts';
import { CALLS_LINE, CALLS_SIGNAL } from '../../servers/call-counter.ts';

const SERVE_SCRIPT = fileURLToPath(new URL('../../servers/serve.ts', import.meta.url));
import { REPO_ROOT } from '../results/repo-root.ts';

export const READY_TIMEOUT_MS = 20_000;
export const STOP_GRACE_MS = 2_000;

/**
 * Preloaded into the child: exit when the runner's end of the stdin pipe closes
 * (runner exited or was killed) or when the child is re-parented.
 */
const WATCHDOG_SOURCE = [
  'const parent = process.ppid;',
  'setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 500).unref();',
  'process.stdin.on("end", () => process.exit(0)).on("error", () => process.exit(0)).resume();',
].join('');
const WATCHDOG_IMPORT = `data:text/javascript,${encodeURIComponent(WATCHDOG_SOURCE)}`;

const READY_LINE: Readonly<Record<Protocol, RegExp>> = {
  grpc: /gRPC server listening on (\S+):(\d+)( \(TLS\))?/,
  rest: /REST server listening on (https?:\/\/\S+)/,
};

export interface ServerProcess {
  protocol: Protocol;
  pid: number;
  target: Target;
  /** Resolves with a description once the process has exited (for any reason). */
  readonly exited: Promise<string>;
  readonly hasExited: boolean;
  /** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Calls the server has taken so far (servers/call-counter.ts: SIGUSR2, one `calls N` line); null when it does not answer within a second. */
  readCalls?(): Promise<number | null>;
}

const live = new Set<ChildProcess>();

/** Synchronous last resort for process 'exit' handlers: SIGKILL every server still running. */
export function killAllServerProcesses(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * What to run instead of servers/serve.ts --only <protocol> (a contender:
 * servers/contenders/serve-contender.ts): a script for `node --import tsx`, its
 * arguments, the line that says it is ready and the target that line names.
 */
export interface ServerCommand {
  script: string;
  args: string[];
  ready: RegExp;
  target(match: RegExpExecArray): Target;
  /** Who it is in messages: "fastify-h2 server (pid …) exited …". */
  label: string;
  /** GET /healthz or grpc.health.v1 once ready (default true); contenders are checked by conformance instead. */
  healthCheck?: boolean;
}

export interface StartServerOptions {
  protocol: Protocol;
  /** Default: servers/serve.ts for `protocol`. */
  command?: ServerCommand;
  host?: string;
  port?: number;
  /** Command prefix, e.g. ['taskset', '-c', '0']. */
  prefix?: string[];
  /** Start servers/serve.ts with --tls (a certificate generated at start; the bench's clients accept it explicitly). */
  tls?: boolean;
  /** More arguments for servers/serve.ts (--max-connection-age 30s, --max-connection-calls 100). */
  serveArgs?: string[];
  /** An API card: servers/serve.ts --api starts the servers generated from it instead of the calculator's. */
  api?: string;
  readyTimeoutMs?: number;
}

export async function startServerProcess(options: StartServerOptions): Promise<ServerProcess> {
  const { protocol } = options;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const serve: ServerCommand = options.command ?? {
    script: SERVE_SCRIPT,
    args: ['--only', protocol, '--host', host, `--${protocol}-port`, String(port), ...(options.tls ? ['--tls'] : []), ...(options.serveArgs ?? []),
      // The child runs in the repository root: the card's path is made absolute first.
      ...(options.api !== undefined ? ['--api', path.resolve(options.api)] : [])],
    ready: READY_LINE[protocol],
    target: (match) =>
      protocol === 'grpc'
        ? { protocol: 'grpc', host: match[1]!, port: Number(match[2]), ...(match[3] ? { tls: true } : {}) }
        : { protocol: 'rest', url: match[1]! },
    label: options.api !== undefined ? `${protocol} server generated from ${path.basename(options.api)}` : `${protocol} server`,
  };
  const command = [...(options.prefix ?? []), process.execPath, '--import', 'tsx', '--import', WATCHDOG_IMPORT, serve.script, ...serve.args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches the runner only, which stops the servers in order.
    detached: true,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  live.add(child);
  let stderr = '';
  let stdout = '';
  let hasExited = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      live.delete(child);
      const lastError = stderr.trim().split('\n').filter(Boolean).pop();
      resolve(
        `${serve.label} (pid ${child.pid}) exited${signal ? ` on ${signal}` : ` with code ${code}`}` +
          (lastError ? `: ${lastError.replace(/^error:\s*/, '')}` : ''),
      );
    });
    child.once('error', (error) => {
      hasExited = true;
      live.delete(child);
      resolve(`${serve.label} could not start: ${error.message}`);
    });
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });

  const stop = async (): Promise<void> => {
    if (hasExited) return;
    child.kill('SIGTERM');
    // A stopped server (SIGSTOP, the stall test) handles SIGTERM only once continued.
    child.kill('SIGCONT');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  const ready = new Promise<Target>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = serve.ready.exec(stdout);
      if (match) resolve(serve.target(match));
    });
    void exited.then((reason) => reject(new Error(reason)));
  });

  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    const target = await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${serve.label} did not print its listening line within ${readyTimeoutMs} ms`)),
          readyTimeoutMs,
        );
      }),
    ]);
    if (serve.healthCheck !== false) await waitHealthy(target, readyTimeoutMs);
    return {
      protocol,
      pid: child.pid!,
      target,
      exited,
      get hasExited() {
        return hasExited;
      },
      stop,
      readCalls: () => readCalls(child, () => stdout, (text) => (stdout = text)),
    };
  } catch (error) {
    await stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends CALLS_SIGNAL and waits for the `calls N` line it prints (one read at a time per server). */
async function readCalls(child: ChildProcess, stdout: () => string, setStdout: (text: string) => void): Promise<number | null> {
  // Lines before this read (the listening line, older counts) are dropped, so the next match is this answer.
  setStdout('');
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), 1_000);
    const onData = (): void => {
      const match = CALLS_LINE.exec(stdout());
      if (match) done(Number(match[1]));
    };
    const done = (value: number | null): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      setStdout('');
      resolve(value);
    };
    child.stdout!.on('data', onData);
    try {
      child.kill(CALLS_SIGNAL);
    } catch {
      done(null);
    }
  });
}

/** Polls the health check until it passes or `timeoutMs` runs out. */
export async function waitHealthy(target: Target, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await checkHealth(target, Math.min(2_000, deadline - Date.now()));
      return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${describeTarget(target)} is not healthy: ${last}`);
}
