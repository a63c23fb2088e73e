/**
 * How steady is a capacity answer? Runs N `--slo` searches (each its own bench
 * run) against one server and prints, per protocol, every answer, the spread
 * (largest / smallest), the median against the saturated rate and the time a
 * search took, with the machine's load average before and after: the figures
 * of docs/capacity.md ("How steady the answer is").
 *
 *   npx tsx scripts/capacity-spread.ts                      # 5 searches, the reference server
 *   npx tsx scripts/capacity-spread.ts --server project     # the bench's own servers
 *   npx tsx scripts/capacity-spread.ts --bench ../old-checkout  # another checkout's search, same server
 *   npx tsx scripts/capacity-spread.ts -- --slo-step 1      # after --: more bench flags
 *   npx tsx scripts/capacity-spread.ts --keep out/spread    # keep every search's results folder
 *
 * The reference server (test/helpers/one-at-a-time-servers.ts) serves one
 * call at a time with 1 ms of work, pinned to the servers' CPU: the same for
 * both protocols, and a capacity known without a search. The saturated rate is
 * the median of the searches' closed-loop probes (64 calls in flight, the
 * bench's own generators). Each search's seconds are the bench's `searchS`;
 * "starved" after a search: its capacity notes say the server did not get its
 * core at a run that can have lowered the answer (bench/run/capacity.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { canPin, SERVER_CPUS } from '../bench/host/pinning.ts';
import type { ResultsFile } from '../bench/results/record.ts';
import { REPO_ROOT } from '../bench/results/repo-root.ts';

const { values, positionals } = parseArgs({
  options: {
    server: { type: 'string', default: 'reference' },
    searches: { type: 'string', default: '5' },
    slo: { type: 'string', default: 'p99<5ms' },
    concurrency: { type: 'string', default: '64' },
    protocols: { type: 'string', default: 'grpc,rest' },
    'service-ms': { type: 'string', default: '1' },
    bench: { type: 'string' },
    /** Keep each search's results folder here (its steps are in results.json) instead of deleting it. */
    keep: { type: 'string' },
  },
  allowPositionals: true,
});
if (values.server !== 'reference' && values.server !== 'project') throw new Error('--server: reference or project');
const searches = Number(values.searches);
const benchRoot = path.resolve(values.bench ?? REPO_ROOT);
const protocols = values.protocols!.split(',') as Array<'grpc' | 'rest'>;

interface Sample {
  rps: number | null;
  saturatedRps: number;
  searchS: number;
  steps: number;
}

