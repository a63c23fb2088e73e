/**
 * Plain-language findings of a payload sweep, generated from the measured
 * numbers only (like bench/micro/summary.ts): every size, byte count and ratio
 * in these sentences is read from the results, so different encoders, servers
 * or machines give different text. Nothing here is typed in by hand.
 */
import { crossingClause, holdsFromSize, type SizedPair } from './crossing.ts';
import { formatInt, formatRatio } from './format.ts';
import type { ResultsFile } from '../results/record.ts';
import { sweepRows, type SweepCell, type SweepRow, type ValueShapeName } from './sweep.ts';

type Pick2 = (cell: SweepCell) => number | null;

/** Rows where both protocols measured `get`, as size pairs (a = gRPC, b = REST). */
function pairs(rows: SweepRow[], get: Pick2): SizedPair[] {
  const out: SizedPair[] = [];
  for (const row of rows) {
    const a = row.cells.grpc ? get(row.cells.grpc) : null;
    const b = row.cells.rest ? get(row.cells.rest) : null;
    if (a !== null && b !== null) out.push({ size: row.values, a, b });
  }
  return out;
}

const wireTotal: Pick2 = (c) => (c.requestWireBytes === null || c.responseWireBytes === null ? null : c.requestWireBytes + c.responseWireBytes);

function times(bigger: number, smaller: number): string {
  return formatRatio(bigger / smaller);
}

/** "REST moves 2.28× the bytes of gRPC" or the other way round. */
function moreBytes(g: number, r: number): string {
  return r >= g ? `REST moves ${times(r, g)} the bytes of gRPC` : `gRPC moves ${times(g, r)} the bytes of REST`;
}

function range(values: number[]): string {
  const lo = Math.round(Math.min(...values));
  const hi = Math.round(Math.max(...values));
  return lo === hi ? formatInt(lo) : `${formatInt(lo)}–${formatInt(hi)}`;
}

function shapeSentences(shape: ValueShapeName, rows: SweepRow[]): string[] {
  const out: string[] = [];
  const noun = `${shape} values`;
  const body = pairs(rows, (c) => c.requestBodyBytes);
  if (body.length > 0) {
    out.push(`${capital(crossingClause(body, { a: 'the protobuf body', b: 'the JSON body', noun }))}.`);
  }
  const wire = pairs(rows, (c) => c.requestWireBytes);
  if (wire.length > 0) {
    out.push(`On the wire, headers and framing included, ${crossingClause(wire, { a: 'a gRPC request', b: 'a REST request', noun })}.`);
  }
  const largest = rows[rows.length - 1]!;
  const g = largest.cells.grpc;
  const r = largest.cells.rest;
  const gTotal = g ? wireTotal(g) : null;
  const rTotal = r ? wireTotal(r) : null;
  if (g && r && gTotal !== null && rTotal !== null) {
    let sentence =
      `At ${formatInt(largest.values)} ${noun} ${moreBytes(gTotal, rTotal)} per call ` +
      `(${formatInt(gTotal)} vs ${formatInt(rTotal)} bytes, both directions, gRPC vs REST)`;
    if (g.rps !== null && r.rps !== null && g.serverCpuMsPer1k !== null && r.serverCpuMsPer1k !== null) {
      const [fast, slow] = g.rps >= r.rps ? (['gRPC', 'REST'] as const) : (['REST', 'gRPC'] as const);
      const cell = { gRPC: g, REST: r };
      sentence +=
        `; in this run ${fast} completed ${times(cell[fast].rps!, cell[slow].rps!)} the calls/s of ${slow}` +
        ` with ${formatRatio(cell[fast].serverCpuMsPer1k! / cell[slow].serverCpuMsPer1k!)} the server CPU per call` +
        ` (${fast} ${formatInt(cell[fast].serverCpuMsPer1k!)} vs ${slow} ${formatInt(cell[slow].serverCpuMsPer1k!)} ms per 1,000 calls)`;
    }
    out.push(`${sentence}.`);
  }
  return out;
}

function headerSentence(rows: SweepRow[]): string | null {
  const get = (protocol: 'grpc' | 'rest', field: 'requestHeaderBytes' | 'responseHeaderBytes'): number[] =>
    rows.map((row) => row.cells[protocol]?.[field] ?? null).filter((v): v is number => v !== null);
  const gUp = get('grpc', 'requestHeaderBytes');
  const gDown = get('grpc', 'responseHeaderBytes');
  const rUp = get('rest', 'requestHeaderBytes');
  const rDown = get('rest', 'responseHeaderBytes');
  if (gUp.length === 0 || rUp.length === 0 || gDown.length === 0 || rDown.length === 0) return null;
  return (
    `Headers and framing per call: REST (HTTP/1.1 header text on every request and response) ${range(rUp)} bytes up and ${range(rDown)} down; ` +
    `gRPC (HTTP/2 frames, HPACK-indexed headers, 5-byte message prefix, WINDOW_UPDATEs for big bodies) ${range(gUp)} up and ${range(gDown)} down.`
  );
}

