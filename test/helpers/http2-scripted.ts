/**
 * Scripted HTTP/2 servers on raw `net` for the grpc-engine tests: each
 * connection speaks just enough HTTP/2 (SETTINGS, HEADERS with HPACK in
 * nghttp2's style, DATA with flow control, RST_STREAM, PING, GOAWAY) to answer
 * calculator calls correctly by default, and a Script decides per request what
 * to send instead (errors, trailers-only, CONTINUATION, GOAWAY, silence, frames
 * that break RFC 9113). Each connection records what the client did (streams
 * open at once, frame sizes, flow-control violations, resets, GOAWAY codes).
 */
import net from 'node:net';
import { CONNECTION_PREFACE, encodeFrame, Flag, FrameType, Setting } from '../../bench/drivers/http2/frame.ts';
import { HpackDecoder } from '../../bench/drivers/http2/hpack-decoder.ts';
import { writeInteger } from '../../bench/drivers/http2/hpack-request-encoder.ts';
import { huffmanEncode } from '../../bench/drivers/http2/huffman.ts';
import { frameGrpcMessage } from '../../bench/wire/grpc-frame.ts';
import { messageTypes } from '../../servers/proto.ts';

/** Result { value } as a gRPC length-prefixed message. */
export function resultMessage(value: number): Buffer {
  const { Result } = messageTypes();
  return frameGrpcMessage(Result.encode({ value }).finish());
}

/**
 * Response HPACK encoder in the style of nghttp2: the first time a field is
 * sent it is inserted into the dynamic table with a Huffman-coded value, later
 * it is a one-byte index. Tables here stay far below 4 KB, so nothing is evicted.
 */
export class ResponseEncoder {
  private inserted: string[] = [];

  encode(fields: Array<[string, string]>, plain = false): Buffer {
    const out: number[] = [];
    for (const [name, value] of fields) {
      if (name === ':status' && value === '200') {
        out.push(0x88);
        continue;
      }
      const key = `${name}\0${value}`;
      const at = this.inserted.lastIndexOf(key);
      if (at >= 0 && !plain) {
        writeInteger(out, 0x80, 7, 62 + (this.inserted.length - 1 - at));
        continue;
      }
      if (plain) {
        // Literal without indexing, raw strings.
        out.push(0x00);
        pushString(out, Buffer.from(name), false);
        pushString(out, Buffer.from(value), false);
      } else {
        out.push(0x40);
        pushString(out, huffmanEncode(name), true);
        pushString(out, huffmanEncode(value), true);
        this.inserted.push(key);
      }
    }
    return Buffer.from(out);
  }
}

function pushString(out: number[], bytes: Buffer, huffman: boolean): void {
  writeInteger(out, huffman ? 0x80 : 0x00, 7, bytes.length);
  for (const b of bytes) out.push(b);
}

export interface ScriptedRequest {
  streamId: number;
  headers: Map<string, string>;
  body: Buffer;
  /** Requests seen on this connection before this one. */
  index: number;
}

export interface Script {
  settings?: Array<[number, number]>;
  /** Answer one complete request (END_STREAM received). Default: a correct Add/Sum answer. */
  onRequest?: (conn: ScriptedConnection, request: ScriptedRequest) => void;
  /** Called once the server's SETTINGS are sent. */
  onConnect?: (conn: ScriptedConnection) => void;
  /** Called with each PING ACK the client sends (a graceful shutdown's second GOAWAY waits for one). */
  onPingAck?: (conn: ScriptedConnection, data: Buffer) => void;
}

export class ScriptedConnection {
  readonly encoder = new ResponseEncoder();
  readonly decoder = new HpackDecoder();
  requests = 0;
  openStreams = 0;
  maxOpenStreams = 0;
  maxDataFrame = 0;
  resets: number[] = [];
  /** Error code of each RST_STREAM in `resets`, and of each GOAWAY the client sent. */
  resetCodes: number[] = [];
  goawayCodes: number[] = [];
  flowViolation = false;
  settingsAcked = false;
  pingAcks: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private bodies = new Map<number, Buffer[]>();
  private headers = new Map<number, Map<string, string>>();
  private window = 65_535;
  private streamWindows = new Map<number, number>();
  private initialWindow: number;

