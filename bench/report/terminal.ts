/**
 * What `npm run bench` prints on stdout once the runs are done: every section
 * of the report (bench/report/sections.ts) in its terminal form, in the same
 * order as report.md and report.html; the comparison table comes first after
 * one line on the run, the widest sections are one-line pointers to the files.
 */
import type { ResultsFile } from '../results/record.ts';
import type { StreamRecord } from '../results/stream-record.ts';
import { buildReport, type BuiltReport } from './sections.ts';
import type { TerminalOptions } from './section.ts';

/** The terminal text of a built report ('' when the file holds no rows). */
export function terminalReport(report: BuiltReport, options: TerminalOptions = {}): string {
  if (report.input.results.runs.length === 0 && report.input.streams.length === 0) return '';
  return `\n${report.parts.map(({ section, model }) => section.terminal(model, options)).join('\n\n')}\n`;
}

/** The whole results file (call and stream rows) as the terminal shows it. */
export function renderTerminalReport(results: ResultsFile, options: TerminalOptions = {}): string {
  return terminalReport(buildReport({ results }), options);
}

/**
 * As renderTerminalReport, for callers that split the file: `results` its call
 * rows, `streams` its stream records (options.streamScenario, measured after the
 * unary runs). Kept for bench/cli/bench.ts; renderTerminalReport(outcome.results)
 * is the same report with the stream rows in the run-by-run sections too.
 */
export function renderTerminal(results: ResultsFile, options: { color: boolean; streams?: readonly StreamRecord[] }): string {
  return terminalReport(buildReport({ results, streams: options.streams }), options);
}
