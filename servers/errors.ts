/**
 * The one error type of the calculator. Its codes are the protocol-neutral
 * canonical codes of google.rpc.Code; each protocol adapter maps them to its
 * own status (HTTP status for REST, grpc-status for gRPC), and both carry the
 * message text unchanged, so clients of either protocol read the same words.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'OUT_OF_RANGE'
  | 'RESOURCE_EXHAUSTED'
  | 'NOT_FOUND'
  | 'UNIMPLEMENTED'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'INTERNAL';

export class CalcError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CalcError';
    this.code = code;
  }

  /** Turns anything caught into a CalcError without leaking internals. */
  static from(reason: unknown): CalcError {
    if (reason instanceof CalcError) return reason;
    return new CalcError('INTERNAL', 'internal error');
  }
}
