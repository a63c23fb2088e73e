/**
 * The sections of every report, in report order. terminal.ts, markdown.ts and
 * html-page.ts each walk this one list, so the terminal, report.md and
 * report.html show the same sections; adding one is a file (or an export in
 * its topic's file) and a line here.
 */
import { chartsSection } from './charts-section.ts';
import { comparisonSection } from './comparison.ts';
import { capacitySection } from './capacity.ts';
import { connectionCostSection } from './connection-cost.ts';
import { contendersSection } from './factorial.ts';
import { inShortSection } from './in-short.ts';
import { networksSection } from './network.ts';
import { networkSweepSection } from './network-sweep.ts';
import { placeSection } from './place.ts';
import { runSection } from './run-info.ts';
import { errorsSection, everyRunSection, failuresSection } from './runs.ts';
import { reportInput, type AnySection, type ReportInput, type ReportSource } from './section.ts';
import { segmentsSection } from './segments.ts';
import { streamsSection } from './streams.ts';
import { sweepSection } from './sweep-section.ts';

export const SECTIONS: readonly AnySection[] = [
  runSection,
  networksSection,
  // The headline table first; with --contenders the contenders' tables instead.
  comparisonSection,
  contendersSection,
  streamsSection,
  capacitySection,
  sweepSection,
  networkSweepSection,
  placeSection,
  connectionCostSection,
  segmentsSection,
  // The answer in one sentence per scenario, from the same numbers as the tables above.
  inShortSection,
  everyRunSection,
  failuresSection,
  errorsSection,
  // Last: report.md's charts block is the one a CI summary cuts off.
  chartsSection,
];

/** A report built once: the sections that apply, each with its model; every output renders this. */
export interface BuiltReport {
  input: ReportInput;
  parts: Array<{ section: AnySection; model: unknown }>;
}

export function buildReport(source: ReportSource, sections: readonly AnySection[] = SECTIONS): BuiltReport {
  const input = reportInput(source);
  return { input, parts: sections.filter((s) => s.applies(input)).map((section) => ({ section, model: section.model(input) })) };
}
