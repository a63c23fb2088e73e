/**
 * The API-card library's public types. An API card (a YAML or JSON file) names a .proto (or a
 * protoset), the REST mapping of its methods (google.api.http, or `rest:` in the card) and the calls
 * to load; loadApiCard() turns it into prepared calls whose every request is already encoded for both
 * protocols, so a load generator only sends and counts bytes and knows nothing of the API.
 */
import type { DescMessage, DescMethod, FileRegistry, JsonValue, Message } from '@bufbuild/protobuf';

/** How many messages go each way. Only unary and server-stream calls have a REST twin in google.api.http. */
export type CallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** The REST twin of a call, from the method's google.api.http option or the card's `rest:` key. */
export interface RestMapping {
  /** GET, PUT, POST, DELETE, PATCH, or a custom rule's kind as written. */
  verb: string;
  /** The path template as written, e.g. "/v1/{name=users/*\/notes/*}". */
  pathTemplate: string;
  /** "*" (the whole request but the path fields), a top-level request field's proto name, or null (no body). */
  body: string | null;
  /** The response field (proto name) whose JSON is the whole REST answer, or null (the whole message). */
  responseBody: string | null;
}

/** One request of a call's pool, encoded for both protocols before the run. */
export interface PreparedRequest {
  /** The protobuf binary of the request message, without the 5-byte gRPC length prefix. */
  protobuf: Uint8Array;
  /** The REST path with its query string, e.g. "/v1/users/1/notes?pageSize=10"; append it to the REST base URL's path. */
  restPath: string;
  /** The REST body (UTF-8 JSON text), or null when the mapping sends no body. */
  restBody: Buffer | null;
  /** The request's proto3 JSON (defaults left out), for logs and tests. */
  json: JsonValue;
  /** The request message itself (@bufbuild/protobuf). */
  message: Message;
}

/** One call of the card, ready to load. */
export interface PreparedCall {
  /** Scenario name: the card's `name`, else the method's name (e.g. "GetNote"). Unique in a card. */
  name: string;
  /** The service's full name, "package.Service". */
  api: string;
  /** The method's name, e.g. "GetNote". */
  method: string;
  /** The gRPC request path, "/package.Service/Method". */
  grpcPath: string;
  kind: CallKind;
  rest: RestMapping;
  /** At least one request; a run sends them round robin. */
  requests: PreparedRequest[];
  /** Response fields the equivalence check skips, as JSON-name paths ("note.updateTime"). */
  ignore: string[];
  /** The method and its message types, for decoding answers. */
  descriptor: DescMethod;
  input: DescMessage;
  output: DescMessage;
}

/** A loaded card. */
export interface ApiCard {
  /** The card file as the caller named it (used in every message). */
  file: string;
  /** The services the calls use, "package.Service", in card order. */
  apis: string[];
  /** Headers (REST) and metadata (gRPC) sent on every call; keys lower case. */
  metadata: Record<string, string>;
  calls: PreparedCall[];
  /** Every type the card's protos define (for Any and for decoding answers). */
  registry: FileRegistry;
}

/** Where checkEquivalence() sends its one call per protocol. */
export interface EquivalenceTargets {
  /** gRPC server: h2c unless `tls` (then TLS with ALPN h2; certificates are not verified, benches use self-signed ones). */
  grpc: { host: string; port: number; tls?: boolean };
  /** REST base URL, http:// or https:// (not verified either); a path in it prefixes every call's path. */
  rest: { url: string };
  /** Per-call timeout in milliseconds. @default 10000 */
  timeoutMs?: number;
}
