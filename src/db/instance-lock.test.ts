import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InstanceLockedError, acquireInstanceLock, liveHolder, lockPath, otherLiveHolder, readLock } from './instance-lock.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-lock-'));
  dirs.push(d);
  return d;
}

describe('instance lock', () => {
  it('writes pid, start time and command; a second acquire refuses; release removes the file', () => {
    const dir = dataDir();
    const lock = acquireInstanceLock(dir, 'serve');
    const info = readLock(dir);
    expect(info).toMatchObject({ pid: process.pid, command: 'serve' });
    expect(Date.parse(info?.startedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(fs.statSync(lockPath(dir)).mode & 0o777).toBe(0o600);
    expect(liveHolder(dir)?.pid).toBe(process.pid);
    // It is this process: not "another" holder for recovery purposes.
    expect(otherLiveHolder(dir)).toBeUndefined();
    expect(() => acquireInstanceLock(dir, 'keys rotate-db')).toThrow(InstanceLockedError);
    lock.release();
    expect(fs.existsSync(lockPath(dir))).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('treats a damaged pid file as absent', () => {
    const dir = dataDir();
    fs.writeFileSync(lockPath(dir), 'garbage');
    expect(readLock(dir)).toBeUndefined();
    acquireInstanceLock(dir, 'serve').release();
  });

  it('release leaves a pid file that another process wrote after ours alone', () => {
    const dir = dataDir();
    const lock = acquireInstanceLock(dir, 'serve');
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: 1, startedAt: new Date().toISOString(), command: 'serve' }));
    lock.release();
    expect(readLock(dir)?.pid).toBe(1);
  });

  it.skipIf(!fs.existsSync('/proc/self/stat'))('a recycled pid (same pid, another process start time) is stale', () => {
    const dir = dataDir();
    fs.writeFileSync(lockPath(dir), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), procStart: '1', command: 'serve' }));
    expect(liveHolder(dir)).toBeUndefined();
    const lock = acquireInstanceLock(dir, 'serve');
    expect(readLock(dir)?.procStart).toMatch(/^\d+$/);
    expect(readLock(dir)?.procStart).not.toBe('1');
    lock.release();
  });
});
