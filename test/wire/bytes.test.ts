/**
 * Bytes per call as the runner measures them (measureWireBytes: the real
 * drivers through the counting proxy) against what a test server counts on
 * its own sockets (socket.bytesRead / bytesWritten): within 2%. And the proxy's
 * body split against the known message sizes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getDriver } from '../../bench/drivers/index.ts';
import { buildPayload } from '../../bench/scenario/matrix.ts';
import { measureWireBytes } from '../../bench/wire/measure.ts';
import { fakeServersPerSuite } from '../helpers/bench.ts';
import { calculate } from '../../servers/calculator.ts';

const CALLS = 400;

function assertClose(actual: number, expected: number, what: string): void {
  const diff = Math.abs(actual - expected) / expected;
  assert.ok(diff <= 0.02, `${what}: measured ${actual.toFixed(2)}, server counted ${expected.toFixed(2)} (${(diff * 100).toFixed(2)}% apart)`);
}

describe('wire bytes per call match the server socket counts', () => {
  const fakes = fakeServersPerSuite();

  for (const [operation, values] of [['add', null], ['sum', 1_000]] as const) {
    test(`REST (autocannon) ${operation}`, async () => {
      const { rest } = fakes;
      const payload = buildPayload(operation, values, 'double');
      const before = rest.socketBytes();
      const sample = await measureWireBytes(
        getDriver('autocannon', 'rest'),
        { target: { protocol: 'rest', url: `http://${rest.host}:${rest.port}` }, payload, concurrency: 8, connections: 8, timeoutMs: 5_000 },
        CALLS,
      );
      const counted = rest.socketBytes();
      assert.equal(sample.calls, CALLS);
      assert.equal(sample.errors, 0);
      assertClose(sample.wire.requestBytesPerCall!, (counted.read - before.read) / CALLS, 'request bytes/call');
      assertClose(sample.wire.responseBytesPerCall!, (counted.written - before.written) / CALLS, 'response bytes/call');
      // Body split: the request body is exactly the JSON; the response body is the calculator's {"value":…}.
      assert.equal(sample.counts.request.bodyBytes, CALLS * payload.json.length);
      assert.equal(sample.responseBodyBytes, JSON.stringify({ value: calculate(operation, payload.input) }).length);
      assert.equal(sample.wire.requestHeaderBytesPerCall! + payload.json.length, sample.wire.requestBytesPerCall);
    });

    test(`gRPC (grpc-engine) ${operation}`, async () => {
      const { grpc } = fakes;
      const payload = buildPayload(operation, values, 'double');
      const before = grpc.socketBytes();
      const sample = await measureWireBytes(
        getDriver('grpc-engine', 'grpc'),
        { target: { protocol: 'grpc', host: grpc.host, port: grpc.port }, payload, concurrency: 8, connections: 1, timeoutMs: 5_000 },
        CALLS,
      );
      const counted = grpc.socketBytes();
      assert.equal(sample.calls, CALLS);
      assert.equal(sample.errors, 0);
      assertClose(sample.wire.requestBytesPerCall!, (counted.read - before.read) / CALLS, 'request bytes/call');
      assertClose(sample.wire.responseBytesPerCall!, (counted.written - before.written) / CALLS, 'response bytes/call');
      assert.equal(sample.counts.request.bodyBytes, CALLS * payload.protobuf.length);
      assert.equal(sample.counts.request.messages, CALLS);
      assert.equal(sample.responseBodyBytes, 9);
    });
  }
});
