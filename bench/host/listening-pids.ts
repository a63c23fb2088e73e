/**
 * Which processes serve a local port: the LISTEN sockets of /proc/net/tcp and
 * tcp6 on that port, then every /proc/<pid>/fd that holds one of them. A
 * pre-fork server (gunicorn, nginx) has its workers share the listening
 * socket, so all of them are found; their CPU is the server's CPU. Linux only;
 * elsewhere, or without the rights to read other processes' fds, nothing is
 * found and the server figures stay null.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';

const TCP_LISTEN = '0A';

/** True when `host` is this machine: loopback, localhost, or an address of one of its interfaces. */
export function isLocalHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (!net.isIP(host)) return false;
  if (host.startsWith('127.') || host === '::1') return true;
  return Object.values(os.networkInterfaces()).some((addresses) => (addresses ?? []).some((address) => address.address === host));
}

/** Pids holding a socket that listens on `port` at `host` (or on every address), sorted; [] when none is readable. */
export function pidsListeningOn(host: string, port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
      const [addressHex, portHex] = fields[1]!.split(':');
      if (Number.parseInt(portHex!, 16) !== port || !servesHost(decodeAddress(addressHex!), host)) continue;
      if (fields[9] !== '0') inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of safeReaddir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fdDir = `/proc/${entry}/fd`;
    for (const fd of safeReaddir(fdDir)) {
      let link: string;
      try {
        link = readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids.sort((a, b) => a - b);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * An address of /proc/net/tcp{,6}: hex 32-bit words, each in the kernel's
 * byte order. Returns dotted IPv4, or IPv6 as 8 groups ("::" not compressed).
 */
function decodeAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => {
    const value = Buffer.from(word, 'hex');
    return [...(os.endianness() === 'LE' ? value.reverse() : value)];
  });
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** A listener on `address` serves `host`: the same address, a wildcard, or loopback for "localhost". */
function servesHost(address: string, host: string): boolean {
  const wildcard = address === '0.0.0.0' || /^(0:){7}0$/.test(address);
  if (wildcard) return true;
  const v4 = address.startsWith('0:0:0:0:0:ffff:') ? mappedV4(address) : address;
  if (host === 'localhost') return v4.startsWith('127.') || address === '0:0:0:0:0:0:0:1';
  if (net.isIPv4(host)) return v4 === host;
  return address === expandV6(host);
}

function mappedV4(address: string): string {
  const [high, low] = address.split(':').slice(6).map((group) => Number.parseInt(group, 16));
  return [high! >> 8, high! & 0xff, low! >> 8, low! & 0xff].join('.');
}

/** "::1" → "0:0:0:0:0:0:0:1", the form decodeAddress gives. */
function expandV6(host: string): string {
  const [head, tail] = host.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = host.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.map((group) => Number.parseInt(group, 16).toString(16)).join(':');
}
