/**
 * The stream generator's byte-level readers: a streamed JSON line told apart
 * (a message, grpc-gateway's `{"result": ...}` unwrapped, an `{"error": ...}`
 * line) without JSON.parse, an HTTP/1.1 response cut into lines however it is
 * split across reads; and the calculator's `{"value":N}` reader its scenario
 * layer checks answers with. The transports themselves are tested over real sockets in
 * stream-load.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyLine, StreamingResponseParser } from '../../bench/drivers/streams/http1.ts';
import { calculatorStreamAnswers, valueOfLine } from '../../bench/scenario/stream-answers.ts';

const line = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('valueOfLine', () => {
  test('reads integers, negatives, decimals and exponents as JSON.parse does', () => {
    for (const text of ['{"value":0}', '{"value":7}', '{"value":123456789012345}', '{"value":-42}', '{"value":1.5}', '{"value":-2.5e-7}', '{"value":1e300}', '{"value":12345678901234567890}']) {
      assert.equal(valueOfLine(line(text)), (JSON.parse(text) as { value: number }).value, text);
    }
    assert.equal(valueOfLine(line('{"value":30}\r')), 30, 'a CR before the line end');
    const framed = line('xx{"value":99}yy');
    assert.equal(valueOfLine(framed, 2, framed.length - 2), 99, 'a line inside a larger buffer');
  });

  test('anything else is not a value: errors, other shapes, empty numbers', () => {
    for (const text of ['{"error":{"code":"INVALID_ARGUMENT","message":"x"}}', '{"value":}', '{"values":[1]}', '', 'data: {"value":1}']) {
      assert.equal(valueOfLine(line(text)), null, text);
    }
    assert.ok(Number.isNaN(valueOfLine(line('{"value":"1"}'))!), 'a string is NaN, for the caller to refuse');
  });
});

describe("the calculator's answer check (its scenario layer's, given with the payload)", () => {
  const result = (value: number): Buffer => Buffer.concat([Buffer.from([0x09]), Buffer.from(new Float64Array([value]).buffer)]);
  test('the k-th running total is k, a client stream\'s total the values sent; in JSON and protobuf', () => {
    const bidi = calculatorStreamAnswers('bidi');
    assert.equal(bidi.check(2, line('{"value":3}'), 'json', 3), null);
    assert.equal(bidi.check(2, result(3), 'protobuf', 3), null);
    assert.equal(bidi.check(2, line('{"value":4}'), 'json', 3), 'answer 3 was 4, expected 3');
    assert.equal(bidi.check(0, result(0), 'protobuf', 1), 'answer 1 was 0, expected 1');
    assert.equal(bidi.check(0, Buffer.alloc(0), 'protobuf', 1), 'answer 1 was 0, expected 1', 'an empty Result is 0');
    assert.equal(calculatorStreamAnswers('client-stream').check(0, line('{"value":300}'), 'json', 300), null);
    assert.equal(calculatorStreamAnswers('client-stream').check(0, result(299), 'protobuf', 300), 'answer 1 was 299, expected 300');
    assert.equal(calculatorStreamAnswers('server-stream').check(0, line('{"total":1}'), 'json', 0), 'answer 1 is not a total: {"total":1}');
  });
});

describe('classifyLine', () => {
  const classify = (text: string): { kind: string; text: string } => {
    const buf = line(text);
    const found = classifyLine(buf);
    return { kind: found.kind, text: buf.toString('utf8', found.start, found.end) };
  };

  test('a message as it is, spaces and a CR around it left out', () => {
    assert.deepEqual(classify('{"value":3}'), { kind: 'message', text: '{"value":3}' });
    assert.deepEqual(classify('  {"name":"users/1/notes/7"}\r'), { kind: 'message', text: '{"name":"users/1/notes/7"}' });
  });

  test("grpc-gateway's {\"result\": message} is the message, however it is spaced", () => {
    assert.deepEqual(classify('{"result":{"name":"n","title":"Meeting"}}'), { kind: 'message', text: '{"name":"n","title":"Meeting"}' });
    assert.deepEqual(classify('{ "result" : {"a": [1, 2]} }\r'), { kind: 'message', text: '{"a": [1, 2]}' });
    assert.deepEqual(classify('{"result":7}'), { kind: 'message', text: '7' });
  });

  test('an {"error": ...} line is the stream\'s error; an empty line is nothing', () => {
    assert.deepEqual(classify('{"error":{"code":"INVALID_ARGUMENT","message":"x"}}'), { kind: 'error', text: '{"error":{"code":"INVALID_ARGUMENT","message":"x"}}' });
    assert.equal(classify('{ "error": {"code": 5, "message": "not found"} }').kind, 'error');
    assert.equal(classify('').kind, 'empty');
    assert.equal(classify(' \r').kind, 'empty');
    // A field that only starts like one of the keys is a message.
    assert.equal(classify('{"results":[]}').kind, 'message');
    assert.equal(classify('{"errors":0}').kind, 'message');
  });
});

describe('StreamingResponseParser', () => {
  const response =
    'HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n' +
    'c\r\n{"value":1}\n\r\n' + '18\r\n{"value":3}\n{"value":6}\n\r\n' + '0\r\n\r\n';

  const parse = (pieces: Buffer[]): { lines: string[]; ended: number; status: number; error: string | null } => {
    const lines: string[] = [];
    let ended = 0;
    const parser = new StreamingResponseParser(
      (buf, start, end) => lines.push(buf.toString('utf8', start, end)),
      () => ended++,
    );
    for (const piece of pieces) parser.feed(piece);
    return { lines, ended, status: parser.status, error: parser.error };
  };

  test('a chunked NDJSON answer gives every line once, then its end, however the bytes are split', () => {
    const bytes = Buffer.from(response, 'latin1');
    const whole = parse([bytes]);
    assert.deepEqual(whole, { lines: ['{"value":1}', '{"value":3}', '{"value":6}'], ended: 1, status: 200, error: null });
    for (let size = 1; size <= 7; size++) {
      const pieces: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.subarray(at, at + size));
      assert.deepEqual(parse(pieces), whole, `pieces of ${size} bytes`);
    }
  });

  test('a content-length error answer and a broken head', () => {
    const body = '{"error":{"code":"INVALID_ARGUMENT","message":"value must be a finite number"}}';
    const answer = parse([Buffer.from(`HTTP/1.1 400 Bad Request\r\ncontent-length: ${body.length}\r\n\r\n${body}`)]);
    assert.deepEqual(answer, { lines: [body], ended: 1, status: 400, error: null });
    assert.equal(parse([Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')]).error, 'not an HTTP/1.1 response');
  });
});
