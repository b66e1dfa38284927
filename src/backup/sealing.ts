import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { type Keyring, keyringPath } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { CapturedSegment, SnapshotJob } from './captured.ts';
import { keyringKey } from './layout.ts';
import type { ObjectQueue } from './object-queue.ts';
import { writeObject } from './object-format.ts';
import { segmentObject, snapshotObject } from './objects.ts';
import { SegmentSealer } from './segment-sealer.ts';

export interface SealingOptions {
  dataDir: string;
  keyring: Keyring;
  log: Logger;
  now: () => number;
  queue: ObjectQueue;
  /** what was captured is lost to the backup: only a new generation (a snapshot) closes the gap */
  lost: (reason: string) => void;
  /** every change in a segment captured now was committed after this (wall clock) */
  uncapturedAfter: () => number | undefined;
}

/**
 * Turns what the replicator captured into encrypted objects on the queue: segments (sealed in
 * capture order, one after the other), snapshots (streamed into the spool) and copies of the
 * keyring. `staging` counts those still being sealed.
 */
export class Sealing {
  private readonly sealer = new SegmentSealer();
  /** segment and keyring seals, in capture order */
  private chain: Promise<void> = Promise.resolve();
  private snapshotWork: Promise<void> | undefined;
  private lastKeyringSha: string | undefined;
  staging = 0;
  lastSegment: { key: string; time: number } | undefined;
  lastSnapshot: { key: string; time: number } | undefined;

  constructor(private readonly opts: SealingOptions) {
  }

  /**
   * A copy of the keyring (wrapped keys only) beside the backups: with the master key alone,
   * a lost server can be restored. Only when it changed (at a generation start, or after retired
   * keys were dropped).
   */
  keyringCopy(): void {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(keyringPath(this.opts.dataDir));
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot read the keyring to store a copy with the backups');
      return;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha === this.lastKeyringSha) return;
    this.lastKeyringSha = sha;
    const key = keyringKey(this.opts.now(), sha);
    this.after(async () => {
      try {
        this.opts.queue.enqueue(await this.opts.queue.hold(key, 'keyring', this.opts.now(), [bytes]));
      } catch (e) {
        this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot spool the keyring copy');
      }
    });
  }

  segment(s: CapturedSegment): void {
    const { key, header } = segmentObject(s);
    this.lastSegment = { key, time: s.time };
    // Called inside the step that captured it: the bound still holds for what it captured.
    const after = this.opts.uncapturedAfter() ?? s.time;
    const backupKey = this.opts.keyring.active('backup');
    this.after(async () => {
      try {
        const t0 = performance.now();
        const parts = await this.sealer.seal(header, [s.walHeader, ...s.frames], backupKey);
        const item = await this.opts.queue.hold(key, 'segment', s.time, parts);
        item.after = after;
        this.opts.log.debug({ segment: key, bytes: item.size, sealMs: Math.round(performance.now() - t0), spooled: item.file !== undefined, waitedMs: Math.round(this.opts.now() - s.time) }, 'backup: segment captured');
        this.opts.queue.enqueue(item);
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message, segment: key }, 'backup: cannot spool a segment');
        this.opts.lost('a segment could not be spooled');
      }
    });
  }

  /** Streams the snapshot into the spool; returns its key. */
  snapshot(job: SnapshotJob): string {
    const { key, header } = snapshotObject(job);
    const backupKey = this.opts.keyring.active('backup');
    const started = this.opts.now();
    this.staging++;
    async function* payload(): AsyncGenerator<Buffer> {
      if (job.dbBytes > 0) {
        const fh = await fs.promises.open(job.dbFile, 'r');
        try {
          for await (const c of fh.createReadStream({ start: 0, end: job.dbBytes - 1, highWaterMark: 1 << 20, autoClose: false })) yield c as Buffer;
        } finally {
          await fh.close();
        }
      }
      // The file is read: checkpoints may run again while the rest is encrypted.
      job.release();
      if (job.wal.length) yield job.wal;
    }
    this.snapshotWork = (async () => {
      try {
        const item = await this.opts.queue.write(key, async (out) => {
          await writeObject(out, header, payload(), backupKey);
        });
        this.lastSnapshot = { key, time: job.time };
        this.opts.log.info({ snapshot: key, bytes: item.size, ms: this.opts.now() - started, reason: job.reason }, 'backup: snapshot taken');
        this.opts.queue.enqueue(item);
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message, snapshot: key }, 'backup: snapshot failed; a new generation will start');
        this.opts.lost('the last snapshot failed');
      } finally {
        job.release();
        this.snapshotWork = undefined;
        this.staging--;
      }
    })();
    return key;
  }

  private after(work: () => Promise<void>): void {
    this.staging++;
    this.chain = this.chain.then(work).finally(() => this.staging--);
  }

  /** The snapshot under way has read the database file and is in the spool (or failed). */
  async snapshotSettled(): Promise<void> {
    await this.snapshotWork;
  }

  /** Waits for the snapshot and the seals under way, then ends the seal worker. */
  async close(): Promise<void> {
    await this.snapshotWork;
    await this.chain;
    await this.sealer.close();
  }
}
