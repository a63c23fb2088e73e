/**
 * One HTTP/2 client connection that sends the same unary gRPC request on many
 * streams, speaking the protocol directly on a socket. node:http2 and the
 * grpc-js client cost far more CPU per call than the server they measure;
 * here a call is a template copy, a stream-id patch and a few table lookups.
 *
 * The connection knows nothing about scheduling: the engine hands it a
 * CallStream to start and gets each outcome back through ConnectionEvents.
 */
import net from 'node:net';
import tls from 'node:tls';
import {
  CONNECTION_PREFACE,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  encodeFrame,
  encodeGoaway,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  Setting,
  writeFrameHeader,
} from './frame.ts';
import { encodeRequestHeaderBlocks } from './hpack-request-encoder.ts';
import { HpackDecoder, type HeaderSink } from './hpack-decoder.ts';
import { grpcStatusForHttpStatus, grpcStatusName } from './grpc-status.ts';
import { WriteCoalescer } from './write-coalescer.ts';

/** Per-call state, allocated once per concurrency slot and reused for every call it makes. */
const EMPTY = Buffer.alloc(0);

export class CallStream {
  streamId = 0;
  connection: Http2ClientConnection | null = null;
  /** Bytes of the framed request message already sent (large messages wait for flow-control credit). */
  sentBytes = 0;
  /** The framed request message this call sends (one of a pool, round robin). */
  message: Buffer = EMPTY;
  /** Index of `message` in the pool. */
  messageIndex = 0;
  /** The next start() sends `messageIndex` again: the same call, refused by the server (see onRefused). */
  resend = false;
  sendWindow = 0;
  receivedSinceUpdate = 0;
  headersSeen = false;
  httpStatus = 0;
  grpcContentType = false;
  grpcStatus = -1;
  /** Response message chunks, only collected when the engine asked for them. */
  responseChunks: Buffer[] | null = null;

  reset(): void {
    this.sentBytes = 0;
    this.receivedSinceUpdate = 0;
    this.headersSeen = false;
    this.httpStatus = 0;
    this.grpcContentType = false;
    this.grpcStatus = -1;
    if (this.responseChunks !== null) this.responseChunks.length = 0;
  }
}

export interface ConnectionEvents {
  /** The server's SETTINGS arrived: streams may start. */
  onReady(connection: Http2ClientConnection): void;
  /**
   * A later SETTINGS raised MAX_CONCURRENT_STREAMS: calls waiting for a stream
   * may start. Optional for users that start one stream at a time.
   */
  onMoreStreams?(connection: Http2ClientConnection): void;
  /** A call ended; `outcome` is a gRPC status name or a transport failure key. */
  onCallEnd(stream: CallStream, outcome: string): void;
  /**
   * The server did not process this call (RFC 9113 section 8.7): its stream is
   * above a GOAWAY's last-stream-id, or was reset with REFUSED_STREAM before any
   * answer. It is off this connection and may be sent again on another one.
   * Without this handler the call ends with `outcome` ('goaway' / 'stream-reset').
   */
  onRefused?(stream: CallStream, outcome: string): void;
  /** GOAWAY received or stream ids used up: start no more streams here. */
  onRetiring(connection: Http2ClientConnection): void;
  /** Socket gone. Calls still open have already ended as 'connection-error'. */
  onClosed(connection: Http2ClientConnection, reason: string | null): void;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  tls: boolean;
  /** The unary method's :path (any request path in 'http' mode). */
  path: string;
  /**
   * The request body as it goes on the wire: 5-byte gRPC prefix + protobuf in
   * 'grpc' mode; any bytes (JSON text, a protobuf message) in 'http' mode.
   */
  framedMessage: Buffer;
  /** Several request bodies, framed the same way, sent round robin (an API card's pool); absent: framedMessage on every call. */
  framedMessages?: readonly Buffer[];
  /**
   * 'grpc' (default): content-type application/grpc, te: trailers, outcome =
   * grpc-status name. 'http': a plain request over h2 (e.g. JSON over h2c) with
   * `contentType`; outcome = the response's :status ('200', '400', ...).
   */
  mode?: 'grpc' | 'http';
  /** Request content-type in 'http' mode (default application/json). */
  contentType?: string;
  metadata: ReadonlyArray<readonly [string, string]>;
  /** Stop opening streams after this many (tests use it to exercise stream-id exhaustion). */
  maxStreams?: number;
  connectTimeoutMs: number;
}

