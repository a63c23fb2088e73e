/**
 * The Markdown document bench:ci posts (the workflow appends it to
 * $GITHUB_STEP_SUMMARY): the run's gRPC-vs-REST headline, its report.md, and
 * the comparison against the baseline, with whether the build should fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { parseMetrics } from '../compare/args.ts';
import { compareResults, failureNote, shouldFail } from '../compare/compare.ts';
import { comparisonMarkdown, protocolsMarkdown } from '../compare/markdown.ts';
import { loadResults, type LoadedResults } from '../results/read.ts';
import { callRowsOf } from '../results/stream-record.ts';
import { withoutChartsSection } from '../report/html.ts';

export interface CiReportOptions {
  baseline: string;
  threshold: number;
  metrics?: ReturnType<typeof parseMetrics>;
  failOnRegression: boolean;
  failAcrossMachines: boolean;
  /** Non-zero when the bench itself failed; reported at the top. */
  benchExitCode?: number;
}

/** The Markdown CI posts, and whether it should fail the build. Pure apart from reading the run's report.md. */
export function ciMarkdown(run: LoadedResults, options: CiReportOptions): { markdown: string; fail: boolean; noMatch: string | null } {
  const parts: string[] = ['# callbench: gRPC vs REST (CI, quick profile)', ''];
  const env = run.results.environment;
  const trials = Math.max(0, ...run.results.runs.map((r) => r.trial));
  parts.push(
    `Run on ${env.cpuModel} ×${env.cpuCount}, Node ${env.node}, ${env.os}; ${trials} trial(s) per scenario${env.gitCommit ? `, commit ${env.gitCommit.slice(0, 10)}` : ''}. ` +
      'report.html, charts/*.svg and results.json are in the workflow artifact.',
    '',
  );
  if (options.benchExitCode) {
    parts.push(`> ❌ **The bench exited with code ${options.benchExitCode}**; the figures below cover the runs that completed.`, '');
  }
  parts.push(protocolsMarkdown(callRowsOf(run.results), options.threshold));

  const mdPath = path.join(run.dir, 'report.md');
  if (existsSync(mdPath)) {
    // The run's own report, one heading level down, without the chart links (they do not resolve in a summary).
    const report = withoutChartsSection(readFileSync(mdPath, 'utf8')).replace(/^(#{1,5}) /gm, '#$1 ');
    parts.push('<details><summary>Full results of this run</summary>', '', report.trim(), '', '</details>', '');
  }

  let fail = false;
  let noMatch: string | null = null;
  const baselineFile = path.join(options.baseline, 'results.json');
  if (existsSync(options.baseline) && (existsSync(baselineFile) || options.baseline.endsWith('.json'))) {
    const base = loadResults(options.baseline);
    const comparison = compareResults(base.results, run.results, { threshold: options.threshold, metrics: options.metrics });
    fail = shouldFail(comparison, { failOnRegression: options.failOnRegression, acrossMachines: options.failAcrossMachines });
    parts.push(
      comparisonMarkdown(
        comparison,
        { label: options.baseline, environment: base.results.environment, results: base.results },
        { label: 'this run', environment: run.results.environment, results: run.results },
      ),
    );
    const note = failureNote(comparison.regressions, options.failOnRegression, fail);
    if (note) parts.push(note.trim(), '');
    // A baseline none of whose rows this run has compares nothing: a gate that would always pass.
    const matched = comparison.rows.filter((row) => row.verdict !== 'missing in head' && row.verdict !== 'new in head').length;
    if (matched === 0 && run.results.runs.length > 0) {
      noMatch = `no row of this run matches the baseline ${options.baseline} (rows match by scenario, protocol, transport, contender, driver, network and TLS); refresh it with npm run bench:baseline`;
      parts.push(`> ❌ ${noMatch}`, '');
      fail = true;
    }
  } else {
    parts.push('## Comparison', '', `No baseline at \`${options.baseline}\`: nothing to compare with. Create one with \`npm run bench:baseline\` (see docs/reports.md).`, '');
  }
  return { markdown: `${parts.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`, fail, noMatch };
}
