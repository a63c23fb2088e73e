/**
 * report.html and charts/*.svg from SYNTHETIC results (bench/compare/synthetic.ts,
 * labelled "synthetic fixture (not measured)"), checked in a real headless
 * Chromium: the page loads from disk with no network request, every chart is
 * an SVG with drawn marks, and a screenshot is saved for a human to look at.
 * The browser test skips with a one-line reason when /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { syntheticResults } from '../../bench/compare/synthetic.ts';
import { chartSpecs, latencyCurve, nines, renderCharts } from '../../bench/report/charts.ts';
import { chartsMarkdown, renderHtmlReport, withChartsSection, writeHtmlReport } from '../../bench/report/html.ts';
import { runReportCli } from '../../bench/cli/report.ts';

const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('charts (synthetic results)', () => {
  test('the nines axis puts 50/90/99/99.9 at 0.3/1/2/3', () => {
    assert.ok(Math.abs(nines(50) - 0.30103) < 1e-4);
    assert.ok(Math.abs(nines(90) - 1) < 1e-9);
    assert.ok(Math.abs(nines(99) - 2) < 1e-9);
    assert.ok(Math.abs(nines(99.9) - 3) < 1e-9);
  });

  test('a latency curve uses the full distribution when the record has one, else the summary, and ends at max', () => {
    const [summaryRun] = syntheticResults({ trials: 1 }).runs;
    const curve = latencyCurve(summaryRun!);
    assert.deepEqual(curve.slice(0, 4).map((p) => p.percentile), [50, 90, 99, 99.9]);
    assert.equal(curve.at(-1)!.ms, summaryRun!.latencyMs!.max);
    const [fullRun] = syntheticResults({ trials: 1, fullPercentiles: true }).runs;
    assert.deepEqual(latencyCurve(fullRun!).slice(0, 9).map((p) => p.percentile), [50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]);
  });

  test('a run without sum scenarios gets no bytes chart; an empty run gets no charts', () => {
    assert.deepEqual(chartSpecs(syntheticResults({ sizes: [] })).map((c) => c.id), ['throughput', 'p99', 'latency-percentiles']);
    assert.deepEqual(chartSpecs({ ...syntheticResults(), runs: [] }), []);
  });

  test('charts render to SVG with marks in Node (vega headless)', async () => {
    const charts = await renderCharts(syntheticResults());
    assert.deepEqual(charts.map((c) => c.file), ['charts/throughput.svg', 'charts/p99.svg', 'charts/latency-percentiles.svg', 'charts/bytes-per-call.svg']);
    for (const chart of charts) {
      assert.match(chart.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, chart.id);
      assert.match(chart.svg, /class="mark-(line|symbol)/, `${chart.id} has marks`);
      assert.doesNotMatch(chart.svg, /https?:\/\/(?!www\.w3\.org)/, `${chart.id} references nothing on the network`);
    }
  });

  test('the report.md charts section is inserted once and replaced on re-render', () => {
    const section = chartsMarkdown([{ title: 'T', file: 'charts/t.svg' }]);
    const once = withChartsSection('# Report\n', section);
    const twice = withChartsSection(once, section);
    assert.equal(once, twice);
    assert.match(once, /!\[T\]\(charts\/t\.svg\)/);
  });
});

describe('report.html in headless Chromium (synthetic results)', () => {
  let browser: Browser | undefined;
  let dir: string;
  const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (apt-get install -y chromium)`;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'callbench-report-'));
    const results = syntheticResults({ boundFrom: 256 });
    await writeFile(path.join(dir, 'results.json'), JSON.stringify(results));
    await writeFile(path.join(dir, 'report.md'), '# callbench report (test)\n');
    if (!skip) browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  });
  after(async () => {
    await browser?.close();
  });

  test('bench:report renders report.html, charts/*.svg and links them from report.md', async () => {
    const out = await runReportCli([dir]);
    assert.match(out, /report\.html/);
    const md = await readFile(path.join(dir, 'report.md'), 'utf8');
    for (const id of ['throughput', 'p99', 'latency-percentiles', 'bytes-per-call']) {
      assert.ok(existsSync(path.join(dir, 'charts', `${id}.svg`)), id);
      assert.match(md, new RegExp(`\\(charts/${id}\\.svg\\)`));
    }
    const html = await readFile(path.join(dir, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<script/i, 'no scripts');
    assert.doesNotMatch(html, /(src|href)="https?:/i, 'no remote resources');
  });

  test('opens from disk without network, every chart is a non-empty SVG; screenshot saved', { skip }, async () => {
    const file = path.join(dir, 'report.html');
    if (!existsSync(file)) await writeHtmlReport(dir, JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')));
    const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(`file://${file}`);
    const charts = await page.$$eval('figure[data-chart]', (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: figure.getAttribute('data-chart'),
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg ? svg.querySelectorAll('.mark-line path, .mark-symbol path, .mark-rule line').length : 0,
        };
      }),
    );
    assert.deepEqual(charts.map((c) => c.id), ['throughput', 'p99', 'latency-percentiles', 'bytes-per-call']);
    for (const chart of charts) {
      assert.ok(chart.width > 100 && chart.height > 100, `${chart.id} is drawn (${chart.width}×${chart.height})`);
      assert.ok(chart.marks > 0, `${chart.id} has marks`);
    }
    assert.ok((await page.$$('#results tbody tr')).length > 0, 'results table has rows');
    assert.match(await page.textContent('ul.headline') ?? '', /gRPC .*× REST calls\/s/);
    assert.deepEqual(requests, [], 'no network requests');
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await readFile(shot)).length > 10_000);
    process.stdout.write(`# screenshot: ${shot}\n`);
    await page.close();
  });

  test('at 1400 px (and 1000 px) no chart extends past the page or its box; the latency panels wrap', { skip }, async () => {
    // Latencies ×100 (a slow link): y labels like "10,000" widen every panel; the three-column
    // faceted SVG is then 1214 px wide, past the page's 1160 px, and its third column was cut off.
    const slow = syntheticResults({ boundFrom: 256 });
    for (const run of slow.runs) {
      const latency = run.latencyMs as Record<string, number> | null;
      if (latency) for (const key of Object.keys(latency)) latency[key]! *= 100;
    }
    const slowDir = await mkdtemp(path.join(os.tmpdir(), 'callbench-report-layout-'));
    await writeHtmlReport(slowDir, slow);
    const file = path.join(slowDir, 'report.html');
    for (const width of [1400, 1000]) {
      const page = await browser!.newPage({ viewport: { width, height: 900 } });
      await page.goto(`file://${file}`);
      const layout = await page.$$eval('figure[data-chart]', (figures) =>
        figures.map((figure) => {
          const box = figure.querySelector('.chart')!.getBoundingClientRect();
          const svgs = [...figure.querySelectorAll('svg')].map((svg) => svg.getBoundingClientRect());
          return {
            id: figure.getAttribute('data-chart'),
            box: { left: box.left, right: box.right },
            svgs: svgs.map((r) => ({ left: r.left, right: r.right, top: r.top })),
            pageRight: document.documentElement.clientWidth,
          };
        }),
      );
      for (const chart of layout) {
        for (const svg of chart.svgs) {
          // 0.5 px: sub-pixel rounding of scaled SVGs.
          assert.ok(svg.right <= chart.pageRight + 0.5, `${width} px: ${chart.id} ends at ${svg.right}, past the page's edge at ${chart.pageRight}`);
          assert.ok(svg.right <= chart.box.right + 0.5 && svg.left >= chart.box.left - 0.5, `${width} px: ${chart.id} [${svg.left}, ${svg.right}] leaves its box [${chart.box.left}, ${chart.box.right}]`);
        }
      }
      const latency = layout.find((c) => c.id === 'latency-percentiles')!;
      const rows = new Set(latency.svgs.map((svg) => Math.round(svg.top))).size;
      // 7 scenarios in the synthetic run: 3 per row at 1400 px (3 rows), 2 per row at 1000 px (4 rows).
      assert.equal(latency.svgs.length, 7);
      assert.equal(rows, width === 1400 ? 3 : 4, `${width} px: ${rows} rows of panels`);
      await page.close();
    }
  });

  test('renderHtmlReport escapes text from the results', () => {
    const results = syntheticResults({ trials: 1 });
    results.environment.cpuModel = '<script>alert(1)</script>';
    assert.doesNotMatch(renderHtmlReport(results, []), /<script>alert/);
  });
});
