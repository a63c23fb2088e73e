/**
 * REST's bidirectional stream as a WebSocket, spoken on a raw `net.Socket`:
 * each stream is its own connection and upgrade, as a browser or ws client
 * opens it; text frames carry the same JSON lines as NDJSON, uncompressed.
 *
 * Why not the ws client: ws costs the same per message on both ends, so the
 * generator used as much CPU as the server it measured (rows flagged
 * client-bound). Here the call's message is one prebuilt frame and an answer
 * is handed on as the frame's bytes. The frames on the wire are what ws sends, but for
 * the masking key, all zeros (RFC 6455 5.3 asks a client for a random key, so
 * that a proxy cannot be fooled into caching a frame; nothing caches here),
 * which spares the XOR over every payload; sizes are the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { connectStream } from './connect.ts';
import { classifyLine } from './http1.ts';
import type { OpenStream, StreamCall, StreamClient, StreamHandlers, StreamTarget } from './types.ts';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;

/** A masked client frame (zero key) of `opcode` carrying `payload`. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.alloc(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  if (extended === 0) frame[1] = 0x80 | length;
  else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  // Bytes 2+extended .. +4 are the masking key: zeros, so the payload goes as it is.
  payload.copy(frame, 2 + extended + 4);
  return frame;
}

const CLOSE_NORMAL = clientFrame(OPCODE_CLOSE, Buffer.from([0x03, 0xe8]));

/** Server frames (unmasked), fed as they arrive; calls back once per complete message. */
class FrameReader {
  private pending: Buffer | null = null;
  private fragments: Buffer[] = [];

  constructor(private readonly onFrame: (opcode: number, payload: Buffer) => void) {}

  feed(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 2) {
      const fin = (data[at]! & 0x80) !== 0;
      const opcode = data[at]! & 0x0f;
      let length = data[at + 1]! & 0x7f;
      let head = 2;
      if (length === 126) {
        if (data.length - at < 4) break;
        length = data.readUInt16BE(at + 2);
        head = 4;
      } else if (length === 127) {
        if (data.length - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        head = 10;
      }
      if (data.length - at < head + length) break;
      const payload = data.subarray(at + head, at + head + length);
      at += head + length;
      if (!fin) this.fragments.push(Buffer.from(payload));
      else if (this.fragments.length > 0) this.onFrame(OPCODE_TEXT, Buffer.concat([...this.fragments.splice(0), payload]));
      else this.onFrame(opcode, payload);
    }
    this.pending = at < data.length ? Buffer.from(data.subarray(at)) : null;
  }
}

export function createWebSocketStreamClient(target: StreamTarget, call: StreamCall): StreamClient {
  const open = new Set<net.Socket>();
  const host = `${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
  const extraHeaders = Object.entries(call.metadata ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  /** The call's message as one text frame, built once. */
  const messageFrame = clientFrame(OPCODE_TEXT, call.message.json);
  return {
    open(handlers: StreamHandlers): OpenStream {
      const socket = connectStream(target);
      open.add(socket);
      const key = randomBytes(16).toString('base64');
      const accept = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
      socket.write(
        `GET ${call.restPath} HTTP/1.1\r\nhost: ${host}\r\n${extraHeaders}upgrade: websocket\r\nconnection: Upgrade\r\n` +
          `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`,
      );
      let upgraded = false;
      let head: Buffer | null = null;
      const queued: Buffer[] = [];
      let closing = false;
      let closeCode = 1006;
      let error: string | undefined;
      let ended = false;
      const finish = (): void => {
        if (ended) return;
        ended = true;
        open.delete(socket);
        handlers.onEnd(closeCode === 1000 || closeCode === 1005 ? error : `close ${closeCode}: ${error ?? ''}`);
      };
      const reader = new FrameReader((opcode, payload) => {
        if (opcode === OPCODE_TEXT) {
          // A text message is an answer, or the stream's error ({"error": ...}, then the server closes).
          const message = classifyLine(payload);
          if (message.kind === 'message') handlers.onAnswer(payload, message.start, message.end);
          else if (message.kind === 'error') error = payload.toString('utf8', message.start, message.end);
        } else if (opcode === OPCODE_CLOSE) {
          closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          // Answer the close (once), then the server ends the TCP connection.
          if (!closing) socket.write(CLOSE_NORMAL);
          closing = true;
          socket.end();
        } else if (opcode === OPCODE_PING) socket.write(clientFrame(0xa, payload));
      });
      socket.on('data', (chunk: Buffer) => {
        if (upgraded) return reader.feed(chunk);
        const all = head ? Buffer.concat([head, chunk]) : chunk;
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) {
          head = Buffer.from(all);
          return;
        }
        const text = all.subarray(0, end).toString('latin1');
        if (!/^HTTP\/1\.1 101/.test(text) || !text.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
          error = `upgrade refused: ${text.split('\r\n')[0]}`;
          socket.destroy();
          return;
        }
        upgraded = true;
        head = null;
        for (const frame of queued.splice(0)) socket.write(frame);
        if (closing) socket.write(CLOSE_NORMAL);
        if (all.length > end + 4) reader.feed(all.subarray(end + 4));
      });
      socket.on('error', (reason) => (error ??= reason.message));
      socket.on('close', finish);
      return {
        send: () => {
          if (upgraded) socket.write(messageFrame);
          else queued.push(messageFrame);
        },
        end: () => {
          if (closing) return;
          closing = true;
          if (upgraded) socket.write(CLOSE_NORMAL);
        },
        cancel: () => socket.destroy(),
      };
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
  };
}