  constructor(
    readonly socket: net.Socket,
    private readonly script: Script,
  ) {
    this.initialWindow = script.settings?.find(([id]) => id === Setting.INITIAL_WINDOW_SIZE)?.[1] ?? 65_535;
    const settings = Buffer.alloc(6 * (script.settings?.length ?? 0));
    script.settings?.forEach(([id, value], i) => {
      settings.writeUInt16BE(id, 6 * i);
      settings.writeUInt32BE(value, 6 * i + 2);
    });
    this.send(encodeFrame(FrameType.SETTINGS, 0, 0, settings));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    script.onConnect?.(this);
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  headersFrame(streamId: number, fields: Array<[string, string]>, endStream: boolean, plain = false): void {
    const block = this.encoder.encode(fields, plain);
    this.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), streamId, block));
  }

  /** A normal unary response: headers, message, trailers. */
  respond(streamId: number, message: Buffer, status = 0, grpcMessage = ''): void {
    this.headersFrame(streamId, [[':status', '200'], ['content-type', 'application/grpc']], false);
    this.send(encodeFrame(FrameType.DATA, 0, streamId, message));
    this.trailers(streamId, status, grpcMessage);
  }

  trailers(streamId: number, status: number, grpcMessage = ''): void {
    this.headersFrame(streamId, [['grpc-status', String(status)], ['grpc-message', grpcMessage]], true);
    this.closeStream();
  }

  closeStream(): void {
    this.openStreams--;
  }

  private onData(chunk: Buffer): void {
    let buffer = Buffer.concat([this.pending, chunk]);
    if (this.requests === 0 && this.bodies.size === 0 && buffer.subarray(0, 3).toString() === 'PRI') {
      if (buffer.length < CONNECTION_PREFACE.length) {
        this.pending = buffer;
        return;
      }
      buffer = buffer.subarray(CONNECTION_PREFACE.length);
    }
    let pos = 0;
    while (buffer.length - pos >= 9) {
      const length = buffer.readUIntBE(pos, 3);
      if (buffer.length - pos - 9 < length) break;
      const type = buffer[pos + 3];
      const flags = buffer[pos + 4];
      const id = buffer.readUInt32BE(pos + 5) & 0x7fffffff;
      this.onFrame(type, flags, id, buffer.subarray(pos + 9, pos + 9 + length));
      pos += 9 + length;
    }
    this.pending = Buffer.from(buffer.subarray(pos));
  }

  private onFrame(type: number, flags: number, id: number, body: Buffer): void {
    switch (type) {
      case FrameType.SETTINGS:
        if (flags & Flag.ACK) this.settingsAcked = true;
        else this.send(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
        break;
      case FrameType.HEADERS: {
        const fields = new Map<string, string>();
        this.decoder.decode(body, 0, body.length, { onHeader: (n, v) => fields.set(n, v) });
        this.headers.set(id, fields);
        this.bodies.set(id, []);
        this.streamWindows.set(id, this.initialWindow);
        this.openStreams++;
        this.maxOpenStreams = Math.max(this.maxOpenStreams, this.openStreams);
        break;
      }
      case FrameType.DATA: {
        this.maxDataFrame = Math.max(this.maxDataFrame, body.length);
        this.window -= body.length;
        const streamWindow = (this.streamWindows.get(id) ?? 0) - body.length;
        this.streamWindows.set(id, streamWindow);
        if (this.window < 0 || streamWindow < 0) this.flowViolation = true;
        this.bodies.get(id)?.push(Buffer.from(body));
        // Credit goes back as soon as data arrives, so the window stays as small as configured.
        const credit = body.length;
        if (credit > 0 && body.length > 0) {
          const increment = Buffer.alloc(4);
          increment.writeUInt32BE(credit);
          this.window += credit;
          this.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, increment));
          if (!(flags & Flag.END_STREAM)) {
            this.streamWindows.set(id, streamWindow + credit);
            this.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, id, increment));
          }
        }
        if (flags & Flag.END_STREAM) {
          const request: ScriptedRequest = {
            streamId: id,
            headers: this.headers.get(id)!,
            body: Buffer.concat(this.bodies.get(id)!),
            index: this.requests++,
          };
          this.bodies.delete(id);
          (this.script.onRequest ?? answerCorrectly)(this, request);
        }
        break;
      }
      case FrameType.RST_STREAM:
        this.resets.push(id);
        this.resetCodes.push(body.readUInt32BE(0));
        if (this.bodies.delete(id) || this.headers.has(id)) this.closeStream();
        break;
      case FrameType.PING:
        if (flags & Flag.ACK) {
          this.pingAcks.push(Buffer.from(body));
          this.script.onPingAck?.(this, Buffer.from(body));
        }
        break;
      case FrameType.GOAWAY:
        this.goawayCodes.push(body.readUInt32BE(4));
        break;
      default:
        break;
    }
  }
}