const USER_AGENT = 'callbench-grpc-engine/0.1';
/**
 * Our receive windows are large so the server never waits for credit on a
 * small-response benchmark; we still return credit once a quarter is used,
 * as flow control requires.
 */
const RECEIVE_WINDOW = 1 << 24;
const RECEIVE_UPDATE_THRESHOLD = RECEIVE_WINDOW >> 2;
/** Largest frame we accept: we never raise SETTINGS_MAX_FRAME_SIZE above the default. */
const OUR_MAX_FRAME_SIZE = DEFAULT_MAX_FRAME_SIZE;
const READ_BUFFER_SIZE = 64 * 1024;

const CLIENT_PREFACE = Buffer.concat([
  CONNECTION_PREFACE,
  encodeSettings([
    [Setting.ENABLE_PUSH, 0],
    [Setting.INITIAL_WINDOW_SIZE, RECEIVE_WINDOW],
    [Setting.HEADER_TABLE_SIZE, DEFAULT_HEADER_TABLE_SIZE],
  ]),
  encodeWindowUpdate(0, RECEIVE_WINDOW - DEFAULT_WINDOW_SIZE),
]);
const SETTINGS_ACK = encodeFrame(FrameType.SETTINGS, Flag.ACK, 0);

class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export class Http2ClientConnection implements HeaderSink {
  readonly socket: net.Socket;
  bytesSent = 0;
  bytesReceived = 0;
  /** Open streams on this connection. */
  active = 0;
  ready = false;
  closed = false;
  /** No new streams: GOAWAY seen, stream ids used up, or closing. */
  retiring = false;
  closeReason: string | null = null;

