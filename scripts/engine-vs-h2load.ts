/**
 * Quick check of grpc-engine against h2load on the same grpc-js server:
 * server pinned to CPU 0, each load generator to CPU 1, shapes and tools
 * alternated for several rounds; prints calls/s and client CPU µs per call.
 * The official comparison is `npm run bench:drivers`; this is a developer tool.
 *
 *   npx tsx scripts/engine-vs-h2load.ts [--rounds 5] [--requests 100000]
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { frameGrpcMessage } from '../servers/grpc-frame.ts';
import { encodeRequest } from '../servers/proto.ts';
import { grpcEngine } from '../bench/drivers/grpc-engine.ts';

const execFileAsync = promisify(execFile);
const INPUT = { a: 20, b: 10 };
const SHAPES = [
  { connections: 1, concurrency: 64 },
  { connections: 4, concurrency: 256 },
].filter((s) => !process.env.SHAPE || process.env.SHAPE === `${s.connections}x${s.concurrency}`);

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '100000' },
    child: { type: 'boolean', default: false },
    port: { type: 'string' },
    connections: { type: 'string' },
    concurrency: { type: 'string' },
  },
});

if (values.child) {
  // One engine run in its own (pinned) process; report JSON on stdout.
  const protobuf = encodeRequest('add', INPUT);
  const before = process.cpuUsage();
  const result = await grpcEngine.run({
    target: { protocol: 'grpc', host: '127.0.0.1', port: Number(values.port) },
    payload: { operation: 'add', payloadValues: null, input: INPUT, json: Buffer.from(JSON.stringify(INPUT)), protobuf },
    concurrency: Number(values.concurrency),
    connections: Number(values.connections),
    durationS: 60,
    requests: Number(values.requests),
    timeoutMs: 20_000,
  });
  const cpu = process.cpuUsage(before);
  console.log(
    JSON.stringify({ calls: result.calls, errors: result.errors, elapsedS: result.elapsedS, cpuUs: cpu.user + cpu.system }),
  );
  process.exit(0);
}

const rounds = Number(values.rounds);
const requests = Number(values.requests);
const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..');

const server = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', 'servers/serve.ts', '--only', 'grpc', '--grpc-port', '0'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve, reject) => {
  let text = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const match = /:(\d+)\s*$/m.exec(text);
    if (match) resolve(Number(match[1]));
  });
  server.once('exit', () => reject(new Error(`server exited: ${text}`)));
});

const dataFile = path.join(mkdtempSync(path.join(tmpdir(), 'engine-vs-h2load-')), 'add.bin');
writeFileSync(dataFile, frameGrpcMessage(encodeRequest('add', INPUT)));

interface Sample {
  rps: number;
  cpuUsPerCall: number;
  /** Server CPU per call during the run: how efficiently the client's traffic lets the server work. */
  serverUsPerCall?: number;
}

const CLOCK_TICKS = 100;
/** utime + stime of the server process (taskset execs node, so the pid is the server's), in µs. */
function serverCpuUs(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'latin1').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

async function measured(run: () => Promise<Sample>, n: number): Promise<Sample> {
  const before = serverCpuUs();
  const sample = await run();
  return { ...sample, serverUsPerCall: (serverCpuUs() - before) / n };
}

async function runH2load(connections: number, concurrency: number, n: number): Promise<Sample> {
  const { stdout, stderr } = await execFileAsync('/usr/bin/time', [
    '-f', 'CPU %U %S',
    'taskset', '-c', '1', 'h2load', '-n', String(n), '-c', String(connections), '-m', String(concurrency / connections),
    '--header', 'content-type: application/grpc', '--header', 'te: trailers', '-d', dataFile,
    `http://127.0.0.1:${port}/calculator.v1.Calculator/Add`,
  ]);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)![1]);
  const succeeded = Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout)![1]);
  if (succeeded !== n) throw new Error(`h2load: ${succeeded}/${n} succeeded`);
  const [, user, system] = /CPU ([\d.]+) ([\d.]+)/.exec(stderr)!;
  return { rps, cpuUsPerCall: ((Number(user) + Number(system)) * 1e6) / n };
}

async function runEngine(connections: number, concurrency: number, n: number): Promise<Sample> {
  const { stdout } = await execFileAsync('taskset', [
    '-c', '1', process.execPath, '--import', 'tsx', path.join(here, 'engine-vs-h2load.ts'), '--child',
    '--port', String(port), '--connections', String(connections), '--concurrency', String(concurrency), '--requests', String(n),
  ], { cwd: root });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { calls: number; errors: number; elapsedS: number; cpuUs: number };
  if (result.errors !== 0 || result.calls !== n) throw new Error(`engine: ${JSON.stringify(result)}`);
  return { rps: result.calls / result.elapsedS, cpuUsPerCall: result.cpuUs / result.calls };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

try {
  // Warm the server's JIT before measuring.
  await runH2load(1, 64, Math.min(requests, 50_000));
  await runEngine(1, 64, Math.min(requests, 50_000));
  for (const { connections, concurrency } of SHAPES) {
    const h2: Sample[] = [];
    const engine: Sample[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first so drift in the server (GC, JIT) does not favour one tool.
      const first = round % 2 === 0;
      const h2Run = (): Promise<Sample> => measured(() => runH2load(connections, concurrency, requests), requests);
      const engineRun = (): Promise<Sample> => measured(() => runEngine(connections, concurrency, requests), requests);
      const a = first ? await h2Run() : await engineRun();
      const b = first ? await engineRun() : await h2Run();
      const [h, e] = first ? [a, b] : [b, a];
      h2.push(h);
      engine.push(e);
      ratios.push(e.rps / h.rps);
      console.log(
        `${connections}x${concurrency} round ${round + 1}: h2load ${h.rps.toFixed(0)}/s ${h.cpuUsPerCall.toFixed(1)} µs/call ` +
          `(server ${h.serverUsPerCall!.toFixed(1)}) | engine ${e.rps.toFixed(0)}/s ${e.cpuUsPerCall.toFixed(1)} µs/call ` +
          `(server ${e.serverUsPerCall!.toFixed(1)}) | ratio ${(e.rps / h.rps).toFixed(3)}`,
      );
    }
    console.log(
      `${connections}x${concurrency} median: h2load ${median(h2.map((s) => s.rps)).toFixed(0)}/s ` +
        `${median(h2.map((s) => s.cpuUsPerCall)).toFixed(1)} µs/call | engine ${median(engine.map((s) => s.rps)).toFixed(0)}/s ` +
        `${median(engine.map((s) => s.cpuUsPerCall)).toFixed(1)} µs/call | calls/s ratio ${median(ratios).toFixed(3)} | ` +
        `server µs/call: h2load ${median(h2.map((s) => s.serverUsPerCall!)).toFixed(1)}, engine ${median(engine.map((s) => s.serverUsPerCall!)).toFixed(1)}`,
    );
  }
} finally {
  server.kill();
}
