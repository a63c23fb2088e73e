/**
 * CPU time and peak memory of a process, read from /proc (Linux). Every reader
 * returns null where /proc is not there, so the figures are null, not guessed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU time of `pid` (all its threads) in ms, or null. */
export function readCpuMs(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = fieldsAfterCommand(text);
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / clockTicksPerSecond();
}

/**
 * CPU time of every thread of `pid`, in ms, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds on CPU): /proc/<pid>/stat counts 10 ms clock ticks, and a stream
 * run of 8,000 messages can take the server 10 ms in all. Threads that ended
 * before the second read are missing from it, so take differences over a run
 * in which the process keeps its threads (a Node server does). Null without
 * schedstat (a kernel without CONFIG_SCHEDSTATS) or for a process that is gone.
 */
export function readCpuMsPrecise(pid: number): number | null {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      if (!Number.isFinite(ns)) return null;
      total += ns;
    }
  } catch {
    return null;
  }
  return total / 1e6;
}

/** utime+stime of waited-for children (cutime, cstime: fields 16 and 17) from a /proc/<pid>/stat line, in µs. */
export function childrenCpuUsFromStat(stat: string): number | null {
  const rest = fieldsAfterCommand(stat);
  // rest[0] is field 3; cutime is field 16, cstime field 17.
  const cutime = Number(rest[13]);
  const cstime = Number(rest[14]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return null;
  return Math.round(((cutime + cstime) * 1e6) / clockTicksPerSecond());
}

/** Fields 3 onwards of a /proc/<pid>/stat line. */
function fieldsAfterCommand(stat: string): string[] {
  // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
}

/** `read` summed over `pids` (a server of several processes), or null when there are none or one cannot be read. */
export function sumOverProcesses(pids: readonly number[], read: (pid: number) => number | null): number | null {
  let total = 0;
  for (const pid of pids) {
    const value = read(pid);
    if (value === null) return null;
    total += value;
  }
  return pids.length === 0 ? null : total;
}

/** Peak resident set size (VmHWM) of `pid` in MiB, or null. */
export function readPeakRssMiB(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Resets the peak RSS of `pid` to its current RSS (writing 5 to clear_refs), so
 * VmHWM covers one run and not everything since start. False when not allowed.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU time used by this process so far, in µs (user + system, every thread). */
export function selfCpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
