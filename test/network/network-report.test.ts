/**
 * Reports of runs under several network conditions (no link needed): runs
 * grouped by condition in every format, and the generated sentence where the
 * winner changes, from synthetic records whose ratios are known.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import { renderCsv } from '../../bench/report/csv.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { networkRatios, networkSweepSentences, renderNetworkSweep } from '../../bench/report/network-sweep.ts';
import { renderTable } from '../../bench/report/table.ts';
import type { NetworkRecord, ResultsFile } from '../../bench/results/record.ts';
import { assertSchemaValid } from '../helpers/bench.ts';

const direction = { packets: 1000, forwarded: 980, lossDrops: 20, queueDrops: 0, deviceDrops: 0, dropPercent: 2, lateUsP50: 5, lateUsP99: 40 };
const lossy: NetworkRecord = {
  name: 'lossy', rttMs: 20, jitterMs: 0, upMbit: null, downMbit: null, lossPercent: 2,
  measured: { rttMs: 20.6, rttMinMs: 20.4, rttMaxMs: 21.3, upMbit: 350, downMbit: 420, up: direction, down: direction, serverRetransmits: 57, emulatorCpuPercent: 4.2, realtime: true, lowLatencyIdle: true },
};

/** add/c64 on loopback (gRPC ahead, the synthetic model) and under `lossy` with gRPC's calls/s cut to 30%. */
function twoConditions(): ResultsFile {
  const loopback = syntheticResults({ concurrency: [64], sizes: [], trials: 3, seed: 1 });
  const slowed = syntheticResults({ concurrency: [64], sizes: [], trials: 3, seed: 2, rpsFactor: 0.3, factorProtocols: ['grpc'] });
  return { ...loopback, runs: [...loopback.runs, ...slowed.runs.map((run) => ({ ...run, network: lossy }))] };
}

describe('reports across network conditions', () => {
  test('the ratio per condition, and the sentence where the winner changes', () => {
    const results = twoConditions();
    assertSchemaValid(results);
    const ratios = networkRatios(results);
    assert.deepEqual(ratios.map((r) => [r.network, r.winner, r.trials]), [['loopback', 'grpc', 3], ['lossy', 'rest', 3]]);
    assert.ok(ratios[1]!.low <= ratios[1]!.grpcOverRest && ratios[1]!.grpcOverRest <= ratios[1]!.high);
    const [sentence] = networkSweepSentences(results);
    assert.match(sentence!, /^add, 64 in flight: REST overtakes gRPC from loopback to lossy: gRPC [\d.]+x REST \(3 trials, [\d.]+x-[\d.]+x\) on loopback, REST [\d.]+x gRPC \(3 trials, [\d.]+x-[\d.]+x\) on lossy\.$/);
    assert.match(renderNetworkSweep(results), /lossy\s+RTT\s+20\.6 ms\s+loss 2%/);
  });

  test('no change: one sentence saying who wins everywhere', () => {
    const loopback = syntheticResults({ concurrency: [64], sizes: [], trials: 2 });
    const results = { ...loopback, runs: [...loopback.runs, ...loopback.runs.map((run) => ({ ...run, network: lossy }))] };
    assert.match(networkSweepSentences(results)[0]!, /^add, 64 in flight: gRPC wins under every condition \(g\/r [\d.]+ to [\d.]+ over loopback, lossy\)\.$/);
  });

  test('cleartext and TLS runs are separate series: a change is never told across them', () => {
    const cleartext = twoConditions();
    const cost = { enabled: true, version: 'TLSv1.3', calls: 0, newConnectionCallMs: null, keptAliveCallMs: null, handshakeMs: null, handshakeBytes: null };
    // The TLS runs: gRPC behind under both conditions (no change within TLS).
    const slowTls = syntheticResults({ concurrency: [64], sizes: [], trials: 3, seed: 3, rpsFactor: 0.3, factorProtocols: ['grpc'] });
    const tlsRuns = [...slowTls.runs, ...slowTls.runs.map((run) => ({ ...run, network: lossy }))].map((run) => ({ ...run, tls: cost }));
    const results: ResultsFile = { ...cleartext, runs: [...cleartext.runs.map((run) => ({ ...run, tls: { ...cost, enabled: false, version: null } })), ...tlsRuns] };
    assertSchemaValid(results);
    assert.deepEqual(
      networkRatios(results).map((r) => [r.network, r.tls, r.winner]),
      [['loopback', false, 'grpc'], ['lossy', false, 'rest'], ['loopback TLS', true, 'rest'], ['lossy TLS', true, 'rest']],
    );
    const sentences = networkSweepSentences(results);
    assert.equal(sentences.length, 2);
    assert.match(sentences[0]!, /^add, 64 in flight: REST overtakes gRPC from loopback to lossy:/);
    assert.match(sentences[1]!, /^add, 64 in flight over TLS: REST wins under every condition \(g\/r [\d.]+ to [\d.]+ over loopback TLS, lossy TLS\)\.$/);
    assert.match(renderNetworkSweep(results), /^add\/c64 \(add, 64 in flight over TLS\): calls\/s$/m);
    assert.match(renderTable(results), /^network lossy TLS: asked RTT 20 ms/m);
    assert.match(renderMarkdown(results), /\| `lossy TLS` \| `add\/c64` \|/);
  });

  test('table, Markdown and CSV keep the conditions apart', () => {
    const results = twoConditions();
    const table = renderTable(results);
    assert.match(table, /^network loopback: no emulation/m);
    assert.match(table, /^network lossy: asked RTT 20 ms, rate unlimited, loss 2%; measured RTT 20\.60 ms \(20\.40-21\.30\)/m);
    assert.equal(table.match(/^add\/c64 /gm)?.length, 2, 'one row per condition');
    const markdown = renderMarkdown(results);
    assert.match(markdown, /## Network conditions/);
    assert.match(markdown, /\| `lossy` \| `add\/c64` \|/);
    assert.match(markdown, /## Across network conditions/);
    const csv = renderCsv(results).split('\r\n');
    const header = csv[0]!.split(',');
    const lastRow = csv.at(-2)!.split(',');
    assert.equal(lastRow[header.indexOf('network')], 'lossy');
    assert.equal(lastRow[header.indexOf('measured_rtt_ms')], '20.6');
    assert.equal(csv[1]!.split(',')[header.indexOf('network')], '');
  });
});
