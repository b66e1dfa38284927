import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCatalog } from '../src/backup/catalog.ts';
import { resolveKeyring } from '../src/backup/keyring-source.ts';
import { parseKey } from '../src/backup/layout.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { caughtUp, createProbeTable, insertProbe, listFiles, probeLabels, waitFor } from './support/backup.ts';
import { runCli } from './support/cli.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

const DAY = 86_400_000;
const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function scratch(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

type RawRing = { kekId: string; keys: { id: string; status: string }[] };
const rawRing = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as RawRing;
const ids = (file: string) => rawRing(file).keys.map((k) => k.id).sort();

describe('Keyring.forgetRetired (no master key needed)', () => {
  function ringWithHistory() {
    const file = path.join(scratch('tessera-forget-'), 'keyring.json');
    const master = randomBytes(32);
    const ring = Keyring.create(file, master);
    ring.rotate('backup', new Date('2030-01-01T00:00:00Z')); // backup-1 retired 2030-01-01
    ring.rotate('backup', new Date('2030-02-01T00:00:00Z')); // backup-2 retired 2030-02-01
    ring.rotate('backup', new Date('2030-03-01T00:00:00Z')); // backup-3 retired 2030-03-01, backup-4 active
    ring.addPending('backup', new Date('2029-01-01T00:00:00Z')); // backup-5 pending (old creation date)
    ring.rotate('db', new Date('2030-01-01T00:00:00Z')); // db-1 retired
    ring.rotate('token', new Date('2030-01-01T00:00:00Z'));
    ring.rotate('audit', new Date('2030-01-01T00:00:00Z'));
    ring.save(master);
    // As the server holds it: loaded from disk, master key not kept.
    return { file, master, ring: Keyring.load(file, master) };
  }

  it('removes only old retired keys of the purpose that nothing claims, on disk and in memory', () => {
    const { file, master, ring } = ringWithHistory();
    expect(ring.forgetRetired('backup', new Date('2030-02-15T00:00:00Z'), (id) => id === 'backup-1')).toEqual(['backup-2']);
    expect(ring.forgetRetired('backup', new Date('2030-02-15T00:00:00Z'))).toEqual(['backup-1']);
    const backupIds = ring.list().filter((k) => k.purpose === 'backup').map((k) => `${k.id}:${k.status}`);
    // Newer retired, active and pending keys stay, whatever their dates.
    expect(backupIds).toEqual(['backup-3:retired', 'backup-4:active', 'backup-5:pending']);
    expect(ring.byId('backup-1')).toBeUndefined();
    expect(ids(file)).toEqual(['audit-1', 'audit-2', 'backup-3', 'backup-4', 'backup-5', 'db-1', 'db-2', 'token-1', 'token-2']);

    // Nothing to remove: the file is not rewritten.
    const before = fs.readFileSync(file);
    expect(ring.forgetRetired('backup', new Date('2030-02-15T00:00:00Z'))).toEqual([]);
    expect(fs.readFileSync(file).equals(before)).toBe(true);

    expect(ring.forgetRetired('db', new Date('2099-01-01T00:00:00Z'))).toEqual(['db-1']);
    expect(ring.active('db').id).toBe('db-2');

    // Still a valid keyring under the same master key, holding exactly what the running one holds.
    const reloaded = Keyring.load(file, master);
    expect(reloaded.list()).toEqual(ring.list());
    for (const k of reloaded.list()) expect(reloaded.byId(k.id)?.key.equals(ring.byId(k.id)?.key as Buffer)).toBe(true);
    expect(reloaded.masterKeyId).toBe(ring.masterKeyId);
  });

  it('refuses audit and token keys and leaves the file alone', () => {
    const { file, ring } = ringWithHistory();
    const before = fs.readFileSync(file);
    expect(() => ring.forgetRetired('audit', new Date('2099-01-01T00:00:00Z'))).toThrow(/audit keys are never pruned/);
    expect(() => ring.forgetRetired('token', new Date('2099-01-01T00:00:00Z'))).toThrow(/token keys are never pruned/);
    expect(() => ring.pruneRetired('token', new Date('2099-01-01T00:00:00Z'))).toThrow(/token keys are never pruned/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(ring.byId('audit-1')).toBeDefined();
    expect(ring.byId('token-1')).toBeDefined();
  });

  it('refuses when keyring.json was replaced by one wrapped with another master key', () => {
    const { file, ring } = ringWithHistory();
    const otherFile = path.join(scratch('tessera-forget-other-'), 'keyring.json');
    const other = Keyring.create(otherFile, randomBytes(32));
    other.rotate('backup', new Date('2000-01-01T00:00:00Z'));
    other.save(Buffer.alloc(32, 1));
    fs.copyFileSync(otherFile, file);
    const replaced = fs.readFileSync(file);
    expect(() => ring.forgetRetired('backup', new Date('2099-01-01T00:00:00Z'))).toThrow(/another master key/);
    expect(fs.readFileSync(file).equals(replaced)).toBe(true);
    // Memory is untouched too.
    expect(ring.byId('backup-1')).toBeDefined();
  });

  it('refuses a damaged file', () => {
    const { file, ring } = ringWithHistory();
    fs.writeFileSync(file, '{"format":"tessera-keyring"');
    expect(() => ring.forgetRetired('backup', new Date('2099-01-01T00:00:00Z'))).toThrow(/is damaged/);
    expect(ring.byId('backup-1')).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Backup retention drops retired keys once nothing it keeps needs them

const SYNC_MS = 100;

interface Instance {
  dir: string;
  backupDir: string;
  target: DirTarget;
  /** shifts the servers' clock (the backup service's `now`) */
  offset: number;
  master: () => Buffer;
}

function instance(): Instance {
  const root = scratch('tessera-keyprune-');
  const dir = path.join(root, 'server');
  fs.mkdirSync(dir);
  const backupDir = path.join(root, 'backups');
  const inst: Instance = {
    dir,
    backupDir,
    target: new DirTarget(backupDir),
    offset: 0,
    master: () => Buffer.from(fs.readFileSync(path.join(dir, 'master.key'), 'utf8').trim(), 'hex'),
  };
  return inst;
}

async function startRun(inst: Instance): Promise<TestServer> {
  const s = await startTestServer({ backupDir: inst.backupDir, backupSyncIntervalMs: SYNC_MS }, { dir: inst.dir, now: () => Date.now() + inst.offset });
  servers.push(s);
  return s;
}

async function stopRun(s: TestServer): Promise<void> {
  await s.close();
  servers.splice(servers.indexOf(s), 1);
}

/** Every target has every change written so far (times are on the servers' clock). */
async function shipped(inst: Instance, s: TestServer): Promise<void> {
  const before = Date.now() + inst.offset;
  await waitFor('backup to catch up', () => {
    const st = s.backup?.status();
    return caughtUp(st) && st?.lastCycleAt !== undefined && Date.parse(st.lastCycleAt) > before;
  });
}

async function rotate(inst: Instance, what: 'rotate-backup' | 'rotate-db'): Promise<void> {
  const r = await runCli(['keys', what, '--data-dir', path.join(inst.dir, 'data'), '--master-key-file', path.join(inst.dir, 'master.key')]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

function writeRows(s: TestServer, prefix: string, n = 20): string[] {
  createProbeTable(s.ctx.db);
  const labels = Array.from({ length: n }, (_v, i) => `${prefix}-${i}`);
  s.ctx.db.transaction(() => {
    for (const l of labels) insertProbe(s.ctx.db, l, 200);
  })();
  return labels;
}

const prunedRows = (s: TestServer) =>
  (s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'keys.pruned' ORDER BY seq`).all() as { details: string }[]).map((r) => JSON.parse(r.details) as { purpose: string; removed: string[]; olderThan: string });

function restoredLabels(dir: string, key: Buffer): string[] {
  const db = openDatabase(path.join(dir, 'tessera.db'), { key });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return probeLabels(db);
  } finally {
    db.close();
  }
}

describe('backup retention drops retired backup and db keys', () => {
  it('keeps them while a kept object was made under them; drops them (audited) once retention deleted the last one; restores still work', async () => {
    const inst = instance();
    const ringFile = path.join(inst.dir, 'data', 'keyring.json');

    // Run 1 under backup-1 / db-1.
    let s = await startRun(inst);
    const before = writeRows(s, 'before');
    await shipped(inst, s);
    const betweenRuns = new Date(Date.now() + inst.offset);
    await stopRun(s);

    // Rotations, with the server stopped, as an operator runs them.
    await rotate(inst, 'rotate-backup');
    await rotate(inst, 'rotate-db');
    expect(ids(ringFile)).toEqual(['audit-1', 'backup-1', 'backup-2', 'db-1', 'db-2', 'token-1']);

    // Run 2 under backup-2 / db-2: generation 1 is still inside the window, so its keys stay.
    s = await startRun(inst);
    const after = writeRows(s, 'after');
    await shipped(inst, s);
    const res = await s.backup?.runRetention();
    expect(res).toEqual([{ target: inst.target.label, deleted: 0 }]);
    expect(ids(ringFile)).toContain('backup-1');
    expect(ids(ringFile)).toContain('db-1');
    expect(s.ctx.keyring.byId('backup-1')).toBeDefined();
    expect(prunedRows(s)).toEqual([]);
    // The old point restores with the old keys (and is rekeyed to the current db key).
    const old = await restoreBackup({ source: inst.target, keyring: s.ctx.keyring, keyringFile: ringFile, to: path.join(inst.dir, 'restored-old'), at: betweenRuns });
    expect(old.sourceDbKeyId).toBe('db-1');
    expect(old.rekeyed).toBe(true);
    expect(restoredLabels(old.dir, s.ctx.keyring.active('db').key)).toEqual(before);
    const gens = (await readCatalog(inst.target)).generations;
    expect(gens).toHaveLength(2);
    const endOfRun2 = new Date(Date.now() + inst.offset);
    await stopRun(s);

    // 31 days later (the window is 30): generation 1 expires, generation 2 (an earlier run) is the base.
    inst.offset = 31 * DAY;
    s = await startRun(inst);
    const later = writeRows(s, 'later');
    await shipped(inst, s);
    // A pass over one target (as after every shipped snapshot) deletes generation 1 but drops no key.
    await waitFor('generation 1 to expire', async () => {
      await s.backup?.runRetention(inst.target);
      return !(await readCatalog(inst.target)).generations.some((g) => g.id === gens[0]?.id);
    });
    expect(ids(ringFile)).toContain('backup-1');
    // A full pass that overlaps the automatic one-target pass skips the key step: repeat until one ran.
    await waitFor('a full retention pass to drop the retired keys', async () => {
      await s.backup?.runRetention();
      return !ids(ringFile).includes('backup-1');
    });
    const cat = await readCatalog(inst.target);
    expect(cat.generations.map((g) => g.id)).not.toContain(gens[0]?.id);
    expect(cat.generations.map((g) => g.id)).toContain(gens[1]?.id);

    expect(ids(ringFile)).toEqual(['audit-1', 'backup-2', 'db-2', 'token-1']);
    expect(s.ctx.keyring.byId('backup-1')).toBeUndefined();
    expect(s.ctx.keyring.byId('db-1')).toBeUndefined();
    const oldestKept = Math.min(...cat.generations.flatMap((g) => [...g.snapshots, ...g.segments]).map((o) => o.time));
    expect(prunedRows(s)).toEqual([
      { purpose: 'backup', removed: ['backup-1'], olderThan: new Date(oldestKept).toISOString() },
      { purpose: 'db', removed: ['db-1'], olderThan: new Date(oldestKept).toISOString() },
    ]);
    expect(s.ctx.audit.verify()).toMatchObject({ ok: true });
    // The keyring still opens with the master key, with exactly the remaining keys.
    expect(Keyring.load(ringFile, inst.master()).list()).toEqual(s.ctx.keyring.list());

    // A fresh copy of the pruned keyring goes beside the backups.
    const pruned = fs.readFileSync(ringFile);
    await waitFor('the pruned keyring copy on the target', () =>
      listFiles(inst.backupDir)
        .filter((f) => parseKey(f)?.kind === 'keyring')
        .some((f) => fs.readFileSync(path.join(inst.backupDir, f)).equals(pruned)),
    );

    // Server lost: the master key and the target alone restore the newest state and a kept older point.
    const resolved = await resolveKeyring({ master: inst.master(), source: inst.target, workDir: path.join(inst.dir, 'ring-work') });
    expect(resolved.keyring.byId('backup-1')).toBeUndefined();
    const latest = await restoreBackup({ source: inst.target, keyring: resolved.keyring, keyringFile: resolved.file, to: path.join(inst.dir, 'restored-latest') });
    expect(restoredLabels(latest.dir, resolved.keyring.active('db').key)).toEqual([...before, ...after, ...later]);
    const run2 = await restoreBackup({ source: inst.target, keyring: resolved.keyring, keyringFile: resolved.file, to: path.join(inst.dir, 'restored-run2'), at: endOfRun2 });
    expect(run2.sourceDbKeyId).toBe('db-2');
    expect(restoredLabels(run2.dir, resolved.keyring.active('db').key)).toEqual([...before, ...after]);
  }, 60_000);

  it('keeps a retired key that a kept object names in its header, even when the clock says it is too old to matter', async () => {
    const inst = instance();
    const ringFile = path.join(inst.dir, 'data', 'keyring.json');
    // The servers' clock runs two days ahead; the rotation below uses the true time, so the
    // objects of run 1 carry capture times after backup-1 was retired.
    inst.offset = 2 * DAY;
    let s = await startRun(inst);
    const before = writeRows(s, 'before');
    await shipped(inst, s);
    await stopRun(s);
    await rotate(inst, 'rotate-backup');

    s = await startRun(inst);
    writeRows(s, 'after');
    await shipped(inst, s);
    const gens = (await readCatalog(inst.target)).generations;
    expect(gens).toHaveLength(2);
    const retiredAt = Date.parse(s.ctx.keyring.list().find((k) => k.id === 'backup-1')?.retired ?? '');
    expect(Math.min(...gens.flatMap((g) => g.snapshots.map((x) => x.time)))).toBeGreaterThan(retiredAt);

    expect(await s.backup?.runRetention()).toEqual([{ target: inst.target.label, deleted: 0 }]);
    expect(ids(ringFile)).toContain('backup-1');
    expect(prunedRows(s)).toEqual([]);
    // Kept because generation 1's header names it (the time rule alone would have dropped it).
    const warned = fs
      .readFileSync(s.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('clock went back'))
      .map((l) => (JSON.parse(l) as { keys: string[] }).keys);
    expect(warned).toEqual([['backup-1']]);
    const r = await restoreBackup({ source: inst.target, keyring: s.ctx.keyring, keyringFile: ringFile, to: path.join(inst.dir, 'restored-gen1'), generation: gens[0]?.id });
    expect(restoredLabels(r.dir, s.ctx.keyring.active('db').key)).toEqual(before);
  }, 60_000);
});
