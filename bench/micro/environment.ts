/** The machine and software a result was measured on, recorded with every result. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { Environment } from './report.ts';

const require = createRequire(import.meta.url);

/** The installed version of a package, read from its package.json ("unknown" if not found). */
export function packageVersion(name: string): string {
  try {
    // The package's main entry leads to its folder; walk up to its package.json.
    let dir = require.resolve(name);
    for (let i = 0; i < 6; i++) {
      dir = dir.slice(0, dir.lastIndexOf('/'));
      try {
        const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      } catch {
        // no package.json at this level
      }
    }
  } catch {
    // not installed
  }
  return 'unknown';
}

export function collectEnvironment(date: Date = new Date()): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    os: { platform: process.platform, release: os.release(), arch: process.arch },
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    packages: {
      protobufjs: packageVersion('protobufjs'),
      tinybench: packageVersion('tinybench'),
      '@grpc/proto-loader': packageVersion('@grpc/proto-loader'),
    },
    date: date.toISOString(),
  };
}
