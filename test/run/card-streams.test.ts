/**
 * A card's server-streaming method benched per message: StreamNotes of the
 * notes example (4 notes a stream) on its Python pair, over gRPC and over
 * NDJSON on its google.api.http route (grpc-gateway's {"result": ...} lines),
 * checked equal message by message before any load, then measured through
 * the bench's runner as the calculator's streams are (rows counting
 * messages, first-message latency and the gap between answers apart). And the
 * same card on the servers generated from it (servers/generated/), which
 * answer a server stream with STREAM_ANSWERS messages.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkEquivalence, loadApiCard, type ApiCard } from '../../bench/api/index.ts';
import { runStreamLoad } from '../../bench/drivers/streams/run.ts';
import { runBench, type BenchOutcome } from '../../bench/run/runner.ts';
import { cardScenarios } from '../../bench/scenario/api-card.ts';
import { STREAM_ANSWERS } from '../../servers/generated/api.ts';
import { assertSchemaValid, benchOptions, quietProgress, tempDir } from '../helpers/bench.ts';
import { NOTES_CARD, NOTES_DIR, notesPairMissing, startNotesPair, type NotesPair } from '../helpers/notes-pair.ts';

const missing = notesPairMissing();
/** The notes the seeded store has for StreamNotes { parent: "users/1", filter: { titlePrefix: "Meeting" } }. */
const NOTES_PER_STREAM = 4;

