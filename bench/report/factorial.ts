/**
 * The factorial report of a --contenders run: which part of gRPC's advantage
 * over REST is HTTP/2, which is protobuf, which is the framework?
 *
 * Per scenario:
 * - the contenders as rows, fastest first (calls/s, p50, p99, bytes/call, server CPU);
 * - a 2x2 table {HTTP/1.1, HTTP/2} x {JSON, protobuf}: in each cell the best
 *   contender and the default one (express, grpc-js) with calls/s, p99
 *   and bytes per call (request + response, on the wire);
 * - sentences that attribute the difference, each with the measured ratio of
 *   calls/s it rests on: transport (same encoding, same-style implementation,
 *   HTTP/1.1 vs h2), encoding (same transport and style, JSON vs protobuf) and
 *   implementation (same cell, framework vs bare), and the default pair's gap
 *   (grpc-js / express) as a chain of those ratios whose product is the gap;
 * - when a Go contender was asked for, a second 2x2 with the language as a
 *   factor, {Node, Go} x {gRPC, REST} (gRPC = the HTTP/2 protobuf cell, REST
 *   = the HTTP/1.1 JSON cell: the default pair's two cells), and its ratios:
 *   gRPC / REST in each language, Go / Node in each protocol.
 * A cell or ratio that was not measured is "—" with the reason; nothing is guessed.
 * Pure functions over a ResultsFile: printers return strings.
 */
import type { ContenderInfo, ContenderReport, ResultsFile, RunRecord } from '../results/record.ts';
import { CLIENT_BOUND_PERCENT, SERVER_BUSY_PERCENT } from '../results/client-bound.ts';
import { runsByScenario, spread } from '../results/summary.ts';
import { compact, fixed } from '../compare/labels.ts';
import { markdownRow, markdownTable } from './markdown-table.ts';
import { escapeHtml, htmlList, htmlTable } from './html-parts.ts';
import { section } from './section.ts';

export type Factor = 'transport' | 'encoding' | 'implementation' | 'protocol' | 'language';
export type Wire = 'http1' | 'h2';
export type Encoding = 'json' | 'protobuf';
export type Language = 'node' | 'go';
export type ApiProtocol = 'grpc' | 'rest';

/**
 * One measured ratio: calls/s of `over` / calls/s of `under`, the two
 * differing in one factor only (as far as the registry allows). Order matters:
 * the first comparison of a factor whose contenders were both measured is the
 * one the sentence names; the others follow as "also".
 */
export interface Comparison {
  factor: Factor;
  over: string;
  under: string;
  /** What is held equal, in a few words. */
  held: string;
}

export const COMPARISONS: readonly Comparison[] = [
  { factor: 'transport', over: 'rest-h2', under: 'node-http', held: 'JSON, bare node (node:http2 vs node:http)' },
  { factor: 'transport', over: 'fastify-h2', under: 'fastify', held: 'JSON, fastify 5' },
  { factor: 'transport', over: 'connect-grpc', under: 'connect-h1', held: 'protobuf, connect-node (gRPC vs Connect protocol)' },
  { factor: 'encoding', over: 'rest-protobuf-h1', under: 'node-http', held: 'HTTP/1.1, bare node:http' },
  { factor: 'encoding', over: 'node-http2-grpc', under: 'rest-h2', held: 'h2, bare node:http2 (protobuf in gRPC framing vs JSON)' },
  { factor: 'implementation', over: 'node-http', under: 'express', held: 'HTTP/1.1 JSON, bare node:http vs express' },
  { factor: 'implementation', over: 'node-http', under: 'fastify', held: 'HTTP/1.1 JSON, bare node:http vs fastify' },
  { factor: 'implementation', over: 'node-http2-grpc', under: 'grpc-js', held: 'h2 protobuf (gRPC), bare node:http2 vs grpc-js' },
  { factor: 'implementation', over: 'node-http2-grpc', under: 'connect-grpc', held: 'h2 protobuf (gRPC), bare node:http2 vs connect-node' },
  { factor: 'implementation', over: 'rest-h2', under: 'fastify-h2', held: 'h2 JSON, bare node:http2 vs fastify' },
];

