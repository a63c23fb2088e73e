/**
 * The emulated link: a network namespace for the servers, joined to the
 * bench's own namespace by two TUN devices and the packet forwarder between
 * them (bench/network/forwarder.c). Every packet of every connection between
 * the load generator and the servers crosses the forwarder, so TCP's and TLS's
 * handshakes, slow start, windows and retransmissions see the emulated path.
 *
 *   bench process (load generator)            namespace callbench-<pid>-<n>
 *   10.77.x.1 on cb<pid>n<n>u  <- forwarder ->  10.77.x.2 on cb<pid>n<n>d  (servers bind here)
 *
 * The generator stays in the bench's namespace: the drivers run in-process, and
 * moving the process would move everything else it does too. The emulated link
 * is a point-to-point route to one /32 address that only the bench's namespace
 * holds, so no other traffic takes it and nothing is rewritten. Both devices
 * belong to the forwarder: they vanish when it exits, however it exits; the
 * namespace is removed by close(), by the exit handler, and, after a crash, by
 * the next bench that starts (removeStaleNamespaces).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import type { NetworkCondition } from '../options/network.ts';
import { Forwarder, forwarderBinary, type ForwarderCounters } from './forwarder.ts';

const run = promisify(execFile);

const NAMESPACE_PREFIX = 'callbench-';
const NETNS_DIR = '/var/run/netns';
/** The rate limiter's queue holds at least this much, else one bandwidth-delay product. */
export const MIN_QUEUE_BYTES = 64 * 1024;
export const MTU = 1500;
/** Packets the kernel queues for each TUN device before the forwarder reads them (Ethernet's default); drops beyond it are counted as deviceDrops. */
export const DEVICE_QUEUE_PACKETS = 1000;

/** Why --network cannot emulate here, or null when it can. */
export function networkEmulationUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network emulation needs Linux (network namespaces and TUN devices)';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'network emulation needs root (it creates a network namespace and TUN devices); run as root or use --network loopback';
  }
  if (!existsSync('/dev/net/tun')) return 'network emulation needs /dev/net/tun (the tun kernel module)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'network emulation needs the ip command (Debian package iproute2)';
  }
  try {
    forwarderBinary();
  } catch (error) {
    return (error as Error).message;
  }
  return null;
}

export interface EmulatedLink {
  condition: NetworkCondition;
  namespace: string;
  /** The bench's end (connections come from here) and the servers' end (they bind here). */
  clientAddress: string;
  serverAddress: string;
  /** Prefix of a command that runs inside the servers' namespace. */
  prefix: string[];
  forwarder: Forwarder;
  /** Applies another condition to the same link (counters keep running; TCP's cached path metrics are flushed). */
  configure(condition: NetworkCondition): Promise<void>;
  /** The forwarder's counters plus the kernel's drops in front of it (a device queue that overflowed). */
  counters(): Promise<LinkCounters>;
  /** TCP segments retransmitted by the servers' namespace since it was created (its /proc/net/snmp). */
  serverRetransmits(): Promise<number | null>;
  close(): Promise<void>;
}

export interface LinkCounters extends ForwarderCounters {
  /** Packets the kernel dropped because a device's queue was full before the forwarder read them, each direction. */
  deviceDrops: { up: number | null; down: number | null };
}

const open = new Set<{ namespace: string; forwarder: Forwarder }>();
let sequence = 0;

