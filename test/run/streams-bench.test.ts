/**
 * Stream scenarios for real, kept short: `npm run bench -- --ops <stream ops>`
 * through the bench's own runner (servers as child processes, every operation
 * on every transport), its rows in results.json checked for figures that were
 * measured (bytes from the proxy, CPU from /proc, latency from answers), and
 * compared and gated like calls.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ciMarkdown } from '../../bench/cli/ci.ts';
import { comparisonMarkdown } from '../../bench/compare/markdown.ts';
import { compareResults } from '../../bench/compare/compare.ts';
import { UsageError, parseBenchCommand, TRANSPORTS_BY_OPERATION as TRANSPORTS_OF } from '../../bench/options/options.ts';
import { driverCatalog, openLoopDriverNames } from '../../bench/drivers/index.ts';
import { renderStreamTable, streamHeadline } from '../../bench/report/streams.ts';
import { loadResults } from '../../bench/results/read.ts';
import type { ResultsFile } from '../../bench/results/record.ts';
import { STREAM_RECORD_SCHEMA_VERSION, streamRecordsOf, type StreamRecord } from '../../bench/results/stream-record.ts';
import { STREAM_OPERATIONS } from '../../servers/calculator.ts';
import { assertSchemaValid, benchOptions, quietProgress, runBenchWithReports, tempDir } from '../helpers/bench.ts';

let measured: { dir: string; results: ResultsFile } | null = null;

test('stream scenarios measure the three operations on gRPC and each REST transport, as rows of results.json its schema accepts', async () => {
  const out = tempDir('callbench-streams-');
  const outcome = await runBenchWithReports(benchOptions(['--ops', STREAM_OPERATIONS.join(','), '--streams', '4', '--messages', '300', '--out', out]), { progress: quietProgress });
  assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
  const file = JSON.parse(readFileSync(path.join(outcome.dir!, 'results.json'), 'utf8')) as unknown;
  assertSchemaValid(file);
  measured = { dir: outcome.dir!, results: file };
  assert.equal(file.environment.node, process.version);
  assert.equal(file.environment.options.streams, 4);
  assert.ok(file.runs.every((run) => run.unit === 'message' && run.driver === 'stream-engine'));
  const records = streamRecordsOf(file);
  const expected = STREAM_OPERATIONS.flatMap((operation) => TRANSPORTS_OF[operation].map((transport) => `${operation}/${transport}`));
  assert.deepEqual(records.map((record) => `${record.operation}/${record.transport}`), expected);
  for (const run of file.runs) {
    const name = `${run.operation}/${run.transport}`;
    assert.equal(run.errors, 0, `${name}: ${run.notes?.join('; ')}`);
    assert.equal(run.requests, 1_200, name);
    assert.ok(run.rps > 0, name);
    // Per-message latency, first-message latency and a server stream's gaps are separate fields, each where it applies.
    assert.equal(run.latencyMs === null, run.operation === 'prefix-sums', `${name}: latency per message`);
    assert.equal(run.gapMs === null, run.operation !== 'prefix-sums', `${name}: gap between answers`);
    if (run.latencyMs) assert.ok(run.latencyMs.p99 >= run.latencyMs.p50, name);
    assert.equal(run.firstMessageMs === null, run.operation === 'sum-stream', name);
    // The per-message histogram is kept for merges wherever there is a per-message latency.
    assert.equal(run.latencyHistogram === null, run.latencyMs === null, `${name}: histogram kept for merges`);
    // A number is at least 9 bytes of protobuf or {"value":1} of JSON, plus framing, both ways where answers flow.
    assert.ok(run.wire.requestBytesPerCall !== null && run.wire.requestBytesPerCall > 0, name);
    assert.ok(run.wire.responseBytesPerCall !== null && run.wire.responseBytesPerCall > 0, name);
    // Measured from /proc in 10 ms ticks: a value, or null when the run used less than a tick; never a made-up 0.
    assert.notEqual(run.server.cpuMsPer1kCalls, 0, `${name}: server CPU`);
  }
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
  // report.md carries the stream section.
  assert.match(readFileSync(path.join(outcome.dir!, 'report.md'), 'utf8'), /## Streams[\s\S]*gap p50 ms/);
});

test('bench:compare flags a stream row whose messages/s fell by 40%; bench:ci fails in one line when no baseline row matches', () => {
  assert.ok(measured, 'needs the run of the test above');
  const { results } = measured;
  const slower: ResultsFile = {
    ...results,
    runs: results.runs.map((run) => (run.operation === 'running-sum' ? { ...run, rps: run.rps * 0.6 } : run)),
  };
  const comparison = compareResults(results, slower);
  const verdicts = comparison.rows.map((row) => `${row.label}|${row.verdict}`);
  for (const row of comparison.rows) {
    const runningSum = row.scenario.startsWith('running-sum/');
    assert.equal(row.verdict, runningSum ? 'regression' : 'within noise', verdicts.join('\n'));
    if (runningSum) assert.deepEqual(row.because, ['rps']);
  }
  // Each transport is a row of its own: gRPC, NDJSON and WebSocket of running-sum do not fall into one group,
  // and the table says which is which (not two identical "running-sum/c4 | REST" lines).
  assert.equal(comparison.rows.filter((row) => row.scenario.startsWith('running-sum/')).length, 3);
  const markdown = comparisonMarkdown(comparison, { label: 'base', environment: results.environment, results }, { label: 'head', environment: slower.environment, results: slower });
  for (const subject of ['REST (ndjson)', 'REST (websocket)']) assert.match(markdown, new RegExp(`\\| running-sum/c\\d+ \\| ${subject.replace(/[()]/g, '\\$&')} \\|`));

  // A baseline whose rows this run does not have (another scenario): the gate fails, it does not pass on "no data".
  const baseDir = tempDir('callbench-baseline-');
  const renamed: ResultsFile = { ...results, runs: results.runs.map((run) => ({ ...run, scenario: `other-${run.scenario}` })) };
  writeFileSync(path.join(baseDir, 'results.json'), JSON.stringify(renamed));
  const head = loadResults(measured.dir);
  const ci = ciMarkdown(head, { baseline: baseDir, threshold: 0.1, failOnRegression: false, failAcrossMachines: false });
  assert.equal(ci.fail, true);
  assert.ok(ci.noMatch !== null && !ci.noMatch.includes('\n'));
  assert.match(ci.noMatch!, /no row of this run matches the baseline/);
  // The same baseline as the run: every row matches, nothing fails.
  const sameDir = tempDir('callbench-baseline-');
  cpSync(path.join(measured.dir, 'results.json'), path.join(sameDir, 'results.json'));
  assert.deepEqual([ciMarkdown(head, { baseline: sameDir, threshold: 0.1, failOnRegression: true, failAcrossMachines: false }).fail], [false]);
});

test('stream scenarios open loop: rows carry the rate, held streams and the schedule\'s message count', async () => {
  // 4 streams at 200 messages/s each for 1 s (bench:streams' --rate is per stream; the bench's is over all streams).
  const argv = ['--ops', 'running-sum,sum-stream', '--transport', 'grpc,websocket', '--rate', '200', '--streams', '4', '--duration', '1s', '--no-pin', '--progress', 'none', '--out', tempDir('callbench-streams-')];
  const command = parseBenchCommand(argv, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() }, 'streams');
  assert.ok(command.kind === 'run' && command.options.rate === 800, 'bench:streams runs 200/s per stream x 4 streams');
  const outcome = await runBenchWithReports(command.options, { progress: quietProgress });
  const records = streamRecordsOf(outcome.results);
  assert.deepEqual(records.map((record) => `${record.operation}/${record.transport}`), ['running-sum/grpc', 'running-sum/websocket', 'sum-stream/grpc']);
  for (const record of records) {
    const name = `${record.operation}/${record.transport}`;
    assert.equal(record.errors, 0, `${name}: ${record.firstError}`);
    assert.deepEqual([record.mode, record.ratePerStream, record.messagesPerStream], ['open', 200, null], name);
    assert.ok(record.messages >= 760 && record.messages <= 840, `${name}: ${record.messages} messages, expected about 800`);
    // At least the schedule's second; the upper bound leaves a loaded 2-core machine room to drain the last answers.
    assert.ok(record.elapsedS >= 1 && record.elapsedS < 3, `${name}: elapsed ${record.elapsedS} s`);
    assert.ok(record.requestBytesPerMessage !== null && record.requestBytesPerMessage > 0, name);
  }
  assert.match(renderStreamTable(records), /rate\/stream/);
});

test('stream flags are checked once, with the rest: pacing a method cannot take, and mixed runs', () => {
  const parse = (argv: string[]) => parseBenchCommand(argv, driverCatalog(), { canPin: false, openLoopDrivers: openLoopDriverNames() });
  const refused: Array<[string[], RegExp]> = [
    [['--ops', 'prefix-sums', '--rate', '100'], /^prefix-sums takes no --rate or --slo/],
    [['--ops', 'sum-stream', '--duration', '2s'], /^sum-stream held for a duration needs a --rate/],
    [['--ops', 'running-sum', '--messages', '10', '--duration', '5s'], /^--messages and --duration are exclusive/],
    [['--ops', 'running-sum', '--transport', 'carrier-pigeon'], /^--transport: unknown value "carrier-pigeon"; allowed: grpc, ndjson, sse, websocket/],
    [['--ops', 'running-sum', '--streams', '0'], /^--streams must be a whole number from 1 to 10000/],
    [['--ops', 'add', '--streams', '4'], /^--streams apply to stream operations/],
    [['--ops', 'running-sum', '--contenders', 'express,grpc-js'], /^--contenders serve unary calls/],
    [['--ops', 'running-sum,prefix-sums', '--slo', 'p99<5ms', '--messages', '100'], /^--slo on streams searches running-sum/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(() => parse(argv), (error: Error) => error instanceof UsageError && message.test(error.message) && !error.message.includes('\n'), argv.join(' '));
  }
  // Calls and streams in one run: one scenario list, one results file.
  const mixed = parse(['--ops', 'add,running-sum', '--profile', 'quick']);
  assert.equal(mixed.kind, 'run');
  if (mixed.kind === 'run') assert.deepEqual([mixed.options.ops, mixed.options.streamOps, mixed.options.streams, mixed.options.messagesPerStream], [['add'], ['running-sum'], 8, 1_000]);
  // bench:streams' defaults (every stream operation; with a rate, those a client paces) are test/options/rules.test.ts's.
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
  // Rows of two places (cleartext and TLS): each set against gRPC in its own place, the place named.
  const tls = (record: StreamRecord): StreamRecord => ({ ...record, tls: true });
  assert.deepEqual(streamHeadline([grpc, at('ndjson', 1_600), tls({ ...grpc, messagesPerSecond: 400 }), tls(at('ndjson', 800))]), [
    'loopback: running-sum (bidi stream), 4 streams: NDJSON 2.0× gRPC messages/s',
    'loopback TLS: running-sum (bidi stream), 4 streams: NDJSON 2.0× gRPC messages/s',
  ]);
});