/**
 * The default pair's gap grpc-js / express as a chain whose ratios multiply to it
 * exactly: express -> node-http (framework, HTTP/1.1 JSON) -> rest-h2 (transport)
 * -> node-http2-grpc (encoding + gRPC framing, on h2) -> grpc-js (framework, gRPC).
 */
export const DEFAULT_PAIR_CHAIN: readonly Comparison[] = [
  { factor: 'implementation', over: 'node-http', under: 'express', held: 'HTTP/1.1 JSON' },
  { factor: 'transport', over: 'rest-h2', under: 'node-http', held: 'JSON, bare node' },
  { factor: 'encoding', over: 'node-http2-grpc', under: 'rest-h2', held: 'h2, bare node:http2' },
  { factor: 'implementation', over: 'grpc-js', under: 'node-http2-grpc', held: 'h2 protobuf (gRPC)' },
];
export const DEFAULT_PAIR_GAP: Comparison = { factor: 'implementation', over: 'grpc-js', under: 'express', held: 'the default pair' };

/** The cells of the language table: gRPC and REST as the default pair serves them. */
export const PROTOCOL_CELLS: Readonly<Record<ApiProtocol, { wire: Wire; encoding: Encoding }>> = {
  grpc: { wire: 'h2', encoding: 'protobuf' },
  rest: { wire: 'http1', encoding: 'json' },
};

/**
 * The language table's ratios. protocol: gRPC / REST within one language (the
 * default pair's question, asked again in Go); language: Go / Node within one
 * protocol, the library of each (grpc-go vs grpc-js, and for REST both the
 * default framework and the standard library).
 */
export const LANGUAGE_COMPARISONS: readonly Comparison[] = [
  { factor: 'protocol', over: 'grpc-js', under: 'express', held: 'Node, the default pair' },
  { factor: 'protocol', over: 'grpc-go', under: 'go-net-http', held: 'Go, grpc-go vs net/http' },
  { factor: 'protocol', over: 'node-http2-grpc', under: 'node-http', held: 'Node, bare node:http2 vs node:http' },
  { factor: 'language', over: 'grpc-go', under: 'grpc-js', held: 'gRPC, grpc-go vs @grpc/grpc-js' },
  { factor: 'language', over: 'go-net-http', under: 'express', held: 'REST, net/http vs express 5' },
  { factor: 'language', over: 'go-net-http', under: 'node-http', held: 'REST, net/http vs node:http (standard library on both sides)' },
];

export interface ContenderFigures {
  contender: ContenderInfo;
  driver: string;
  runs: number;
  /** Medians over completed trials; null when none completed or the figure was not measured. */
  rps: number | null;
  p50: number | null;
  p99: number | null;
  /** Request + response bytes per call on the wire (headers and framing included). */
  bytesPerCall: number | null;
  requestBytes: number | null;
  responseBytes: number | null;
  serverCpuMsPer1k: number | null;
  /** A completed run's load generator used a full core while the server did not (bench/results/client-bound.ts): the row measures the client. */
  clientBound: boolean;
  errors: number;
  requests: number;
  failed: string | null;
}

export interface Cell {
  wire: Wire;
  encoding: Encoding;
  best: ContenderFigures | null;
  /** The default server of this cell (express, grpc-js), when it is one of them and was measured. */
  defaultServer: ContenderFigures | null;
  /** Why the cell is empty ("—"); null when it has a best. */
  missing: string | null;
}

/** A cell of the language table: the best contender of a language and protocol, and the default server there. */
export interface LanguageCell {
  language: Language;
  protocol: ApiProtocol;
  best: ContenderFigures | null;
  defaultServer: ContenderFigures | null;
  missing: string | null;
}

export interface Ratio {
  comparison: Comparison;
  value: number | null;
  /** Why the ratio is missing; null when measured. */
  missing: string | null;
}

export interface FactorialScenario {
  scenario: string;
  /** Fastest first; contenders without calls/s last. */
  contenders: ContenderFigures[];
  cells: Cell[];
  ratios: Ratio[];
  /** grpc-js / express and its chain; null value with a reason when a link is missing. */
  chain: { total: Ratio; links: Ratio[] };
  /** {Node, Go} x {gRPC, REST} and its ratios; null when no Go contender was asked for. */
  languages: { cells: LanguageCell[]; ratios: Ratio[] } | null;
}

