/**
 * One report model: the terminal, report.md and report.html walk one list of
 * sections (bench/report/sections.ts). For SYNTHETIC results (bench/compare/synthetic.ts,
 * "synthetic fixture (not measured)") made to exercise every section, call rows
 * and stream rows alike, each output holds every applying section's title, in
 * the list's order; the renderers take data and touch no file; the writer is
 * the one writer of report.md, results.csv and report.html.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readFileSync, readdirSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ResultsFile } from '../../bench/results/record.ts';
import { htmlReport, renderHtmlReport } from '../../bench/report/html.ts';
import { renderMarkdown } from '../../bench/report/markdown.ts';
import { reportInput } from '../../bench/report/section.ts';
import { buildReport, SECTIONS } from '../../bench/report/sections.ts';
import { renderTerminal, renderTerminalReport } from '../../bench/report/terminal.ts';
import { writeRunReports } from '../../bench/report/write.ts';
import { streamRecordsOf } from '../../bench/results/stream-record.ts';
import { assertSchemaValid, tempDir } from '../helpers/bench.ts';
import { everySection, streamsOnly, withContenders } from './every-section.ts';

/** The titles of the sections that apply to `results`, in the list's order. */
function applying(results: ResultsFile): string[] {
  const input = reportInput({ results });
  return SECTIONS.filter((s) => s.applies(input)).map((s) => s.title);
}

/** Each title found in `text` (case-insensitively for the terminal), and after the one before it. */
function assertInOrder(text: string, titles: readonly string[], output: string, ignoreCase = false): void {
  const haystack = ignoreCase ? text.toLowerCase() : text;
  let from = 0;
  for (const title of titles) {
    const at = haystack.indexOf(ignoreCase ? title.toLowerCase() : title, from);
    assert.ok(at !== -1, `${output}: no "${title}" after position ${from}`);
    from = at + title.length;
  }
}