/** A card of the notes API with StreamNotes only (the example card's call, its paths absolute). */
function streamNotesCard(): string {
  const file = path.join(tempDir('callbench-card-'), 'stream-notes.yaml');
  writeFileSync(
    file,
    [
      `proto: ${JSON.stringify(path.join(NOTES_DIR, 'protos', 'notes', 'v1', 'notes.proto'))}`,
      `importPaths: [${JSON.stringify(path.join(NOTES_DIR, 'protos'))}]`,
      'calls:',
      '  - method: notes.v1.Notes/StreamNotes',
      '    request: { parent: "users/1", filter: { titlePrefix: "Meeting" } }',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * StreamNotes/c2 benched from the card (on `servers`: the targets' flags, or none for the generated pair): the run
 * ends well, its file follows the schema, the equivalence check passed and the rows are gRPC and NDJSON.
 */
async function benchStreamNotes(servers: string[]): Promise<BenchOutcome> {
  const options = benchOptions([
    '--api', streamNotesCard(), ...servers,
    '--concurrency', '2', '--duration', '0.5', '--warmup', '0.2', '--connection-calls', '0', '--wire-calls', '40',
    '--out', tempDir('callbench-stream-notes-'),
  ]);
  const logs: string[] = [];
  const outcome = await runBench(options, { progress: { ...quietProgress, log: (line: string) => logs.push(line) } });
  assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
  assertSchemaValid(outcome.results);
  assert.ok(logs.some((line) => /^equivalence check passed: 1 call/.test(line)), logs.join('\n'));
  assert.deepEqual(
    outcome.results.runs.map((run) => `${run.scenario} ${run.protocol} ${run.transport}`),
    ['StreamNotes/c2 grpc grpc', 'StreamNotes/c2 rest ndjson'],
  );
  return outcome;
}

describe("a card's server stream, measured per message", { skip: missing }, () => {
  let pair: NotesPair;
  let card: ApiCard;
  const grpc = (): { host: string; port: number } => {
    const [host, port] = pair.grpcTarget.split(':');
    return { host: host!, port: Number(port) };
  };
  before(async () => {
    pair = await startNotesPair();
    card = await loadApiCard(NOTES_CARD);
  });
  after(async () => {
    await pair?.stop();
  });

  test('the equivalence check compares StreamNotes message by message, and the pair passes it', async () => {
    const streamNotes = card.calls.find((call) => call.method === 'StreamNotes');
    assert.equal(streamNotes?.kind, 'server-stream');
    const only = { ...card, calls: [streamNotes!] };
    assert.equal(await checkEquivalence(only, { grpc: grpc(), rest: { url: pair.restTarget } }), null);
  });

  test('the stream generator: 3 lanes x 12 messages are 3 whole streams of 4 per lane, on both protocols', async () => {
    const [scenario] = cardScenarios(card, { concurrency: [3], connections: null }).scenarios.filter((s) => s.operation === 'StreamNotes');
    assert.ok(scenario?.payload, 'StreamNotes is a scenario of the card');
    for (const transport of ['grpc', 'ndjson'] as const) {
      const port = transport === 'grpc' ? grpc().port : Number(new URL(pair.restTarget).port);
      const result = await runStreamLoad({ payload: scenario.payload, transport, target: { host: '127.0.0.1', port }, streams: 3, messages: 12, connections: 1, serverPid: null });
      assert.equal(result.firstError, null, transport);
      assert.equal(result.errors, 0, transport);
      assert.equal(result.streamsOpened, 9, transport);
      assert.equal(result.messages, 9 * NOTES_PER_STREAM, transport);
      assert.equal(result.openUs.totalCount, 9, `${transport}: a first-message latency per stream`);
      assert.equal(result.latencyUs.totalCount, 9 * (NOTES_PER_STREAM - 1), `${transport}: a gap between each two answers`);
    }
  });

  test('benched from a card: StreamNotes/c2 on gRPC and NDJSON, 0 errors, whole streams of 4, first-message and gap latencies', async () => {
    const outcome = await benchStreamNotes(['--grpc-target', pair.grpcTarget, '--rest-target', pair.restTarget]);
    for (const run of outcome.results.runs) {
      const what = `${run.protocol}/${run.transport}`;
      assert.equal(run.status, 'completed', `${what}: ${run.failure}`);
      assert.equal(run.unit, 'message', what);
      assert.equal(run.method?.kind, 'server-stream', what);
      assert.equal(run.errors, 0, `${what}: ${JSON.stringify(run.statusCounts)}`);
      // Every stream ends whole: the messages are a multiple of the 4 a stream brings, and more than one round.
      assert.ok(run.requests > 2 * NOTES_PER_STREAM && run.requests % NOTES_PER_STREAM === 0, `${what}: ${run.requests} messages`);
      assert.ok(run.rps > 0, what);
      assert.ok(run.firstMessageMs && run.firstMessageMs.p50 > 0, `${what}: first-message latency`);
      assert.ok(run.gapMs && run.gapMs.p50 > 0, `${what}: gap between answers`);
      assert.equal(run.latencyMs, null, `${what}: a server stream's per-message figure is its gap, not a latency`);
      assert.ok(run.wire.requestBytesPerCall! > 0 && run.wire.responseBytesPerCall! > 0, `${what}: bytes per message`);
    }
    const rest = outcome.results.runs.find((run) => run.protocol === 'rest')!;
    assert.equal(`${rest.method!.restVerb} ${rest.method!.restPathTemplate}`, 'GET /v1/{parent=users/*}/notes:stream');
  });

  test('a card server stream under --rate is left out, said in one line', () => {
    const { scenarios, skipped } = cardScenarios(card, { concurrency: [2], connections: null, rate: 100 });
    assert.ok(!scenarios.some((scenario) => scenario.operation === 'StreamNotes'));
    assert.deepEqual(skipped, ["StreamNotes (notes.v1.Notes/StreamNotes) is a server stream: it takes no --rate, its answers come at the server's pace; left out"]);
  });
});

describe("a card's server stream on the servers generated from the card", () => {
  test('StreamNotes/c2 with no target: the generated pair streams it on gRPC and NDJSON, equal, 0 errors, whole streams', async () => {
    const outcome = await benchStreamNotes([]);
    for (const run of outcome.results.runs) {
      const what = `${run.protocol}/${run.transport}`;
      assert.equal(run.status, 'completed', `${what}: ${run.failure}`);
      assert.equal(run.errors, 0, `${what}: ${JSON.stringify(run.statusCounts)}`);
      assert.ok(run.requests > STREAM_ANSWERS && run.requests % STREAM_ANSWERS === 0, `${what}: ${run.requests} messages`);
      assert.ok(run.firstMessageMs && run.gapMs, `${what}: first-message and gap latencies`);
    }
  });
});
