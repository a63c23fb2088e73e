/**
 * gRPC on bare node:http2, no gRPC library: read the 5-byte-prefixed request
 * message, decode it with protobufjs (the loader options grpc-js uses), call
 * the calculator, answer with headers + one DATA frame + trailers
 * grpc-status/grpc-message, or a trailers-only response on error, as grpc-js does.
 */
import http2 from 'node:http2';
import { calculate } from '../calculator.ts';
import { CalcError } from '../errors.ts';
import { frameGrpcMessage } from '../grpc-frame.ts';
import type { RunningServer, ServerOptions } from '../server-options.ts';
import {
  encodeGrpcMessage,
  GRPC_MESSAGES,
  GRPC_RESPONSE_CONTENT_TYPE,
  GRPC_STATUS,
  isGrpcContentType,
  operationOfGrpcPath,
  readUnaryMessage,
} from './grpc-protocol.ts';
import { listenH2 } from '../listen.ts';
import { createH2Server } from './h2-server.ts';
import { decodeRequestMessage, encodeResultMessage } from './protobuf-codec.ts';

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_PATH } = http2.constants;
const OK_TRAILERS = { 'grpc-status': '0', 'grpc-message': 'OK' };

function sendMessage(stream: http2.ServerHttp2Stream, message: Buffer): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: GRPC_RESPONSE_CONTENT_TYPE }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
  stream.end(frameGrpcMessage(message));
}

/** Trailers-only response: status and message in the one HEADERS frame, END_STREAM set. */
function sendStatus(stream: http2.ServerHttp2Stream, error: CalcError): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(
    {
      [HTTP2_HEADER_STATUS]: 200,
      [HTTP2_HEADER_CONTENT_TYPE]: GRPC_RESPONSE_CONTENT_TYPE,
      'grpc-status': String(GRPC_STATUS[error.code]),
      'grpc-message': encodeGrpcMessage(error.message),
    },
    { endStream: true },
  );
}

function onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  stream.on('error', () => {});
  if (!isGrpcContentType(headers[HTTP2_HEADER_CONTENT_TYPE] as string | undefined)) {
    stream.resume();
    stream.respond({ [HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
    return;
  }
  const path = (headers[HTTP2_HEADER_PATH] as string | undefined) ?? '';
  const operation = operationOfGrpcPath(path);
  if (operation === undefined) {
    stream.resume();
    sendStatus(stream, new CalcError('UNIMPLEMENTED', GRPC_MESSAGES.unknownMethod(path)));
    return;
  }
  readUnaryMessage(stream, headers['grpc-encoding'] as string | undefined).then(
    (bytes) => {
      let value: number;
      try {
        value = calculate(operation, decodeRequestMessage(operation, bytes));
      } catch (reason) {
        return sendStatus(stream, CalcError.from(reason));
      }
      sendMessage(stream, encodeResultMessage(value));
    },
    (reason: unknown) => sendStatus(stream, CalcError.from(reason)),
  );
}

export async function startNodeHttp2Grpc(options: ServerOptions): Promise<RunningServer> {
  const server = createH2Server(options);
  server.on('stream', onStream);
  return listenH2(server, options, 'node-http2-grpc', 'grpc');
}
