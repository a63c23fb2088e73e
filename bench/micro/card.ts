/**
 * What encoding costs for an API card's own messages: each call's (first) request and the answer the
 * servers generated from the card send (servers/generated/), encoded and decoded both ways, timed with
 * tinybench as `npm run bench:micro` times the calculator's messages (batched samples, run.ts).
 *
 * Who does the work, and so what is timed:
 * - protobuf, @bufbuild/protobuf: toBinary / fromBinary with the card's registry, what the generated
 *   gRPC server's grpc-js serializers call;
 * - protobuf, protobufjs: Type.fromObject + encode / decode + toObject with the options the calculator's
 *   server loads its .proto with (servers/proto.ts LOADER_OPTIONS), what @grpc/proto-loader does for
 *   the hand-written grpc-js server;
 * - proto3 JSON, @bufbuild/protobuf: toJson + JSON.stringify + UTF-8 bytes / text + JSON.parse +
 *   fromJson, what the generated REST server does with each body;
 * - JSON only: JSON.stringify / JSON.parse of the same proto3 JSON object, with no message behind it
 *   (what a server that keeps plain objects pays: the floor of the JSON side).
 *
 *   node --import tsx bench/micro/card.ts examples/notes/card.yaml [--quick]
 */
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { Bench, type Task } from 'tinybench';
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type FileRegistry, type JsonValue, type Message } from '@bufbuild/protobuf';
import { readCard } from '../api/card.ts';
import { GOOGLE_PROTOS_DIR } from '../api/compile.ts';
import { LOADER_OPTIONS } from '../../servers/proto.ts';
import { loadGeneratedApi } from '../../servers/generated/api.ts';
import { loadApiCard } from '../api/index.ts';
import { batched, calibrateBatch } from './run.ts';
import { collectEnvironment, packageVersion } from './environment.ts';

export const CARD_CODECS = ['bufbuild-protobuf', 'protobufjs-protobuf', 'bufbuild-json', 'json-only'] as const;
export type CardCodec = (typeof CARD_CODECS)[number];

export interface CardMessageCase {
  /** "GetNote request", "GetNote response". */
  label: string;
  typeName: string;
  bytes: { protobuf: number; json: number };
  encode: Record<CardCodec, () => unknown>;
  decode: Record<CardCodec, () => unknown>;
}

export interface CardMessageResult {
  label: string;
  typeName: string;
  bytes: { protobuf: number; json: number };
  /** ns per call of each codec: the median of the batched samples (robust to a busy machine's spikes). */
  encodeNs: Record<CardCodec, number>;
  decodeNs: Record<CardCodec, number>;
}

const CONVERSION = { ...LOADER_OPTIONS } as protobuf.IConversionOptions;

/** The card's protos through protobufjs (the parser bench/api/compile.ts uses, here also as the codec). */
function protobufjsRoot(file: string): protobuf.Root {
  const spec = readCard(file);
  if (spec.source.kind !== 'proto') throw new Error(`${file}: the protobufjs column needs .proto files, not a protoset`);
  const dirs = [...spec.source.importPaths, GOOGLE_PROTOS_DIR];
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return path.resolve(path.dirname(origin), target);
  };
  root.loadSync(spec.source.files, { keepCase: true });
  return root;
}

function messageCase(label: string, schema: DescMessage, message: Message, registry: FileRegistry, root: protobuf.Root): CardMessageCase {
  const type = root.lookupType(schema.typeName);
  const binary = toBinary(schema, message);
  const json = toJson(schema, message, { registry }) as JsonValue;
  const jsonBytes = Buffer.from(JSON.stringify(json), 'utf8');
  const plain = type.toObject(type.decode(binary), CONVERSION);
  return {
    label,
    typeName: schema.typeName,
    bytes: { protobuf: binary.length, json: jsonBytes.length },
    encode: {
      'bufbuild-protobuf': () => toBinary(schema, message),
      'protobufjs-protobuf': () => type.encode(type.fromObject(plain)).finish(),
      'bufbuild-json': () => Buffer.from(JSON.stringify(toJson(schema, message, { registry })), 'utf8'),
      'json-only': () => Buffer.from(JSON.stringify(json), 'utf8'),
    },
    decode: {
      'bufbuild-protobuf': () => fromBinary(schema, binary),
      'protobufjs-protobuf': () => type.toObject(type.decode(binary), CONVERSION),
      'bufbuild-json': () => fromJson(schema, JSON.parse(jsonBytes.toString('utf8')) as JsonValue, { registry, ignoreUnknownFields: true }),
      'json-only': () => JSON.parse(jsonBytes.toString('utf8')) as unknown,
    },
  };
}

