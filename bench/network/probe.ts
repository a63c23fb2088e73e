/**
 * The emulated link, measured rather than assumed: a TCP ping-pong for the RTT
 * and bulk transfers each way for the rate, between the bench and the probe
 * server (bench/network/probe-server.ts) inside the servers' namespace, so the
 * figures come through the same devices, forwarder and TCP stacks as the calls.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { EmulatedLink } from './link.ts';
import { steadyRate } from './steady-rate.ts';

const PROBE_SCRIPT = fileURLToPath(new URL('./probe-server.ts', import.meta.url));
import { REPO_ROOT } from '../results/repo-root.ts';

export interface ProbeServer {
  host: string;
  port: number;
  stop(): void;
}

/** Starts the probe server inside the link's namespace, bound to the servers' address. */
export function startProbeServer(link: EmulatedLink): Promise<ProbeServer> {
  const child = spawn(link.prefix[0]!, [...link.prefix.slice(1), process.execPath, '--import', 'tsx', PROBE_SCRIPT, link.serverAddress], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the link probe did not start within 20 s'));
    }, 20_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /probe listening on (\S+):(\d+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      resolve({ host: match[1]!, port: Number(match[2]), stop: () => child.stdin!.end() });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the link probe exited with code ${code}: ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Round-trip times (ms) of `rounds` one-byte exchanges on one connection, after a few untimed ones. */
export async function pingPong(host: string, port: number, rounds: number, timeoutMs = 30_000): Promise<number[]> {
  const socket = await connect(host, port, timeoutMs);
  const warmup = 3;
  const samples: number[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let t0 = 0;
      const timer = setTimeout(() => reject(new Error('ping-pong timed out')), timeoutMs);
      const send = (): void => {
        t0 = performance.now();
        socket.write(sent++ === 0 ? 'ex' : 'x');
      };
      socket.on('data', (chunk) => {
        // One byte back per byte sent; a late segment may carry two.
        for (let i = 0; i < chunk.length; i++) {
          if (sent > warmup) samples.push(performance.now() - t0);
          if (samples.length >= rounds) {
            clearTimeout(timer);
            return resolve();
          }
          send();
        }
      });
      socket.once('error', reject);
      send();
    });
  } finally {
    socket.destroy();
  }
  return samples;
}

/** Client -> server rate (Mbit/s of TCP payload), counted by the probe server over the second half of `windowMs`. */
export async function bulkUp(host: string, port: number, windowMs: number): Promise<number | null> {
  const socket = await connect(host, port, 30_000);
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  try {
    return await new Promise<number | null>((resolve, reject) => {
      let answer = '';
      let done = false;
      const timer = setTimeout(() => reject(new Error('upload probe timed out')), windowMs + 30_000);
      socket.setEncoding('utf8').on('data', (text: string) => {
        answer += text;
        if (!answer.includes('\n')) return;
        done = true;
        clearTimeout(timer);
        resolve((JSON.parse(answer) as { mbit: number | null }).mbit);
      });
      socket.once('error', (error) => (done ? undefined : reject(error)));
      socket.write(`u${windowMs}\n`);
      const pump = (): void => {
        while (!done && socket.write(chunk));
        if (!done) socket.once('drain', pump);
      };
      pump();
    });
  } finally {
    socket.destroy();
  }
}

/** Server -> client rate (Mbit/s of TCP payload), counted here over the second half of `windowMs`. */
export async function bulkDown(host: string, port: number, windowMs: number): Promise<number | null> {
  const socket = await connect(host, port, 30_000);
  const rate = steadyRate(windowMs);
  try {
    return await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('download probe timed out')), windowMs + 30_000);
      const finish = (): void => {
        clearTimeout(timer);
        resolve(rate.result().mbit);
      };
      socket.on('data', (chunk: Buffer) => {
        if (rate.onBytes(chunk.length)) finish();
      });
      socket.once('end', finish);
      socket.once('error', reject);
      socket.write(`d${windowMs + 1_000}\n`);
    });
  } finally {
    socket.destroy();
  }
}

export interface LinkProbe {
  /** Median, min and max RTT of the ping-pong, ms. */
  rttMs: number;
  rttMinMs: number;
  rttMaxMs: number;
  /** Steady bulk-transfer rate each way, Mbit/s of TCP payload. */
  upMbit: number | null;
  downMbit: number | null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Ping-pong and both bulk transfers through the link (about 2 x windowMs + rounds x RTT). */
export async function probeLink(link: EmulatedLink, options: { rounds: number; windowMs: number }): Promise<LinkProbe> {
  const probe = await startProbeServer(link);
  try {
    const rtts = await pingPong(probe.host, probe.port, options.rounds);
    const upMbit = await bulkUp(probe.host, probe.port, options.windowMs);
    const downMbit = await bulkDown(probe.host, probe.port, options.windowMs);
    return { rttMs: median(rtts), rttMinMs: Math.min(...rtts), rttMaxMs: Math.max(...rtts), upMbit, downMbit };
  } finally {
    probe.stop();
  }
}
