/**
 * The rules between flags (bench/options/rules.ts), row by row: each row's
 * refusal comes from a minimal command line, on one line, and from that row
 * (the table without it lets the same line through or refuses it otherwise).
 * Then the commands that read the bench's flags: bench:streams' --rate and
 * --ops, resolved once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import type { BenchCommandName, OptionsEnvironment } from '../../bench/options/bench-options.ts';
import { resolveCommand } from '../../bench/options/resolve.ts';
import { RULES } from '../../bench/options/rules.ts';
import { parseBenchCommand } from '../../bench/options/options.ts';
import { UsageError } from '../../shared/usage-error.ts';

const env: OptionsEnvironment = { canPin: false, openLoopDrivers: openLoopDriverNames(), nowMs: Date.parse('2026-12-01T10:00:00Z') };
const GRPC_TARGET = ['--grpc-target', '127.0.0.1:50051'];

/** The smallest command line each row refuses (and the command, when not the bench). */
const EXAMPLES: Record<string, { argv: string[]; command?: BenchCommandName }> = {
  'sweep payload, --ops': { argv: ['--sweep', 'payload', '--ops', 'add'] },
  'sweep network, scenario flags': { argv: ['--sweep', 'network', '--sizes', '10'] },
  'rate above the bound': { argv: ['--rate', '100000', '--streams', '16'], command: 'streams' },
  'slo, rate': { argv: ['--slo', 'p99<10ms', '--rate', '100'] },
  'slo, trials': { argv: ['--slo', 'p99<10ms', '--trials', '2'] },
  'slo-repeats or slo-step without slo': { argv: ['--slo-repeats', '2'] },
  'slo, segment or start-at': { argv: ['--slo', 'p99<10ms', '--start-at', '+30s'] },
  'api, scenario flags': { argv: ['--api', 'api/calculator.yaml', '--ops', 'add'] },
  'open loop, driver without one': { argv: ['--rate', '100', '--driver', 'rest=autocannon'] },
  'grpc-pid without grpc-target': { argv: ['--grpc-pid', '123'] },
  'rest-pid without rest-target': { argv: ['--rest-pid', '123'] },
  'tls, http rest-target': { argv: ['--tls', '--rest-target', 'http://127.0.0.1:3000'] },
  'segment without targets': { argv: ['--segment', '1/2'] },
  'pin, no-pin': { argv: ['--pin', '--no-pin'] },
  'messages and duration, streams only': { argv: ['--ops', 'running-sum', '--messages', '10', '--duration', '5s'] },
  'stream flags without a stream operation': { argv: ['--ops', 'add', '--streams', '4'] },
  'streams, contenders': { argv: ['--ops', 'running-sum', '--contenders', 'grpc-js,express'] },
  'slo on a stream other than running-sum': { argv: ['--ops', 'sum-stream', '--slo', 'p99<5ms'] },
  'prefix-sums, rate or slo': { argv: ['--ops', 'prefix-sums', '--rate', '100'] },
  'prefix-sums without messages': { argv: ['--ops', 'prefix-sums', '--duration', '2s'] },
  'sum-stream held without rate': { argv: ['--ops', 'sum-stream', '--duration', '2s'] },
  'transport serving none of the stream operations': { argv: ['--ops', 'sum-stream', '--transport', 'sse'] },
  'network, targets': { argv: ['--network', 'lan', ...GRPC_TARGET] },
  'contenders, what they choose': { argv: ['--contenders', 'all', '--compression', 'gzip'] },
  'proxy-config without one proxy': { argv: ['--proxy-config', 'my.cfg'] },
  'replicas or balance without proxy': { argv: ['--replicas', '2'] },
  'balance with proxy-config': { argv: ['--proxy', 'nginx', '--proxy-config', 'my.cfg', '--balance', 'l4'] },
  'server shapes, targets or contenders': { argv: ['--max-connection-calls', '5', ...GRPC_TARGET] },
};

/** The refusal of `argv` under `rules`, or null when it resolves. */
function refusal(argv: string[], command: BenchCommandName, rules = RULES): UsageError | null {
  try {
    resolveCommand(argv, driverCatalog(), env, command, rules);
    return null;
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
}

describe('the rules table', () => {
  test('every row has an example, and ids are unique', () => {
    const ids = RULES.map((rule) => rule.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate ids');
    assert.deepEqual(ids.filter((id) => EXAMPLES[id] === undefined), [], 'rows without an example in EXAMPLES');
  });

  for (const [index, rule] of RULES.entries()) {
    test(`${rule.id}: refused in one line, by this row`, () => {
      const { argv, command = 'bench' } = EXAMPLES[rule.id]!;
      const error = refusal(argv, command);
      assert.ok(error !== null, `${argv.join(' ')} was not refused`);
      assert.equal(error.exitCode, 2);
      assert.ok(!error.message.includes('\n') && error.message.trim() === error.message && error.message !== '', `not one line: ${JSON.stringify(error.message)}`);
      if (typeof rule.error === 'string') assert.equal(error.message, rule.error);
      // Without the row the same command line is not refused with that line: the row is the one refusing it.
      const without = refusal(argv, command, RULES.filter((_, i) => i !== index));
      assert.notEqual(without?.message, error.message, `${rule.id} is shadowed by another row`);
    });
  }

  test('a rule sees the resolved options: --sweep network sets two trials, which --slo refuses', () => {
    assert.equal(refusal(['--sweep', 'network', '--slo', 'p99<10ms'], 'bench')?.message, '--slo runs one search per scenario and protocol; drop --trials');
  });
});

describe('bench:streams reads the bench flags once', () => {
  const streams = (...argv: string[]) => {
    const command = parseBenchCommand(argv, driverCatalog(), env, 'streams');
    assert.equal(command.kind, 'run');
    return command.kind === 'run' ? command.options : assert.fail();
  };

  test('--ops defaults to the stream operations its pacing applies to', () => {
    assert.deepEqual(streams().streamOps, ['running-sum', 'sum-stream', 'prefix-sums']);
    assert.deepEqual(streams('--rate', '10').streamOps, ['running-sum', 'sum-stream']);
    assert.deepEqual(streams('--duration', '1s').streamOps, ['running-sum']);
    assert.deepEqual(streams('--ops', 'prefix-sums', '--messages', '10').streamOps, ['prefix-sums']);
  });

  test('--rate is per stream: the bench runs it times the streams', () => {
    assert.equal(streams('--rate', '1000', '--profile', 'quick').rate, 8_000);
    assert.equal(streams('--rate', '200', '--streams', '4', '--ops', 'running-sum').rate, 800);
    assert.equal(streams('--rate', '0.5').rate, 8);
    // The user's own text in a refusal, not a product they never typed.
    assert.equal(refusal(['--rate', 'fast'], 'streams')?.message, '--rate must be a number of calls per second above 0 and at most 1000000, got "fast"');
  });

  test('the bench itself takes --rate over all streams and no default --ops', () => {
    const command = parseBenchCommand(['--rate', '1000', '--ops', 'running-sum'], driverCatalog(), env);
    assert.equal(command.kind === 'run' && command.options.rate, 1_000);
  });
});
