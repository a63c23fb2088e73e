/**
 * Collects the frames of one event-loop turn so they leave in a single
 * socket write (fewer syscalls, and the server reads many requests per read).
 * Frames are written straight into a large slab; each flush hands the socket
 * a view of the slab and later frames go after it, so a view is never
 * overwritten while the socket may still hold it.
 */
const SLAB_SIZE = 256 * 1024;

export class WriteCoalescer {
  private slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  private start = 0;
  /** Write position in `slab`; callers fill `slab` from here after `reserve`. */
  private pos = 0;
  private sealed: Buffer[] = [];
  private sealedBytes = 0;

  /** Makes room for `length` contiguous bytes and returns the buffer to write them into, at `offset`. */
  reserve(length: number): Buffer {
    if (this.slab.length - this.pos < length) {
      this.seal();
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, length));
      this.start = 0;
      this.pos = 0;
    }
    return this.slab;
  }

  /** Where the next reserved bytes go in the buffer `reserve` returned. */
  get offset(): number {
    return this.pos;
  }

  commit(length: number): void {
    this.pos += length;
  }

  /** Appends a prebuilt buffer (control frames). */
  push(bytes: Uint8Array): void {
    const target = this.reserve(bytes.length);
    target.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  get pendingBytes(): number {
    return this.sealedBytes + this.pos - this.start;
  }

  /** Everything written since the last take, as one or more views. */
  take(): Buffer[] {
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
    return out;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.sealed.push(this.slab.subarray(this.start, this.pos));
      this.sealedBytes += this.pos - this.start;
      this.start = this.pos;
    }
  }
}
