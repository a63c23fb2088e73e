/**
 * gRPC status codes and the HTTP status each one maps to, as google/rpc/code.proto's comments
 * ("HTTP Mapping: 404 Not Found") give them. The map is many-to-one (three codes map to 400), so the
 * equivalence check asks "does the REST status equal the mapping of the gRPC code", never the reverse.
 * test/api/status-map.test.ts reads code.proto and checks this table against it.
 */

/** [code, name, HTTP status] in code order. */
export const GRPC_STATUS_TABLE: readonly (readonly [number, string, number])[] = [
  [0, 'OK', 200],
  [1, 'CANCELLED', 499],
  [2, 'UNKNOWN', 500],
  [3, 'INVALID_ARGUMENT', 400],
  [4, 'DEADLINE_EXCEEDED', 504],
  [5, 'NOT_FOUND', 404],
  [6, 'ALREADY_EXISTS', 409],
  [7, 'PERMISSION_DENIED', 403],
  [8, 'RESOURCE_EXHAUSTED', 429],
  [9, 'FAILED_PRECONDITION', 400],
  [10, 'ABORTED', 409],
  [11, 'OUT_OF_RANGE', 400],
  [12, 'UNIMPLEMENTED', 501],
  [13, 'INTERNAL', 500],
  [14, 'UNAVAILABLE', 503],
  [15, 'DATA_LOSS', 500],
  [16, 'UNAUTHENTICATED', 401],
];

/** The HTTP status a gRPC code maps to; codes outside 0..16 are treated as UNKNOWN (500), as gRPC does. */
export function httpStatusForGrpcCode(code: number): number {
  return GRPC_STATUS_TABLE[code]?.[2] ?? 500;
}

/** "NOT_FOUND (5)", or "code 42" for a code outside the table. */
export function grpcCodeLabel(code: number): string {
  const row = GRPC_STATUS_TABLE[code];
  return row ? `${row[1]} (${code})` : `code ${code}`;
}
