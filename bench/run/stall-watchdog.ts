/**
 * The stall watchdog: a server that stops answering but keeps its connections
 * open (stopped with SIGSTOP, deadlocked, a proxy that swallows bytes) does not
 * close anything, so neither the server's exit event nor a connection error
 * says so; calls just wait for their per-call deadline (10 s by default), and a
 * run could sit there for its whole duration and more.
 *
 * The watchdog watches the driver's progress reports (LoadOptions.onProgress,
 * about every 250 ms) and aborts the driver once no call has completed for
 * `stallTimeoutS` seconds, with a reason that says so. It checks on its own
 * timer, so a driver that never reports (stuck connecting) is caught too.
 */
const CHECK_INTERVAL_MS = 100;

export class StallWatchdog {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private lastCalls = -1;
  private lastChangeMs = Date.now();
  private readonly timer: NodeJS.Timeout;

  /** @param stallTimeoutS seconds without a completed call before aborting; 0 or less disables the watchdog. */
  constructor(private readonly stallTimeoutS: number) {
    this.signal = this.controller.signal;
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
    if (!(stallTimeoutS > 0)) clearInterval(this.timer);
  }

  /** Feed it the driver's running count of completed calls. */
  progress(calls: number): void {
    if (calls !== this.lastCalls) {
      this.lastCalls = calls;
      this.lastChangeMs = Date.now();
    }
  }

  get stalled(): boolean {
    return this.controller.signal.aborted;
  }

  get reason(): string | null {
    return this.stalled ? (this.controller.signal.reason as Error).message : null;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (this.controller.signal.aborted) return;
    if (Date.now() - this.lastChangeMs >= this.stallTimeoutS * 1000) {
      clearInterval(this.timer);
      this.controller.abort(new Error(stallMessage(this.stallTimeoutS)));
    }
  }
}

export function stallMessage(stallTimeoutS: number): string {
  return `server stopped answering: no call completed for ${stallTimeoutS} s`;
}
