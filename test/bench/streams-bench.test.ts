/**
 * bench:streams for real, kept short: the servers as child processes, every
 * operation on every transport, and the records checked for figures that were
 * measured (bytes from the proxy, CPU from /proc, latency from answers).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseStreamBenchArgs, runStreamBench, runStreamCli, streamArgsOfBench } from '../../bench/cli/streams.ts';
import { renderStreamTable, streamHeadline } from '../../bench/report/streams.ts';
import { STREAM_RECORD_SCHEMA_VERSION, type StreamRecord } from '../../bench/results/stream-record.ts';
import { TRANSPORTS_OF } from '../../bench/drivers/streams/types.ts';
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';
import { assertStreamsSchemaValid, tempDir } from '../helpers/bench.ts';

test('bench:streams measures the three operations on gRPC and each REST transport, and writes a file its schema accepts', async () => {
  const out = tempDir('callbench-streams-');
  assert.equal(await runStreamCli(['--streams', '4', '--messages', '300', '--out', out]), 0);
  const files = readdirSync(out).filter((name) => /^streams-.*\.json$/.test(name));
  assert.equal(files.length, 1, files.join(', '));
  const file = JSON.parse(readFileSync(path.join(out, files[0]!), 'utf8')) as unknown;
  assertStreamsSchemaValid(file);
  assert.equal(file.environment.node, process.version);
  assert.equal(file.environment.options.streams, 4);
  const { records } = file;
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
  // One sentence per operation, every REST transport against gRPC.
  const headline = streamHeadline(records);
  assert.equal(headline.length, 3, headline.join('\n'));
  assert.match(headline[0]!, /^running-sum \(bidi stream\), 4 streams: .*NDJSON.*, .*WebSocket.* messages\/s/);
  assert.match(headline[2]!, /^prefix-sums \(server stream\), 4 streams: .*NDJSON.*, .*SSE/);
  assert.match(table, /running-sum\s+websocket/);
  assert.match(table, /prefix-sums\s+sse/);
});

test('bench:streams open loop: records carry the mode, rate and duration, and the schedule\'s message count', async () => {
  const options = parseStreamBenchArgs(['--ops', 'running-sum,sum-stream', '--transport', 'grpc,websocket', '--rate', '200', '--streams', '4', '--duration', '1s']);
  const { records } = await runStreamBench(options, () => {});
  assert.deepEqual(records.map((record) => `${record.operation}/${record.transport}`), ['running-sum/grpc', 'running-sum/websocket', 'sum-stream/grpc']);
  for (const record of records) {
    const name = `${record.operation}/${record.transport}`;
    assert.equal(record.errors, 0, `${name}: ${record.firstError}`);
    assert.deepEqual([record.mode, record.ratePerStream, record.durationS, record.messagesPerStream], ['open', 200, 1, null], name);
    assert.ok(record.messages >= 760 && record.messages <= 840, `${name}: ${record.messages} messages, expected about 800`);
    assert.ok(record.elapsedS >= 1 && record.elapsedS < 1.5, `${name}: elapsed ${record.elapsedS} s`);
    assert.ok(record.requestBytesPerMessage !== null && record.requestBytesPerMessage > 0, name);
  }
  assert.match(renderStreamTable(records), /rate\/stream/);
});

test('bench:streams exits 2 on exclusive flags, before any server starts', async () => {
  assert.equal(await runStreamCli(['--messages', '100', '--duration', '2s']), 2);
});

test('bench:streams refuses bad flags with one line', () => {
  assert.throws(() => parseStreamBenchArgs(['--ops', 'add']), /--ops: "add" is not a stream operation/);
  assert.throws(() => parseStreamBenchArgs(['--transport', 'carrier-pigeon']), /--transport: "carrier-pigeon" is not one of/);
  assert.throws(() => parseStreamBenchArgs(['--streams', '0']), /--streams must be an integer from 1/);
});

test('bench:streams resolves open loop and held streams once: typed, every field set', () => {
  const closed = parseStreamBenchArgs([]);
  assert.deepEqual([closed.ops, closed.streams, closed.length, closed.rate], [['running-sum', 'sum-stream', 'prefix-sums'], 16, { messages: 2_000 }, null]);
  // --rate without a length: the profile's duration; the operations it applies to when --ops is not given.
  const open = parseStreamBenchArgs(['--rate', '1000', '--profile', 'quick']);
  assert.deepEqual([open.ops, open.streams, open.length, open.rate], [['running-sum', 'sum-stream'], 8, { durationMs: 1_500 }, 1_000]);
  assert.deepEqual(parseStreamBenchArgs(['--rate', '50', '--messages', '100', '--ops', 'sum-stream']).length, { messages: 100 });
  // Held streams without a rate: closed loop for the duration, where a closed loop has an answer to wait for.
  const held = parseStreamBenchArgs(['--duration', '1m30s']);
  assert.deepEqual([held.ops, held.length, held.rate], [['running-sum'], { durationMs: 90_000 }, null]);
  assert.equal(held.wireMessages, 200);
});

test('bench:streams refuses exclusive, out-of-range or inapplicable pacing with one line', () => {
  const refused: Array<[string[], RegExp]> = [
    [['--messages', '10', '--duration', '5s'], /^--messages and --duration are exclusive/],
    [['--rate', '0'], /^--rate must be a number of messages per second per stream from 1 to 100000, got "0"/],
    [['--rate', 'fast'], /^--rate must be a number/],
    [['--duration', '5 parsecs'], /^--duration must be a duration: 3 \(seconds\), 3s, 500ms, 1m or 1m30s, got "5 parsecs"/],
    [['--ops', 'prefix-sums', '--rate', '100'], /^--ops: prefix-sums takes neither --rate/],
    [['--ops', 'prefix-sums', '--duration', '2s'], /^--ops: prefix-sums takes neither --duration/],
    [['--ops', 'sum-stream', '--duration', '2s'], /^--ops: sum-stream held for a --duration needs a --rate/],
    [['--rate', '1000', '--duration', '1h'], /^--rate 1000 for 1h is more than the servers' 1000000 messages per stream/],
    [['--profile', 'huge'], /^--profile: "huge" is not a profile \(quick, standard, full\)/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(() => parseStreamBenchArgs(argv), (error: Error) => message.test(error.message) && !error.message.includes('\n'), argv.join(' '));
  }
});

test('npm run bench -- --ops <stream ops> runs the stream bench; mixed or unary-only flags are refused', () => {
  const args = streamArgsOfBench(['--ops', 'running-sum,prefix-sums', '--profile', 'quick', '--transport=grpc']);
  assert.deepEqual(args, ['--ops', 'running-sum,prefix-sums', '--profile', 'quick', '--transport', 'grpc']);
  assert.deepEqual(parseStreamBenchArgs(args!).length, { messages: 1_000 });
  assert.deepEqual(streamArgsOfBench(['--ops', 'running-sum', '--rate', '500', '--duration=2s']), ['--ops', 'running-sum', '--rate', '500', '--duration', '2s']);
  assert.equal(streamArgsOfBench(['--ops', 'add,sum']), null);
  assert.equal(streamArgsOfBench(['--profile', 'quick']), null);
  assert.throws(() => streamArgsOfBench(['--ops', 'add,running-sum']), /run apart from unary ones/);
  assert.throws(() => streamArgsOfBench(['--ops', 'sum-stream', '--concurrency', '3']), /--concurrency does not apply to stream runs/);
});

test('the stream table shows the rate column only when a row ran open loop', () => {
  const row = (ratePerStream: number | null): StreamRecord => ({
    schemaVersion: STREAM_RECORD_SCHEMA_VERSION,
    operation: 'running-sum',
    transport: 'grpc',
    streams: 4,
    mode: ratePerStream === null ? 'closed' : 'open',
    ratePerStream,
    messagesPerStream: null,
    durationS: 1,
    elapsedS: 1.01,
    messages: 800,
    errors: 0,
    firstError: null,
    messagesPerSecond: 792,
    latencyMs: null,
    openMs: null,
    requestBytesPerMessage: null,
    responseBytesPerMessage: null,
    serverCpuMsPer1000: null,
    clientCpuMsPer1000: null,
    clientCpuPercent: null,
    serverCpuPercent: null,
    clientBound: false,
  });
  assert.doesNotMatch(renderStreamTable([row(null)]), /rate\/stream/);
  const table = renderStreamTable([row(200), row(null)]).split('\n');
  assert.match(table[0]!, /^operation\s+transport\s+rate\/stream\s+msgs\/s/);
  assert.match(table[1]!, /^running-sum\s+grpc\s+200\s+792/);
  assert.match(table[2]!, /^running-sum\s+grpc\s+-\s+792/);
  // The sentence: the faster side first, a tie within 10%, a client-bound row named.
  const grpc = row(null);
  const at = (transport: StreamRecord['transport'], messagesPerSecond: number, clientBound = false): StreamRecord => ({ ...grpc, transport, messagesPerSecond, clientBound });
  assert.deepEqual(streamHeadline([grpc, at('ndjson', 1_093), at('websocket', 750, true)]), [
    'running-sum (bidi stream), 4 streams: NDJSON 1.38× gRPC, gRPC and WebSocket within 10% messages/s; client-bound: WebSocket (a lower bound for the server)',
  ]);
  assert.deepEqual(streamHeadline([grpc, at('ndjson', 396)]), ['running-sum (bidi stream), 4 streams: gRPC 2.0× NDJSON messages/s']);
});
