import type { Catalog, SnapshotEntry } from './catalog.ts';

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
