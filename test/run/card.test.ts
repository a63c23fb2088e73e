/**
 * `npm run bench -- --api card.yaml` for real: the notes example's Python
 * servers (grpcio, http.server) benched through the runner from their card,
 * the bench's byte counts checked against the REST server's own socket counts,
 * and a REST server that answers one field differently refused before any load.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BenchSetupError, runBench } from '../../bench/run/runner.ts';
import { assertSchemaValid, benchOptions, quietProgress, REPO_ROOT, tempDir } from '../helpers/bench.ts';
import { NOTES_CARD, notesPairMissing, startNotesPair, type NotesPair } from '../helpers/notes-pair.ts';
import { startServers, type Servers } from '../helpers/servers.ts';

const missing = notesPairMissing();

describe('the notes example benched from its card', { skip: missing }, () => {
  let pair: NotesPair;
  before(async () => {
    pair = await startNotesPair();
  });
  after(async () => {
    await pair?.stop();
  });

  test('every method on both protocols (its server stream per message), 0 errors; REST bytes per call within 2% of the server\'s own socket counts', async () => {
    const before = await pair.readRestStats();
    const wireCalls = 300;
    const options = benchOptions([
      '--api', NOTES_CARD, '--grpc-target', pair.grpcTarget, '--rest-target', pair.restTarget,
      '--concurrency', '4', '--duration', '0.5', '--warmup', '0', '--connection-calls', '0', '--wire-calls', String(wireCalls),
      '--out', tempDir('callbench-api-'),
    ]);
    const outcome = await runBench(options, { progress: quietProgress });
    const afterStats = await pair.readRestStats();
    assert.equal(outcome.exitCode, 0, outcome.failure ?? '');
    assertSchemaValid(outcome.results);
    assert.deepEqual(outcome.results.api?.services, ['notes.v1.Notes']);
    // The card's five unary methods and its server stream (rows per message: test/run/card-streams.test.ts), each on both protocols.
    const rows = outcome.results.runs.map((run) => `${run.operation} ${run.protocol}`);
    const calls = ['GetNote', 'ListNotes', 'create-note', 'UpdateNote', 'DeleteNote', 'StreamNotes'];
    assert.deepEqual(rows, calls.flatMap((call) => [`${call} grpc`, `${call} rest`]));
    for (const run of outcome.results.runs) {
      const what = `${run.operation} ${run.protocol}`;
      assert.equal(run.status, 'completed', `${what}: ${run.failure}`);
      assert.equal(run.errors, 0, `${what}: ${JSON.stringify(run.statusCounts)}`);
      assert.equal(run.method?.api, 'notes.v1.Notes', what);
      assert.ok(run.wire.requestBytesPerCall! > 0 && run.wire.responseBytesPerCall! > 0, what);
    }
    assert.deepEqual(
      outcome.results.runs.filter((run) => run.protocol === 'rest').map((run) => `${run.method!.restVerb} ${run.method!.restPathTemplate}`),
      ['GET /v1/{name=users/*/notes/*}', 'GET /v1/{parent=users/*}/notes', 'POST /v1/{parent=users/*}/notes', 'PATCH /v1/{name=users/*/notes/*}', 'DELETE /v1/{name=users/*/notes/*}', 'GET /v1/{parent=users/*}/notes:stream'],
    );
    // What the REST server counted on its sockets between the two reads: the measured calls and the byte-counting
    // pass of every scenario, plus the equivalence check's five calls (a few hundred bytes: well under 2% of the whole).
    let request = 0;
    let response = 0;
    for (const run of outcome.results.runs.filter((r) => r.protocol === 'rest')) {
      const n = run.requests + wireCalls;
      request += n * run.wire.requestBytesPerCall!;
      response += n * run.wire.responseBytesPerCall!;
    }
    const received = afterStats.received - before.received;
    const sent = afterStats.sent - before.sent;
    assert.ok(Math.abs(received / request - 1) <= 0.02, `server received ${received} B, the bench counted ${Math.round(request)} B`);
    assert.ok(Math.abs(sent / response - 1) <= 0.02, `server sent ${sent} B, the bench counted ${Math.round(response)} B`);
  });
});

describe('the equivalence check', () => {
  let servers: Servers;
  let liar: http.Server;
  before(async () => {
    servers = await startServers();
    // A REST calculator that adds one too many: its answers differ from gRPC's in one field.
    liar = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const input = JSON.parse(body || '{}') as { a?: number; b?: number; values?: number[] };
        const op = req.url?.split('/').pop();
        const a = input.a ?? 0;
        const b = input.b ?? 0;
        const values = input.values ?? [];
        const value = op === 'add' ? a + b + 1 : op === 'subtract' ? a - b : op === 'multiply' ? a * b : op === 'divide' ? a / b : values.reduce((s, v) => s + v, 0);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ value }));
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await servers?.close();
    liar?.close();
  });

  test('a REST server answering one field differently is refused before any load, in one line naming the field', async () => {
    const out = tempDir('callbench-api-');
    const options = benchOptions([
      '--api', path.join(REPO_ROOT, 'api', 'calculator.yaml'),
      '--grpc-target', `127.0.0.1:${servers.grpcPort}`,
      '--rest-target', `http://127.0.0.1:${(liar.address() as AddressInfo).port}`,
      '--profile', 'quick', '--out', out,
    ]);
    await assert.rejects(runBench(options, { progress: quietProgress }), (error: Error) => {
      assert.ok(error instanceof BenchSetupError, String(error));
      assert.ok(!error.message.includes('\n'), error.message);
      assert.match(error.message, /^equivalence check failed, nothing measured: .*call add .*field value differs/);
      // Both values are in the line: gRPC's sum of the card's operands and the REST server's one more.
      assert.match(error.message, /gRPC 9999\.9999, REST 10000\.9999$/);
      return true;
    });
    // Nothing measured, nothing written.
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, `results written: ${existsSync(out) ? readdirSync(out).join(', ') : ''}`);
  });
});
