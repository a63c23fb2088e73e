/**
 * `npm run client` as a user runs it: scripts/client.ts in its own process
 * against real servers on free ports. A value goes to stdout (exit 0), a server
 * error to stderr as `CODE: message` (exit 1, the same text on both
 * protocols), bad command-line input to stderr before any call (exit 2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../helpers/drivers.ts';
import { spawnScript } from '../helpers/bench.ts';
import { startServers, type Servers } from '../helpers/servers.ts';

/** The client's exit code and output (spawnScript: node --import tsx from the repository root). */
async function runClient(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await spawnScript('scripts/client.ts', args).done;
  return { code, stdout, stderr };
}

// Each run starts node and tsx (about a second of CPU): a few side by side, not all at once on 2 cores.
describe('scripts/client.ts against real servers', { concurrency: 3 }, () => {
  let servers: Servers;
  const target = (protocol: 'grpc' | 'rest'): string[] => ['--target', protocol === 'grpc' ? servers.grpcAddress : servers.restUrl];

  before(async () => {
    servers = await startServers();
  });
  after(async () => {
    await servers.close();
  });

  for (const [protocol, args, value] of [
    ['grpc', ['add', '20', '10'], '30'],
    ['rest', ['divide', '20', '10'], '2'],
    ['grpc', ['sum', '1', '2', '3'], '6'],
    ['rest', ['add', '-5', '3'], '-2'],
  ] as const) {
    test(`${protocol} ${args.join(' ')} prints ${value}, exit 0`, async () => {
      const run = await runClient([protocol, ...args, ...target(protocol)]);
      assert.deepEqual(run, { code: 0, stdout: `${value}\n`, stderr: '' });
    });
  }

  for (const [protocol, args, stdout] of [
    ['grpc', ['running-sum', '1', '2', '3'], '1\n3\n6\n'],
    ['rest', ['running-sum', '1', '2', '3'], '1\n3\n6\n'],
    ['rest', ['running-sum', '1', '2', '3', '--transport', 'websocket'], '1\n3\n6\n'],
    ['grpc', ['sum-stream', '1', '2', '3.5'], '6.5\n'],
    ['rest', ['prefix-sums', '4', '5', '--transport', 'sse'], '4\n9\n'],
  ] as const) {
    test(`${protocol} ${args.join(' ')} prints each total, exit 0`, async () => {
      const run = await runClient([protocol, ...args, ...target(protocol)]);
      assert.deepEqual(run, { code: 0, stdout, stderr: '' });
    });
  }

  test('a stream that overflows: the totals before it on stdout, the same error on both protocols, exit 1', async () => {
    const runs = await Promise.all([
      runClient(['grpc', 'running-sum', '1e308', '1e308', ...target('grpc')]),
      runClient(['rest', 'running-sum', '1e308', '1e308', '--transport', 'websocket', ...target('rest')]),
    ]);
    for (const run of runs) {
      assert.deepEqual(run, { code: 1, stdout: '1e+308\n', stderr: 'OUT_OF_RANGE: result is outside the range of a double (overflow)\n' });
    }
  });

  test('divide 1 0: both protocols print the same code and message on stderr, exit 1', async () => {
    const [grpc, rest] = await Promise.all((['grpc', 'rest'] as const).map((protocol) => runClient([protocol, 'divide', '1', '0', ...target(protocol)])));
    for (const run of [grpc, rest]) assert.deepEqual(run, { code: 1, stdout: '', stderr: 'INVALID_ARGUMENT: division by zero\n' });
  });

  test('no server at the target: UNAVAILABLE with the reason, exit 1, on both protocols', async () => {
    const port = await freePort();
    const [grpc, rest] = await Promise.all([
      runClient(['grpc', 'add', '1', '2', '--target', `127.0.0.1:${port}`]),
      runClient(['rest', 'add', '1', '2', '--target', `http://127.0.0.1:${port}`]),
    ]);
    assert.deepEqual(grpc, { code: 1, stdout: '', stderr: `UNAVAILABLE: cannot reach 127.0.0.1:${port}: ECONNREFUSED\n` });
    assert.deepEqual(rest, { code: 1, stdout: '', stderr: `UNAVAILABLE: cannot reach http://127.0.0.1:${port}: ECONNREFUSED\n` });
  });

  for (const [args, error] of [
    [['grpc', 'pow', '2', '3'], /^error: operation must be one of add, subtract, multiply, divide, sum, running-sum, sum-stream, prefix-sums, got "pow"$/],
    [['rest', 'add', '1', 'x'], /^error: "x" is not a finite number$/],
    [['grpc', 'add', 'NaN', '1'], /^error: "NaN" is not a finite number$/],
    [['rest', 'add', '1'], /^error: add takes 2 numbers, got 1$/],
    [['http', 'add', '1', '2'], /^error: protocol must be grpc or rest, got "http"$/],
  ] as const) {
    test(`${args.join(' ')}: one error line then the usage on stderr, exit 2, nothing sent`, async () => {
      // Refused while parsing, before any connection is made: no --target needed.
      const run = await runClient([...args]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      const [first, ...usage] = run.stderr.trimEnd().split('\n');
      assert.match(first!, error);
      assert.match(usage[0] ?? '', /^usage: client /, run.stderr);
      assert.equal(usage.filter((line) => line.startsWith('error')).length, 0, run.stderr);
    });
  }
});
