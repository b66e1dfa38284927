import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Keyring, keyringBackupPath } from './keyring.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function ringFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-keyring-'));
  dirs.push(dir);
  return path.join(dir, 'keyring.json');
}

type RawRing = { kekId: string; keys: { id: string; purpose: string; status: string; created: string; retired?: string }[] };
const raw = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as RawRing;

describe('Keyring rotation', () => {
  it('rotate adds <purpose>-2 as active and keeps the old key retired, across save and load', () => {
    const file = ringFile();
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    const before = ring.active('backup');
    const r = ring.rotate('backup', new Date('2030-01-02T03:04:05.000Z'));
    expect(r).toMatchObject({ old: { id: 'backup-1' }, new: { id: 'backup-2' } });
    ring.save(master);

    const loaded = Keyring.load(file, master);
    expect(loaded.active('backup').id).toBe('backup-2');
    expect(loaded.active('backup').key.equals(before.key)).toBe(false);
    const old = loaded.byId('backup-1');
    expect(old?.status).toBe('retired');
    expect(old?.key.equals(before.key)).toBe(true);
    expect(loaded.list().find((k) => k.id === 'backup-1')?.retired).toBe('2030-01-02T03:04:05.000Z');
    // Other purposes are untouched.
    expect(loaded.active('db').id).toBe('db-1');
  });

  it('a pending key is never active, one at a time, and is promoted or dropped', () => {
    const file = ringFile();
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    const p = ring.addPending('db');
    expect(p.id).toBe('db-2');
    expect(ring.active('db').id).toBe('db-1');
    expect(() => ring.addPending('db')).toThrow(/already in progress \(db-2 is pending\)/);
    ring.save(master);
    expect(Keyring.load(file, master).pending('db')?.key.equals(p.key)).toBe(true);

    expect(ring.dropPending('db')?.id).toBe('db-2');
    expect(ring.pending('db')).toBeUndefined();
    const again = ring.addPending('db');
    ring.activatePending('db');
    expect(ring.active('db').id).toBe(again.id);
    expect(ring.byId('db-1')?.status).toBe('retired');
  });

  it('refuses a keyring with two pending keys of one purpose, a duplicate id, or an id of another purpose', () => {
    const file = ringFile();
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    ring.rotate('token');
    ring.rotate('token'); // token-1, token-2 retired; token-3 active
    ring.save(master);
    const good = raw(file);
    expect(Keyring.load(file, master).active('token').id).toBe('token-3');

    const twoPending = structuredClone(good);
    for (const k of twoPending.keys) if (k.id === 'token-1' || k.id === 'token-2') k.status = 'pending';
    fs.writeFileSync(file, JSON.stringify(twoPending));
    expect(() => Keyring.load(file, master)).toThrow(/damaged: more than one pending token key/);

    const dup = structuredClone(good);
    dup.keys.push(dup.keys[0]!);
    fs.writeFileSync(file, JSON.stringify(dup));
    expect(() => Keyring.load(file, master)).toThrow(/a key id appears twice/);

    const mismatch = structuredClone(good);
    mismatch.keys[0]!.purpose = 'backup';
    fs.writeFileSync(file, JSON.stringify(mismatch));
    expect(() => Keyring.load(file, master)).toThrow(/is damaged \(keys\.0\.id\)/);

    const unknownStatus = structuredClone(good);
    unknownStatus.keys[0]!.status = 'revoked';
    fs.writeFileSync(file, JSON.stringify(unknownStatus));
    expect(() => Keyring.load(file, master)).toThrow(/is damaged \(keys\.0\.status\)/);
  });

  it('loads keyrings written before rotation existed (no retired field)', () => {
    const file = ringFile();
    const master = randomBytes(32);
    Keyring.create(file, master);
    const json = raw(file);
    expect(json.keys.every((k) => k.retired === undefined && k.status === 'active')).toBe(true);
    expect(Keyring.load(file, master).list()).toHaveLength(4);
  });

  it('pruneRetired drops only retired keys older than the cut-off that nothing still needs; ids are never reused', () => {
    const file = ringFile();
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    ring.rotate('backup', new Date('2030-01-01T00:00:00Z')); // backup-1 retired 2030-01-01
    ring.rotate('backup', new Date('2030-02-01T00:00:00Z')); // backup-2 retired 2030-02-01
    ring.rotate('backup', new Date('2030-03-01T00:00:00Z')); // backup-3 retired 2030-03-01, backup-4 active
    expect(ring.pruneRetired('backup', new Date('2030-01-15T00:00:00Z'), (id) => id === 'backup-1')).toEqual([]);
    expect(ring.pruneRetired('backup', new Date('2030-02-15T00:00:00Z'))).toEqual(['backup-1', 'backup-2']);
    expect(ring.list().filter((k) => k.purpose === 'backup').map((k) => k.id)).toEqual(['backup-3', 'backup-4']);
    // The active key is never pruned, however old the cut-off.
    expect(ring.pruneRetired('backup', new Date('2099-01-01T00:00:00Z'))).toEqual(['backup-3']);
    expect(ring.active('backup').id).toBe('backup-4');
    expect(ring.rotate('backup').new.id).toBe('backup-5');
    ring.save(master);
    expect(Keyring.load(file, master).byId('backup-1')).toBeUndefined();
  });

  it('never prunes audit keys: the chain needs all of them', () => {
    const ring = Keyring.create(ringFile(), randomBytes(32));
    ring.rotate('audit', new Date('2000-01-01T00:00:00Z'));
    expect(() => ring.pruneRetired('audit', new Date())).toThrow(/audit keys are never pruned/);
    expect(ring.byId('audit-1')).toBeDefined();
  });

  it('rewrap: the new master key opens the keyring, the old one is refused (and named as replaced while the .bak exists)', () => {
    const file = ringFile();
    const oldMaster = randomBytes(32);
    const newMaster = randomBytes(32);
    const ring = Keyring.create(file, oldMaster);
    const dbKey = ring.active('db').key;
    ring.keepBackup();
    expect(fs.existsSync(keyringBackupPath(file))).toBe(true);
    ring.rewrap(newMaster);
    expect(Keyring.load(file, newMaster).active('db').key.equals(dbKey)).toBe(true);
    expect(() => Keyring.load(file, oldMaster)).toThrow(/^wrong master key: .*rewrapped with master key [0-9a-f]{16} by `tessera keys rotate-master`/);
    // The .bak still opens with the old key: that is why it must not outlive the rotation.
    expect(Keyring.load(keyringBackupPath(file), oldMaster).active('db').key.equals(dbKey)).toBe(true);
    ring.dropBackup();
    expect(fs.existsSync(keyringBackupPath(file))).toBe(false);
    expect(() => Keyring.load(file, oldMaster)).toThrow(/^wrong master key: it does not match the one this keyring was made with$/);
  });

  it('saves atomically with private mode and leaves no temp file behind', () => {
    const file = ringFile();
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    ring.rotate('db');
    ring.save(master);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['keyring.json']);
  });
});
