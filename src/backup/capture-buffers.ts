/**
 * Memory for captured WAL frames, used again from one segment to the next. Under a registration
 * rush the replicator copies tens of megabytes a second out of the WAL; into fresh buffers that
 * was about ten thousand page faults a second (the kernel zeroes every new page, and frees it
 * again when the buffer goes), paid on the two cores the app shares. The buffers are shared
 * with the sealing worker (SharedArrayBuffer), so they never move and come back here once the
 * segment is sealed. The backup service keeps a second pool of the same kind for sealed segments,
 * which come back once every target has stored them.
 */
export class CaptureBuffers {
  private free: SharedArrayBuffer[] = [];
  private freeBytes = 0;
  /** buffers made so far, as opposed to reused (tests, status) */
  made = 0;

  constructor(
    /** what is kept for reuse at most; a burst beyond it is left to the garbage collector */
    private readonly keepBytes = 256 * 1024 * 1024,
    /** sizes are rounded up to this, so buffers fit the next capture of a similar size */
    private readonly step = 4 * 1024 * 1024,
  ) {}

  /** A buffer of exactly `length` bytes, at offset 0 of memory no one else uses until give(). */
  take(length: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i] as SharedArrayBuffer;
      if (b.byteLength >= length && (best < 0 || b.byteLength < (this.free[best] as SharedArrayBuffer).byteLength)) best = i;
    }
    let sab: SharedArrayBuffer;
    if (best >= 0) {
      sab = this.free.splice(best, 1)[0] as SharedArrayBuffer;
      this.freeBytes -= sab.byteLength;
    } else {
      sab = new SharedArrayBuffer(Math.max(this.step, Math.ceil(length / this.step) * this.step));
      this.made++;
    }
    return Buffer.from(sab, 0, length);
  }

  /** Memory handed out by take() that nothing reads any more. */
  give(buffers: Iterable<ArrayBufferLike>): void {
    for (const b of buffers) {
      if (!(b instanceof SharedArrayBuffer) || this.free.includes(b)) continue;
      if (this.freeBytes + b.byteLength > this.keepBytes) continue;
      this.free.push(b);
      this.freeBytes += b.byteLength;
    }
  }

  /** bytes kept for reuse now (tests, status) */
  get kept(): number {
    return this.freeBytes;
  }
}