  private readonly options: ConnectionOptions;
  private readonly events: ConnectionEvents;
  private readonly streams = new Map<number, CallStream>();
  private readonly out = new WriteCoalescer();
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();
  private readonly deferFlushBound = (): void => {
    if (this.flushScheduled) setImmediate(this.flushBound);
  };
  private readonly decoder = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE);
  /** Stream whose header block is being decoded (null: one we no longer track). */
  private decoding: CallStream | null = null;

  private nextStreamId = 1;
  private readonly lastStreamId: number;
  // Peer settings and our send credit.
  private peerMaxConcurrent = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerHeaderTableSize = DEFAULT_HEADER_TABLE_SIZE;
  private connectionSendWindow = DEFAULT_WINDOW_SIZE;
  private receivedSinceUpdate = 0;
  /** Streams with request bytes waiting for flow-control credit, oldest first. */
  private blocked: CallStream[] = [];

  // Frame templates: HEADERS (+ DATA when the message fits one frame), stream ids patched per call.
  private firstHeaders: Buffer = Buffer.alloc(0);
  private repeatHeaders: Buffer = Buffer.alloc(0);
  /** HEADERS + DATA of a call, one per request of the pool, stream ids patched on use. */
  private repeatCalls: Buffer[] = [];
  /** The requests this connection sends, round robin, and the next one's index. */
  private readonly messages: readonly Buffer[];
  private nextMessage = 0;
  /** Offsets of stream-id fields inside the templates. */
  private firstHeaderIdOffsets: number[] = [];
  private repeatHeaderIdOffsets: number[] = [];
  private repeatCallDataIdOffset = 0;
  private needFirstHeaders = true;

  /** Bytes carried over from the last read when a frame straddles reads. */
  private partial: Buffer | null = null;
  /** Header block fragments while CONTINUATION frames are expected. */
  private continuationStream = 0;
  private continuationEndStream = false;
  private continuationParts: Buffer[] = [];
  private connectTimer: NodeJS.Timeout | null;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this.options = options;
    this.events = events;
    this.messages = options.framedMessages && options.framedMessages.length > 0 ? options.framedMessages : [options.framedMessage];
    const limit = options.maxStreams ? 2 * options.maxStreams - 1 : MAX_STREAM_ID;
    this.lastStreamId = Math.min(limit, MAX_STREAM_ID);
    this.socket = options.tls
      ? tls.connect({
          host: options.host,
          port: options.port,
          ALPNProtocols: ['h2'],
          // The bench's certificates are self-signed; this client measures, it does not authenticate.
          rejectUnauthorized: false,
          servername: net.isIP(options.host) ? undefined : options.host,
        })
      : net.connect({
          host: options.host,
          port: options.port,
          // Reads land in one reused buffer: no Buffer per read, no stream machinery per chunk.
          onread: {
            buffer: Buffer.allocUnsafeSlow(READ_BUFFER_SIZE),
            callback: (length: number, buffer: Uint8Array): boolean => {
              this.onData(buffer as Buffer, length);
              return true;
            },
          },
        });
    this.socket.setNoDelay(true);
    const connectEvent = options.tls ? 'secureConnect' : 'connect';
    this.socket.once(connectEvent, () => {
      if (options.tls && (this.socket as tls.TLSSocket).alpnProtocol !== 'h2') {
        this.fail('server did not negotiate h2 over ALPN');
        return;
      }
    });
    if (options.tls) this.socket.on('data', (chunk: Buffer) => this.onData(chunk, chunk.length));
    this.socket.on('error', (error: Error) => {
      this.closeReason ??= error.message;
    });
    this.socket.on('close', () => this.onSocketClose());
    this.connectTimer = setTimeout(() => this.fail(`no HTTP/2 SETTINGS within ${options.connectTimeoutMs} ms`), options.connectTimeoutMs);
    // Node queues writes until the socket connects, so the preface goes out without a round trip.
    this.writeRaw(CLIENT_PREFACE);
  }

  /** True when one more stream may start now. */
  canStart(): boolean {
    return this.ready && !this.retiring && this.active < this.peerMaxConcurrent;
  }

  start(stream: CallStream): void {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.reset();
    stream.streamId = id;
    stream.connection = this;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(id, stream);
    this.active++;

    let which = this.nextMessage;
    if (stream.resend && stream.messageIndex < this.messages.length) which = stream.messageIndex;
    else this.nextMessage = which + 1 === this.messages.length ? 0 : which + 1;
    stream.resend = false;
    stream.messageIndex = which;
    const message = this.messages[which]!;
    stream.message = message;
    const fitsOneFrame =
      message.length <= this.peerMaxFrameSize &&
      message.length <= stream.sendWindow &&
      message.length <= this.connectionSendWindow;
    if (!this.needFirstHeaders && fitsOneFrame) {
      // The common case: one copy of HEADERS+DATA, two stream ids patched.
      const template = this.repeatCalls[which]!;
      const target = this.out.reserve(template.length);
      const at = this.out.offset;
      template.copy(target, at);
      const ids = this.repeatHeaderIdOffsets;
      for (let i = 0; i < ids.length; i++) target.writeUInt32BE(id, at + ids[i]);
      target.writeUInt32BE(id, at + this.repeatCallDataIdOffset);
      this.out.commit(template.length);
      stream.sentBytes = message.length;
      stream.sendWindow -= message.length;
      this.connectionSendWindow -= message.length;
    } else {
      if (this.needFirstHeaders) {
        this.writeTemplate(this.firstHeaders, this.firstHeaderIdOffsets, id);
        this.needFirstHeaders = false;
      } else {
        this.writeTemplate(this.repeatHeaders, this.repeatHeaderIdOffsets, id);
      }
      if (!this.sendData(stream)) this.blocked.push(stream);
    }
    if (this.nextStreamId > this.lastStreamId) this.retire();
    this.scheduleFlush();
  }

  /** Abandons a call (deadline passed): RST_STREAM CANCEL, no outcome event. */
  cancel(stream: CallStream): void {
    if (stream.connection !== this || !this.streams.has(stream.streamId)) return;
    this.forget(stream);
    if (!this.closed) {
      this.out.push(encodeRstStream(stream.streamId, ErrorCode.CANCEL));
      this.scheduleFlush();
    }
  }

  /** Polite close: GOAWAY, then end the socket; open calls end as connection errors. */
  close(): void {
    if (this.closed) return;
    this.retiring = true;
    if (!this.socket.destroyed) {
      this.out.push(encodeGoaway(0, ErrorCode.NO_ERROR));
      this.flush();
      this.socket.end();
      // Do not wait for the peer to close its side.
      setTimeout(() => this.socket.destroy(), 100).unref();
    }
  }

  // ---- sending ----

  private buildTemplates(announceTableSize: boolean): void {
    const { host, port, tls: secure, path, metadata } = this.options;
    const grpc = this.options.mode !== 'http';
    const fields: Array<readonly [string, string]> = [
      [':method', 'POST'],
      [':scheme', secure ? 'https' : 'http'],
      [':path', path],
      [':authority', `${host.includes(':') ? `[${host}]` : host}:${port}`],
      ...(grpc
        ? ([['content-type', 'application/grpc'], ['te', 'trailers']] as const)
        : ([['content-type', this.options.contentType ?? 'application/json']] as const)),
      ['user-agent', USER_AGENT],
      ...metadata,
    ];
    const blocks = encodeRequestHeaderBlocks(fields, this.peerHeaderTableSize, announceTableSize);
    [this.firstHeaders, this.firstHeaderIdOffsets] = this.headersFrames(blocks.first);
    [this.repeatHeaders, this.repeatHeaderIdOffsets] = this.headersFrames(blocks.repeat);
    this.repeatCalls = this.messages.map((message) => {
      const dataHeader = Buffer.alloc(FRAME_HEADER_LENGTH);
      writeFrameHeader(dataHeader, 0, message.length, FrameType.DATA, Flag.END_STREAM, 0);
      return Buffer.concat([this.repeatHeaders, dataHeader, message]);
    });
    this.repeatCallDataIdOffset = this.repeatHeaders.length + 5;
    this.needFirstHeaders = true;
  }

  /** A header block as HEADERS plus CONTINUATION frames when it exceeds the peer's frame size. */
  private headersFrames(block: Buffer): [Buffer, number[]] {
    const frames: Buffer[] = [];
    const idOffsets: number[] = [];
    let offset = 0;
    let at = 0;
    do {
      const length = Math.min(block.length - offset, this.peerMaxFrameSize);
      const last = offset + length === block.length;
      const type = offset === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const frame = Buffer.alloc(FRAME_HEADER_LENGTH + length);
      writeFrameHeader(frame, 0, length, type, last ? Flag.END_HEADERS : 0, 0);
      block.copy(frame, FRAME_HEADER_LENGTH, offset, offset + length);
      idOffsets.push(at + 5);
      frames.push(frame);
      at += frame.length;
      offset += length;
    } while (offset < block.length);
    return [Buffer.concat(frames), idOffsets];
  }

  private writeTemplate(template: Buffer, idOffsets: number[], id: number): void {
    const target = this.out.reserve(template.length);
    const at = this.out.offset;
    template.copy(target, at);
    for (let i = 0; i < idOffsets.length; i++) target.writeUInt32BE(id, at + idOffsets[i]);
    this.out.commit(template.length);
  }

  /** Sends as much of the request as credit allows; true when all of it is out. */
  private sendData(stream: CallStream): boolean {
    const message = stream.message;
    while (stream.sentBytes < message.length) {
      const length = Math.min(
        message.length - stream.sentBytes,
        this.peerMaxFrameSize,
        stream.sendWindow,
        this.connectionSendWindow,
      );
      if (length <= 0) return false;
      const last = stream.sentBytes + length === message.length;
      const target = this.out.reserve(FRAME_HEADER_LENGTH + length);
      const at = this.out.offset;
      writeFrameHeader(target, at, length, FrameType.DATA, last ? Flag.END_STREAM : 0, stream.streamId);
      message.copy(target, at + FRAME_HEADER_LENGTH, stream.sentBytes, stream.sentBytes + length);
      this.out.commit(FRAME_HEADER_LENGTH + length);
      stream.sentBytes += length;
      stream.sendWindow -= length;
      this.connectionSendWindow -= length;
    }
    return true;
  }

  private resumeBlocked(): void {
    if (this.blocked.length === 0) return;
    const still: CallStream[] = [];
    for (const stream of this.blocked) {
      if (stream.connection !== this || this.streams.get(stream.streamId) !== stream) continue;
      if (!this.sendData(stream)) still.push(stream);
    }
    this.blocked = still;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Write after the next poll of the event loop, as h2load does (it writes when
    // the socket's write event fires, after reading whatever else arrived): the
    // responses of that poll add their follow-up requests to the same write, so
    // the server gets fewer, larger reads.
    setImmediate(this.deferFlushBound);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.pendingBytes === 0 || this.socket.destroyed) {
      this.out.take();
      return;
    }
    const parts = this.out.take();
    if (parts.length === 1) {
      this.writeRaw(parts[0]);
    } else {
      this.socket.cork();
      for (const part of parts) this.writeRaw(part);
      this.socket.uncork();
    }
  }

  private writeRaw(bytes: Buffer): void {
    this.bytesSent += bytes.length;
    this.socket.write(bytes);
  }

  // ---- receiving ----

  /** One parse pass over what a read delivered; `chunk` may be a reused buffer, valid only during the call. */
  private onData(chunk: Buffer, length: number): void {
    this.bytesReceived += length;
    let buffer = chunk;
    if (this.partial !== null) {
      buffer = Buffer.concat([this.partial, chunk.subarray(0, length)]);
      this.partial = null;
    }
    let pos = 0;
    const end = buffer === chunk ? length : buffer.length;
    try {
      while (end - pos >= FRAME_HEADER_LENGTH) {
        const length = (buffer[pos] << 16) | (buffer[pos + 1] << 8) | buffer[pos + 2];
        if (length > OUR_MAX_FRAME_SIZE) throw new ConnectionError(`frame of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        if (end - pos - FRAME_HEADER_LENGTH < length) break;
        const type = buffer[pos + 3];
        const flags = buffer[pos + 4];
        const streamId = buffer.readUInt32BE(pos + 5) & 0x7fffffff;
        this.onFrame(buffer, pos + FRAME_HEADER_LENGTH, length, type, flags, streamId);
        if (this.closed) return;
        pos += FRAME_HEADER_LENGTH + length;
      }
    } catch (error) {
      const code = error instanceof ConnectionError ? error.code : ErrorCode.PROTOCOL_ERROR;
      this.fail(`protocol error: ${(error as Error).message}`, code);
      return;
    }
    // Copy: the read buffer is overwritten by the next read.
    if (pos < end) this.partial = Buffer.from(buffer.subarray(pos, end));
  }

  private onFrame(buffer: Buffer, start: number, length: number, type: number, flags: number, streamId: number): void {
    if (this.continuationStream !== 0 && type !== FrameType.CONTINUATION) {
      throw new ConnectionError('expected CONTINUATION', ErrorCode.PROTOCOL_ERROR);
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(buffer, start, length, flags, streamId);
        break;
      case FrameType.HEADERS:
        this.onHeadersFrame(buffer, start, length, flags, streamId);
        break;
      case FrameType.CONTINUATION:
        this.onContinuation(buffer, start, length, flags, streamId);
        break;
      case FrameType.RST_STREAM: {
        if (length !== 4) throw new ConnectionError(`RST_STREAM of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        const stream = this.streams.get(streamId);
        if (stream === undefined) break;
        if (buffer.readUInt32BE(start) === ErrorCode.REFUSED_STREAM && !stream.headersSeen) this.refuse(stream, 'stream-reset');
        else this.finish(stream, 'stream-reset', false);
        break;
      }
      case FrameType.SETTINGS:
        if ((flags & Flag.ACK) === 0) this.onSettings(buffer, start, length);
        else if (length !== 0) throw new ConnectionError(`SETTINGS ACK of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        break;
      case FrameType.PING:
        if (length !== 8) throw new ConnectionError(`PING of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        if ((flags & Flag.ACK) === 0) {
          this.out.push(encodeFrame(FrameType.PING, Flag.ACK, 0, buffer.subarray(start, start + length)));
          this.scheduleFlush();
        }
        break;
      case FrameType.GOAWAY:
        if (length < 8) throw new ConnectionError(`GOAWAY of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        this.onGoaway(buffer.readUInt32BE(start) & 0x7fffffff);
        break;
      case FrameType.WINDOW_UPDATE: {
        if (length !== 4) throw new ConnectionError(`WINDOW_UPDATE of ${length} bytes`, ErrorCode.FRAME_SIZE_ERROR);
        const increment = buffer.readUInt32BE(start) & 0x7fffffff;
        // RFC 9113 section 6.9: an increment of 0 or a window past 2^31-1 is an error of the
        // connection or of the one stream whose window it names.
        if (streamId === 0) {
          if (increment === 0) throw new ConnectionError('connection WINDOW_UPDATE of 0', ErrorCode.PROTOCOL_ERROR);
          this.connectionSendWindow += increment;
          if (this.connectionSendWindow > MAX_WINDOW_SIZE) {
            throw new ConnectionError('connection window overflow', ErrorCode.FLOW_CONTROL_ERROR);
          }
        } else {
          const stream = this.streams.get(streamId);
          if (stream === undefined) break;
          if (increment === 0) {
            this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
            break;
          }
          stream.sendWindow += increment;
          if (stream.sendWindow > MAX_WINDOW_SIZE) {
            this.streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
            break;
          }
        }
        this.resumeBlocked();
        break;
      }
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError('PUSH_PROMISE although push is disabled', ErrorCode.PROTOCOL_ERROR);
      default:
        // PRIORITY and unknown frame types carry nothing a client needs.
        break;
    }
  }

  private onDataFrame(buffer: Buffer, start: number, length: number, flags: number, streamId: number): void {
    // Flow control counts the whole payload, padding included, even for streams we dropped.
    this.receivedSinceUpdate += length;
    if (this.receivedSinceUpdate >= RECEIVE_UPDATE_THRESHOLD) {
      this.out.push(encodeWindowUpdate(0, this.receivedSinceUpdate));
      this.receivedSinceUpdate = 0;
      this.scheduleFlush();
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.receivedSinceUpdate += length;
    if (stream.receivedSinceUpdate >= RECEIVE_UPDATE_THRESHOLD && (flags & Flag.END_STREAM) === 0) {
      this.out.push(encodeWindowUpdate(streamId, stream.receivedSinceUpdate));
      stream.receivedSinceUpdate = 0;
      this.scheduleFlush();
    }
    if (stream.responseChunks !== null) {
      let dataStart = start;
      let dataEnd = start + length;
      if (flags & Flag.PADDED) {
        dataEnd -= buffer[start];
        dataStart++;
      }
      stream.responseChunks.push(Buffer.from(buffer.subarray(dataStart, dataEnd)));
    }
    // A unary gRPC response must end with trailers; END_STREAM on DATA means it did not.
    // A plain HTTP response ends here: its outcome is its :status.
    if (flags & Flag.END_STREAM) this.finish(stream, this.options.mode === 'http' ? httpOutcomeOf(stream) : 'INTERNAL', true);
  }

  private onHeadersFrame(buffer: Buffer, start: number, length: number, flags: number, streamId: number): void {
    let blockStart = start;
    let blockEnd = start + length;
    if (flags & Flag.PADDED) {
      blockEnd -= buffer[start];
      blockStart++;
    }
    if (flags & Flag.PRIORITY) blockStart += 5;
    if (blockEnd < blockStart) throw new ConnectionError('HEADERS padding exceeds payload', ErrorCode.PROTOCOL_ERROR);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (flags & Flag.END_HEADERS) {
      this.onHeaderBlock(streamId, buffer, blockStart, blockEnd, endStream);
    } else {
      this.continuationStream = streamId;
      this.continuationEndStream = endStream;
      this.continuationParts = [Buffer.from(buffer.subarray(blockStart, blockEnd))];
    }
  }

  private onContinuation(buffer: Buffer, start: number, length: number, flags: number, streamId: number): void {
    if (this.continuationStream === 0 || streamId !== this.continuationStream) {
      throw new ConnectionError('unexpected CONTINUATION', ErrorCode.PROTOCOL_ERROR);
    }
    this.continuationParts.push(Buffer.from(buffer.subarray(start, start + length)));
    if (flags & Flag.END_HEADERS) {
      const block = Buffer.concat(this.continuationParts);
      this.continuationParts = [];
      this.continuationStream = 0;
      this.onHeaderBlock(streamId, block, 0, block.length, this.continuationEndStream);
    }
  }

  private onHeaderBlock(streamId: number, block: Buffer, start: number, end: number, endStream: boolean): void {
    const stream = this.streams.get(streamId) ?? null;
    this.decoding = stream;
    try {
      // Decode even when nobody waits for this stream: the table must stay in step with the server.
      this.decoder.decode(block, start, end, this);
    } catch (error) {
      throw new ConnectionError((error as Error).message, ErrorCode.COMPRESSION_ERROR);
    } finally {
      this.decoding = null;
    }
    if (stream === null) return;
    stream.headersSeen = true;
    if (endStream) this.finish(stream, this.options.mode === 'http' ? httpOutcomeOf(stream) : outcomeOf(stream), true);
  }

  /** HeaderSink: picks out the few fields that decide a call's outcome. */
  onHeader(name: string, value: string): void {
    const stream = this.decoding;
    if (stream === null) return;
    switch (name) {
      case ':status':
        stream.httpStatus = value === '200' ? 200 : Number.parseInt(value, 10) || -1;
        break;
      case 'content-type':
        stream.grpcContentType = value.startsWith('application/grpc');
        break;
      case 'grpc-status':
        stream.grpcStatus = value === '0' ? 0 : Number.parseInt(value, 10);
        if (!(stream.grpcStatus >= 0)) stream.grpcStatus = 2; // unparsable: UNKNOWN
        break;
      default:
        break;
    }
  }

  private onSettings(buffer: Buffer, start: number, length: number): void {
    if (length % 6 !== 0) throw new ConnectionError('SETTINGS length not a multiple of 6', ErrorCode.FRAME_SIZE_ERROR);
    let tableSizeChanged = false;
    const maxConcurrentBefore = this.peerMaxConcurrent;
    for (let at = start; at < start + length; at += 6) {
      const id = buffer.readUInt16BE(at);
      const value = buffer.readUInt32BE(at + 2);
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          tableSizeChanged = tableSizeChanged || value !== this.peerHeaderTableSize;
          this.peerHeaderTableSize = value;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW_SIZE) throw new ConnectionError('initial window too large', ErrorCode.FLOW_CONTROL_ERROR);
          // Section 6.9.2: the change applies to every open stream's window.
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) stream.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          this.peerMaxFrameSize = value;
          break;
        default:
          break;
      }
    }
    this.out.push(SETTINGS_ACK);
    this.scheduleFlush();
    if (!this.ready) {
      this.ready = true;
      if (this.connectTimer !== null) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.buildTemplates(false);
      this.events.onReady(this);
    } else {
      // Frame size or table size may have changed: re-encode, re-indexing from scratch if needed.
      const needFirst = this.needFirstHeaders;
      this.buildTemplates(tableSizeChanged);
      this.needFirstHeaders = needFirst || tableSizeChanged;
      this.resumeBlocked();
      // Waiting calls cannot count on an ending call to start them: with a limit of 0 none is open.
      if (this.peerMaxConcurrent > maxConcurrentBefore && this.canStart()) this.events.onMoreStreams?.(this);
    }
  }

  /**
   * A server that shuts down gracefully sends two GOAWAYs (RFC 9113 section
   * 6.8): first last-stream-id 2^31-1 (start nothing new; nothing is refused
   * yet), then, a round trip later, the real last id. Each one retires the
   * connection (idempotent) and hands back the streams above its id, which the
   * server never processed.
   */
  private onGoaway(lastProcessed: number): void {
    // Retire first: calls handed back below are restarted at once and must not land here again.
    this.retire();
    // Streams above the server's last processed id were never handled; the rest may still complete here.
    for (const stream of [...this.streams.values()]) {
      if (stream.streamId > lastProcessed) this.refuse(stream, 'goaway');
    }
    if (this.active === 0) this.close();
  }

  /** A stream the server did not process: handed back for another connection, or ended with `outcome`. */
  private refuse(stream: CallStream, outcome: string): void {
    if (this.events.onRefused === undefined) {
      this.finish(stream, outcome, false);
      return;
    }
    this.forget(stream);
    stream.resend = true;
    this.events.onRefused(stream, outcome);
    if (this.retiring && this.active === 0 && !this.closed) this.close();
  }

  private retire(): void {
    if (this.retiring) return;
    this.retiring = true;
    this.events.onRetiring(this);
  }

  /** Ends a call with an outcome; `resetIfUnsent` cancels a request the server answered before we finished sending it. */
  private finish(stream: CallStream, outcome: string, resetIfUnsent: boolean): void {
    if (resetIfUnsent && stream.sentBytes < stream.message.length) {
      this.out.push(encodeRstStream(stream.streamId, ErrorCode.CANCEL));
      this.scheduleFlush();
    }
    this.forget(stream);
    this.events.onCallEnd(stream, outcome);
    if (this.retiring && this.active === 0 && !this.closed) this.close();
  }

  /** A stream error (RFC 9113 section 5.4.2): the stream is reset and its call fails; the connection carries on. */
  private streamError(stream: CallStream, code: number): void {
    this.out.push(encodeRstStream(stream.streamId, code));
    this.scheduleFlush();
    this.finish(stream, 'stream-reset', false);
  }

  private forget(stream: CallStream): void {
    this.streams.delete(stream.streamId);
    this.active--;
    stream.connection = null;
    if (stream.sentBytes < stream.message.length) {
      const at = this.blocked.indexOf(stream);
      if (at >= 0) this.blocked.splice(at, 1);
    }
  }

  private fail(reason: string, code: number = ErrorCode.PROTOCOL_ERROR): void {
    this.closeReason ??= reason;
    if (!this.socket.destroyed && this.ready) {
      this.out.push(encodeGoaway(0, code));
      this.flush();
    }
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.retiring = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    for (const stream of [...this.streams.values()]) {
      this.forget(stream);
      this.events.onCallEnd(stream, 'connection-error');
    }
    this.blocked = [];
    this.events.onClosed(this, this.closeReason);
  }
}

function outcomeOf(stream: CallStream): string {
  if (stream.httpStatus !== 200) return grpcStatusForHttpStatus(stream.httpStatus);
  if (!stream.grpcContentType) return 'UNKNOWN';
  // Without grpc-status the server broke the protocol; gRPC clients report INTERNAL.
  if (stream.grpcStatus < 0) return 'INTERNAL';
  return grpcStatusName(stream.grpcStatus);
}

/** 'http' mode: the response's :status as statusCounts keys spell HTTP statuses ('200', '400'). */
function httpOutcomeOf(stream: CallStream): string {
  return stream.httpStatus > 0 ? String(stream.httpStatus) : 'no-status';
}