/** One case per call's first request and per answer of the generated servers (an error answer has no message). */
export async function cardMessageCases(file: string): Promise<CardMessageCase[]> {
  const card = await loadApiCard(file);
  const api = loadGeneratedApi(file);
  const root = protobufjsRoot(file);
  const cases: CardMessageCase[] = [];
  for (const call of card.calls) {
    if (call.kind !== 'unary') continue;
    const request = call.requests[0]!;
    cases.push(messageCase(`${call.name} request`, call.input, request.message, card.registry, root));
    const answer = api.methods.get(call.grpcPath)!.answer;
    const response = answer.kind === 'echo' ? request.message : answer.kind === 'error' ? null : answer.message;
    if (response) cases.push(messageCase(`${call.name} response`, call.output, response, card.registry, root));
  }
  return cases;
}

export function runCardMicro(cases: readonly CardMessageCase[], quick = false): CardMessageResult[] {
  return cases.map((item) => {
    const bench = new Bench({ name: item.label, time: quick ? 15 : 300, iterations: quick ? 3 : 32, warmupTime: quick ? 5 : 80, warmupIterations: quick ? 1 : 8, throws: true });
    for (const direction of ['encode', 'decode'] as const) {
      for (const codec of CARD_CODECS) {
        const call = item[direction][codec];
        bench.add(`${direction} ${codec}`, batched(call, calibrateBatch(call)));
      }
    }
    bench.runSync();
    const mean = (name: string): number => {
      const result = (bench.getTask(name) as Task).result;
      if (result.state !== 'completed') throw new Error(`${item.label}: ${name} ended ${result.state}`);
      return result.latency.p50 * 1e6;
    };
    const of = (direction: 'encode' | 'decode') => Object.fromEntries(CARD_CODECS.map((codec) => [codec, mean(`${direction} ${codec}`)])) as Record<CardCodec, number>;
    return { label: item.label, typeName: item.typeName, bytes: item.bytes, encodeNs: of('encode'), decodeNs: of('decode') };
  });
}

/** A Markdown table: bytes, ns per call for each codec, and proto3 JSON's time over protobuf's (both @bufbuild/protobuf). */
export function renderCardMicro(results: readonly CardMessageResult[]): string {
  const ns = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const head = [
    '| message | protobuf B | JSON B | encode: bufbuild pb | protobufjs pb | bufbuild JSON | JSON.stringify | JSON/pb | decode: bufbuild pb | protobufjs pb | bufbuild JSON | JSON.parse | JSON/pb |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const rows = results.map((r) => {
    const cells = (t: Record<CardCodec, number>) => [...CARD_CODECS.map((c) => ns(t[c])), `${(t['bufbuild-json'] / t['bufbuild-protobuf']).toFixed(1)}x`];
    return `| ${r.label} | ${r.bytes.protobuf} | ${r.bytes.json} | ${cells(r.encodeNs).join(' | ')} | ${cells(r.decodeNs).join(' | ')} |`;
  });
  return [...head, ...rows].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: node --import tsx bench/micro/card.ts CARD [--quick]');
  const env = collectEnvironment();
  const results = runCardMicro(await cardMessageCases(file), args.includes('--quick'));
  process.stdout.write(
    `${file}: ns per call (median of batched tinybench samples), ${env.cpu.model} x${env.cpu.count}, Node ${env.node}, ` +
      `@bufbuild/protobuf ${packageVersion('@bufbuild/protobuf')}, protobufjs ${env.packages.protobufjs}, tinybench ${env.packages.tinybench}, ${env.date}\n\n` +
      `${renderCardMicro(results)}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench/micro/card.ts: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
