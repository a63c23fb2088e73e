/**
 * A contender: one way of serving the calculator, described by the factors
 * the factorial report separates (wire protocol, encoding, implementation) plus what a
 * client needs to call it. Every contender calls servers/calculator.ts; none
 * re-implements an operation or a validation rule.
 */
import type { Operation } from '../calculator.ts';
import type { RunningServer, ServerOptions } from '../server-options.ts';

/** HTTP/1.1, or HTTP/2 (cleartext h2c with prior knowledge unless ServerOptions.tls is set). */
export type WireProtocol = 'http1' | 'h2';
export type Encoding = 'json' | 'protobuf';
/** The language the server is written in: Node (every contender in TypeScript) or Go (servers/contenders/go/). */
export type Language = 'node' | 'go';

/**
 * How a client calls the contender:
 * - rest-json: POST /v1/<op>, content-type application/json, body {"a","b"} / {"values"};
 * - rest-protobuf: POST /v1/<op>, content-type application/x-protobuf, body the protobuf request message;
 * - grpc: POST /calculator.v1.Calculator/<Method>, content-type application/grpc, 5-byte-prefixed message, te: trailers;
 * - connect-proto: Connect protocol unary, POST /calculator.v1.Calculator/<Method>, content-type application/proto.
 * Errors: rest-* answer {"error":{"code","message"}} with an HTTP status; grpc answers grpc-status and
 * grpc-message; connect-proto answers {"code","message"} (lower-case Connect code) with the Connect HTTP status.
 */
export type ClientStyle = 'rest-json' | 'rest-protobuf' | 'grpc' | 'connect-proto';

export interface ContenderClient {
  style: ClientStyle;
  /** Request path (HTTP :path) of an operation. */
  path(operation: Operation): string;
  /** Request content-type the contender expects. */
  contentType: string;
}

export interface Contender {
  /** Registry key, also the --contender value: 'express', 'fastify-h2', 'node-http2-grpc', ... */
  name: string;
  wire: WireProtocol;
  encoding: Encoding;
  /** The library or module that speaks the protocol: 'express 5', 'node:http2', '@grpc/grpc-js', ... */
  implementation: string;
  /** The language of the server; absent: 'node' (contenderLanguage() reads it). */
  language?: Language;
  /** The default server of its protocol (express for REST, grpc-js for gRPC), the one the bench starts without --contenders. */
  isDefault?: boolean;
  client: ContenderClient;
  start(options: ServerOptions): Promise<RunningServer>;
  /** Why it cannot run on this machine (a missing toolchain, with the install line); null or absent: it can. */
  unavailable?(): string | null;
  /** Work before start() that must not count against a ready timeout (a build); absent: none. */
  prepare?(): Promise<unknown>;
}

export function contenderLanguage(contender: Pick<Contender, 'language'>): Language {
  return contender.language ?? 'node';
}