function gzipSentences(none: SweepRow[], gzip: SweepRow[]): string[] {
  const out: string[] = [];
  const match = (row: SweepRow): SweepRow | undefined =>
    none.find((n) => n.values === row.values && n.shape === row.shape && n.concurrency === row.concurrency);
  const shapes = [...new Set(gzip.map((row) => row.shape))];
  for (const shape of shapes) {
    const rows = gzip.filter((row) => row.shape === shape && match(row));
    if (rows.length === 0) continue;
    const noun = `${shape} values`;
    const parts: string[] = [];
    let costsBelow = false;
    for (const protocol of ['grpc', 'rest'] as const) {
      const name = protocol === 'grpc' ? 'gRPC' : 'REST';
      const sized = rows
        .map((row) => ({ size: row.values, a: row.cells[protocol]?.requestWireBytes ?? null, b: match(row)!.cells[protocol]?.requestWireBytes ?? null }))
        .filter((p): p is SizedPair => p.a !== null && p.b !== null);
      if (sized.length === 0) continue;
      const from = holdsFromSize(sized, (p) => p.size, (p) => p.a < p.b);
      const smallest = Math.min(...sized.map((p) => p.size));
      parts.push(
        from === null
          ? `never shrinks a ${name} request on the wire`
          : from === smallest
            ? `shrinks ${name} requests at every measured size`
            : `shrinks ${name} requests from ${formatInt(from)} ${noun} on`,
      );
      if (from !== smallest) costsBelow = true;
    }
    if (costsBelow) parts[parts.length - 1] += " (below that, gzip's own header and trailer and the encoding headers cost more than they save)";
    const largest = rows[rows.length - 1]!;
    const base = match(largest)!;
    const detail: string[] = [];
    for (const protocol of ['grpc', 'rest'] as const) {
      const z = largest.cells[protocol];
      const p = base.cells[protocol];
      if (!z || !p || z.requestBodyBytes === null || p.requestBodyBytes === null || z.requestBodyBytes === 0) continue;
      const name = protocol === 'grpc' ? 'gRPC' : 'REST';
      let text = `${name} body ${formatInt(p.requestBodyBytes)} → ${formatInt(z.requestBodyBytes)} bytes (${times(p.requestBodyBytes, z.requestBodyBytes)} smaller)`;
      if (z.serverCpuMsPer1k !== null && p.serverCpuMsPer1k !== null) {
        text += `, server CPU ${formatInt(p.serverCpuMsPer1k)} → ${formatInt(z.serverCpuMsPer1k)} ms per 1,000 calls`;
      }
      if (z.clientCpuUsPerCall !== null && p.clientCpuUsPerCall !== null) {
        text += `, client CPU ${formatInt(p.clientCpuUsPerCall)} → ${formatInt(z.clientCpuUsPerCall)} µs per call`;
      }
      detail.push(text);
    }
    let sentence = `With gzip, compression ${parts.join(' and ')}`;
    if (detail.length > 0) sentence += `; at ${formatInt(largest.values)} ${noun}: ${detail.join('; ')}`;
    const g = largest.cells.grpc?.requestWireBytes ?? null;
    const r = largest.cells.rest?.requestWireBytes ?? null;
    if (g !== null && r !== null) {
      sentence += `; gzipped, ${r >= g ? `a REST request is ${times(r, g)} the bytes of a gRPC request` : `a gRPC request is ${times(g, r)} the bytes of a REST request`}`;
    }
    out.push(`${sentence}.`);
  }
  // Responses: say what the measured response bodies show, whatever the servers did.
  const same = (protocol: 'grpc' | 'rest'): boolean | null => {
    const rows = gzip.filter((row) => match(row) && row.cells[protocol]?.responseBodyBytes != null && match(row)!.cells[protocol]?.responseBodyBytes != null);
    if (rows.length === 0) return null;
    return rows.every((row) => Math.abs(row.cells[protocol]!.responseBodyBytes! - match(row)!.cells[protocol]!.responseBodyBytes!) < 0.5);
  };
  const sameG = same('grpc');
  const sameR = same('rest');
  if (sameG !== null && sameR !== null) {
    const said = (name: string, unchanged: boolean): string => (unchanged ? `${name} response bodies were the same size with gzip accepted (not compressed)` : `${name} response bodies changed size with gzip accepted (compressed)`);
    out.push(`Responses: ${said('gRPC', sameG)}; ${said('REST', sameR)}.`);
  }
  return out;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Sentences for the sweep in `results`, or [] when it holds no sweep. */
export function summarizeSweep(results: ResultsFile): string[] {
  return sweepSentences(sweepRows(results));
}

/** The sentences of sweepRows(). */
export function sweepSentences(rows: readonly SweepRow[]): string[] {
  if (rows.length === 0) return [];
  // One concurrency: the most common one among the sum runs.
  const counts = new Map<number, number>();
  for (const row of rows) counts.set(row.concurrency, (counts.get(row.concurrency) ?? 0) + 1);
  const concurrency = [...counts.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]![0];
  const at = rows.filter((row) => row.concurrency === concurrency);
  const none = at.filter((row) => row.compression === 'none');
  const gzip = at.filter((row) => row.compression === 'gzip');
  const sentences: string[] = [];
  const shapes = [...new Set(none.map((row) => row.shape))];
  for (const shape of shapes) {
    sentences.push(...shapeSentences(shape, none.filter((row) => row.shape === shape).sort((x, y) => x.values - y.values)));
  }
  const headers = headerSentence(none.length > 0 ? none : at);
  if (headers) sentences.push(headers);
  if (gzip.length > 0) sentences.push(...gzipSentences(none, gzip.sort((x, y) => x.values - y.values)));
  return sentences;
}
