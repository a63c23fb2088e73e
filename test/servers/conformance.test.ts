/**
 * Conformance: ONE table of calls, run against both real servers over real
 * sockets (grpc-js client built from the .proto; fetch for REST). For every row
 * both protocols must give the same value, or the same error code AND the same
 * message text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type { Operation } from '../../servers/calculator.ts';
import { LIMITS } from '../../servers/calculator.ts';
import { grpcMethodPath } from '../../servers/proto.ts';
import { callGrpc, callRest, createGrpcClient, restOutcome, type CallOutcome } from '../../scripts/client.ts';
import {
  connectH2,
  decodeResultByHand,
  encodeOperandsByHand,
  grpcFrame,
  httpPost,
  rawGrpc,
  rawHttp,
  startServers,
  type Servers,
} from '../helpers/servers.ts';

type Expected = { value: number } | { code: 'INVALID_ARGUMENT' | 'OUT_OF_RANGE'; message: string };

interface Case {
  name: string;
  op: Operation;
  /** The request as an object: what grpc-js encodes, and (unless restBody is set) what REST sends as JSON. */
  input: Record<string, unknown>;
  /** REST body text when JSON.stringify(input) cannot say the same thing (Infinity, NaN). */
  restBody?: string;
  expect: Expected;
}

const range = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);
const required = (field: string): Expected => ({ code: 'INVALID_ARGUMENT', message: `field "${field}" is required` });
const notFinite = (field: string): Expected => ({ code: 'INVALID_ARGUMENT', message: `field "${field}" must be a finite number` });
const OVERFLOW: Expected = { code: 'OUT_OF_RANGE', message: 'result is outside the range of a double (overflow)' };

export const CASES: Case[] = [
  // The calculator's worked example: 20 and 10.
  { name: 'add 20 10', op: 'add', input: { a: 20, b: 10 }, expect: { value: 30 } },
  { name: 'subtract 20 10', op: 'subtract', input: { a: 20, b: 10 }, expect: { value: 10 } },
  { name: 'multiply 20 10', op: 'multiply', input: { a: 20, b: 10 }, expect: { value: 200 } },
  { name: 'divide 20 10', op: 'divide', input: { a: 20, b: 10 }, expect: { value: 2 } },
  // Signs and fractions: doubles round-trip exactly through JSON text and through protobuf.
  { name: 'negatives', op: 'add', input: { a: -7.5, b: -2.25 }, expect: { value: -9.75 } },
  { name: 'subtract into negative', op: 'subtract', input: { a: 3, b: 10 }, expect: { value: -7 } },
  { name: 'multiply negatives', op: 'multiply', input: { a: -4, b: -2.5 }, expect: { value: 10 } },
  { name: 'fractions 0.1 + 0.2', op: 'add', input: { a: 0.1, b: 0.2 }, expect: { value: 0.30000000000000004 } },
  { name: 'divide 1 / 3', op: 'divide', input: { a: 1, b: 3 }, expect: { value: 1 / 3 } },
  { name: 'zero operands', op: 'add', input: { a: 0, b: 0 }, expect: { value: 0 } },
  // Magnitudes.
  { name: 'large 1e300 * 1e8', op: 'multiply', input: { a: 1e300, b: 1e8 }, expect: { value: 1e308 } },
  { name: 'max double + 0', op: 'add', input: { a: Number.MAX_VALUE, b: 0 }, expect: { value: Number.MAX_VALUE } },
  { name: 'tiny 5e-324 (smallest subnormal)', op: 'add', input: { a: 5e-324, b: 0 }, expect: { value: 5e-324 } },
  { name: 'tiny 5e-324 * 1e300', op: 'multiply', input: { a: 5e-324, b: 1e300 }, expect: { value: 5e-324 * 1e300 } },
  { name: 'underflow to 0 is a value, not an error', op: 'divide', input: { a: 5e-324, b: 4 }, expect: { value: 0 } },
  { name: 'beyond 2^53 keeps double rounding', op: 'add', input: { a: 2 ** 53, b: 1 }, expect: { value: 2 ** 53 } },
  // Division by zero.
  { name: 'divide by zero', op: 'divide', input: { a: 1, b: 0 }, expect: { code: 'INVALID_ARGUMENT', message: 'division by zero' } },
  { name: 'divide zero by zero', op: 'divide', input: { a: 0, b: 0 }, expect: { code: 'INVALID_ARGUMENT', message: 'division by zero' } },
  // Missing operands (gRPC: the `optional` field is unset).
  { name: 'missing a', op: 'add', input: { b: 10 }, expect: required('a') },
  { name: 'missing b', op: 'divide', input: { a: 20 }, expect: required('b') },
  { name: 'missing both (a reported first)', op: 'multiply', input: {}, expect: required('a') },
  // Non-finite inputs: gRPC carries them as doubles; JSON cannot spell them, 1e999 parses to Infinity.
  { name: 'a = +Infinity', op: 'add', input: { a: Infinity, b: 1 }, restBody: '{"a":1e999,"b":1}', expect: notFinite('a') },
  { name: 'b = -Infinity', op: 'subtract', input: { a: 1, b: -Infinity }, restBody: '{"a":1,"b":-1e999}', expect: notFinite('b') },
  { name: 'a = NaN (REST: 1e999)', op: 'multiply', input: { a: NaN, b: 1 }, restBody: '{"a":1e999,"b":1}', expect: notFinite('a') },
  { name: 'divide NaN by 0: operand checked first', op: 'divide', input: { a: NaN, b: 0 }, restBody: '{"a":1e999,"b":0}', expect: notFinite('a') },
  // Overflow.
  { name: 'overflow 1e308 * 10', op: 'multiply', input: { a: 1e308, b: 10 }, expect: OVERFLOW },
  { name: 'overflow max + max', op: 'add', input: { a: Number.MAX_VALUE, b: Number.MAX_VALUE }, expect: OVERFLOW },
  { name: 'overflow -max - max', op: 'subtract', input: { a: -Number.MAX_VALUE, b: Number.MAX_VALUE }, expect: OVERFLOW },
  { name: 'overflow 1e308 / 1e-10', op: 'divide', input: { a: 1e308, b: 1e-10 }, expect: OVERFLOW },
  // Sum.
  { name: 'sum 1 2 3', op: 'sum', input: { values: [1, 2, 3] }, expect: { value: 6 } },
  { name: 'sum of 0 values', op: 'sum', input: { values: [] }, expect: { code: 'INVALID_ARGUMENT', message: 'field "values" must hold at least 1 number' } },
  { name: 'sum with values missing', op: 'sum', input: {}, expect: { code: 'INVALID_ARGUMENT', message: 'field "values" must hold at least 1 number' } },
  { name: 'sum of 1 value', op: 'sum', input: { values: [42.5] }, expect: { value: 42.5 } },
  { name: 'sum of 10,000 values', op: 'sum', input: { values: range(10_000) }, expect: { value: 50_005_000 } },
  { name: `sum of ${LIMITS.maxValues} values (the limit)`, op: 'sum', input: { values: range(LIMITS.maxValues) }, expect: { value: (LIMITS.maxValues * (LIMITS.maxValues + 1)) / 2 } },
  {
    name: `sum of ${LIMITS.maxValues + 1} values (over the limit)`,
    op: 'sum',
    input: { values: range(LIMITS.maxValues + 1) },
    expect: { code: 'INVALID_ARGUMENT', message: `field "values" holds ${LIMITS.maxValues + 1} numbers, more than the limit of ${LIMITS.maxValues}` },
  },
  { name: 'sum overflow', op: 'sum', input: { values: [1e308, 1e308] }, expect: OVERFLOW },
  { name: 'sum with an Infinity inside', op: 'sum', input: { values: [1, Infinity, 2] }, restBody: '{"values":[1,1e999,2]}', expect: notFinite('values[1]') },
  { name: 'sum with a NaN inside', op: 'sum', input: { values: [NaN] }, restBody: '{"values":[-1e999]}', expect: notFinite('values[0]') },
];

