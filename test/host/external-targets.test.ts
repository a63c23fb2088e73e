/**
 * Benching servers the bench did not start, as a newcomer would: a Python
 * grpcio calculator and a Python standard-library REST server
 * (examples/python/, neither with a health endpoint), benched through
 * --grpc-target/--rest-target with server CPU from a given pid and from the
 * listening port; and the setup errors that must come before any load: a
 * wrong answer, an unreachable target, an --out that cannot be created.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../helpers/drivers.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertSchemaValid, REPO_ROOT, runBenchCli, tempDir } from '../helpers/bench.ts';
import { startPythonServer } from '../helpers/python-server.ts';

const TINY = ['--ops', 'add,divide', '--concurrency', '4', '--duration', '1s', '--warmup', '0', '--wire-calls', '50', '--connection-calls', '0', '--no-pin', '--progress', 'plain'];

/** The first interpreter that can import grpc (Debian's python3-grpcio is for /usr/bin/python3), or why there is none. */
function pythonWithGrpc(): { python: string; plugin: string } | { missing: string } {
  const python = ['/usr/bin/python3', 'python3'].find((candidate) => {
    try {
      execFileSync(candidate, ['-c', 'import grpc'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!python) return { missing: 'no python3 that can import grpc (Debian: apt-get install python3-grpcio)' };
  try {
    execFileSync('protoc', ['--version'], { stdio: 'ignore' });
    const plugin = execFileSync('sh', ['-c', 'command -v grpc_python_plugin'], { encoding: 'utf8' }).trim();
    if (plugin === '') throw new Error('no plugin');
    return { python, plugin };
  } catch {
    return { missing: 'protoc or grpc_python_plugin missing (Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)' };
  }
}

const python = pythonWithGrpc();

describe('a Python grpcio server and a Python http.server REST server, no health endpoints', { skip: 'missing' in python ? python.missing : false }, () => {
  let grpc: { child: ChildProcess; address: string };
  let rest: { child: ChildProcess; address: string };
  before(async () => {
    const { python: interpreter, plugin } = python as { python: string; plugin: string };
    const stubs = mkdtempSync(path.join(os.tmpdir(), 'callbench-py-'));
    execFileSync('protoc', ['-I', path.join(REPO_ROOT, 'proto'), `--python_out=${stubs}`, `--grpc_out=${stubs}`, `--plugin=protoc-gen-grpc=${plugin}`, 'calculator.proto']);
    const script = (name: string): string => path.join(REPO_ROOT, 'examples/python', name);
    [grpc, rest] = await Promise.all([startPythonServer(interpreter, script('grpc_server.py'), { env: { PYTHONPATH: stubs } }), startPythonServer(interpreter, script('rest_server.py'))]);
  });
  after(() => {
    grpc?.child.kill();
    rest?.child.kill();
  });

  test('benched as they are: exit 0, both protocols measured, server CPU from --grpc-pid and from the REST port', async () => {
    const out = tempDir();
    const run = await runBenchCli(['--grpc-target', grpc.address, '--rest-target', rest.address, '--grpc-pid', String(grpc.child.pid), ...TINY, '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /gRPC target \S+: ready \(health check answered grpc-status 12 UNIMPLEMENTED: no health service\)/);
    assert.match(run.stderr, /REST target \S+: ready \(GET \/healthz answered 501\)/);
    assert.match(run.stderr, /pre-flight check passed \(3 calls/);
    const results = JSON.parse(readFileSync(path.join(out, 'latest', 'results.json'), 'utf8')) as unknown;
    assertSchemaValid(results);
    assert.deepEqual([...new Set(results.runs.map((r) => r.protocol))].sort(), ['grpc', 'rest']);
    for (const record of results.runs) {
      assert.equal(record.status, 'completed', record.failure ?? '');
      assert.equal(record.errors, 0);
      assert.ok(record.requests > 0);
      assert.ok(record.server.cpuMsPer1kCalls !== null && record.server.cpuMsPer1kCalls > 0, `${record.scenario} ${record.protocol}: server CPU filled`);
      assert.ok(record.server.peakRssMiB !== null && record.server.peakRssMiB > 0);
      const pid = record.protocol === 'grpc' ? `pid ${grpc.child.pid} (given)` : `pid ${rest.child.pid} (listening on port ${new URL(rest.address).port})`;
      assert.ok(record.notes?.includes(`server CPU and memory of ${pid}`), JSON.stringify(record.notes));
    }
  });
});

describe('setup errors come before any load, in one line', () => {
  // Answers {"value":3} to every call (the calculator says add 20,10 is 30) and counts them.
  let calls = 0;
  const wrong = http.createServer((req, res) => {
    req.resume().on('end', () => {
      calls += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":3}');
    });
  });
  before(() => new Promise<void>((resolve) => wrong.listen(0, '127.0.0.1', resolve)));
  after(() => {
    wrong.closeAllConnections();
    wrong.close();
  });

  const oneLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n').filter((line) => line.startsWith('error:'));
    assert.equal(lines.length, 1, stderr);
    return lines[0]!;
  };

  test('a target that answers wrongly: what it answered, not measured, exit 1, nothing written', async () => {
    const out = tempDir();
    const run = await runBenchCli(['--protocols', 'rest', '--rest-target', `http://127.0.0.1:${(wrong.address() as AddressInfo).port}`, ...TINY, '--out', out]);
    assert.equal(run.code, 1);
    assert.match(oneLine(run.stderr), /^error: pre-flight check failed \(3 of 3 calls\), not measured: REST target http:\/\/127\.0\.0\.1:\d+: add 20,10: expected value 30, got value 3; .*divide by zero: expected INVALID_ARGUMENT \(HTTP 400\) "division by zero", got value 3/);
    assert.equal(calls, 4, 'GET /healthz and the three pre-flight calls, no load');
    assert.deepEqual(readdirSync(out), [], 'no run folder left behind');
  });

  test('an unreachable target: no TCP connection, exit 1', async () => {
    const port = await freePort();
    const run = await runBenchCli(['--protocols', 'grpc', '--grpc-target', `127.0.0.1:${port}`, ...TINY, '--out', tempDir()]);
    assert.equal(run.code, 1);
    assert.equal(oneLine(run.stderr), `error: gRPC target 127.0.0.1:${port} is unreachable: no TCP connection (connection refused)`);
  });

  test('an --out that cannot be created: exit 1 in under 5 s, no server started', async () => {
    const run = await runBenchCli(['--out', '/dev/null/results', ...TINY]);
    assert.equal(run.code, 1);
    assert.equal(oneLine(run.stderr), 'error: --out /dev/null/results: cannot create the results folder (a part of the path is a file)');
    assert.doesNotMatch(run.stderr, /listening|ready|measuring/);
    assert.ok(run.ms < 5_000, `failed after ${run.ms} ms`);
    assert.equal(existsSync('/dev/null/results'), false);
  });
});
