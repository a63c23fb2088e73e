/**
 * One section of the reports (STYLE.md, "One model, many kinds"): it knows
 * whether it applies to a results file, builds its model once, and renders that
 * model as terminal text, as Markdown (report.md) and as HTML (report.html).
 * The list of sections, in report order, is bench/report/sections.ts; every
 * output walks that list. Sections read no files: what a run folder holds
 * beside results.json (rendered charts, an old streams.json) comes in the input.
 */
import type { ResultsFile } from '../results/record.ts';
import { callRowsOf, streamRecordsOf, type StreamRecord } from '../results/stream-record.ts';
import type { RenderedChart } from './rendered-chart.ts';

/** What every section reads: the results file, read once, and its two kinds of rows. */
export interface ReportInput {
  /** The whole file: call rows and stream rows. */
  results: ResultsFile;
  /** The file with its call rows only (what the unary tables and charts read). */
  calls: ResultsFile;
  /** The stream rows as stream records (bench/results/stream-record.ts). */
  streams: readonly StreamRecord[];
  /** The charts drawn to SVG, when the caller drew them (the report writer); null: name the chart files only. */
  charts: readonly RenderedChart[] | null;
}

export interface ReportSource {
  results: ResultsFile;
  /** Stream records from outside the file's rows: a run folder from before schema 4 kept them in streams.json. */
  streams?: readonly StreamRecord[];
  charts?: readonly RenderedChart[] | null;
}

export function reportInput(source: ReportSource): ReportInput {
  const fromRows = streamRecordsOf(source.results);
  return {
    results: source.results,
    calls: callRowsOf(source.results),
    streams: fromRows.length > 0 ? fromRows : (source.streams ?? []),
    charts: source.charts ?? null,
  };
}

export interface TerminalOptions {
  /** ANSI colour for flagged rows (default: off). */
  color?: boolean;
}

export interface Section<M> {
  /** Stable key: the HTML section's id, the test's handle. */
  id: string;
  /** The words every output's heading of this section contains (the terminal's in lower case). */
  title: string;
  applies(input: ReportInput): boolean;
  model(input: ReportInput): M;
  /** Lines for the terminal, no trailing newline; a heavy section may be a one-line pointer to the files. */
  terminal(model: M, options: TerminalOptions): string;
  /** A report.md block starting with its heading, no trailing newline. */
  markdown(model: M): string;
  /** An HTML fragment starting with its <h2>; the page wraps it in <section id>. */
  html(model: M): string;
}

/** A section with its model type hidden, so sections of different models share one list. */
export type AnySection = Section<unknown>;

export function section<M>(definition: Section<M>): AnySection {
  return definition as unknown as AnySection;
}
