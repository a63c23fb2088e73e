/** gRPC status codes by number, named as statusCounts keys use them. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? 'UNKNOWN';
}

/**
 * What a gRPC client reports when the HTTP layer failed before gRPC spoke
 * (grpc/doc/http-grpc-status-mapping.md), so a proxy's 503 reads as UNAVAILABLE.
 */
export function grpcStatusForHttpStatus(httpStatus: number): string {
  switch (httpStatus) {
    case 400:
      return 'INTERNAL';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'UNIMPLEMENTED';
    case 429:
    case 502:
    case 503:
    case 504:
      return 'UNAVAILABLE';
    default:
      return 'UNKNOWN';
  }
}