describe('one report model: every output renders the same sections', () => {
  test('the fixtures follow the results contract and apply every section between them', () => {
    const every = everySection();
    const contenders = withContenders();
    assertSchemaValid(JSON.parse(JSON.stringify(every)));
    assertSchemaValid(JSON.parse(JSON.stringify(contenders)));
    const covered = new Set([...applying(every), ...applying(contenders)]);
    assert.deepEqual(SECTIONS.filter((s) => !covered.has(s.title)).map((s) => s.title), [], 'sections no fixture exercises');
    assert.deepEqual(SECTIONS.map((s) => s.title).filter((t) => !applying(every).includes(t)), ['Contenders']);
    assert.ok(applying(contenders).includes('Contenders') && !applying(contenders).includes('Comparison'));
    assert.deepEqual(applying(streamsOnly()), ['Run', 'Streams', 'In short', 'Every run', 'Failures', 'Errors by status']);
  });

  for (const [name, fixture] of [['every section but Contenders', everySection], ['--contenders', withContenders], ['stream rows only', streamsOnly]] as const) {
    test(`${name}: the terminal, report.md and report.html hold each applying section's title, in the list's order`, () => {
      const results = fixture();
      const titles = applying(results);
      const report = buildReport({ results });
      assert.deepEqual(report.parts.map((p) => p.section.title), titles);
      for (const { section, model } of report.parts) {
        // The terminal form may be a one-line pointer, but it names its section.
        assert.ok(section.terminal(model, {}).split('\n')[0]!.toLowerCase().includes(section.title.toLowerCase()), `terminal ${section.id}: ${section.terminal(model, {}).split('\n')[0]}`);
        assert.match(section.markdown(model), new RegExp(`^(<!-- callbench:charts:start -->\\n)?## ${section.title.replace(/[()]/g, '\\$&')}`), `markdown ${section.id}`);
        assert.ok(section.html(model).startsWith(`<h2>${section.title}`), `html ${section.id}`);
      }
      assertInOrder(renderTerminalReport(results), titles, 'terminal', true);
      assertInOrder(renderMarkdown(results), titles.map((t) => `## ${t}`), 'report.md');
      // Without drawn charts (the writer draws them), the Charts section names the files.
      const html = htmlReport(report);
      assertInOrder(html, titles.map((t) => `<h2>${t}`), 'report.html');
      for (const { section } of report.parts) assert.match(html, new RegExp(`<section id="${section.id}">`));
    });
  }

  test('stream rows: their table and sentences, and they are listed with the calls where runs are listed one by one', () => {
    const results = everySection();
    const terminal = renderTerminalReport(results);
    assert.match(terminal, /^streams \(8 concurrent, 1000 values each/m);
    assert.match(terminal, /^ {2}running-sum \(bidi stream\), 8 streams: WebSocket 1\.33× gRPC messages\/s$/m);
    assert.match(terminal, /^ {2}running-sum\/s8 rest websocket trial 2: stream ended early$/m);
    assert.match(terminal, /^every run: \d+ record\(s\) \(\d+ of calls, 3 of streams, which count messages\)/m);
    const md = renderMarkdown(results);
    assert.match(md, /## Streams[\s\S]*gap p50 ms/);
    assert.match(md, /## Failures\n\n(- .*\n)*- `running-sum\/s8` rest websocket trial 2: stream ended early/);
    assert.match(md, /^\| loopback \| `running-sum\/s8` \| rest websocket \|/m);
    assert.match(md, /## Errors by status\n\n(- .*\n)*- `running-sum\/s8` rest websocket trial 2: .*first error: stream ended early/);
    const html = renderHtmlReport(results, []);
    assert.match(html, /<table id="streams">/);
    assert.match(html, /<td class="l">rest websocket<\/td>/);
    // The call tables read the call rows only.
    assert.doesNotMatch(md.slice(md.indexOf('## Comparison'), md.indexOf('## Streams')), /running-sum/);
  });

  test('the two-part terminal call (call rows, then their stream records) renders the same sections', () => {
    const results = everySection();
    const calls = { ...results, runs: results.runs.filter((run) => run.unit !== 'message') };
    const split = renderTerminal(calls, { color: false, streams: streamRecordsOf(results) });
    assertInOrder(split, applying(results), 'terminal (two-part call)', true);
    assert.match(split, /^streams \(8 concurrent, 1000 values each/m);
    assert.match(split, /^ {2}running-sum \(bidi stream\), 8 streams: WebSocket 1\.33× gRPC messages\/s$/m);
  });

  test('renderers take data and touch no file; the writer writes each report file once, by rename', async () => {
    const results = everySection();
    const calls: string[] = [];
    // Every file function a renderer could reach, counted while the three outputs render (ESM imports of node:fs follow syncBuiltinESMExports).
    type AnyFn = (...args: unknown[]) => unknown;
    const sync = fs as unknown as Record<string, AnyFn>;
    const promises = fs.promises as unknown as Record<string, AnyFn>;
    const names = ['readFileSync', 'writeFileSync', 'existsSync', 'statSync', 'openSync', 'readdirSync', 'renameSync', 'mkdirSync'];
    const promiseNames = ['readFile', 'writeFile', 'readdir', 'stat', 'open', 'mkdir'];
    const saved = new Map(names.map((name) => [name, sync[name]!]));
    const savedPromises = new Map(promiseNames.map((name) => [name, promises[name]!]));
    for (const name of names) sync[name] = (...args) => (calls.push(`${name} ${String(args[0])}`), saved.get(name)!(...args));
    for (const name of promiseNames) promises[name] = (...args) => (calls.push(`promises.${name} ${String(args[0])}`), savedPromises.get(name)!(...args));
    syncBuiltinESMExports();
    try {
      renderTerminalReport(results);
      renderMarkdown(results);
      renderHtmlReport(results, []);
    } finally {
      for (const name of names) sync[name] = saved.get(name)!;
      for (const name of promiseNames) promises[name] = savedPromises.get(name)!;
      syncBuiltinESMExports();
    }
    assert.deepEqual(calls, [], 'file calls made while rendering');
    // report.html is rendered from data: the results, the drawn charts and (for an old folder) stream records; no path.
    assert.equal(renderHtmlReport.length, 2);

    const dir = tempDir('callbench-sections-');
    const written = await writeRunReports(dir, results);
    assert.deepEqual(written.slice(0, 3).map((file) => path.basename(file)), ['report.md', 'results.csv', 'report.html']);
    assert.deepEqual(readdirSync(dir).filter((file) => file.startsWith('.')), [], 'temporary files left');
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    assertInOrder(md, applying(results).map((t) => `## ${t}`), 'written report.md');
    assert.equal(md.match(/^## Segments$/gm)?.length, 1, 'one Segments section');
    assert.match(md, /<!-- callbench:charts:end -->\n$/);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, /<figure id="chart-[^"]+" data-chart="[^"]+">[\s\S]*<svg/);
  });
});