export const WIRES: readonly Wire[] = ['http1', 'h2'];
export const LANGUAGES: readonly Language[] = ['node', 'go'];
export const API_PROTOCOLS: readonly ApiProtocol[] = ['grpc', 'rest'];
const LANGUAGE_TITLE: Readonly<Record<Language, string>> = { node: 'Node', go: 'Go' };
const PROTOCOL_TITLE: Readonly<Record<ApiProtocol, string>> = { grpc: 'gRPC', rest: 'REST' };

function languageOf(contender: Pick<ContenderInfo, 'language'>): Language {
  return contender.language ?? 'node';
}
export const ENCODINGS: readonly Encoding[] = ['json', 'protobuf'];
const WIRE_TITLE: Readonly<Record<Wire, string>> = { http1: 'HTTP/1.1', h2: 'HTTP/2' };
const ENCODING_TITLE: Readonly<Record<Encoding, string>> = { json: 'JSON', protobuf: 'protobuf' };

export function hasContenders(results: ResultsFile): boolean {
  return (results.contenders?.length ?? 0) > 0 || results.runs.some((run) => run.contender);
}

export function buildFactorial(results: ResultsFile): FactorialScenario[] {
  const reports = results.contenders ?? [];
  return [...runsByScenario(results.runs.filter((run) => run.contender))].map(([scenario, runs]) => {
    const names = [...new Set(runs.map((run) => run.contender!.name))];
    const contenders = names
      .map((name) => figuresOf(runs.filter((run) => run.contender!.name === name)))
      .sort((a, b) => (b.rps ?? -1) - (a.rps ?? -1));
    const byName = new Map(contenders.map((figures) => [figures.contender.name, figures]));
    const cells: Cell[] = [];
    for (const wire of WIRES) {
      for (const encoding of ENCODINGS) {
        const here = contenders.filter((f) => f.contender.wire === wire && f.contender.encoding === encoding);
        const measured = here.filter((f) => f.rps !== null);
        const best = measured[0] ?? null;
        const defaultServer = measured.find((f) => f.contender.isDefault === true) ?? null;
        cells.push({ wire, encoding, best, defaultServer, missing: best ? null : cellMissing(wire, encoding, here, reports) });
      }
    }
    const ratio = (comparison: Comparison): Ratio => ratioOf(comparison, byName, reports);
    const withGo = contenders.some((f) => languageOf(f.contender) === 'go') || reports.some((r) => languageOf(r) === 'go');
    return {
      scenario,
      contenders,
      cells,
      ratios: COMPARISONS.map(ratio),
      chain: { total: ratio(DEFAULT_PAIR_GAP), links: DEFAULT_PAIR_CHAIN.map(ratio) },
      languages: withGo ? { cells: languageCells(contenders, reports), ratios: LANGUAGE_COMPARISONS.map(ratio) } : null,
    };
  });
}

function languageCells(contenders: ContenderFigures[], reports: ContenderReport[]): LanguageCell[] {
  const cells: LanguageCell[] = [];
  for (const language of LANGUAGES) {
    for (const protocol of API_PROTOCOLS) {
      const { wire, encoding } = PROTOCOL_CELLS[protocol];
      const here = contenders.filter((f) => languageOf(f.contender) === language && f.contender.wire === wire && f.contender.encoding === encoding);
      const measured = here.filter((f) => f.rps !== null);
      const best = measured[0] ?? null;
      const defaultServer = measured.find((f) => f.contender.isDefault === true) ?? null;
      let missing: string | null = null;
      if (!best) {
        const reasons = here.map((f) => `${f.contender.name} run failed${f.failed ? `: ${f.failed}` : ''}`);
        for (const report of reports) {
          if (!report.measured && languageOf(report) === language && report.wire === wire && report.encoding === encoding) reasons.push(notMeasured(report));
        }
        missing = reasons.length > 0 ? reasons.join('; ') : `no ${LANGUAGE_TITLE[language]} ${PROTOCOL_TITLE[protocol]} contender in --contenders`;
      }
      cells.push({ language, protocol, best, defaultServer, missing });
    }
  }
  return cells;
}