/** REST-only: JSON can put any type where a number belongs; gRPC's schema cannot. */
const REST_SHAPE_CASES: Array<{ name: string; op: Operation; body: string; status: number; message: string }> = [
  { name: 'a null', op: 'add', body: '{"a":null,"b":1}', status: 400, message: 'field "a" is required' },
  { name: 'b string', op: 'add', body: '{"a":1,"b":"10"}', status: 400, message: 'field "b" must be a number, got string' },
  { name: 'a boolean', op: 'subtract', body: '{"a":true,"b":1}', status: 400, message: 'field "a" must be a number, got boolean' },
  { name: 'a object', op: 'multiply', body: '{"a":{"v":1},"b":1}', status: 400, message: 'field "a" must be a number, got object' },
  { name: 'b array', op: 'divide', body: '{"a":1,"b":[2]}', status: 400, message: 'field "b" must be a number, got array' },
  { name: 'values not an array', op: 'sum', body: '{"values":"1,2"}', status: 400, message: 'field "values" must be an array of numbers, got string' },
  { name: 'values null means missing', op: 'sum', body: '{"values":null}', status: 400, message: 'field "values" must hold at least 1 number' },
  { name: 'a value not a number', op: 'sum', body: '{"values":[1,"2"]}', status: 400, message: 'field "values[1]" must be a number, got string' },
  { name: 'body null', op: 'add', body: 'null', status: 400, message: 'request body must be a JSON object, got null' },
  { name: 'body array', op: 'add', body: '[20,10]', status: 400, message: 'request body must be a JSON object, got array' },
  { name: 'body number', op: 'sum', body: '5', status: 400, message: 'request body must be a JSON object, got number' },
  { name: 'body string', op: 'add', body: '"x"', status: 400, message: 'request body must be a JSON object, got string' },
  // An empty body reads as {} (body-parser), like an empty protobuf message: every field unset.
  { name: 'empty body', op: 'add', body: '', status: 400, message: 'field "a" is required' },
  { name: 'not JSON', op: 'add', body: '{a:1}', status: 400, message: 'request body is not valid JSON' },
];

