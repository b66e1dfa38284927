import { describe, expect, it } from 'vitest';
import { buildCatalog } from './catalog.ts';
import { keyringKey, segmentKey, snapshotKey } from './layout.ts';
import { planRetention } from './retention.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const genA = '20250101T000000000Z-aaaaaaaa';
const genB = '20250110T000000000Z-bbbbbbbb';
const genC = '20250120T000000000Z-cccccccc';

/** A: Jan 1-9 (snapshots day 0 and 5); B: Jan 10-19 (snapshot day 10); C: Jan 20 on, snapshot not stored yet. */
function catalog() {
  const keys: string[] = [];
  keys.push(snapshotKey(genA, 0, T0, 0), snapshotKey(genA, 1, T0 + 5 * DAY, 5));
  for (let i = 0; i < 9; i++) keys.push(segmentKey(genA, i, T0 + i * DAY + 1000));
  keys.push(snapshotKey(genB, 0, T0 + 10 * DAY, 0));
  for (let i = 0; i < 9; i++) keys.push(segmentKey(genB, i, T0 + (10 + i) * DAY + 1000));
  for (let i = 0; i < 3; i++) keys.push(segmentKey(genC, i, T0 + 20 * DAY + i * 1000));
  keys.push(keyringKey(T0, 'e'.repeat(64)), keyringKey(T0 + 10 * DAY, 'f'.repeat(64)));
  return buildCatalog(keys.map((key) => ({ key, size: 1 })));
}

describe('retention plan', () => {
  it('keeps the newest snapshot at or before the cutoff and everything after it', () => {
    // cutoff = day 7: base is A's snapshot of day 5.
    const plan = planRetention(catalog(), T0 + 37 * DAY, 30);
    expect(plan.base?.key).toBe(snapshotKey(genA, 1, T0 + 5 * DAY, 5));
    expect(plan.delete.sort()).toEqual(
      [snapshotKey(genA, 0, T0, 0), ...[0, 1, 2, 3, 4].map((i) => segmentKey(genA, i, T0 + i * DAY + 1000)), keyringKey(T0, 'e'.repeat(64))].sort(),
    );
  });

  it('drops whole generations that ended before the base, never the one without a stored snapshot yet', () => {
    // cutoff = day 15: base is B's snapshot (day 10); A ended on day 8.
    const plan = planRetention(catalog(), T0 + 45 * DAY, 30);
    expect(plan.base?.generation).toBe(genB);
    expect(plan.delete.filter((k) => k.includes(genA)).length).toBe(11);
    expect(plan.delete.some((k) => k.includes(genB) || k.includes(genC))).toBe(false);
  });

  it('deletes nothing restorable when no snapshot is older than the cutoff', () => {
    expect(planRetention(catalog(), T0 + 10 * DAY, 30).delete).toEqual([]);
  });

  it('keeps the last snapshot even when everything is older than the window', () => {
    const plan = planRetention(catalog(), T0 + 400 * DAY, 30);
    expect(plan.base?.generation).toBe(genB);
    // C never got a snapshot and is long past: its segments restore nothing.
    expect(plan.delete.filter((k) => k.includes(genC)).length).toBe(3);
    expect(plan.delete).not.toContain(snapshotKey(genB, 0, T0 + 10 * DAY, 0));
    expect(plan.delete.some((k) => k.includes(genB))).toBe(false);
    // The newest keyring copy always stays.
    expect(plan.delete).not.toContain(keyringKey(T0 + 10 * DAY, 'f'.repeat(64)));
  });
});
