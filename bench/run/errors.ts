/** A bench that cannot run as set up (a server that does not start, an unreachable target, ...): one line, exit 1. */
export class BenchSetupError extends Error {
  readonly exitCode = 1;
}
