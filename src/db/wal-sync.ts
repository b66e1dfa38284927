import fsSync from 'node:fs';
import type { DB } from './open.ts';

/** Makes everything written to a file before the call durable. */
export type SyncFn = () => Promise<void>;

/**
 * fdatasync of the file on libuv's thread pool, through a descriptor kept open: Linux flushes an
 * inode's dirty pages whichever descriptor asks. If SQLite deleted the WAL and made a new one (all
 * connections closed meanwhile), the old inode has no links left and the file is opened again.
 */
export function fileDataSync(file: string): SyncFn {
  let fd: number | undefined;
  return () =>
    new Promise<void>((resolve, reject) => {
      try {
        if (fd !== undefined && fsSync.fstatSync(fd).nlink === 0) {
          fsSync.closeSync(fd);
          fd = undefined;
        }
        fd ??= fsSync.openSync(file, 'r');
      } catch (e) {
        reject(e);
        return;
      }
      fsSync.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
}

/**
 * Group fsync off the event loop. Commits made with `synchronous = NORMAL` are written to the WAL
 * but not flushed; `afterWrites()` resolves once a sync that started after the call has finished,
 * so every write made before it is on disk. Callers arriving while a sync runs share the next
 * one: the running sync may have started before their writes.
 */
export class DurableWrites {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly sync: SyncFn) {}

  afterWrites(): Promise<void> {
    if (!this.running) return this.start();
    const running = this.running;
    this.next ??= running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.next = undefined;
        return this.start();
      });
    return this.next;
  }

  /**
   * Resolves once every write made before the call that asked for a sync has been synced (at
   * once when none is pending). What reads committed rows and acts on them outside the database
   * (the mail outbox) waits on this, so it never acts on a write a power cut could still undo.
   */
  settled(): Promise<void> {
    const pending = this.next ?? this.running;
    return pending ? pending.then(() => undefined, () => undefined) : Promise.resolve();
  }

  private start(): Promise<void> {
    const p: Promise<void> = this.sync().finally(() => {
      if (this.running === p) this.running = undefined;
    });
    this.running = p;
    return p;
  }
}

const byDb = new WeakMap<DB, DurableWrites>();

/** The connection's group sync: set up by its WriteBatcher, awaited by the outboxes. */
export function durableWrites(db: DB): DurableWrites | undefined {
  return byDb.get(db);
}

export function setDurableWrites(db: DB, d: DurableWrites): void {
  byDb.set(db, d);
}
