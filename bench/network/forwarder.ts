/**
 * The packet forwarder (bench/network/forwarder.c) as a child process: built
 * with gcc on first use into node_modules/.cache/callbench/ (keyed by a hash
 * of its source, so an edit rebuilds it), spawned holding both TUN devices,
 * driven by one-line commands on its stdin.
 *
 * Why C and not Node: Node's timers fire on whole milliseconds, while the link
 * must hold packets to a fraction of one (rtt=0.2ms) and forward 50-100k
 * packets/s without becoming the bottleneck; docs/network.md has the numbers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./forwarder.c', import.meta.url));
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/callbench/', import.meta.url));

/** One direction's counters since the forwarder started (or was reset). */
export interface DirectionCounters {
  /** Packets and IP bytes that entered the link. */
  packets: number;
  bytes: number;
  /** Packets and bytes written out at the far end. */
  forwarded: number;
  forwardedBytes: number;
  /** Dropped by the random loss. */
  lossDrops: number;
  /** Dropped because the rate limiter's queue was full (tail drop). */
  queueDrops: number;
  writeErrors: number;
  maxQueueBytes: number;
  /** Packets held (on their way) when the counters were read. */
  held: number;
  /** How late packets left against their due time, in µs (-1: none forwarded). */
  lateUsP50: number;
  lateUsP99: number;
  lateUsMax: number;
}

export interface ForwarderCounters {
  up: DirectionCounters;
  down: DirectionCounters;
  /** The forwarder runs at real-time priority (SCHED_FIFO), ahead of the bench and the servers. */
  realtime: boolean;
  /** Idle CPUs poll instead of halting while the link exists (a PM QoS request on /dev/cpu_dma_latency). */
  lowLatencyIdle: boolean;
}

/** What one direction does to its packets (the forwarder's `set` command). */
export interface DirectionSettings {
  delayNs: number;
  /** Half-width of the uniform spread around delayNs. */
  jitterNs: number;
  /** 0 = unlimited. */
  rateBps: number;
  lossFraction: number;
  queueBytes: number;
}

/** The forwarder binary, compiled when missing; throws with one line when it cannot be built. */
export function forwarderBinary(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const binary = path.join(CACHE_DIR, `forwarder-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', partial, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n')[0];
    throw new Error(code === 'ENOENT' ? 'the network emulator is built with gcc on first use, and gcc is not installed' : `building the network emulator failed: ${stderr}`);
  }
  renameSync(partial, binary);
  return binary;
}

export class Forwarder {
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly replies: Array<(line: string) => void> = [];
  private exitReason: string | null = null;
  readonly exited: Promise<string>;

  private constructor(child: ChildProcess) {
    this.child = child;
    this.pid = child.pid!;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2_000);
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitReason = `network emulator (pid ${this.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`;
        for (const reply of this.replies.splice(0)) reply(`error: ${this.exitReason}`);
        resolve(this.exitReason);
      });
    });
    createInterface({ input: child.stdout! }).on('line', (line) => this.replies.shift()?.(line));
  }

  /** Starts the forwarder holding two new TUN devices named `up` (client side) and `down` (server side). */
  static async start(upDevice: string, downDevice: string): Promise<Forwarder> {
    const child = spawn(forwarderBinary(), [upDevice, downDevice], { stdio: ['pipe', 'pipe', 'pipe'] });
    const forwarder = new Forwarder(child);
    const ready = await forwarder.reply();
    if (ready !== 'ready') throw new Error(ready.replace(/^error: /, ''));
    return forwarder;
  }

  private reply(): Promise<string> {
    if (this.exitReason !== null) return Promise.resolve(`error: ${this.exitReason}`);
    return new Promise((resolve) => this.replies.push(resolve));
  }

  private async command(line: string): Promise<string> {
    const reply = this.reply();
    this.child.stdin!.write(`${line}\n`);
    const answer = await reply;
    if (answer.startsWith('error')) throw new Error(answer.replace(/^error: /, ''));
    return answer;
  }

  async set(direction: 'up' | 'down', s: DirectionSettings): Promise<void> {
    const n = (value: number): string => String(Math.max(0, Math.round(value)));
    await this.command(`set ${direction} ${n(s.delayNs)} ${n(s.jitterNs)} ${n(s.rateBps)} ${n(s.lossFraction * 1e9)} ${n(s.queueBytes)}`);
  }

  async seed(seed: number): Promise<void> {
    await this.command(`seed ${Math.max(1, Math.floor(seed))}`);
  }

  async counters(): Promise<ForwarderCounters> {
    return JSON.parse(await this.command('stats')) as ForwarderCounters;
  }

  async resetCounters(): Promise<void> {
    await this.command('reset');
  }

  /** CPU time the forwarder has used, in ms (from /proc). */
  cpuMs(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      return null;
    }
  }

  /** Closes its stdin (it exits, removing both devices) and waits for it. */
  async stop(): Promise<void> {
    if (this.exitReason !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process 'exit'). */
  kill(): void {
    if (this.exitReason === null) this.child.kill('SIGKILL');
  }
}
