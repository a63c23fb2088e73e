/**
 * bench/api/status-map.ts against its source: google/rpc/code.proto, where each code's comment says
 * "HTTP Mapping: 404 Not Found". Reading the file keeps the table honest if either side changes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { GOOGLE_PROTOS_DIR } from '../../bench/api/compile.ts';
import { GRPC_STATUS_TABLE, grpcCodeLabel, httpStatusForGrpcCode } from '../../bench/api/status-map.ts';

it('every code maps to the HTTP status code.proto gives it', () => {
  const text = readFileSync(path.join(GOOGLE_PROTOS_DIR, 'google/rpc/code.proto'), 'utf8');
  const fromProto = [...text.matchAll(/HTTP Mapping: (\d{3})[^\n]*\n(?:\s*\/\/[^\n]*\n)*?\s*([A-Z_]+) = (\d+);/g)]
    .map(([, status, name, code]) => [Number(code), name!, Number(status)] as const)
    .sort((a, b) => a[0] - b[0]);
  assert.equal(fromProto.length, 17, 'code.proto has 17 codes');
  assert.deepEqual(GRPC_STATUS_TABLE, fromProto);
});

it('codes outside the table are UNKNOWN (500) and labelled by number', () => {
  assert.equal(httpStatusForGrpcCode(5), 404);
  assert.equal(httpStatusForGrpcCode(99), 500);
  assert.equal(grpcCodeLabel(5), 'NOT_FOUND (5)');
  assert.equal(grpcCodeLabel(99), 'code 99');
});
