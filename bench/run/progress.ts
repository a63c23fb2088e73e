/**
 * Progress on stderr: one line rewritten in place on a TTY (scenario i/n,
 * protocol, phase, % of this run, ETA of the whole bench); plain lines, one per
 * phase, when stderr is not a TTY, when CI=true, or with --progress plain.
 */
export interface ProgressSink {
  /** A run phase started: `plannedS` seconds of load are expected. */
  phase(label: string, plannedS: number): void;
  /** Fraction (0..1) of the current phase done. */
  update(fraction: number): void;
  /** A phase finished; the planned seconds count as done. */
  endPhase(): void;
  /** A line that stays (results of a run, warnings). */
  log(line: string): void;
  /** Clears the in-place line. */
  close(): void;
}

export interface ProgressOptions {
  mode: 'auto' | 'plain' | 'none';
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** Seconds of load the whole bench is expected to take (warm-ups, runs, wire passes). */
  totalPlannedS: number;
}

export function createProgress(options: ProgressOptions): ProgressSink {
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  if (options.mode === 'none') return silentProgress(stream);
  const inPlace = options.mode === 'auto' && stream.isTTY === true && env.CI !== 'true' && env.CI !== '1';
  return new Progress(stream, inPlace, options.totalPlannedS);
}

function silentProgress(stream: NodeJS.WriteStream): ProgressSink {
  return { phase() {}, update() {}, endPhase() {}, log: (line) => void stream.write(`${line}\n`), close() {} };
}

class Progress implements ProgressSink {
  private label = '';
  private plannedS = 0;
  private fraction = 0;
  private doneS = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly inPlace: boolean,
    private readonly totalPlannedS: number,
  ) {}

  phase(label: string, plannedS: number): void {
    this.label = label;
    this.plannedS = plannedS;
    this.fraction = 0;
    if (this.inPlace) this.draw(true);
    else this.stream.write(`${label} (eta ${formatEta(this.etaS())})\n`);
  }

  update(fraction: number): void {
    this.fraction = Math.max(0, Math.min(1, fraction));
    if (this.inPlace) this.draw(false);
  }

  endPhase(): void {
    this.doneS += this.plannedS;
    this.plannedS = 0;
    this.fraction = 0;
    this.label = '';
  }

  log(line: string): void {
    if (this.inPlace && this.drawn) this.stream.write('\r\x1b[2K');
    this.stream.write(`${line}\n`);
    this.drawn = false;
    if (this.inPlace && this.label) this.draw(true);
  }

  close(): void {
    if (this.inPlace && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
    this.label = '';
  }

  /** Remaining planned seconds, scaled by how much slower than planned the bench has gone so far. */
  private etaS(): number {
    const done = this.doneS + this.plannedS * this.fraction;
    const remaining = Math.max(0, this.totalPlannedS - done);
    const elapsed = (Date.now() - this.started) / 1000;
    const pace = done > 1 ? Math.max(1, elapsed / done) : 1.2;
    return remaining * pace;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const percent = `${Math.round(this.fraction * 100)}%`.padStart(4);
    const width = this.stream.columns || 120;
    const line = `${this.label} ${percent}  eta ${formatEta(this.etaS())}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
    this.drawn = true;
  }
}

export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
