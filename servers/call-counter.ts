/**
 * Calls a server process has taken, for the bench's replicas (--replicas): the
 * bench reads the count before and after a measured run, so a replica's share
 * covers that window only (warm-up and byte-counting passes excluded).
 *
 * Read by a signal, not a port or a file: SIGUSR2 makes the process print one
 * line `calls <n>` on stdout, which the bench already reads (its listening
 * line). Nothing runs per call but an increment. Health checks count too; the
 * bench's are over before any measured run.
 */
export const CALLS_SIGNAL = 'SIGUSR2';
/** The line printed on CALLS_SIGNAL. */
export const CALLS_LINE = /^calls (\d+)$/m;

export interface CallCounter {
  /** One more call (an HTTP/1.1 request, a gRPC call). */
  count(): void;
  readonly calls: number;
}

export function createCallCounter(): CallCounter {
  let calls = 0;
  return {
    count: () => {
      calls += 1;
    },
    get calls() {
      return calls;
    },
  };
}

/** Prints `calls <n>` on stdout each time the process gets CALLS_SIGNAL. */
export function reportCallsOnSignal(counter: CallCounter): void {
  process.on(CALLS_SIGNAL, () => {
    process.stdout.write(`calls ${counter.calls}\n`);
  });
}