function figuresOf(runs: RunRecord[]): ContenderFigures {
  const ok = runs.filter((run) => run.status === 'completed');
  const median = (values: (number | null | undefined)[]): number | null => spread(values)?.median ?? null;
  const requestBytes = median(ok.map((r) => r.wire.requestBytesPerCall));
  const responseBytes = median(ok.map((r) => r.wire.responseBytesPerCall));
  const failedRun = runs.find((run) => run.status === 'failed');
  return {
    contender: runs[0]!.contender!,
    driver: runs[0]!.driver,
    runs: runs.length,
    rps: median(ok.map((r) => (r.requests > 0 ? r.rps : null))),
    p50: median(ok.map((r) => r.latencyMs?.p50)),
    p99: median(ok.map((r) => r.latencyMs?.p99)),
    bytesPerCall: requestBytes !== null && responseBytes !== null ? requestBytes + responseBytes : null,
    requestBytes,
    responseBytes,
    serverCpuMsPer1k: median(ok.map((r) => r.server.cpuMsPer1kCalls)),
    clientBound: ok.some((r) => r.client.bound === true),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    requests: runs.reduce((sum, r) => sum + r.requests, 0),
    failed: failedRun ? (failedRun.failure ?? 'failed') : null,
  };
}

function notMeasured(report: ContenderReport): string {
  if (report.failure) return `${report.name} ${report.failure}`;
  return `${report.name} failed conformance (${report.conformance.failures.length} of ${report.conformance.cases} cases)`;
}

function cellMissing(wire: Wire, encoding: Encoding, here: ContenderFigures[], reports: ContenderReport[]): string {
  const reasons: string[] = here.map((f) => `${f.contender.name} run failed${f.failed ? `: ${f.failed}` : ''}`);
  for (const report of reports) {
    if (!report.measured && report.wire === wire && report.encoding === encoding) reasons.push(notMeasured(report));
  }
  return reasons.length > 0 ? reasons.join('; ') : `no ${WIRE_TITLE[wire]} ${ENCODING_TITLE[encoding]} contender in --contenders`;
}

function ratioOf(comparison: Comparison, byName: ReadonlyMap<string, ContenderFigures>, reports: ContenderReport[]): Ratio {
  const why = (name: string): string | null => {
    const figures = byName.get(name);
    if (figures && figures.rps !== null && figures.rps > 0) return null;
    if (figures) return `${name} run failed${figures.failed ? `: ${figures.failed}` : ''}`;
    const report = reports.find((r) => r.name === name);
    return report && !report.measured ? notMeasured(report) : `${name} not in --contenders`;
  };
  const missing = [why(comparison.over), why(comparison.under)].filter((reason): reason is string => reason !== null);
  if (missing.length > 0) return { comparison, value: null, missing: missing.join('; ') };
  return { comparison, value: byName.get(comparison.over)!.rps! / byName.get(comparison.under)!.rps!, missing: null };
}

// ---- text ----

