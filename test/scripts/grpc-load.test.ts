/**
 * scripts/grpc-load.ts --format ghz: the arguments it takes, and that what it
 * prints is a ghz JSON report our own ghz parser reads back with the same
 * counts (the engine runs for real against the grpc-js calculator).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseGhzReport } from '../../bench/drivers/ghz.ts';
import { parseCli } from '../../scripts/grpc-load.ts';
import { startGrpcServer } from '../../servers/grpc-server.ts';
import { spawnScript } from '../helpers/bench.ts';


const grpcLoad = (args: string[]) => spawnScript('scripts/grpc-load.ts', args).done;

describe('grpc-load --format', () => {
  test('parses --format ghz (and -O ghz) with the ghz-style load flags', () => {
    const cli = parseCli(['--call', 'calculator.v1.Calculator.Add', '-d', '{"a":1,"b":2}', '-c', '8', '--connections', '2', '-n', '300', '--format', 'ghz', '127.0.0.1:50051']);
    assert.equal(cli.format, 'ghz');
    assert.equal(cli.call, 'calculator.v1.Calculator.Add');
    assert.deepEqual(cli.options.target, { protocol: 'grpc', host: '127.0.0.1', port: 50051, tls: false });
    assert.equal(cli.options.concurrency, 8);
    assert.equal(cli.options.connections, 2);
    assert.equal(cli.options.requests, 300);
    assert.deepEqual(cli.options.payload.input, { a: 1, b: 2 });

    const short = parseCli(['--call', 'calculator.v1.Calculator.Add', '-O', 'ghz', '-z', '2s', '127.0.0.1:50051']);
    assert.equal(short.format, 'ghz');
    assert.equal(short.options.durationS, 2);
    assert.equal(short.options.requests, undefined);

    assert.equal(parseCli(['--call', 'calculator.v1.Calculator.Add', '127.0.0.1:50051']).format, 'summary');
    assert.throws(() => parseCli(['--call', 'calculator.v1.Calculator.Add', '--format', 'csv', '127.0.0.1:50051']), /--format must be summary, json or ghz, got "csv"/);
  });

  describe('against the grpc-js calculator', () => {
    let server: Awaited<ReturnType<typeof startGrpcServer>>;
    before(async () => {
      server = await startGrpcServer({ host: '127.0.0.1', port: 0 });
    });
    after(() => server.close(100));

    test('prints a ghz report that parseGhzReport reads back with the same counts', async () => {
      const target = `127.0.0.1:${server.port}`;
      const [ok, divide] = await Promise.all([
        grpcLoad(['--call', 'calculator.v1.Calculator.Add', '-n', '300', '-c', '8', '--format', 'ghz', target]),
        grpcLoad(['--call', 'calculator.v1.Calculator.Divide', '-d', '{"a":1,"b":0}', '-n', '50', '-c', '4', '--format', 'ghz', target]),
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const parsed = parseGhzReport(ok.stdout);
      assert.equal(parsed.calls, 300);
      assert.equal(parsed.errors, 0);
      assert.deepEqual(parsed.statusCounts, { OK: 300 });
      // No per-call details in our report: the parser rebuilds latency from the percentiles.
      assert.equal(parsed.latencySource, 'percentiles');
      assert.equal(parsed.latencyUs.totalCount, 300);
      assert.ok(parsed.elapsedS > 0);
      assert.equal(JSON.parse(ok.stdout).options.call, 'calculator.v1.Calculator.Add');

      assert.equal(divide.code, 0, divide.stderr);
      const failed = parseGhzReport(divide.stdout);
      assert.equal(failed.calls, 50);
      assert.equal(failed.errors, 50);
      assert.deepEqual(failed.statusCounts, { INVALID_ARGUMENT: 50 });
    });
  });
});
