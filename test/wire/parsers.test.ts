/**
 * The counting proxy's passive parsers on crafted byte streams, fed whole and
 * split at every byte boundary: header/framing vs body must add up exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamCounts, WireParser } from '../../bench/wire/counts.ts';
import { Http1Parser } from '../../bench/wire/http1.ts';
import { CLIENT_PREFACE, Http2Parser } from '../../bench/wire/http2.ts';

/** Feeds `bytes` in pieces cut at `cuts` and returns the counts. */
function feed(make: () => WireParser, bytes: Buffer, cuts: number[] = []): StreamCounts {
  const parser = make();
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(at, cut));
    at = cut;
  }
  return parser.counts;
}

/** The same counts whole, split in two at every position, and one byte at a time. */
function assertEverySplit(make: () => WireParser, bytes: Buffer, expected: StreamCounts): void {
  assert.deepEqual(feed(make, bytes), expected, 'whole');
  for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(feed(make, bytes, [cut]), expected, `split at ${cut}`);
  assert.deepEqual(
    feed(make, bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)),
    expected,
    'byte by byte',
  );
}

describe('HTTP/1.1 parser', () => {
  test('requests with Content-Length: header block vs body, pipelined', () => {
    const head = 'POST /v1/add HTTP/1.1\r\nhost: 127.0.0.1:3000\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n';
    const body = '{"a":20,"b":10}';
    const one = head + body;
    const bytes = Buffer.from(one + one, 'latin1');
    assertEverySplit(() => new Http1Parser(false), bytes, {
      totalBytes: bytes.length,
      headerBytes: 2 * head.length,
      bodyBytes: 2 * body.length,
      messages: 2,
    });
  });

  test('a request without a body (GET) has no body bytes', () => {
    const head = 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n';
    const bytes = Buffer.from(head + head);
    assertEverySplit(() => new Http1Parser(false), bytes, { totalBytes: bytes.length, headerBytes: bytes.length, bodyBytes: 0, messages: 2 });
  });

  test('chunked response: chunk-size lines, CRLFs and trailers are framing', () => {
    const head = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
    const framed = '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n';
    const next = 'HTTP/1.1 204 No Content\r\ndate: x\r\n\r\n';
    const bytes = Buffer.from(head + framed + next);
    const body = 'hello, world'.length;
    assertEverySplit(() => new Http1Parser(true), bytes, {
      totalBytes: bytes.length,
      headerBytes: bytes.length - body,
      bodyBytes: body,
      messages: 2,
    });
  });

  test('a response without length runs until the connection closes', () => {
    const head = 'HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\n';
    const bytes = Buffer.from(`${head}all of this is body`);
    assertEverySplit(() => new Http1Parser(true), bytes, {
      totalBytes: bytes.length,
      headerBytes: head.length,
      bodyBytes: bytes.length - head.length,
      messages: 1,
    });
  });
});

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function grpcMessage(length: number, fill = 0xab): Buffer {
  const out = Buffer.alloc(5 + length, fill);
  out[0] = 0;
  out.writeUInt32BE(length, 1);
  return out;
}

describe('HTTP/2 parser', () => {
  test('client side: preface, SETTINGS, HEADERS, DATA with one gRPC message, WINDOW_UPDATE, PING', () => {
    const settings = frame(0x4, 0, 0, Buffer.alloc(12));
    const headers = frame(0x1, 0x4, 1, Buffer.alloc(40, 0x82));
    const data = frame(0x0, 0x1, 1, grpcMessage(18));
    const windowUpdate = frame(0x8, 0, 0, Buffer.alloc(4));
    const ping = frame(0x6, 0, 0, Buffer.alloc(8));
    const bytes = Buffer.concat([CLIENT_PREFACE, settings, headers, data, windowUpdate, ping]);
    assertEverySplit(() => new Http2Parser(true), bytes, {
      totalBytes: bytes.length,
      headerBytes: bytes.length - 18,
      bodyBytes: 18,
      messages: 1,
    });
  });

  test('a gRPC message spanning DATA frames, interleaved with another stream, and padding', () => {
    const big = grpcMessage(100); // 105 bytes split 40 + 65 over two frames of stream 1
    const a1 = frame(0x0, 0, 1, big.subarray(0, 40));
    const b = frame(0x0, 0x1, 3, Buffer.concat([grpcMessage(7), grpcMessage(0)])); // two messages, one empty
    // Padded DATA frame (flag 0x8): pad length byte 4, then data, then 4 padding bytes.
    const rest = big.subarray(40);
    const a2 = frame(0x0, 0x8 | 0x1, 1, Buffer.concat([Buffer.from([4]), rest, Buffer.alloc(4)]));
    const trailers = frame(0x1, 0x5, 3, Buffer.alloc(10));
    const bytes = Buffer.concat([a1, b, a2, trailers]);
    assertEverySplit(() => new Http2Parser(false), bytes, {
      totalBytes: bytes.length,
      headerBytes: bytes.length - 107,
      bodyBytes: 107,
      messages: 3,
    });
  });

  test('server side does not expect a preface; RST_STREAM and GOAWAY are framing', () => {
    const bytes = Buffer.concat([
      frame(0x4, 0, 0, Buffer.alloc(6)),
      frame(0x4, 0x1, 0, Buffer.alloc(0)),
      frame(0x1, 0x4, 1, Buffer.alloc(5)),
      frame(0x0, 0, 1, grpcMessage(9)),
      frame(0x3, 0, 1, Buffer.alloc(4)),
      frame(0x7, 0, 0, Buffer.alloc(8)),
    ]);
    assertEverySplit(() => new Http2Parser(false), bytes, {
      totalBytes: bytes.length,
      headerBytes: bytes.length - 9,
      bodyBytes: 9,
      messages: 1,
    });
  });
});
