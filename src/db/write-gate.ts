import type { DB } from './open.ts';

/**
 * Lets the backup replicator hold the app's batched writes back for a few milliseconds. Its WAL
 * can only start over once a checkpoint has copied back every frame, and under a steady stream
 * of commits a checkpoint running beside them never gets there; with the batches held, one
 * short checkpoint on the worker thread does, while the event loop goes on parsing requests
 * and sending answers. Writes made outside the batcher are not held: they only cost that
 * attempt.
 */
export class WriteGate {
  private holds = 0;
  private waiting: (() => void)[] = [];

  get open(): boolean {
    return this.holds === 0;
  }

  /** Holds writes back until the returned function is called (calling it again does nothing). */
  close(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds > 0) return;
      const waiting = this.waiting;
      this.waiting = [];
      for (const resume of waiting) resume();
    };
  }

  /** Runs `resume` once the gate is open (at once when it is). */
  whenOpen(resume: () => void): void {
    if (this.open) resume();
    else this.waiting.push(resume);
  }
}

const gates = new WeakMap<DB, WriteGate>();

/** The one gate of a connection: the batcher writing on it and the replicator share it. */
export function writeGate(db: DB): WriteGate {
  let g = gates.get(db);
  if (!g) {
    g = new WriteGate();
    gates.set(db, g);
  }
  return g;
}