/** The reference server in its own process on the servers' CPU; its ports. */
async function startReference(): Promise<{ process: ChildProcess; grpcTarget: string; restTarget: string }> {
  const node = [process.execPath, '--single-threaded-gc', '--import', 'tsx', 'test/helpers/one-at-a-time-servers.ts', values['service-ms']!];
  const command = canPin() ? ['taskset', '-c', SERVER_CPUS, ...node] : node;
  const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = JSON.parse(line.toString('utf8')) as { grpcPort: number; restPort: number };
  return { process: child, grpcTarget: `127.0.0.1:${ports.grpcPort}`, restTarget: `http://127.0.0.1:${ports.restPort}` };
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One bench run, its stderr kept for the error; the child is tracked so that a signal stops it with the script. */
let benchChild: ChildProcess | null = null;
async function runBench(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, args, { cwd: benchRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  benchChild = child;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [status] = (await once(child, 'exit')) as [number | null];
  benchChild = null;
  return { status, stderr };
}

const reference = values.server === 'reference' ? await startReference() : null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    benchChild?.kill('SIGINT');
    reference?.process.kill();
    process.exit(130);
  });
}
const targets = reference ? ['--grpc-target', reference.grpcTarget, '--rest-target', reference.restTarget] : [];
const samples: Record<string, Sample[]> = Object.fromEntries(protocols.map((p) => [p, []]));
const loads: string[] = [];
const started = Date.now();
try {
  console.log(`${searches} searches, --slo '${values.slo}', --concurrency ${values.concurrency}, ${values.server} server, bench of ${path.relative(REPO_ROOT, benchRoot) || '.'}${positionals.length ? `, ${positionals.join(' ')}` : ''}`);
  for (let i = 1; i <= searches; i++) {
    const out = values.keep ? path.resolve(values.keep, `search-${i}`) : mkdtempSync(path.join(os.tmpdir(), 'callbench-capacity-spread-'));
    const before = loadAverage();
    const args = [
      '--import', 'tsx', 'bench/cli/bench.ts', ...targets,
      '--protocols', protocols.join(','), '--ops', 'add', '--concurrency', values.concurrency!, '--slo', values.slo!,
      '--wire-calls', '0', '--connection-calls', '0', '--progress', 'none', '--out', out, ...positionals,
    ];
    const run = await runBench(args);
    if (run.status !== 0) throw new Error(`search ${i}: the bench exited ${run.status}: ${run.stderr}`);
    const results = JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as ResultsFile;
    if (!values.keep) rmSync(out, { recursive: true, force: true });
    const after = loadAverage();
    loads.push(`${before} -> ${after}`);
    const line: string[] = [];
    for (const protocol of protocols) {
      const capacity = results.runs.find((r) => r.protocol === protocol)!.capacity!;
      const probeSteps = capacity.steps.filter((s) => s.phase === 'probe');
      const probes = probeSteps.map((s) => s.achievedRps);
      // A one-core server saturated by the closed-loop probe uses about 100% of its CPU; much less says another
      // process shared that CPU during the search (other benches pin their servers to the same one).
      const probeCpu = probeSteps.map((s) => (s.serverCpuPercent === null ? '-' : `${Math.round(s.serverCpuPercent)}%`)).join('/');
      samples[protocol]!.push({ rps: capacity.rps, saturatedRps: median(probes), searchS: capacity.searchS, steps: capacity.steps.length });
      // The search's own note when its server's CPU says it was starved at a run that can have lowered the answer.
      const starved = capacity.notes.some((note) => note.includes('the server was starved')) ? ', starved' : '';
      line.push(`${protocol} ${capacity.rps ?? 'none'} (${capacity.searchS.toFixed(0)} s, ${capacity.steps.length} runs, probe server CPU ${probeCpu}${starved})`);
    }
    console.log(`search ${i}: ${line.join(', ')}; load average ${before} -> ${after}`);
  }
} finally {
  if (reference) {
    reference.process.stdin!.end();
    await once(reference.process, 'exit');
  }
}

console.log('');
console.log('protocol  answers                             largest/smallest  median  saturated  median/saturated  s per search');
for (const protocol of protocols) {
  const list = samples[protocol]!;
  const found = list.flatMap((s) => (s.rps === null ? [] : [s.rps]));
  const spread = found.length === list.length && found.length > 0 ? (Math.max(...found) / Math.min(...found)).toFixed(3) : '-';
  const mid = found.length === list.length ? median(found) : null;
  const saturated = median(list.map((s) => s.saturatedRps));
  console.log(
    [
      protocol.padEnd(8),
      list.map((s) => s.rps ?? 'none').join(', ').padEnd(34),
      spread.padStart(16),
      (mid === null ? '-' : mid.toFixed(0)).padStart(6),
      saturated.toFixed(0).padStart(9),
      (mid === null ? '-' : (mid / saturated).toFixed(3)).padStart(16),
      `${median(list.map((s) => s.searchS)).toFixed(0)} (${Math.min(...list.map((s) => s.searchS)).toFixed(0)}-${Math.max(...list.map((s) => s.searchS)).toFixed(0)})`.padStart(12),
    ].join('  '),
  );
}
console.log(`\nload average (1, 5, 15 min) around each search: ${loads.join('; ')}; wall ${((Date.now() - started) / 1000).toFixed(0)} s, ${os.cpus().length} CPUs`);
