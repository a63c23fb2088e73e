/**
 * bench:streams for real, kept short: the servers as child processes, every
 * operation on every transport, and the records checked for figures that were
 * measured (bytes from the proxy, CPU from /proc, latency from answers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseStreamBenchArgs, renderStreamTable, runStreamBench, streamArgsOfBench } from '../../bench/cli/streams.ts';
import { TRANSPORTS_OF } from '../../bench/drivers/streams/types.ts';
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';

test('bench:streams measures the three operations on gRPC and each REST transport', async () => {
  const options = parseStreamBenchArgs(['--streams', '4', '--messages', '300', '--out', 'results/test-streams']);
  const records = await runStreamBench(options, () => {});
  const expected = STREAM_OPERATIONS.flatMap((operation) => TRANSPORTS_OF[operation].map((transport) => `${operation}/${transport}`));
  assert.deepEqual(records.map((record) => `${record.operation}/${record.transport}`), expected);
  for (const record of records) {
    const name = `${record.operation}/${record.transport}`;
    assert.equal(record.errors, 0, `${name}: ${record.firstError}`);
    assert.equal(record.messages, 1_200, name);
    assert.ok(record.messagesPerSecond > 0, name);
    assert.ok(record.latencyMs !== null && record.latencyMs.p99 >= record.latencyMs.p50, name);
    assert.equal(record.openMs === null, record.operation === 'sum-stream', name);
    // A number is at least 9 bytes of protobuf or {"value":1} of JSON, plus framing, both ways where answers flow.
    assert.ok(record.requestBytesPerMessage !== null && record.requestBytesPerMessage > 0, name);
    assert.ok(record.responseBytesPerMessage !== null && record.responseBytesPerMessage > 0, name);
    // Measured from /proc in 10 ms ticks: a value, or null when the run used less than a tick; never a made-up 0.
    assert.notEqual(record.serverCpuMsPer1000, 0, `${name}: server CPU`);
  }
  // Bidi costs the server most: enough ticks to be measured.
  for (const record of records.filter((r) => r.operation === 'running-sum')) assert.ok(record.serverCpuMsPer1000! > 0, `${record.transport}: server CPU`);
  // Bidi answers one message per message: more than 10 bytes each on every transport.
  for (const record of records.filter((r) => r.operation === 'running-sum')) assert.ok(record.responseBytesPerMessage! > 10, record.transport);
  const table = renderStreamTable(records);
  assert.match(table, /running-sum\s+websocket/);
  assert.match(table, /prefix-sums\s+sse/);
});

test('bench:streams refuses bad flags with one line', () => {
  assert.throws(() => parseStreamBenchArgs(['--ops', 'add']), /--ops: "add" is not a stream operation/);
  assert.throws(() => parseStreamBenchArgs(['--transport', 'carrier-pigeon']), /--transport: "carrier-pigeon" is not one of/);
  assert.throws(() => parseStreamBenchArgs(['--streams', '0']), /--streams must be an integer from 1/);
});

test('npm run bench -- --ops <stream ops> runs the stream bench; mixed or unary-only flags are refused', () => {
  assert.deepEqual(streamArgsOfBench(['--ops', 'running-sum,prefix-sums', '--profile', 'quick', '--transport=grpc']), [
    '--ops', 'running-sum,prefix-sums', '--streams', '8', '--messages', '1000', '--transport', 'grpc',
  ]);
  assert.equal(streamArgsOfBench(['--ops', 'add,sum']), null);
  assert.equal(streamArgsOfBench(['--profile', 'quick']), null);
  assert.throws(() => streamArgsOfBench(['--ops', 'add,running-sum']), /run apart from unary ones/);
  assert.throws(() => streamArgsOfBench(['--ops', 'sum-stream', '--duration', '3']), /--duration does not apply to stream runs/);
});