/** Synchronous last resort for process 'exit': stops every forwarder and removes every namespace this process made. */
export function removeAllLinksSync(): void {
  for (const link of open) {
    link.forwarder.kill();
    try {
      execFileSync('ip', ['netns', 'del', link.namespace], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  open.clear();
}

/** Removes callbench-<pid>-* namespaces whose bench process is gone (a crashed or killed run). */
export function removeStaleNamespaces(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(NETNS_DIR)) {
    const match = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)-\\d+$`).exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // another bench removed it first
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** A /30 in 10.77.0.0/16 that no device of this namespace uses yet (other benches may run at the same time). */
async function freeSubnet(): Promise<{ client: string; server: string }> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const index = Math.floor(Math.random() * 16_384);
    const third = index >> 6;
    const fourth = (index & 63) * 4;
    const client = `10.77.${third}.${fourth + 1}`;
    const server = `10.77.${third}.${fourth + 2}`;
    if (!stdout.includes(` ${client} `) && !stdout.includes(` ${server} `) && !stdout.includes(` ${client}/`) && !stdout.includes(` ${server}/`)) {
      return { client, server };
    }
  }
  throw new Error('no free address in 10.77.0.0/16 for the emulated link');
}

/**
 * Bytes the rate limiter may queue: 100 ms at the link rate, or one
 * bandwidth-delay product when that is more, and at least MIN_QUEUE_BYTES. A
 * queue of one BDP alone starved 16 parallel uploads at rtt=0 (a 64 KiB queue:
 * 6 sum calls/s instead of 13, TCP retransmission timeouts); 100 ms is the
 * buffer of a typical access link or router port.
 */
export const QUEUE_MS = 100;
export function queueBytesFor(rateMbit: number | null, rttMs: number): number {
  if (rateMbit === null) return 0;
  const bytesPerMs = (rateMbit * 1e6) / 8 / 1e3;
  return Math.max(MIN_QUEUE_BYTES, Math.round(bytesPerMs * Math.max(rttMs, QUEUE_MS)));
}

async function applyCondition(forwarder: Forwarder, condition: NetworkCondition): Promise<void> {
  for (const direction of ['up', 'down'] as const) {
    const rateMbit = direction === 'up' ? condition.upMbit : condition.downMbit;
    await forwarder.set(direction, {
      delayNs: (condition.rttMs / 2) * 1e6,
      jitterNs: (condition.jitterMs / 2) * 1e6,
      rateBps: rateMbit === null ? 0 : rateMbit * 1e6,
      lossFraction: condition.lossPercent / 100,
      queueBytes: queueBytesFor(rateMbit, condition.rttMs),
    });
  }
}

/** Creates the namespace, the two devices and the forwarder, applies `condition`; the caller must close() it. */
export async function openLink(condition: NetworkCondition, seed = 1): Promise<EmulatedLink> {
  const unavailable = networkEmulationUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  removeStaleNamespaces();
  const n = sequence++;
  const namespace = `${NAMESPACE_PREFIX}${process.pid}-${n}`;
  // Device names are at most 15 characters.
  const tag = `${process.pid.toString(36)}${n.toString(36)}`.slice(-10);
  const upDevice = `cb${tag}u`;
  const downDevice = `cb${tag}d`;
  const { client, server } = await freeSubnet();

  const forwarder = await Forwarder.start(upDevice, downDevice);
  const entry = { namespace, forwarder };
  open.add(entry);
  const inNamespace = ['ip', 'netns', 'exec', namespace];
  try {
    await run('ip', ['netns', 'add', namespace]);
    await run('ip', ['link', 'set', downDevice, 'netns', namespace]);
    await run('ip', ['addr', 'add', client, 'peer', server, 'dev', upDevice]);
    await run('ip', ['link', 'set', upDevice, 'mtu', String(MTU), 'txqueuelen', String(DEVICE_QUEUE_PACKETS), 'up']);
    await run('ip', ['netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up']);
    await run('ip', ['netns', 'exec', namespace, 'ip', 'addr', 'add', server, 'peer', client, 'dev', downDevice]);
    await run('ip', ['netns', 'exec', namespace, 'ip', 'link', 'set', downDevice, 'mtu', String(MTU), 'txqueuelen', String(DEVICE_QUEUE_PACKETS), 'up']);
    await forwarder.seed(seed);
    await applyCondition(forwarder, condition);
  } catch (error) {
    await closeEntry(entry);
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`setting up the emulated link failed: ${stderr || (error as Error).message}`);
  }

  const link: EmulatedLink = {
    condition,
    namespace,
    clientAddress: client,
    serverAddress: server,
    prefix: inNamespace,
    forwarder,
    async configure(next) {
      await applyCondition(forwarder, next);
      link.condition = next;
      // TCP caches a path's RTT, cwnd and ssthresh per peer address for its next connections (tcp_metrics): what
      // one condition taught it (a small ssthresh after loss) must not start the next condition's connections.
      // Flushing a peer with no entry fails; nothing to do then.
      await Promise.allSettled([run('ip', ['tcp_metrics', 'flush', server]), run('ip', [...inNamespace.slice(1), 'ip', 'tcp_metrics', 'flush', client])]);
    },
    async counters() {
      const [counters, up, down] = await Promise.all([
        forwarder.counters(),
        readNumber(['cat', `/sys/class/net/${upDevice}/statistics/tx_dropped`]),
        readNumber([...inNamespace, 'cat', `/sys/class/net/${downDevice}/statistics/tx_dropped`]),
      ]);
      return { ...counters, deviceDrops: { up, down } };
    },
    async serverRetransmits() {
      try {
        const { stdout } = await run('ip', ['netns', 'exec', namespace, 'cat', '/proc/net/snmp']);
        return retransmitsFromSnmp(stdout);
      } catch {
        return null;
      }
    },
    close: () => closeEntry(entry),
  };
  return link;
}

async function readNumber(command: string[]): Promise<number | null> {
  try {
    const { stdout } = await run(command[0]!, command.slice(1));
    const value = Number(stdout.trim());
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

async function closeEntry(entry: { namespace: string; forwarder: Forwarder }): Promise<void> {
  await entry.forwarder.stop();
  try {
    await run('ip', ['netns', 'del', entry.namespace]);
  } catch {
    // not created yet, or already gone
  }
  open.delete(entry);
}

/** Tcp RetransSegs from a /proc/net/snmp text (a header line of names, then a line of values). */
export function retransmitsFromSnmp(text: string): number | null {
  const lines = text.split('\n').filter((line) => line.startsWith('Tcp:'));
  if (lines.length < 2) return null;
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  const i = names.indexOf('RetransSegs');
  return i < 0 ? null : Number(values[i]);
}
