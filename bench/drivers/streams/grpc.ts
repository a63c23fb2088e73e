/**
 * gRPC streams on node:http2 sessions with hand-made frames (not the grpc-js
 * client, which costs more CPU per message than the server it measures): the
 * call's message is framed once (5-byte prefix + its protobuf bytes) and
 * written as often as it is sent; answers are cut at their length prefixes and
 * handed on as bytes. Each stream is a new HTTP/2 stream on a live
 * connection, round-robin over `connections` sessions.
 */
import http2 from 'node:http2';
import type { OpenStream, StreamCall, StreamClient, StreamHandlers, StreamRequest, StreamTarget } from './types.ts';

/** A gRPC length-prefixed message (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Frames a stream keeps to write again if it is refused; past this it is not retried. */
const REPLAY_LIMIT = 100_000;
/** A stream refused this many times in a row (a server that goes away before it takes anything) is an error, as in grpc-engine. */
const MAX_RETRIES_PER_STREAM = 3;

/**
 * Connection lifetimes: a session that gets GOAWAY (a server's max connection
 * age or calls, a proxy) is replaced at once by a new one for the streams
 * opened after it; streams it had opened above the GOAWAY's last-stream-id
 * (node:http2 closes them with REFUSED_STREAM), or that the server reset with
 * REFUSED_STREAM, were never processed: such a stream is opened again on a
 * live session and what was written on it is written again (nothing was
 * answered yet), counted in stats().retried, not as an error; its latencies
 * still run from the first send.
 */
export async function createGrpcStreamClient(target: StreamTarget, call: StreamCall, connections = 1): Promise<StreamClient> {
  /** The one message a bidi or client stream sends: one frame, written as often as needed (a write does not consume it). */
  const messageFrame = grpcFrame(call.message.protobuf);
  const headers = { ...call.metadata, ':method': 'POST', ':path': call.grpcPath, 'content-type': 'application/grpc', te: 'trailers' };
  let closing = false;
  let connectionsOpened = 0;
  let retried = 0;
  /** Every session not yet closed, replaced ones included (their last streams may still run). */
  const all = new Set<http2.ClientHttp2Session>();
  const connect = (): http2.ClientHttp2Session => {
    // The bench's certificates are self-signed: this client measures, it does not authenticate.
    const session = target.tls
      ? http2.connect(`https://${target.host}:${target.port}`, { rejectUnauthorized: false })
      : http2.connect(`http://${target.host}:${target.port}`);
    session.once('connect', () => connectionsOpened++);
    all.add(session);
    session.once('close', () => all.delete(session));
    // Reported to the streams on it (they close); a later failure must not throw.
    session.on('error', () => {});
    return session;
  };
  const sessions = await Promise.all(
    Array.from(
      { length: Math.max(1, connections) },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = connect();
          session.once('remoteSettings', () => resolve(session));
          session.once('error', reject);
        }),
    ),
  );
  /** Session i for new streams: replaced on GOAWAY (its open streams finish there) or once it is gone. */
  const live = (i: number): http2.ClientHttp2Session => {
    const session = sessions[i]!;
    if (!session.closed && !session.destroyed && !goneAway.has(session)) return session;
    const fresh = connect();
    sessions[i] = fresh;
    watch(fresh);
    return fresh;
  };
  const goneAway = new WeakSet<http2.ClientHttp2Session>();
  const watch = (session: http2.ClientHttp2Session): void => {
    session.once('goaway', () => goneAway.add(session));
  };
  for (const session of sessions) watch(session);
  let next = 0;
  return {
    open(handlers: StreamHandlers, request?: StreamRequest): OpenStream {
      const lane = next++ % sessions.length;
      let stream!: http2.ClientHttp2Stream;
      /** What was written while nothing was answered, to write again if the stream is refused; null once answered. */
      let written: Buffer[] | null = [];
      let halfClosed = false;
      let cancelled = false;
      let retries = 0;
      let pending: Buffer | null = null;
      let status: string | undefined;
      let statusMessage = '';
      const attach = (): void => {
        const current = live(lane).request(headers, { endStream: false });
        stream = current;
        let responded = false;
        current.on('response', (responseHeaders) => {
          responded = true;
          written = null;
          // A trailers-only answer (an error before any message) carries the status in the headers.
          status ??= responseHeaders['grpc-status'] as string | undefined;
          statusMessage = decodeURIComponent(String(responseHeaders['grpc-message'] ?? ''));
        });
        current.on('trailers', (trailers) => {
          status = trailers['grpc-status'] as string | undefined;
          statusMessage = decodeURIComponent(String(trailers['grpc-message'] ?? ''));
        });
        current.on('data', (chunk: Buffer) => {
          let data = pending ? Buffer.concat([pending, chunk]) : chunk;
          while (data.length >= 5) {
            const length = data.readUInt32BE(1);
            if (data.length < 5 + length) break;
            handlers.onAnswer(data, 5, 5 + length);
            data = data.subarray(5 + length);
          }
          pending = data.length > 0 ? data : null;
        });
        current.on('error', () => {});
        current.on('close', () => {
          const refused = current.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM && !responded;
          if (refused && written !== null && !cancelled && !closing && retries < MAX_RETRIES_PER_STREAM) {
            // Never processed: the same stream again on a live session, its bytes written again.
            retries++;
            retried++;
            const replay = written;
            attach();
            for (const frame of replay) stream.write(frame);
            if (halfClosed) stream.end();
            return;
          }
          handlers.onEnd(status === '0' ? undefined : `gRPC status ${status ?? 'missing'}: ${refused ? 'refused by the server' : statusMessage}`);
        });
      };
      attach();
      const write = (frame: Buffer): void => {
        if (written !== null) {
          // A stream this long unanswered (a held client stream) is past retrying: stop keeping its bytes.
          if (written.length < REPLAY_LIMIT) written.push(frame);
          else written = null;
        }
        stream.write(frame);
      };
      if (request) {
        write(grpcFrame(request.protobuf));
        halfClosed = true;
        stream.end();
      }
      return {
        send: () => write(messageFrame),
        end: () => {
          halfClosed = true;
          stream.end();
        },
        cancel: () => {
          cancelled = true;
          stream.close(http2.constants.NGHTTP2_CANCEL);
        },
      };
    },
    stats: () => ({ retried, connectionsOpened }),
    close: async () => {
      closing = true;
      for (const session of all) session.destroy();
    },
  };
}
