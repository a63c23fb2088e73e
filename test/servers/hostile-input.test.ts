/**
 * Hostile input: a corpus per protocol, as data, each row with the answer it must
 * get. After every row the server must still answer a valid call, and no answer
 * may carry a stack trace or a file path.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import type http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { LIMITS } from '../../servers/calculator.ts';
import { callGrpc, createGrpcClient } from '../../scripts/client.ts';
import {
  connectH2,
  decodeResultByHand,
  encodeOperandsByHand,
  grpcFrame,
  httpPost,
  rawGrpc,
  rawHttp,
  startServers,
  type RawGrpcRequest,
  type Servers,
} from '../helpers/servers.ts';

const LIMIT = LIMITS.maxBodyBytes;
const TOO_LARGE = `request body is larger than the limit of ${LIMIT} bytes`;
const NOT_JSON = 'request body is not valid JSON';
const NOT_PROTOBUF = 'request body is not a valid protobuf message';
const INCOMPLETE = 'request body was incomplete';
const WRONG_TYPE = 'content-type must be application/json';
/** Anything that smells of internals: stack frames, file paths, module names. */
const LEAK = /\bat \S+ \(|node_modules|\/work\/|[\w-]+\.(ts|js):\d+|Error:|errno|ENOENT|\bstack\b/i;

// ---- REST corpus ---------------------------------------------------------------

type RestExpect =
  | { status: number; code: string; message: string | RegExp }
  | { status: 200; value: number };

interface RestCase {
  name: string;
  /** Raw request bytes (one HTTP/1.1 request; connection: close). */
  request: Buffer | string;
  expect: RestExpect;
}

const json = (body: string | Buffer, headers: Record<string, string> = {}, path = '/v1/add'): Buffer => httpPost(path, body, headers);
const bad = (message: string | RegExp, status = 400, code = 'INVALID_ARGUMENT'): RestExpect => ({ status, code, message });
const plain = (method: string, path: string, headers = ''): string => `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers}connection: close\r\n\r\n`;
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

export const REST_CASES: RestCase[] = [
  // Malformed and truncated JSON.
  { name: 'unclosed object', request: json('{'), expect: bad(NOT_JSON) },
  { name: 'truncated after a comma', request: json('{"a":1,'), expect: bad(NOT_JSON) },
  { name: 'missing value', request: json('{"a":}'), expect: bad(NOT_JSON) },
  { name: 'single quotes', request: json("{'a':1,'b':2}"), expect: bad(NOT_JSON) },
  { name: 'trailing garbage', request: json('{"a":1,"b":2}x'), expect: bad(NOT_JSON) },
  { name: 'trailing comma', request: json('{"a":1,"b":2,}'), expect: bad(NOT_JSON) },
  { name: 'missing comma', request: json('{"a":1 "b":2}'), expect: bad(NOT_JSON) },
  { name: 'unterminated string', request: json('{"a":"1'), expect: bad(NOT_JSON) },
  { name: 'comment', request: json('{"a":1/*x*/,"b":2}'), expect: bad(NOT_JSON) },
  { name: 'hex number', request: json('{"a":0x10,"b":2}'), expect: bad(NOT_JSON) },
  { name: 'leading zero', request: json('{"a":01,"b":2}'), expect: bad(NOT_JSON) },
  { name: 'invalid UTF-8 bytes', request: json(Buffer.concat([Buffer.from('{"a":1,"b":2,"c":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])), expect: bad(NOT_JSON) },
  { name: 'content-length shorter than the body', request: json('{"a":1,"b":2}', { 'content-length': '5' }), expect: bad(/request body is not valid JSON|malformed HTTP request/) },
  // NaN and Infinity spelled in JSON (not JSON), and as strings.
  { name: 'NaN literal', request: json('{"a":NaN,"b":1}'), expect: bad(NOT_JSON) },
  { name: 'Infinity literal', request: json('{"a":Infinity,"b":1}'), expect: bad(NOT_JSON) },
  { name: '-Infinity literal', request: json('{"a":1,"b":-Infinity}'), expect: bad(NOT_JSON) },
  { name: '"NaN" as a string', request: json('{"a":"NaN","b":1}'), expect: bad('field "a" must be a number, got string') },
  // Content type, charset, encoding.
  { name: 'no content-type', request: json('{"a":1,"b":2}', { 'content-type': '' }), expect: bad(WRONG_TYPE, 415) },
  { name: 'text/plain', request: json('{"a":1,"b":2}', { 'content-type': 'text/plain' }), expect: bad(WRONG_TYPE, 415) },
  { name: 'form-encoded', request: json('a=1&b=2', { 'content-type': 'application/x-www-form-urlencoded' }), expect: bad(WRONG_TYPE, 415) },
  { name: 'multipart', request: json('--x--', { 'content-type': 'multipart/form-data; boundary=x' }), expect: bad(WRONG_TYPE, 415) },
  { name: 'a +json vendor type', request: json('{"a":1,"b":2}', { 'content-type': 'application/vnd.api+json' }), expect: bad(WRONG_TYPE, 415) },
  { name: 'charset latin1', request: json('{"a":1,"b":2}', { 'content-type': 'application/json; charset=latin1' }), expect: bad('content-type charset must be utf-8', 415) },
  { name: 'charset utf-16', request: json('{"a":1,"b":2}', { 'content-type': 'application/json; charset=utf-16' }), expect: bad('content-type charset must be utf-8', 415) },
  // Accepted since the bench's --compression gzip (inflated size limited; zip bomb and br cases: test/scenario/compression.test.ts).
  { name: 'gzip content-encoding', request: json(zlib.gzipSync('{"a":1,"b":2}'), { 'content-encoding': 'gzip' }), expect: { status: 200, value: 3 } },
  { name: 'charset=UTF-8 is fine', request: json('{"a":1,"b":2}', { 'content-type': 'application/json; charset=UTF-8' }), expect: { status: 200, value: 3 } },
  { name: 'a UTF-8 BOM is skipped', request: json('\uFEFF{"a":1,"b":2}'), expect: { status: 200, value: 3 } },
  { name: 'chunked transfer-encoding', request: `POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nd\r\n{"a":1,"b":2}\r\n0\r\n\r\n`, expect: { status: 200, value: 3 } },
  // Types where numbers belong.
  { name: 'a string', request: json('{"a":"20","b":10}'), expect: bad('field "a" must be a number, got string') },
  { name: 'b boolean', request: json('{"a":20,"b":false}'), expect: bad('field "b" must be a number, got boolean') },
  { name: 'a object', request: json('{"a":{},"b":10}'), expect: bad('field "a" must be a number, got object') },
  { name: 'a array', request: json('{"a":[20],"b":10}'), expect: bad('field "a" must be a number, got array') },
  { name: 'values array of strings', request: json('{"values":["1"]}', {}, '/v1/sum'), expect: bad('field "values[0]" must be a number, got string') },
  { name: 'values an object', request: json('{"values":{"0":1}}', {}, '/v1/sum'), expect: bad('field "values" must be an array of numbers, got object') },
  { name: 'body an array', request: json('[20,10]'), expect: bad('request body must be a JSON object, got array') },
  { name: '__proto__ key does not pollute', request: json('{"__proto__":{"a":1},"b":2}'), expect: bad('field "a" is required') },
  // Duplicate keys: JSON.parse semantics, the last one wins.
  { name: 'duplicate keys: last wins', request: json('{"a":1,"a":20,"b":10}'), expect: { status: 200, value: 30 } },
  // Huge numbers and exponents.
  { name: '1e400 overflows to Infinity on parse', request: json('{"a":1e400,"b":1}'), expect: bad('field "a" must be a finite number') },
  { name: '-1e400', request: json('{"a":1,"b":-1e400}'), expect: bad('field "b" must be a finite number') },
  { name: 'a 400-digit integer', request: json(`{"a":1${'0'.repeat(400)},"b":1}`), expect: bad('field "a" must be a finite number') },
  { name: '1e-400 underflows to 0 (a value)', request: json('{"a":1e-400,"b":1}'), expect: { status: 200, value: 1 } },
  { name: 'exponent with 10,000 digits', request: json(`{"a":1e${'9'.repeat(10_000)},"b":1}`), expect: bad('field "a" must be a finite number') },
  // Deep nesting must not crash the parser.
  { name: '100,000 nested arrays as the body', request: json(nested(100_000)), expect: bad('request body must be a JSON object, got array') },
  { name: '100,000 nested arrays as a', request: json(`{"a":${nested(100_000)},"b":1}`), expect: bad('field "a" must be a number, got array') },
  { name: '50,000 nested objects as a', request: json(`${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`), expect: bad('field "a" must be a number, got object') },
  // Size limits.
  { name: 'content-length of 100 MB, refused before the body', request: `POST /v1/sum HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n{"values":[`, expect: bad(TOO_LARGE, 413, 'RESOURCE_EXHAUSTED') },
  { name: `a body of limit + 1 bytes`, request: json(`{"values":[1]}${' '.repeat(LIMIT + 1 - 14)}`, {}, '/v1/sum'), expect: bad(TOO_LARGE, 413, 'RESOURCE_EXHAUSTED') },
  { name: 'a body of exactly the limit is read', request: json(`{"values":[1]}${' '.repeat(LIMIT - 14)}`, {}, '/v1/sum'), expect: { status: 200, value: 1 } },
  { name: `values over the limit (${LIMITS.maxValues + 1})`, request: json(JSON.stringify({ values: new Array(LIMITS.maxValues + 1).fill(0) }), {}, '/v1/sum'), expect: bad(`field "values" holds ${LIMITS.maxValues + 1} numbers, more than the limit of ${LIMITS.maxValues}`) },
  // Unknown routes and methods.
  { name: 'unknown operation', request: json('{"a":1,"b":2}', {}, '/v1/pow'), expect: bad('no route for POST /v1/pow', 404, 'NOT_FOUND') },
  { name: 'root path', request: json('{}', {}, '/'), expect: bad('no route for POST /', 404, 'NOT_FOUND') },
  { name: 'extra path segment', request: json('{}', {}, '/v1/add/x'), expect: bad('no route for POST /v1/add/x', 404, 'NOT_FOUND') },
  { name: 'operation in capitals', request: json('{"a":1,"b":2}', {}, '/v1/ADD'), expect: bad('no route for POST /v1/ADD', 404, 'NOT_FOUND') },
  { name: 'a 10 kB path is not echoed whole', request: json('{}', {}, `/${'x'.repeat(10_000)}`), expect: bad(/^no route for POST \/x{199}\.\.\.$/, 404, 'NOT_FOUND') },
  { name: 'GET on an operation', request: plain('GET', '/v1/add'), expect: bad('method GET is not allowed on /v1/add; use POST', 405, 'UNIMPLEMENTED') },
  { name: 'PUT on an operation', request: json('{"a":1,"b":2}').toString('latin1').replace(/^POST/, 'PUT'), expect: bad('method PUT is not allowed on /v1/add; use POST', 405, 'UNIMPLEMENTED') },
  { name: 'DELETE on an operation', request: plain('DELETE', '/v1/sum'), expect: bad('method DELETE is not allowed on /v1/sum; use POST', 405, 'UNIMPLEMENTED') },
  { name: 'GET an unknown path', request: plain('GET', '/admin'), expect: bad('no route for GET /admin', 404, 'NOT_FOUND') },
  // What Node's HTTP parser rejects, answered in the same shape.
  { name: 'garbage request line', request: 'HELLO\r\n\r\n', expect: bad('malformed HTTP request') },
  { name: 'content-length not a number', request: 'POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n', expect: bad('malformed HTTP request') },
  { name: 'content-length and transfer-encoding', request: 'POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 13\r\ntransfer-encoding: chunked\r\n\r\nd\r\n{"a":1,"b":2}\r\n0\r\n\r\n', expect: bad('malformed HTTP request') },
  { name: 'bad chunk size', request: 'POST /v1/add HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', expect: bad('malformed HTTP request') },
  { name: 'headers over 16 KB', request: plain('GET', '/healthz', `x-big: ${'a'.repeat(20_000)}\r\n`), expect: bad('request headers are larger than the limit of 16384 bytes', 431, 'RESOURCE_EXHAUSTED') },
  { name: 'HTTP/1.1 without host', request: 'POST /v1/add HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"a":1,"b":2}', expect: bad('an HTTP/1.1 request must carry a host header') },
];

// ---- gRPC corpus -----------------------------------------------------------------

type GrpcExpect =
  | { grpcStatus: number; message: string | RegExp }
  | { value: number }
  /** grpc-js answers before any gRPC processing: plain HTTP status, no grpc-status. */
  | { httpStatus: number };

interface GrpcCase {
  name: string;
  request: RawGrpcRequest;
  expect: GrpcExpect;
}

const S = grpc.status;
const ADD = '/calculator.v1.Calculator/Add';
const SUM = '/calculator.v1.Calculator/Sum';
const GOOD = encodeOperandsByHand(20, 10);
const add = (body: Buffer, headers?: Record<string, string | undefined>): RawGrpcRequest => ({ path: ADD, body, headers });
const sumOf = (body: Buffer): RawGrpcRequest => ({ path: SUM, body });
const invalid = (message: string | RegExp): GrpcExpect => ({ grpcStatus: S.INVALID_ARGUMENT, message });
const f64 = (value: number): Buffer => {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return buffer;
};
/** Packed `values` (field 1, wire type 2) of `count` zero doubles; varint length written by protobuf rules. */
const packedZeros = (count: number): Buffer => {
  const length = count * 8;
  const varint: number[] = [];
  for (let n = length; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...varint]), Buffer.alloc(length)]);
};
const gzipBomb = zlib.gzipSync(packedZeros(LIMIT / 8 + 1000));

export const GRPC_CASES: GrpcCase[] = [
  // Length-prefixed framing.
  { name: 'truncated prefix (3 of 5 bytes)', request: add(grpcFrame(GOOD).subarray(0, 3)), expect: invalid(INCOMPLETE) },
  { name: 'prefix only, no message bytes', request: add(grpcFrame(GOOD).subarray(0, 5)), expect: invalid(INCOMPLETE) },
  { name: 'truncated message (10 of 23 bytes)', request: add(grpcFrame(GOOD).subarray(0, 10)), expect: invalid(INCOMPLETE) },
  { name: 'length prefix larger than the body', request: add(grpcFrame(GOOD, { declaredLength: 100 })), expect: invalid(INCOMPLETE) },
  { name: 'length prefix 0xFFFFFFFF (the largest a uint32 can declare)', request: add(grpcFrame(GOOD, { declaredLength: 0xffff_ffff })), expect: { grpcStatus: S.RESOURCE_EXHAUSTED, message: TOO_LARGE } },
  { name: 'length prefix smaller than the body', request: add(grpcFrame(GOOD, { declaredLength: 9 })), expect: invalid('request body must hold exactly one message') },
  { name: 'no DATA at all', request: add(Buffer.alloc(0)), expect: invalid(INCOMPLETE) },
  { name: 'two messages in one DATA frame on a unary call', request: add(Buffer.concat([grpcFrame(GOOD), grpcFrame(GOOD)])), expect: invalid('request body must hold exactly one message') },
  { name: 'empty message: every field unset', request: add(grpcFrame(Buffer.alloc(0))), expect: invalid('field "a" is required') },
  { name: 'body trickled in 23 one-byte writes', request: { ...add(grpcFrame(GOOD)), chunks: 23, delayMs: 2 }, expect: { value: 30 } },
  // Compression.
  { name: 'compressed flag without grpc-encoding (grpc-js reads it as identity)', request: add(grpcFrame(GOOD, { compressed: true })), expect: { value: 30 } },
  { name: 'compressed flag, gzip header, bytes not gzip', request: add(grpcFrame(GOOD, { compressed: true }), { 'grpc-encoding': 'gzip' }), expect: invalid('request body could not be decompressed') },
  { name: 'unsupported grpc-encoding br', request: add(grpcFrame(GOOD, { compressed: true }), { 'grpc-encoding': 'br' }), expect: { grpcStatus: S.UNIMPLEMENTED, message: 'Received message compressed with unsupported encoding "br"' } },
  { name: 'compressed flag, deflate header, bytes not deflate', request: add(grpcFrame(GOOD, { compressed: true }), { 'grpc-encoding': 'deflate' }), expect: invalid('request body could not be decompressed') },
  { name: 'valid gzip message', request: add(grpcFrame(zlib.gzipSync(GOOD), { compressed: true }), { 'grpc-encoding': 'gzip' }), expect: { value: 30 } },
  { name: 'gzip bomb inflating past the limit', request: { path: SUM, body: grpcFrame(gzipBomb, { compressed: true }), headers: { 'grpc-encoding': 'gzip' } }, expect: { grpcStatus: S.RESOURCE_EXHAUSTED, message: TOO_LARGE } },
  // Garbage protobuf and wrong wire types.
  { name: 'garbage 0xff bytes', request: add(grpcFrame(Buffer.alloc(5, 0xff))), expect: invalid(NOT_PROTOBUF) },
  { name: 'ASCII text', request: add(grpcFrame(Buffer.from('{"a":20,"b":10}'))), expect: invalid(NOT_PROTOBUF) },
  { name: 'a as varint (wire type 0)', request: add(grpcFrame(Buffer.from([0x08, 0x14, 0x10, 0x0a]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'a as length-delimited (wire type 2)', request: add(grpcFrame(Buffer.from([0x0a, 0x02, 0x01, 0x02]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'b as length-delimited (wire type 2)', request: add(grpcFrame(Buffer.concat([encodeOperandsByHand(20), Buffer.from([0x12, 0x01, 0x00])]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'a as fixed32 (wire type 5)', request: add(grpcFrame(Buffer.from([0x0d, 0, 0, 0xa0, 0x41, 0x15, 0, 0, 0x20, 0x41]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'start group (wire type 3) never closed', request: add(grpcFrame(Buffer.from([0x0b]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'stray end group (wire type 4)', request: add(grpcFrame(Buffer.from([0x0c]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'unknown field with wire type 7 (no such wire type)', request: add(grpcFrame(Buffer.concat([GOOD, Buffer.from([0x1f, 0x01])]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'unknown fixed64 field cut short', request: add(grpcFrame(Buffer.concat([GOOD, Buffer.from([0x19, 0x01, 0x02])]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'truncated double', request: add(grpcFrame(Buffer.from([0x09, 0, 0, 0, 0]))), expect: invalid(NOT_PROTOBUF) },
  { name: '11-byte varint tag', request: add(grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'length-delimited field longer than the message', request: add(grpcFrame(Buffer.from([0x1a, 0x7f, 0x01]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'values as varint', request: sumOf(grpcFrame(Buffer.from([0x08, 0x01]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'packed values, length (16) longer than the message', request: sumOf(grpcFrame(Buffer.concat([Buffer.from([0x0a, 0x10]), f64(1)]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'packed values, length 2^31 (negative as an int32)', request: sumOf(grpcFrame(Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'packed values, length a 10-byte varint', request: sumOf(grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))), expect: invalid(NOT_PROTOBUF) },
  { name: 'packed values, length not a multiple of 8', request: sumOf(grpcFrame(Buffer.from([0x0a, 0x03, 1, 2, 3]))), expect: invalid(NOT_PROTOBUF) },
  // Valid protobuf a strict reader might reject: proto rules say accept.
  { name: 'unpacked repeated doubles are accepted', request: sumOf(grpcFrame(Buffer.concat([Buffer.from([0x09]), f64(1.5), Buffer.from([0x09]), f64(2)]))), expect: { value: 3.5 } },
  { name: 'unknown field is skipped', request: add(grpcFrame(Buffer.concat([GOOD, Buffer.from([0x18, 0x05])]))), expect: { value: 30 } },
  { name: 'field number 0 is skipped (protobufjs)', request: add(grpcFrame(Buffer.concat([Buffer.from([0x01]), f64(1), GOOD]))), expect: { value: 30 } },
  { name: 'duplicate field: last wins', request: add(grpcFrame(Buffer.concat([encodeOperandsByHand(1, 10), encodeOperandsByHand(20)]))), expect: { value: 30 } },
  // Non-finite doubles on the wire.
  { name: 'a = NaN bits', request: add(grpcFrame(Buffer.concat([Buffer.from([0x09, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f]), Buffer.from([0x11]), f64(1)]))), expect: invalid('field "a" must be a finite number') },
  { name: 'a = +Infinity', request: add(grpcFrame(encodeOperandsByHand(Infinity, 1))), expect: invalid('field "a" must be a finite number') },
  { name: 'b = -Infinity', request: add(grpcFrame(encodeOperandsByHand(1, -Infinity))), expect: invalid('field "b" must be a finite number') },
  { name: 'a packed NaN in values', request: sumOf(grpcFrame(Buffer.from([0x0a, 0x08, 1, 0, 0, 0, 0, 0, 0xf8, 0x7f]))), expect: invalid('field "values[0]" must be a finite number') },
  // Size limits.
  { name: 'length prefix of 5 MB (nothing more sent)', request: { path: SUM, body: grpcFrame(Buffer.alloc(10), { declaredLength: 5 * 1024 * 1024 }), keepOpen: true }, expect: { grpcStatus: S.RESOURCE_EXHAUSTED, message: TOO_LARGE } },
  { name: 'a message of limit + 1 bytes', request: sumOf(grpcFrame(Buffer.alloc(LIMIT + 1))), expect: { grpcStatus: S.RESOURCE_EXHAUSTED, message: TOO_LARGE } },
  { name: 'a message at the byte limit, over the values limit', request: sumOf(grpcFrame(packedZeros(Math.floor((LIMIT - 5) / 8)))), expect: invalid(/^field "values" holds 524287 numbers, more than the limit of 100000$/) },
  { name: `values over the limit (${LIMITS.maxValues + 1})`, request: sumOf(grpcFrame(packedZeros(LIMITS.maxValues + 1))), expect: invalid(`field "values" holds ${LIMITS.maxValues + 1} numbers, more than the limit of ${LIMITS.maxValues}`) },
  // Methods and headers.
  { name: 'unknown method', request: { path: '/calculator.v1.Calculator/Pow', body: grpcFrame(GOOD) }, expect: { grpcStatus: S.UNIMPLEMENTED, message: 'The server does not implement the method /calculator.v1.Calculator/Pow' } },
  { name: 'unknown service', request: { path: '/calculator.v2.Calculator/Add', body: grpcFrame(GOOD) }, expect: { grpcStatus: S.UNIMPLEMENTED, message: 'The server does not implement the method /calculator.v2.Calculator/Add' } },
  { name: 'method name in lower case', request: { path: '/calculator.v1.Calculator/add', body: grpcFrame(GOOD) }, expect: { grpcStatus: S.UNIMPLEMENTED, message: 'The server does not implement the method /calculator.v1.Calculator/add' } },
  { name: 'unknown method of the health service', request: { path: '/grpc.health.v1.Health/Ping', body: grpcFrame(Buffer.alloc(0)) }, expect: { grpcStatus: S.UNIMPLEMENTED, message: 'The server does not implement the method /grpc.health.v1.Health/Ping' } },
  { name: 'health of an unknown service', request: { path: '/grpc.health.v1.Health/Check', body: grpcFrame(Buffer.from([0x0a, 0x03, ...Buffer.from('foo')])) }, expect: { grpcStatus: S.NOT_FOUND, message: 'Health status unknown for service foo' } },
  { name: 'path "/"', request: { path: '/', body: grpcFrame(GOOD) }, expect: { grpcStatus: S.UNIMPLEMENTED, message: 'The server does not implement the method /' } },
  { name: 'missing te: trailers (grpc-js does not check it)', request: add(grpcFrame(GOOD), { te: undefined }), expect: { value: 30 } },
  { name: 'content-type application/json', request: add(grpcFrame(GOOD), { 'content-type': 'application/json' }), expect: { httpStatus: 415 } },
  { name: 'no content-type', request: add(grpcFrame(GOOD), { 'content-type': undefined }), expect: { httpStatus: 415 } },
  { name: 'content-type application/grpc+json (decoded as protobuf)', request: add(grpcFrame(GOOD), { 'content-type': 'application/grpc+json' }), expect: { value: 30 } },
  { name: ':method GET, no body', request: add(Buffer.alloc(0), { ':method': 'GET' }), expect: invalid(INCOMPLETE) },
  { name: ':method HEAD, no body', request: add(Buffer.alloc(0), { ':method': 'HEAD' }), expect: invalid(INCOMPLETE) },
  { name: 'grpc-timeout with an unknown unit', request: add(grpcFrame(GOOD), { 'grpc-timeout': '10x' }), expect: invalid('Invalid grpc-timeout value "10x"') },
  { name: 'unparsable grpc-timeout', request: add(grpcFrame(GOOD), { 'grpc-timeout': 'soon' }), expect: invalid('Invalid grpc-timeout value "soon"') },
];

// ---- the tests -----------------------------------------------------------------------

/** Rows that check an accepted input (a value) are not hostile requests refused: they do not count towards the 40. */
const expectsError = (row: RestCase | GrpcCase): boolean => !('value' in row.expect);

describe('hostile input', () => {
  let servers: Servers;
  let session: http2.ClientHttp2Session;
  let client: grpc.Client;

  before(async () => {
    servers = await startServers();
    session = await connectH2(servers.grpcAddress);
    client = createGrpcClient(servers.grpcAddress);
  });
  after(async () => {
    client.close();
    session.close();
    await servers.close();
  });

  async function restStillWorks(): Promise<void> {
    const response = await rawHttp(servers.restPort, httpPost('/v1/add', '{"a":20,"b":10}'));
    assert.equal(response.status, 200, 'a valid REST call after the case');
    assert.equal(response.body, '{"value":30}');
  }

  async function grpcStillWorks(): Promise<void> {
    if (session.closed || session.destroyed) session = await connectH2(servers.grpcAddress);
    const raw = await rawGrpc(session, add(grpcFrame(GOOD)));
    assert.equal(raw.grpcStatus, 0, 'a valid raw gRPC call after the case');
    assert.equal(decodeResultByHand(raw.data), 30);
    assert.deepEqual(await callGrpc(client, 'add', { a: 20, b: 10 }), { ok: true, value: 30 }, 'a valid grpc-js call after the case');
  }

  test('the corpora hold at least 40 error-expecting cases per protocol', () => {
    const restErrors = REST_CASES.filter(expectsError).length;
    const grpcErrors = GRPC_CASES.filter(expectsError).length;
    assert.ok(restErrors >= 40, `REST: ${restErrors} of ${REST_CASES.length} cases expect an error`);
    assert.ok(grpcErrors >= 40, `gRPC: ${grpcErrors} of ${GRPC_CASES.length} cases expect an error`);
  });

  describe(`REST (${REST_CASES.length} cases)`, () => {
    for (const row of REST_CASES) {
      test(row.name, async () => {
        const response = await rawHttp(servers.restPort, row.request);
        assert.equal(response.status, row.expect.status, response.raw.slice(0, 300));
        assert.match(response.headers['content-type'] ?? '', /^application\/json/);
        const body = JSON.parse(response.body) as unknown;
        if ('value' in row.expect) {
          assert.deepEqual(body, { value: row.expect.value });
        } else {
          const error = (body as { error: { code: string; message: string } }).error;
          assert.deepEqual(Object.keys(body as object), ['error']);
          assert.deepEqual(Object.keys(error).sort(), ['code', 'message']);
          assert.equal(error.code, row.expect.code);
          if (typeof row.expect.message === 'string') assert.equal(error.message, row.expect.message);
          else assert.match(error.message, row.expect.message);
        }
        assert.doesNotMatch(response.body, LEAK);
        await restStillWorks();
      });
    }

    test('a 100 MB body streamed without content-length is cut at the limit', async () => {
      await assertCutAtLimit(servers.restPort, 'chunked');
      await restStillWorks();
    });
    test('a 100 MB body with content-length is refused before it is sent', async () => {
      await assertCutAtLimit(servers.restPort, 'declared');
      await restStillWorks();
    });
  });

  describe(`gRPC (${GRPC_CASES.length} cases)`, () => {
    for (const row of GRPC_CASES) {
      test(row.name, async () => {
        if (session.closed || session.destroyed) session = await connectH2(servers.grpcAddress);
        const response = await rawGrpc(session, row.request);
        if ('httpStatus' in row.expect) {
          assert.equal(response.httpStatus, row.expect.httpStatus);
          assert.equal(response.grpcStatus, undefined);
        } else if ('value' in row.expect) {
          assert.equal(response.grpcStatus, 0, response.grpcMessage);
          assert.equal(decodeResultByHand(response.data), row.expect.value);
        } else {
          assert.equal(response.httpStatus, 200);
          assert.equal(response.grpcStatus, row.expect.grpcStatus, `${grpc.status[response.grpcStatus ?? -1]}: ${response.grpcMessage}`);
          if (typeof row.expect.message === 'string') assert.equal(response.grpcMessage, row.expect.message);
          else assert.match(response.grpcMessage ?? '', row.expect.message);
          assert.doesNotMatch(response.grpcMessage ?? '', LEAK);
        }
        await grpcStillWorks();
      });
    }

    test('grpc-js client: a message over the limit gets the same text as REST 413', async () => {
      const big = createGrpcClient(servers.grpcAddress, { 'grpc.max_send_message_length': -1 });
      try {
        // 600,000 doubles = 4.8 MB of protobuf: over the byte limit before the values limit is checked.
        const outcome = await callGrpc(big, 'sum', { values: new Array(600_000).fill(1) });
        assert.deepEqual(outcome, { ok: false, code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE });
      } finally {
        big.close();
      }
      await grpcStillWorks();
    });
  });
});

/**
 * Streams up to 100 MB at the server and stops at the first byte of an answer.
 * The answer must be the 413 and must come after far fewer than 100 MB: the server
 * neither buffers nor waits for the whole body.
 */
async function assertCutAtLimit(port: number, mode: 'chunked' | 'declared'): Promise<void> {
  const total = 100 * 1024 * 1024;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  let closed = false;
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {
    /* EPIPE/ECONNRESET once the server closes: expected */
  });
  socket.write(
    `POST /v1/sum HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
      (mode === 'chunked' ? 'transfer-encoding: chunked\r\n' : `content-length: ${total}\r\n`) +
      '\r\n',
  );
  const piece = Buffer.alloc(64 * 1024, 0x20);
  const framed = mode === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
  let sent = 0;
  const deadline = Date.now() + 15_000;
  while (!received.includes('\r\n\r\n') && !closed && sent < total && Date.now() < deadline) {
    sent += piece.length;
    if (!socket.write(framed)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, 100);
        socket.once('drain', done).once('close', done);
      });
    }
  }
  // Let the rest of the answer arrive.
  const waitUntil = Date.now() + 2_000;
  while (!/\r\n\r\n[\s\S]*\}\}$/.test(received) && !closed && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  assert.match(received, /^HTTP\/1\.1 413 /, `answer after ${sent} bytes: ${received.slice(0, 200)}`);
  assert.match(received, /connection: close/i);
  assert.ok(received.endsWith(JSON.stringify({ error: { code: 'RESOURCE_EXHAUSTED', message: TOO_LARGE } })), received);
  assert.ok(sent < 40 * 1024 * 1024, `the server answered only after ${sent} bytes of 100 MB`);
}
