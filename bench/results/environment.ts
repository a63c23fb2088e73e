/** The machine, software and options a bench ran with, recorded in every results file. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Environment } from './record.ts';

import { REPO_ROOT } from './repo-root.ts';

/** Packages whose versions shape the figures. */
export const RECORDED_PACKAGES = ['@grpc/grpc-js', '@grpc/proto-loader', 'express', 'autocannon', 'protobufjs', 'hdr-histogram-js'];

/** Version from node_modules/<name>/package.json, or "unknown". */
export function installedVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/node_modules/${name}/package.json`, 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function osDescription(): string {
  let pretty = '';
  try {
    pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux, or no os-release
  }
  return `${pretty ? `${pretty}, ` : ''}${os.type()} ${os.release()} ${os.arch()}`;
}

export function collectEnvironment(
  options: Record<string, unknown>,
  pinning: Environment['pinning'],
  date: Date = new Date(),
): Environment {
  const cpus = os.cpus();
  return {
    date: date.toISOString(),
    node: process.version,
    os: osDescription(),
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cpuCount: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    packages: Object.fromEntries(RECORDED_PACKAGES.map((name) => [name, installedVersion(name)])),
    gitCommit: gitCommit(),
    options,
    pinning,
  };
}
