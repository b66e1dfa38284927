import { describe, expect, it } from 'vitest';
import type { ReplicatorPosition } from './captured.ts';
import { SyncScheduler } from './scheduler.ts';
import type { ShmHeader } from './wal.ts';

/** A scheduler over a WAL the test moves by hand, on a clock the test moves by hand. */
function harness(thresholds = { frames: 100, ms: 1000 }) {
  const salt = Buffer.alloc(8, 1);
  const s = { now: 0, mxFrame: 0, captured: 0, locked: false, steps: 0 };
  const position = (): ReplicatorPosition => ({ generation: 'g', walIndex: 0, frame: s.captured, nextSegment: 0, dbKeyId: 'db-1' });
  const scheduler = new SyncScheduler({
    thresholds,
    shmFile: '/nonexistent',
    position,
    now: () => s.now,
    clock: () => s.now,
    header: () => ({ salt, mxFrame: s.mxFrame, nBackfill: 0, pageSize: 4096 }) as ShmHeader,
    step: () => {
      s.steps++;
      if (s.locked) return false;
      s.captured = s.mxFrame;
      return true;
    },
  });
  scheduler.runStep();
  return { s, scheduler };
}

describe('SyncScheduler', () => {
  it('captures at N frames at once, else once the oldest change is T old', () => {
    const { s, scheduler } = harness();
    s.now = 10;
    s.mxFrame = 99;
    expect(scheduler.probe()).toBe(false);
    s.mxFrame = 100;
    expect(scheduler.probe()).toBe(true);
    expect(s.captured).toBe(100);
    // One frame, committed after a look that found nothing: T counts from that look.
    s.now = 500;
    expect(scheduler.probe()).toBe(false);
    s.mxFrame = 101;
    s.now = 1400;
    expect(scheduler.probe()).toBe(false);
    s.now = 1500;
    expect(scheduler.probe()).toBe(true);
    expect(s.captured).toBe(101);
  });

  it('says how late the capture is when it cannot run in time, and nothing once it has', () => {
    const { s, scheduler } = harness();
    s.locked = true;
    s.mxFrame = 5;
    s.now = 900;
    scheduler.probe();
    expect(scheduler.overdueMs()).toBe(0);
    // Another process holds the database (or the host is too busy): every due step fails.
    s.now = 3500;
    expect(scheduler.probe()).toBe(true);
    expect(s.captured).toBe(0);
    expect(scheduler.overdueMs()).toBe(2500);
    s.locked = false;
    s.now = 3600;
    scheduler.probe();
    expect(s.captured).toBe(5);
    expect(scheduler.overdueMs()).toBe(0);
  });

  it('with nothing waiting runs a step once per T, and is never overdue', () => {
    const { s, scheduler } = harness();
    const steps = s.steps;
    s.now = 999;
    expect(scheduler.probe()).toBe(false);
    s.now = 1000;
    expect(scheduler.probe()).toBe(true);
    expect(s.steps).toBe(steps + 1);
    s.now = 50_000;
    scheduler.probe();
    expect(scheduler.overdueMs()).toBe(0);
  });
});
