import { Writable } from 'node:stream';
import { type AuditLog, systemContext } from '../audit/service.ts';
import type { Keyring } from '../keys/keyring.ts';
import { pruneRetiredKeys } from '../keys/rotation.ts';
import type { Logger } from '../log.ts';
import { type Catalog, type SnapshotEntry, readCatalog } from './catalog.ts';
import { parseKey } from './layout.ts';
import { type ObjectHeader, readObject } from './object-format.ts';
import type { BackupTarget } from './targets/target.ts';

export interface RetentionPlan {
  /** the newest snapshot at or before the cutoff: restores to any time after the cutoff start at it or later */
  base?: SnapshotEntry;
  delete: string[];
}

const DAY = 86_400_000;

/**
 * Decides what may go. Every point in time from the cutoff until now must stay restorable, so
 * the newest snapshot at or before the cutoff (the base) is kept with every segment after it,
 * and only what lies before it goes: older snapshots and segments of its generation, whole
 * generations that ended before it, and generations that never got a snapshot. Without any
 * snapshot that old, nothing restorable is deleted. The newest keyring is always kept.
 */
export function planRetention(cat: Catalog, nowMs: number, retentionDays: number): RetentionPlan {
  const cutoff = nowMs - retentionDays * DAY;
  const del: string[] = [];
  const snaps = cat.generations.flatMap((g) => g.snapshots).sort((a, b) => a.time - b.time || (a.generation < b.generation ? -1 : a.generation > b.generation ? 1 : a.index - b.index));
  let base: SnapshotEntry | undefined;
  for (const s of snaps) if (s.time <= cutoff) base = s;

  for (const g of cat.generations) {
    if (g.snapshots.length === 0) {
      // Segments with no snapshot to start from restore nothing; keep recent ones (the snapshot may still be uploading).
      if (g.lastTime < cutoff) del.push(...g.segments.map((s) => s.key));
      continue;
    }
    if (!base) continue;
    if (g.id === base.generation) {
      del.push(...g.snapshots.filter((s) => s.index < base.index).map((s) => s.key));
      del.push(...g.segments.filter((s) => s.index < base.nextSegment).map((s) => s.key));
    } else if (g.lastTime < base.time) {
      del.push(...g.snapshots.map((s) => s.key), ...g.segments.map((s) => s.key));
    }
  }
  const rings = cat.keyrings;
  for (let i = 0; i < rings.length - 1; i++) if ((rings[i] as { time: number }).time < cutoff) del.push((rings[i] as { key: string }).key);
  return { base, delete: del };
}

export interface RetentionPassOptions {
  targets: BackupTarget[];
  keyring: Keyring;
  log: Logger;
  now: () => number;
  retentionDays: number;
  /**
   * The app's audit log. With it, a full pass also drops retired backup and db keys that no kept
   * object needs any more (audited as `keys.pruned`); without it keys are kept.
   */
  audit?: AuditLog;
  /** keys of objects still on their way to some target: never deleted, and they count as kept */
  inFlight: () => string[];
  /** generations of this run → the db key they were made under */
  generationKeys: ReadonlyMap<string, string>;
  /** the keyring changed (keys dropped): the copy beside the backups should follow */
  keyringChanged: () => void;
  /** the service is stopping: no key is dropped any more */
  stopped: () => boolean;
}

export type RetentionOutcome = { target: string; deleted: number; error?: string }[];

/** A snapshot or segment a retention pass leaves in place (or that is still on its way). */
interface KeptObject {
  target?: BackupTarget;
  key: string;
  generation: string;
  time: number;
  size: number;
}

/** Stops readObject once the authenticated header is known: the payload is not needed. */
class HeaderRead extends Error {
  constructor(readonly header: ObjectHeader) {
    super('header read');
  }
}

/**
 * Deletes what the retention window no longer needs, on every target (or one), hourly and after
 * each stored snapshot. After a full pass that succeeded everywhere, retired keys that nothing
 * kept still needs are dropped too.
 */
export class RetentionPass {
  private readonly running = new Set<string>();

  constructor(private readonly opts: RetentionPassOptions) {}

  async run(only?: BackupTarget): Promise<RetentionOutcome> {
    const out: RetentionOutcome = [];
    // Objects on their way (spool leftovers of the previous run above all) count as kept: they
    // reach a target after its catalog was read.
    const inFlightAtStart = this.opts.inFlight();
    const kept: KeptObject[] = [];
    let everyTarget = only === undefined;
    for (const t of only ? [only] : this.opts.targets) {
      if (this.running.has(t.label)) {
        everyTarget = false;
        continue;
      }
      this.running.add(t.label);
      try {
        const cat = await readCatalog(t);
        const plan = planRetention(cat, this.opts.now(), this.opts.retentionDays);
        // Never delete what is still being shipped from the spool (a retry would recreate it).
        const shipping = new Set(this.opts.inFlight());
        const del = plan.delete.filter((k) => !shipping.has(k));
        if (del.length) {
          await t.delete(del);
          this.opts.log.info({ target: t.label, deleted: del.length, keepFrom: plan.base?.key }, 'backup: retention removed old objects');
        }
        const gone = new Set(del);
        for (const g of cat.generations) {
          for (const o of [...g.snapshots, ...g.segments]) if (!gone.has(o.key)) kept.push({ target: t, key: o.key, generation: o.generation, time: o.time, size: o.size });
        }
        out.push({ target: t.label, deleted: del.length });
      } catch (e) {
        everyTarget = false;
        this.opts.log.warn({ target: t.label, err: (e as Error).message }, 'backup: retention pass failed');
        out.push({ target: t.label, deleted: 0, error: (e as Error).message });
      } finally {
        this.running.delete(t.label);
      }
    }
    const audit = this.opts.audit;
    if (everyTarget && audit && !this.opts.stopped()) {
      for (const key of new Set([...inFlightAtStart, ...this.opts.inFlight()])) {
        const p = parseKey(key);
        if (p && p.kind !== 'keyring') kept.push({ key, generation: p.generation, time: p.time, size: 0 });
      }
      try {
        await this.pruneKeys(kept, audit);
      } catch (e) {
        this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot drop retired keys');
      }
    }
    return out;
  }