/** A GOAWAY frame: `lastStreamId` (2^31-1 for the first of a graceful shutdown's two), NO_ERROR unless `code`. */
export function goawayFrame(lastStreamId: number, code = 0): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(lastStreamId, 0);
  body.writeUInt32BE(code, 4);
  return encodeFrame(FrameType.GOAWAY, 0, 0, body);
}

/**
 * A graceful shutdown as grpc-go and nghttp2 servers do it, in the middle of a
 * burst: once `afterRequests` requests were answered, GOAWAY with
 * last-stream-id 2^31-1 and a PING; requests that arrive meanwhile are held;
 * on the PING's ACK (every stream the client will open here has arrived by
 * then), GOAWAY with the real last-stream-id (`lastOf(held)` decides it, by
 * default the first held stream), answers the held streams up to it and never
 * the rest. `refused` lists the stream ids left unprocessed, per connection.
 * `answer` answers a request (default: answerCorrectly, for unary Add/Sum).
 */
export function twoStepGoaway(
  afterRequests: number,
  lastOf: (held: number[]) => number = (held) => held[0] ?? 0,
  answer: (conn: ScriptedConnection, request: ScriptedRequest) => void = answerCorrectly,
): Script & { refused: Map<ScriptedConnection, number[]> } {
  const held = new Map<ScriptedConnection, ScriptedRequest[]>();
  const refused = new Map<ScriptedConnection, number[]>();
  return {
    refused,
    onRequest: (conn, request) => {
      const waiting = held.get(conn);
      if (waiting !== undefined) {
        if (!refused.has(conn)) waiting.push(request);
        return;
      }
      if (request.index < afterRequests) {
        answer(conn, request);
        return;
      }
      held.set(conn, [request]);
      conn.send(goawayFrame(2 ** 31 - 1));
      conn.send(encodeFrame(FrameType.PING, 0, 0, Buffer.from('shutdown')));
    },
    onPingAck: (conn, data) => {
      const waiting = held.get(conn);
      if (data.toString() !== 'shutdown' || waiting === undefined || refused.has(conn)) return;
      const last = lastOf(waiting.map((r) => r.streamId));
      conn.send(goawayFrame(last));
      refused.set(conn, waiting.filter((r) => r.streamId > last).map((r) => r.streamId));
      for (const request of waiting) if (request.streamId <= last) answer(conn, request);
    },
  };
}

export function answerCorrectly(conn: ScriptedConnection, request: ScriptedRequest): void {
  const path = request.headers.get(':path')!;
  const message = request.body.subarray(5);
  const { Operands, Numbers } = messageTypes();
  let value: number;
  if (path.endsWith('/Sum')) {
    value = (Numbers.decode(message) as unknown as { values: number[] }).values.reduce((a, b) => a + b, 0);
  } else {
    const { a, b } = Operands.decode(message) as unknown as { a: number; b: number };
    value = a + b;
  }
  conn.respond(request.streamId, resultMessage(value));
}

export interface ScriptedServer {
  port: number;
  connections: ScriptedConnection[];
  close(): Promise<void>;
}

export async function scriptedServer(script: Script): Promise<ScriptedServer> {
  const connections: ScriptedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    connections.push(new ScriptedConnection(socket, script));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function withServer(script: Script, body: (server: ScriptedServer) => Promise<void>): Promise<void> {
  const server = await scriptedServer(script);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
