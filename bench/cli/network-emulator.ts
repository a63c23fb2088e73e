/**
 * `npm run bench:network-emulator`: is the emulated link (bench/network/) a
 * bottleneck? The measurements are bench/network/calibrate.ts's; this prints
 * them and writes results/<timestamp>-network-emulator/emulator.json (temp + rename).
 *
 *   npm run bench:network-emulator -- [--rounds 2] [--duration 3] [--no-pin] [--out results]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllServerProcesses } from '../host/server-process.ts';
import { calibrateEmulator } from '../network/calibrate.ts';
import { networkEmulationUnavailable, removeAllLinksSync } from '../network/link.ts';
import { createRunFolder, writeFileAtomic } from '../results/write.ts';

const USAGE = 'usage: bench:network-emulator [--rounds 2] [--duration 3] [--no-pin] [--out results]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { rounds: { type: 'string' }, duration: { type: 'string' }, 'no-pin': { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message.split('\n')[0]}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const rounds = Number(values.rounds ?? 2);
  const durationS = Number(values.duration ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20 || !(durationS >= 0.5 && durationS <= 60)) {
    process.stderr.write(`error: --rounds must be 1..20 and --duration 0.5..60 s\n${USAGE}\n`);
    return 2;
  }
  const unavailable = networkEmulationUnavailable();
  if (unavailable !== null) {
    process.stderr.write(`error: ${unavailable}\n`);
    return 2;
  }
  process.on('exit', () => {
    killAllServerProcesses();
    removeAllLinksSync();
  });
  const started = new Date();
  const { report, summary } = await calibrateEmulator({ rounds, durationS, pin: values['no-pin'] !== true, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${summary.join('\n')}\n`);
  const dir = createRunFolder(values.out ?? 'results', started, '-network-emulator');
  writeFileAtomic(path.join(dir, 'emulator.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results in ${dir}/emulator.json\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