  /**
   * Drops retired backup and db keys that no kept object can need. Rotations run only with the
   * server stopped (they take data/tessera.pid, which the server holds while it runs: cli/commands
   * withRotation), so a key retired at time R sealed or encrypted only objects captured before R;
   * once the oldest object kept anywhere was captured after R, the key protects nothing left.
   * Capture times come from the clock, so as a check that does not trust it, the header of one
   * object of every kept generation from an earlier run is read (a generation never changes keys:
   * one run, one backup key, one db key) and the keys it names are kept whatever their age.
   */
  private async pruneKeys(kept: KeptObject[], audit: AuditLog): Promise<void> {
    // An empty target (all of them) proves nothing about what else may exist: keep everything.
    if (!kept.some((o) => o.target !== undefined)) return;
    // A loop, not Math.min(...): a month of one-second segments is more arguments than V8 takes.
    let oldest = Infinity;
    for (const o of kept) if (o.time < oldest) oldest = o.time;
    const cutoff = new Date(oldest);
    const keyring = this.opts.keyring;
    const candidates = keyring.list().filter((k) => (k.purpose === 'backup' || k.purpose === 'db') && k.status === 'retired' && Date.parse(k.retired ?? k.created) < oldest);
    if (candidates.length === 0) return;

    const needed = new Set<string>();
    const earlier = new Map<string, KeptObject[]>();
    for (const o of kept) {
      // This run's generations are under the active keys, which are never dropped.
      if (this.opts.generationKeys.has(o.generation)) continue;
      const list = earlier.get(o.generation) ?? [];
      list.push(o);
      earlier.set(o.generation, list);
    }
    for (const [generation, objects] of earlier) {
      const onTarget = objects.filter((o) => o.target !== undefined);
      // Not on any target yet (still in the spool): its keys cannot be read from there; next pass.
      if (onTarget.length === 0) {
        this.opts.log.info({ generation }, "backup: retired keys stay until the previous run's objects are shipped");
        return;
      }
      const smallest = onTarget.reduce((a, b) => (b.size < a.size ? b : a));
      const h = await this.readHeader(smallest);
      needed.add(h.backupKeyId);
      needed.add(h.dbKeyId);
    }
    const clockDoubt = candidates.filter((k) => needed.has(k.id)).map((k) => k.id);
    if (clockDoubt.length) this.opts.log.warn({ keys: clockDoubt }, "backup: kept objects newer than a key's retirement still use it (clock went back?); keeping the key");

    const actor = systemContext();
    let changed = false;
    for (const purpose of ['backup', 'db'] as const) {
      const removed = pruneRetiredKeys({ keyring, audit, actor }, purpose, cutoff, (id) => needed.has(id));
      if (removed.length === 0) continue;
      changed = true;
      this.opts.log.info({ purpose, removed, oldestKept: cutoff.toISOString() }, 'backup: retired keys no kept backup needs were dropped from the keyring');
    }
    // The copies beside the backups should not keep a dropped key longer than the window does.
    if (changed) this.opts.keyringChanged();
  }

  /** The authenticated header of one object, without downloading the rest of it. */
  private async readHeader(o: KeptObject): Promise<ObjectHeader> {
    const target = o.target as BackupTarget;
    const discard = new Writable({ write: (_c, _e, done) => done() });
    try {
      return await readObject(await target.get(o.key), discard, {
        name: o.key,
        keys: this.opts.keyring,
        onHeader: (h) => {
          throw new HeaderRead(h);
        },
      });
    } catch (e) {
      if (e instanceof HeaderRead) return e.header;
      throw e;
    }
  }
}

/**
 * A safe upper bound for when the last backup object still holding data erased at `erasedAt`
 * is deleted: the first snapshot taken after the erasure (within one interval; one more, since
 * that snapshot's WAL part can still carry older page images) must fall behind the retention
 * window, and then the hourly retention pass removes what lies before it.
 */
export function backupsHoldingExpireBy(erasedAt: number, retentionDays: number, snapshotIntervalMs: number): number {
  return erasedAt + 2 * snapshotIntervalMs + retentionDays * DAY + 3_600_000;
}
