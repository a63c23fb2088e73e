/**
 * The contender registry: one line per contender. Adding one = one module + one line.
 * Keys are the --contender names of serve-contender.ts and of the bench.
 */
import { startGrpcServer } from '../grpc-server.ts';
import { startRestServer } from '../rest-server.ts';
import { CLIENTS } from './clients.ts';
import { startConnectGrpc, startConnectH1 } from './connect.ts';
import { startFastifyH1, startFastifyH2 } from './fastify.ts';
import { goUnavailable, prepareGoNetHttp, prepareGrpcGo, startGoNetHttp, startGrpcGo } from './go-contenders.ts';
import { startNodeHttp, startRestProtobufH1 } from './node-http.ts';
import { startNodeHttp2Grpc } from './node-http2-grpc.ts';
import { startRestH2 } from './rest-h2.ts';
import type { Contender } from './types.ts';

export type { ClientStyle, Contender, ContenderClient, Encoding, Language, WireProtocol } from './types.ts';
export { contenderLanguage } from './types.ts';

export const CONTENDERS: readonly Contender[] = [
  { name: 'express', wire: 'http1', encoding: 'json', implementation: 'express 5', isDefault: true, client: CLIENTS['rest-json'], start: startRestServer },
  { name: 'fastify', wire: 'http1', encoding: 'json', implementation: 'fastify 5', client: CLIENTS['rest-json'], start: startFastifyH1 },
  { name: 'node-http', wire: 'http1', encoding: 'json', implementation: 'node:http', client: CLIENTS['rest-json'], start: startNodeHttp },
  { name: 'rest-h2', wire: 'h2', encoding: 'json', implementation: 'node:http2', client: CLIENTS['rest-json'], start: startRestH2 },
  { name: 'fastify-h2', wire: 'h2', encoding: 'json', implementation: 'fastify 5 (http2)', client: CLIENTS['rest-json'], start: startFastifyH2 },
  { name: 'rest-protobuf-h1', wire: 'http1', encoding: 'protobuf', implementation: 'node:http + protobufjs', client: CLIENTS['rest-protobuf'], start: startRestProtobufH1 },
  { name: 'connect-h1', wire: 'http1', encoding: 'protobuf', implementation: '@connectrpc/connect-node (Connect protocol)', client: CLIENTS['connect-proto'], start: startConnectH1 },
  { name: 'grpc-js', wire: 'h2', encoding: 'protobuf', implementation: '@grpc/grpc-js', isDefault: true, client: CLIENTS.grpc, start: startGrpcServer },
  { name: 'connect-grpc', wire: 'h2', encoding: 'protobuf', implementation: '@connectrpc/connect-node (gRPC protocol)', client: CLIENTS.grpc, start: startConnectGrpc },
  { name: 'node-http2-grpc', wire: 'h2', encoding: 'protobuf', implementation: 'node:http2 + protobufjs', client: CLIENTS.grpc, start: startNodeHttp2Grpc },
  // Go, built on first use (go-contenders.ts); unavailable without Debian's Go packages.
  { name: 'grpc-go', wire: 'h2', encoding: 'protobuf', implementation: 'grpc-go', language: 'go', client: CLIENTS.grpc, start: startGrpcGo, unavailable: goUnavailable, prepare: prepareGrpcGo },
  { name: 'go-net-http', wire: 'http1', encoding: 'json', implementation: 'net/http + encoding/json', language: 'go', client: CLIENTS['rest-json'], start: startGoNetHttp, unavailable: goUnavailable, prepare: prepareGoNetHttp },
];

const BY_NAME: ReadonlyMap<string, Contender> = new Map(CONTENDERS.map((contender) => [contender.name, contender]));

export function contenderNames(): string[] {
  return CONTENDERS.map((contender) => contender.name);
}

/**
 * Contenders defined outside the registry (a test's deliberately broken one, an
 * experiment): `module` (a path or file: URL) exports it as `contender`, so a
 * child process can load it (serve-contender.ts --module). Not in contenderNames().
 */
const EXTRA = new Map<string, { contender: Contender; module: string }>();

export function registerContender(contender: Contender, module: string): void {
  if (BY_NAME.has(contender.name)) throw new Error(`contender "${contender.name}" is already in the registry`);
  EXTRA.set(contender.name, { contender, module });
}

/** The module a registered extra contender comes from; null for the registry's own. */
export function contenderModule(name: string): string | null {
  return EXTRA.get(name)?.module ?? null;
}

/** The contender called `name`, or an Error that lists the known names. */
export function getContender(name: string): Contender {
  const contender = BY_NAME.get(name) ?? EXTRA.get(name)?.contender;
  if (!contender) throw new Error(`unknown contender "${name}"; known: ${contenderNames().join(', ')}`);
  return contender;
}