function expectedOutcome(expect: Expected): CallOutcome {
  return 'value' in expect ? { ok: true, value: expect.value } : { ok: false, code: expect.code, message: expect.message };
}

/** Drops the REST-only HTTP status so outcomes of both protocols compare directly. */
function neutral(outcome: CallOutcome): CallOutcome {
  if (outcome.ok) return outcome;
  return { ok: false, code: outcome.code, message: outcome.message };
}

describe('conformance: the same answers over gRPC and REST', () => {
  let servers: Servers;
  let client: grpc.Client;

  before(async () => {
    servers = await startServers();
    client = createGrpcClient(servers.grpcAddress);
  });
  after(async () => {
    client.close();
    await servers.close();
  });

  for (const row of CASES) {
    test(row.name, async () => {
      const grpcOutcome = await callGrpc(client, row.op, row.input);
      const restOutcomeValue = row.restBody === undefined
        ? await callRest(servers.restUrl, row.op, row.input)
        : await postText(servers.restUrl, row.op, row.restBody);
      const expected = expectedOutcome(row.expect);
      assert.deepEqual(neutral(grpcOutcome), expected, 'gRPC');
      assert.deepEqual(neutral(restOutcomeValue), expected, 'REST');
      if (!restOutcomeValue.ok) assert.equal(restOutcomeValue.httpStatus, 400, 'REST status of a calculator error');
    });
  }

  test('negative zero: gRPC carries -0, REST JSON writes it as 0 (equal under ===)', async () => {
    const grpcOutcome = await callGrpc(client, 'multiply', { a: 0, b: -1 });
    const rest = await callRest(servers.restUrl, 'multiply', { a: 0, b: -1 });
    assert.ok(grpcOutcome.ok && Object.is(grpcOutcome.value, -0), `gRPC: ${JSON.stringify(grpcOutcome)}`);
    assert.ok(rest.ok && Object.is(rest.value, 0), `REST: ${JSON.stringify(rest)}`);
  });

  describe('REST-only shapes: the documented error shape {"error":{"code","message"}}', () => {
    for (const row of REST_SHAPE_CASES) {
      test(row.name, async () => {
        const response = await fetch(`${servers.restUrl}/v1/${row.op}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: row.body,
        });
        assert.equal(response.status, row.status);
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        assert.deepEqual(await response.json(), { error: { code: 'INVALID_ARGUMENT', message: row.message } });
      });
    }
  });

  test('a gRPC call built by hand: raw HTTP/2, 5-byte prefix, hand-encoded protobuf', async () => {
    const session = await connectH2(servers.grpcAddress);
    try {
      const message = Buffer.concat([Buffer.from([0x09]), f64(20), Buffer.from([0x11]), f64(10)]);
      assert.deepEqual(message, encodeOperandsByHand(20, 10));
      assert.equal(grpcMethodPath('add'), '/calculator.v1.Calculator/Add');
      const response = await rawGrpc(session, { path: '/calculator.v1.Calculator/Add', body: grpcFrame(message) });
      assert.equal(response.httpStatus, 200);
      assert.match(String(response.headers['content-type']), /^application\/grpc/);
      assert.equal(response.grpcStatus, 0);
      // 5-byte prefix (uncompressed, length 9) + 0x09 + float64LE(30)
      assert.equal(response.data.length, 14);
      assert.equal(response.data[0], 0);
      assert.equal(response.data.readUInt32BE(1), 9);
      assert.equal(response.data[5], 0x09);
      assert.equal(response.data.readDoubleLE(6), 30);
      assert.equal(decodeResultByHand(response.data), 30);

      const error = await rawGrpc(session, { path: '/calculator.v1.Calculator/Divide', body: grpcFrame(encodeOperandsByHand(1, 0)) });
      assert.equal(error.grpcStatus, 3); // INVALID_ARGUMENT
      assert.equal(error.grpcMessage, 'division by zero');
    } finally {
      session.close();
    }
  });

  test('a REST call built by hand: raw HTTP/1.1 over TCP', async () => {
    const response = await rawHttp(servers.restPort, httpPost('/v1/add', '{"a":20,"b":10}'));
    assert.equal(response.status, 200);
    assert.match(response.raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(response.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(response.body, '{"value":30}');

    const error = await rawHttp(servers.restPort, httpPost('/v1/divide', '{"a":1,"b":0}'));
    assert.equal(error.status, 400);
    assert.equal(error.body, '{"error":{"code":"INVALID_ARGUMENT","message":"division by zero"}}');
  });
});

async function postText(baseUrl: string, op: Operation, body: string): Promise<CallOutcome> {
  const response = await fetch(`${baseUrl}/v1/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return restOutcome(response.status, await response.text());
}

function f64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleLE(value);
  return buffer;
}
