/**
 * CPU pinning: on a small machine the server and the load generator fight for
 * the same cores, so the bench puts the servers on one CPU (taskset -c) and
 * itself on another (taskset -acp). Without taskset or with one CPU, no pinning.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Pinning {
  /** CPU list of the server processes, e.g. "0". */
  server: string;
  /** CPU list of the runner (load generator), e.g. "1". */
  client: string;
}

export const SERVER_CPUS = '0';
export const CLIENT_CPUS = '1';

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether pinning is possible here: two CPUs or more and taskset installed.
 * Counts the machine's CPUs, not this process's affinity (availableParallelism):
 * a bench started by a process pinned to the servers' CPU inherits that one-CPU
 * mask, and must still move itself off it rather than share it with the servers.
 */
export function canPin(): boolean {
  return os.cpus().length >= 2 && process.platform === 'linux' && hasTaskset();
}

/**
 * Pins this process (every thread) to CLIENT_CPUS and returns the plan, or null
 * (with the reason) when pinning is off or fails.
 */
export function applyPinning(enabled: boolean): { pinning: Pinning | null; note: string | null } {
  if (!enabled) return { pinning: null, note: null };
  if (!canPin()) return { pinning: null, note: 'pinning skipped: needs 2+ CPUs and taskset' };
  try {
    execFileSync('taskset', ['-a', '-c', '-p', CLIENT_CPUS, String(process.pid)], { stdio: 'ignore' });
  } catch (error) {
    return { pinning: null, note: `pinning skipped: taskset failed (${(error as Error).message.split('\n')[0]})` };
  }
  return { pinning: { server: SERVER_CPUS, client: CLIENT_CPUS }, note: null };
}

/** The command prefix that starts a server pinned, or [] when not pinning. */
export function serverPinPrefix(pinning: Pinning | null): string[] {
  return pinning ? ['taskset', '-c', pinning.server] : [];
}