/** 4.93×, 1.09×, 12.4× */
export function times(value: number): string {
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

function ratioText(ratio: Ratio): string {
  const { over, under } = ratio.comparison;
  return ratio.value === null ? `${over} / ${under} = — (${ratio.missing})` : `${over} / ${under} = ${times(ratio.value)}`;
}

/** One line per factor: the first measured comparison, then the others as "also". */
export function attributionSentences(scenario: FactorialScenario): string[] {
  const lines: string[] = [];
  for (const factor of ['transport', 'encoding', 'implementation'] as const) {
    const mine = scenario.ratios.filter((r) => r.comparison.factor === factor);
    const headline = mine.find((r) => r.value !== null) ?? mine[0]!;
    const others = mine.filter((r) => r !== headline && r.value !== null);
    lines.push(
      `${factor}: ${ratioText(headline)}` +
        (headline.value !== null ? ` (${headline.comparison.held})` : '') +
        (others.length > 0 ? `; also ${others.map(ratioText).join(', ')}` : ''),
    );
  }
  const { total, links } = scenario.chain;
  if (total.value !== null && links.every((link) => link.value !== null)) {
    lines.push(
      `default pair: grpc-js / express = ${times(total.value)} = ` +
        links.map((link) => `${times(link.value!)} (${link.comparison.factor}: ${link.comparison.over} / ${link.comparison.under})`).join(' × '),
    );
    const gap = Math.log(total.value);
    if (Math.abs(gap) > 1e-9) {
      const byFactor = (['implementation', 'transport', 'encoding'] as const).map((factor) => {
        const log = links.filter((link) => link.comparison.factor === factor).reduce((sum, link) => sum + Math.log(link.value!), 0);
        return `${factor} ${Math.round((log / gap) * 100)}%`;
      });
      lines.push(`share of the default pair's gap (log of the ratios; negative = works against it): ${byFactor.join(', ')}`);
    }
  } else {
    const missing = [total, ...links].find((r) => r.value === null);
    lines.push(`default pair: grpc-js / express = ${total.value === null ? '—' : times(total.value)}; its split into factors: — (${missing?.missing})`);
  }
  return lines;
}

/** The language table's sentences: gRPC / REST in each language, then Go / Node in each protocol; measured pairs only. */
export function languageSentences(scenario: FactorialScenario): string[] {
  if (!scenario.languages) return [];
  const lines: string[] = [];
  for (const factor of ['protocol', 'language'] as const) {
    const mine = scenario.languages.ratios.filter((r) => r.comparison.factor === factor);
    const measured = mine.filter((r) => r.value !== null);
    const title = factor === 'protocol' ? 'gRPC / REST' : 'Go / Node';
    lines.push(
      measured.length > 0
        ? `${title}: ${measured.map((r) => `${ratioText(r)} (${r.comparison.held})`).join('; ')}`
        : `${title}: ${ratioText(mine[0]!)}`,
    );
  }
  return lines;
}

function languageGrid(scenario: FactorialScenario, join: (lines: string[]) => string): string[][] {
  const rows: string[][] = [];
  for (const language of LANGUAGES) {
    rows.push([
      LANGUAGE_TITLE[language],
      ...API_PROTOCOLS.map((protocol) => join(cellText(scenario.languages!.cells.find((c) => c.language === language && c.protocol === protocol)!))),
    ]);
  }
  return rows;
}

function cellText(cell: Pick<Cell, 'best' | 'defaultServer' | 'missing'>): string[] {
  if (!cell.best) return [`— (${cell.missing})`];
  const describe = (f: ContenderFigures): string =>
    `${f.contender.name} ${f.rps === null ? '—' : compact(f.rps)} calls/s, p99 ${f.p99 === null ? '—' : fixed(f.p99)} ms, ${f.bytesPerCall === null ? '—' : Math.round(f.bytesPerCall)} B/call`;
  const lines = [`best: ${describe(cell.best)}`];
  if (cell.defaultServer && cell.defaultServer !== cell.best) lines.push(`default: ${describe(cell.defaultServer)}`);
  else if (cell.defaultServer) lines.push('(the default server)');
  return lines;
}

function contenderRow(f: ContenderFigures, fastest: number | null): string[] {
  return [
    f.contender.name + (f.contender.isDefault ? ' *' : ''),
    LANGUAGE_TITLE[languageOf(f.contender)],
    WIRE_TITLE[f.contender.wire],
    ENCODING_TITLE[f.contender.encoding],
    f.contender.implementation,
    f.driver,
    f.rps === null ? (f.failed ? 'FAILED' : '—') : compact(f.rps),
    f.rps === null || fastest === null ? '—' : `${Math.round((f.rps / fastest) * 100)}%`,
    f.p50 === null ? '—' : fixed(f.p50),
    f.p99 === null ? '—' : fixed(f.p99),
    f.requestBytes === null || f.responseBytes === null ? '—' : `${Math.round(f.requestBytes)}/${Math.round(f.responseBytes)}`,
    f.serverCpuMsPer1k === null ? '—' : fixed(f.serverCpuMsPer1k),
    String(f.errors),
    f.clientBound ? 'client-bound' : '',
  ];
}

const CONTENDER_HEADER = ['contender', 'language', 'wire', 'encoding', 'implementation', 'driver', 'calls/s', 'vs fastest', 'p50 ms', 'p99 ms', 'req/resp B/call', 'srv CPU ms/1k', 'errors', 'flags'];

function notMeasuredLines(results: ResultsFile): string[] {
  return (results.contenders ?? []).filter((r) => !r.measured).map((r) => {
    const detail = r.failure ?? r.conformance.failures.slice(0, 5).join('; ') + (r.conformance.failures.length > 5 ? '; …' : '');
    return `${r.name} (${WIRE_TITLE[r.wire]} ${ENCODING_TITLE[r.encoding]}, ${r.implementation}): NOT MEASURED — ${r.failure ? detail : `failed conformance, ${r.conformance.failures.length} of ${r.conformance.cases} cases: ${detail}`}`;
  });
}

/** What the three renderings of the factorial read: the scenarios built once and the contenders not measured. */
export interface FactorialModel {
  scenarios: FactorialScenario[];
  notMeasured: string[];
}

export function factorialModel(results: ResultsFile): FactorialModel {
  return { scenarios: buildFactorial(results), notMeasured: notMeasuredLines(results) };
}

/** Terminal form: per scenario the contender table, the 2x2 table and the sentences. */
export function renderFactorial(results: ResultsFile): string {
  return factorialText(factorialModel(results));
}

function factorialText(model: FactorialModel): string {
  const out: string[] = [];
  const scenarios = model.scenarios;
  for (const s of scenarios) {
    out.push(`${s.scenario}: contenders, fastest first (* = the default pair)`);
    const fastest = s.contenders[0]?.rps ?? null;
    out.push(...grid([CONTENDER_HEADER, ...s.contenders.map((f) => contenderRow(f, fastest))], [0, 1, 2, 3, 4, 5, CONTENDER_HEADER.length - 1]));
    out.push('', `${s.scenario}: 2x2 (best contender; the default server where it is not the best)`);
    const rows: string[][] = [['', ...ENCODINGS.map((e) => ENCODING_TITLE[e])]];
    for (const wire of WIRES) {
      const cells = ENCODINGS.map((encoding) => cellText(s.cells.find((c) => c.wire === wire && c.encoding === encoding)!));
      const height = Math.max(...cells.map((c) => c.length));
      for (let line = 0; line < height; line++) rows.push([line === 0 ? WIRE_TITLE[wire] : '', ...cells.map((c) => c[line] ?? '')]);
    }
    out.push(...grid(rows, [0, 1, 2]));
    out.push('', ...attributionSentences(s).map((line) => `  ${line}`), '');
    if (s.languages) {
      out.push(`${s.scenario}: language x protocol (gRPC = HTTP/2 protobuf, REST = HTTP/1.1 JSON; best contender, the default server where it is not the best)`);
      const rows: string[][] = [['', ...API_PROTOCOLS.map((p) => PROTOCOL_TITLE[p])]];
      for (const language of LANGUAGES) {
        const cells = API_PROTOCOLS.map((protocol) => cellText(s.languages!.cells.find((c) => c.language === language && c.protocol === protocol)!));
        const height = Math.max(...cells.map((c) => c.length));
        for (let line = 0; line < height; line++) rows.push([line === 0 ? LANGUAGE_TITLE[language] : '', ...cells.map((c) => c[line] ?? '')]);
      }
      out.push(...grid(rows, [0, 1, 2]), '', ...languageSentences(s).map((line) => `  ${line}`), '');
    }
  }
  const skipped = model.notMeasured;
  if (skipped.length > 0) out.push(...skipped, '');
  if (scenarios.length > 0) {
    out.push(
      'Ratios are calls/s of the first over the second (median over trials); > 1× means the first is faster. B/call = request + response bytes on the wire.',
      `client-bound = the load generator used >= ${CLIENT_BOUND_PERCENT}% of a core while the server used < ${SERVER_BUSY_PERCENT}%: that row measures the client.`,
      'On a shared or busy machine, differences under ~20% are noise; read the large ratios.',
    );
  }
  return `${out.join('\n')}\n`;
}

/** report.md form. */
export function renderFactorialMarkdown(results: ResultsFile): string {
  return factorialMarkdown(factorialModel(results));
}

function factorialMarkdown(model: FactorialModel): string {
  const out: string[] = [];
  const scenarios = model.scenarios;
  for (const s of scenarios) {
    out.push(`### \`${s.scenario}\``, '');
    const fastest = s.contenders[0]?.rps ?? null;
    out.push(...markdownTable(CONTENDER_HEADER, s.contenders.map((f) => contenderRow(f, fastest)), (i) => i < 6));
    out.push('', `| ${s.scenario} | JSON | protobuf |`, '| --- | --- | --- |');
    for (const wire of WIRES) {
      const cells = ENCODINGS.map((encoding) => cellText(s.cells.find((c) => c.wire === wire && c.encoding === encoding)!).join('<br>'));
      out.push(markdownRow([`**${WIRE_TITLE[wire]}**`, ...cells]));
    }
    out.push('', ...attributionSentences(s).map((line) => `- ${line}`), '');
    if (s.languages) {
      out.push(`| ${s.scenario} | gRPC (HTTP/2 protobuf) | REST (HTTP/1.1 JSON) |`, '| --- | --- | --- |');
      for (const [title, ...cells] of languageGrid(s, (lines) => lines.join('<br>'))) out.push(markdownRow([`**${title}**`, ...cells]));
      out.push('', ...languageSentences(s).map((line) => `- ${line}`), '');
    }
  }
  const skipped = model.notMeasured;
  if (skipped.length > 0) out.push('### Not measured', '', ...skipped.map((line) => `- ${line}`), '');
  out.push(`\\* = the default pair (express for REST, grpc-js for gRPC). ${LEGEND}`, '');
  return out.join('\n');
}

const LEGEND =
  'Ratios are calls/s of the first contender over the second (medians over trials); each holds everything but one factor fixed ' +
  'as far as the registry allows (see docs/contenders.md). B/call = request + response bytes on the wire, headers and framing included.';

/** report.html form: the same tables as report.md, the cells' lines kept apart. */
function factorialHtml(model: FactorialModel): string {
  const out: string[] = [];
  const lines = (cell: Pick<Cell, 'best' | 'defaultServer' | 'missing'>): string => cellText(cell).map(escapeHtml).join('<br>');
  const grid2 = (corner: string, columns: string[], rows: Array<[string, string[]]>): string =>
    `<table><thead><tr><th class="l">${escapeHtml(corner)}</th>${columns.map((c) => `<th class="l">${escapeHtml(c)}</th>`).join('')}</tr></thead>\n` +
    `<tbody>${rows.map(([title, cells]) => `<tr><th class="l">${escapeHtml(title)}</th>${cells.map((c) => `<td class="l">${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
  for (const s of model.scenarios) {
    const fastest = s.contenders[0]?.rps ?? null;
    out.push(`<h3>${escapeHtml(s.scenario)}</h3>`, htmlTable(CONTENDER_HEADER, s.contenders.map((f) => contenderRow(f, fastest)), (i) => i < 6));
    out.push(
      grid2(
        s.scenario,
        ENCODINGS.map((e) => ENCODING_TITLE[e]),
        WIRES.map((wire) => [WIRE_TITLE[wire], ENCODINGS.map((encoding) => lines(s.cells.find((c) => c.wire === wire && c.encoding === encoding)!))]),
      ),
      htmlList(attributionSentences(s)),
    );
    if (s.languages) {
      out.push(
        grid2(
          s.scenario,
          ['gRPC (HTTP/2 protobuf)', 'REST (HTTP/1.1 JSON)'],
          LANGUAGES.map((language) => [LANGUAGE_TITLE[language], API_PROTOCOLS.map((protocol) => lines(s.languages!.cells.find((c) => c.language === language && c.protocol === protocol)!))]),
        ),
        htmlList(languageSentences(s)),
      );
    }
  }
  if (model.notMeasured.length > 0) out.push('<h3>Not measured</h3>', htmlList(model.notMeasured));
  out.push(`<p class="muted">* = the default pair (express for REST, grpc-js for gRPC). ${escapeHtml(LEGEND)}</p>`);
  return out.join('\n');
}

/** --contenders: the contender tables, the 2x2 (and the language table) and the sentences, in place of the gRPC/REST comparison. */
export const contendersSection = section<FactorialModel>({
  id: 'contenders',
  title: 'Contenders',
  applies: ({ calls }) => hasContenders(calls),
  model: ({ calls }) => factorialModel(calls),
  terminal: (m) => `contenders: transport × encoding × implementation\n${factorialText(m).trimEnd()}`,
  markdown: (m) => `## Contenders: transport × encoding × implementation\n\n${factorialMarkdown(m).trimEnd()}`,
  html: (m) => `<h2>Contenders: transport × encoding × implementation</h2>\n${factorialHtml(m)}`,
});

/** Left-aligns the columns in `left`, right-aligns the others. */
function grid(rows: string[][], left: number[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r.map((cell, i) => (left.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd(),
  );
}
