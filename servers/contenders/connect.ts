/**
 * The calculator on @connectrpc/connect-node with protobuf-es v2 generated code
 * (proto/gen/): `connect-h1` serves the Connect protocol (unary, binary
 * protobuf) on node:http; `connect-grpc` serves the gRPC protocol on node:http2.
 *
 * The node adapter is connectNodeAdapter's loop (router.handlers keyed by path,
 * universalRequestFromNodeRequest / universalResponseToNodeResponse) plus one
 * step: errors Connect's transport raises by itself are reworded, as
 * grpc-server.ts rewords grpc-js's, so every contender says the same thing:
 * a message over readMaxBytes -> TOO_LARGE_MESSAGE, undecodable bytes ->
 * INVALID_ARGUMENT NOT_PROTOBUF_MESSAGE.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import { Code, ConnectError, createConnectRouter, type ServiceImpl } from '@connectrpc/connect';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { UniversalHandler, UniversalServerResponse } from '@connectrpc/connect/protocol';
import { codeToHttpStatus, errorFromJsonBytes, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { Calculator } from '../../proto/gen/calculator_pb.ts';
import { calculate, LIMITS, OPERATIONS, type Operation } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { EXTRA_MESSAGE, INCOMPLETE_MESSAGE, NOT_PROTOBUF_MESSAGE, TOO_LARGE_MESSAGE } from '../grpc-status.ts';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import { encodeGrpcMessage, GRPC_MESSAGES, GRPC_RESPONSE_CONTENT_TYPE, GRPC_STATUS } from './grpc-protocol.ts';
import { listenH2, listenHttp1 } from '../listen.ts';
import { createHttp1Server } from '../rest-server.ts';
import { createH2Server } from './h2-server.ts';

type CalculatorImpl = ServiceImpl<typeof Calculator>;

function method(operation: Operation) {
  return (request: object) => {
    try {
      return { value: calculate(operation, request) };
    } catch (reason) {
      const error = CalcError.from(reason);
      // Connect's Code numbers are gRPC's status numbers.
      throw new ConnectError(error.message, GRPC_STATUS[error.code] as number as Code);
    }
  };
}

const implementation = Object.fromEntries(OPERATIONS.map((operation) => [operation, method(operation)])) as unknown as CalculatorImpl;

/**
 * The rewording of Connect's own transport errors, to what grpc-server.ts answers
 * for the same failure; null when the error is not one of them.
 */
export function rewriteConnectError(code: Code, message: string): { code: Code; message: string } | null {
  if (code === Code.ResourceExhausted && /larger than configured readMaxBytes/.test(message)) return { code, message: TOO_LARGE_MESSAGE };
  if (code === Code.Internal && message.startsWith('parse binary:')) return { code: Code.InvalidArgument, message: NOT_PROTOBUF_MESSAGE };
  if (/^protocol error: (incomplete envelope|promised \d+ bytes|missing input message)/.test(message)) {
    return { code: Code.InvalidArgument, message: INCOMPLETE_MESSAGE };
  }
  if (message.startsWith('protocol error: received extra input message')) return { code: Code.InvalidArgument, message: EXTRA_MESSAGE };
  return null;
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Connect protocol: an error is a JSON body {code, message} with an HTTP status; reword it in place. */
async function rewriteConnectResponse(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (response.status === 200 || response.body === undefined) return response;
  const bytes = await collect(response.body as AsyncIterable<Uint8Array>);
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError('internal error', Code.Internal));
  const rewritten = rewriteConnectError(error.code, error.rawMessage);
  if (!rewritten) return { ...response, body: (async function* () { yield bytes; })() };
  const body = errorToJsonBytes(new ConnectError(rewritten.message, rewritten.code), {});
  const header = new Headers(response.header);
  header.set('content-length', String(body.byteLength));
  return { ...response, status: codeToHttpStatus(rewritten.code), header, body: (async function* () { yield body; })() };
}

/** gRPC protocol: the status is in the trailers, written after the body; reword them once the body is done. */
function rewriteGrpcResponse(response: UniversalServerResponse): UniversalServerResponse {
  const trailer = response.trailer;
  if (!trailer) return response;
  const rewriteTrailer = (): void => {
    const status = Number(trailer.get('grpc-status') ?? '0');
    if (status === 0) return;
    const rewritten = rewriteConnectError(status as Code, decodeURIComponent(trailer.get('grpc-message') ?? ''));
    if (!rewritten) return;
    trailer.set('grpc-status', String(rewritten.code));
    trailer.set('grpc-message', encodeGrpcMessage(rewritten.message));
  };
  if (response.body === undefined) {
    rewriteTrailer();
    return response;
  }
  const body = response.body as AsyncIterable<Uint8Array>;
  return {
    ...response,
    body: (async function* () {
      yield* body;
      rewriteTrailer();
    })(),
  };
}

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

function createHandler(protocol: 'connect' | 'grpc'): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({
    connect: protocol === 'connect',
    grpc: protocol === 'grpc',
    grpcWeb: false,
    readMaxBytes: LIMITS.maxBodyBytes,
    writeMaxBytes: LIMITS.maxBodyBytes,
    // Connect protocol: POSTs without connect-protocol-version are accepted (curl, h2load).
    requireConnectProtocolHeader: false,
  });
  router.service(Calculator, implementation);
  const handlers = new Map<string, UniversalHandler>(router.handlers.map((handler) => [handler.requestPath, handler]));
  const rewrite = protocol === 'connect' ? rewriteConnectResponse : rewriteGrpcResponse;
  return (req, res) => {
    const path = (req.url ?? '').split('?', 1)[0]!;
    const handler = handlers.get(path);
    if (!handler) return notFound(protocol, path, res);
    const universal = universalRequestFromNodeRequest(req as http.IncomingMessage, res as http.ServerResponse, undefined, undefined);
    handler(universal)
      .then(rewrite)
      .then((response) => universalResponseToNodeResponse(response, res as http.ServerResponse))
      .catch(() => {
        if (!res.headersSent) {
          (res as http.ServerResponse).writeHead(500);
          res.end();
        }
      });
  };
}

/** Unknown path: HTTP 404 for Connect (its spec), a grpc-js-worded UNIMPLEMENTED status for gRPC. */
function notFound(protocol: 'connect' | 'grpc', path: string, res: NodeResponse): void {
  if (protocol === 'connect') {
    (res as http.ServerResponse).writeHead(404);
    res.end();
    return;
  }
  (res as http.ServerResponse).writeHead(200, {
    'content-type': GRPC_RESPONSE_CONTENT_TYPE,
    'grpc-status': String(GRPC_STATUS.UNIMPLEMENTED),
    'grpc-message': encodeGrpcMessage(GRPC_MESSAGES.unknownMethod(path)),
  });
  res.end();
}

export function startConnectH1(options: ServerOptions): Promise<RunningServer> {
  const handler = createHandler('connect');
  return listenHttp1(createHttp1Server(options, handler), options, 'connect-h1');
}

export function startConnectGrpc(options: ServerOptions): Promise<RunningServer> {
  const server = createH2Server(options);
  server.on('request', createHandler('grpc'));
  return listenH2(server, options, 'connect-grpc', 'grpc');
}
