/**
 * gRPC streams on node:http2 sessions with hand-made frames (not the grpc-js
 * client, which costs more CPU per message than the server it measures): a
 * Number is 0x09 + float64 LE, a Result the same; each stream is a new HTTP/2
 * stream on a live connection, round-robin over `connections` sessions.
 */
import http2 from 'node:http2';
import { STREAM_METHOD_NAMES } from '../../../servers/proto.ts';
import { messageTypes } from '../../../servers/proto.ts';
import type { StreamOperation } from '../../../servers/calculator.ts';
import type { OpenStream, StreamClient, StreamHandlers, StreamTarget } from './types.ts';

/** A framed Number {value}: 5-byte prefix + tag 0x09 + 8 bytes. */
function framedNumber(value: number): Buffer {
  const frame = Buffer.allocUnsafe(14);
  frame[0] = 0;
  frame.writeUInt32BE(9, 1);
  frame[5] = 0x09;
  frame.writeDoubleLE(value, 6);
  return frame;
}

/** The bench sends 1s: one frame, written as often as needed (a write does not consume it). */
const FRAMED_ONE = framedNumber(1);

function framedNumbers(values: number[]): Buffer {
  const { Numbers } = messageTypes();
  const message = Numbers.encode(Numbers.create({ values })).finish();
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export async function createGrpcStreamClient(target: StreamTarget, connections = 1): Promise<StreamClient> {
  const sessions = await Promise.all(
    Array.from(
      { length: Math.max(1, connections) },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = http2.connect(`http://${target.host}:${target.port}`);
          session.once('remoteSettings', () => resolve(session));
          session.once('error', reject);
        }),
    ),
  );
  let next = 0;
  return {
    open(operation: StreamOperation, handlers: StreamHandlers, values?: number[]): OpenStream {
      const session = sessions[next++ % sessions.length]!;
      const stream = session.request(
        { ':method': 'POST', ':path': `/calculator.v1.Calculator/${STREAM_METHOD_NAMES[operation]}`, 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
      let pending: Buffer | null = null;
      let status: string | undefined;
      let statusMessage = '';
      stream.on('response', (headers) => {
        // A trailers-only answer (an error before any message) carries the status in the headers.
        status ??= headers['grpc-status'] as string | undefined;
        statusMessage = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      });
      stream.on('trailers', (trailers) => {
        status = trailers['grpc-status'] as string | undefined;
        statusMessage = decodeURIComponent(String(trailers['grpc-message'] ?? ''));
      });
      stream.on('data', (chunk: Buffer) => {
        let data = pending ? Buffer.concat([pending, chunk]) : chunk;
        while (data.length >= 5) {
          const length = data.readUInt32BE(1);
          if (data.length < 5 + length) break;
          handlers.onAnswer(length === 0 ? 0 : data.readDoubleLE(6));
          data = data.subarray(5 + length);
        }
        pending = data.length > 0 ? data : null;
      });
      stream.on('error', () => {});
      stream.on('close', () => handlers.onEnd(status === '0' ? undefined : `gRPC status ${status ?? 'missing'}: ${statusMessage}`));
      if (values) stream.end(framedNumbers(values));
      return {
        send: (value) => stream.write(value === 1 ? FRAMED_ONE : framedNumber(value)),
        end: () => stream.end(),
        cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL),
      };
    },
    close: async () => {
      for (const session of sessions) session.destroy();
    },
  };
}
