/**
 * `npm run bench -- --api examples/notes/card.yaml` with no targets: the runner starts the servers
 * generated from the card (servers/generated/, child processes of servers/serve.ts --api) and benches
 * every unary call on both protocols. What each server answered is checked through the counting
 * proxy's body bytes (the record's body.responseBytes): on gRPC the protobuf size of the card's
 * `response:`, on REST the length of its proto3 JSON, defaults left out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toBinary, toJson } from '@bufbuild/protobuf';
import { runBench } from '../../bench/run/runner.ts';
import { UsageError } from '../../bench/options/options.ts';
import { loadGeneratedApi } from '../../servers/generated/api.ts';
import { assertSchemaValid, benchOptions, quietProgress, tempDir } from '../helpers/bench.ts';
import { NOTES_CARD } from '../helpers/notes-pair.ts';

describe('a card benched on servers generated from it', () => {
  test('the notes card: every unary call on both protocols, 0 errors, each answer the card\'s response', async () => {
    const options = benchOptions([
      '--api', NOTES_CARD,
      '--concurrency', '4', '--duration', '0.5', '--warmup', '0', '--connection-calls', '0', '--wire-calls', '50',
      '--out', tempDir('callbench-generated-'),
    ]);
    const outcome = await runBench(options, { progress: quietProgress });
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    assertSchemaValid(outcome.results);
    assert.deepEqual(outcome.results.api?.services, ['notes.v1.Notes']);
    // The unary calls, then the server stream StreamNotes, per message (test/run/card-streams.test.ts).
    const calls = ['GetNote', 'ListNotes', 'create-note', 'UpdateNote', 'DeleteNote', 'StreamNotes'];
    assert.deepEqual(outcome.results.runs.map((run) => `${run.operation} ${run.protocol}`), calls.flatMap((call) => [`${call} grpc`, `${call} rest`]));

    // What the generated servers answer, from the card: the call's response (DeleteNote has none: the empty message).
    const api = loadGeneratedApi(NOTES_CARD);
    const methodOf: Record<string, string> = { 'create-note': 'CreateNote' };
    for (const run of outcome.results.runs.filter((r) => r.unit !== 'message')) {
      const what = `${run.operation} ${run.protocol}`;
      assert.equal(run.status, 'completed', `${what}: ${run.failure}`);
      assert.equal(run.errors, 0, `${what}: ${JSON.stringify(run.statusCounts)}`);
      assert.ok(run.requests > 0, what);
      const method = api.methods.get(`/notes.v1.Notes/${methodOf[run.operation] ?? run.operation}`)!;
      assert.ok(method.answer.kind === 'message' || method.answer.kind === 'empty', `${what}: ${method.source}`);
      const expected =
        run.protocol === 'grpc'
          ? toBinary(method.output, method.answer.message).length
          : Buffer.byteLength(JSON.stringify(toJson(method.output, method.answer.message, { registry: api.registry })));
      assert.equal(run.wire.countedBy, 'counting-proxy', what);
      assert.equal(run.body.responseBytes, expected, what);
    }
    // The same bytes as the Python servers' answer (docs/your-api.md): a page of 4 notes is 897 bytes of protobuf and 1,875 of JSON.
    const body = (protocol: string) => outcome.results.runs.find((r) => r.operation === 'ListNotes' && r.protocol === protocol)!.body.responseBytes;
    assert.deepEqual([body('grpc'), body('rest')], [897, 1875]);
  });

  test('one target and a generated server for the other protocol is refused in one line', async () => {
    const options = benchOptions(['--api', NOTES_CARD, '--grpc-target', '127.0.0.1:1', '--profile', 'quick', '--out', tempDir('callbench-generated-')]);
    await assert.rejects(runBench(options, { progress: quietProgress }), (error: Error) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, /^--api .*card\.yaml: give --rest-target too, or no target at all/);
      return true;
    });
  });
});
