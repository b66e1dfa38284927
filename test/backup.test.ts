import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { readCatalog } from '../src/backup/catalog.ts';
import { BackupGapError, BackupKeyError, NoSnapshotError, TamperedObjectError, TargetError } from '../src/backup/errors.ts';
import { diffFingerprints, fingerprint } from '../src/backup/fingerprint.ts';
import { parseKey } from '../src/backup/layout.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { planRetention } from '../src/backup/retention.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { S3Target } from '../src/backup/targets/s3.ts';
import { verifyBackups } from '../src/backup/verify.ts';
import { openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { caughtUp, createProbeTable, insertProbe, listFiles, probeLabels, waitFor } from './support/backup.ts';
import { type LocalS3, startS3 } from './support/s3rver.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

const SYNC_MS = 100;
let root: string;
let s3: LocalS3;
let server: TestServer;
let backupDir: string;
let s3Target: S3Target;
let dirTarget: DirTarget;
let restores = 0;

const status = () => server.backup?.status();
/** Waits for a sync step after the rows just written (a step captures every frame committed before it). */
async function captured(): Promise<void> {
  const before = Date.now();
  await waitFor('a sync step after the last writes', () => {
    const at = status()?.lastCycleAt;
    return at !== undefined && Date.parse(at) > before;
  });
}
/** Waits until every target has everything captured so far, including rows just written. */
async function shipped(): Promise<void> {
  await captured();
  await waitFor('backup to catch up', () => caughtUp(status()));
}
/** Waits until the wall clock has moved past `t`, so that what happens next is strictly later. */
const after = (t: number) => waitFor('the clock to move on', () => Date.now() > t, undefined, 1);
const restoreTo = () => path.join(root, `restored-${++restores}`);
const restoreFrom = (source: DirTarget | S3Target, extra: { at?: Date; to?: string } = {}) =>
  restoreBackup({ source, keyring: server.ctx.keyring, keyringFile: keyringPath(server.dataDir), to: extra.to ?? restoreTo(), at: extra.at });

function openRestored(dir: string) {
  return openDatabase(path.join(dir, 'tessera.db'), { key: server.ctx.keyring.active('db').key });
}

/** A copy of the directory target to damage without disturbing the other tests. */
function copyOfDirTarget(): DirTarget {
  const dest = path.join(root, `dircopy-${randomBytes(3).toString('hex')}`);
  fs.cpSync(backupDir, dest, { recursive: true });
  return new DirTarget(dest);
}

beforeAll(async () => {
  root = tempDir('tessera-backup-');
  s3 = await startS3(path.join(root, 's3'), ['tessera']);
  backupDir = path.join(root, 'backups');
  fs.mkdirSync(path.join(root, 'server'));
  server = await startTestServer({
    backupDir,
    backupS3Url: 's3://tessera/prod/eu',
    backupS3Endpoint: s3.endpoint,
    backupS3AccessKeyId: 'S3RVER',
    backupS3SecretAccessKey: 'S3RVER',
    backupS3PathStyle: 'true',
    backupSyncIntervalMs: SYNC_MS,
  }, { dir: path.join(root, 'server') });
  s3Target = new S3Target(s3.config('tessera', 'prod/eu'));
  dirTarget = new DirTarget(backupDir);
  createProbeTable(server.ctx.db);
});

afterAll(async () => {
  await server?.close();
  await s3?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('continuous encrypted backup', () => {
  it('ships to a directory and to S3; both restore to exactly the live rows', async () => {
    expect(server.backup).toBeDefined();
    for (let i = 0; i < 5; i++) {
      server.ctx.db.transaction(() => {
        for (let j = 0; j < 40; j++) insertProbe(server.ctx.db, `round-${i}-${j}`, 300);
      })();
      // Each round in a segment of its own.
      await captured();
    }
    await shipped();
    const live = fingerprint(server.ctx.db);
    expect(live.backup_probe?.rows).toBe(200);

    const fromS3 = await restoreFrom(s3Target);
    const fromDir = await restoreFrom(dirTarget);
    for (const r of [fromS3, fromDir]) {
      expect(diffFingerprints(r.fingerprint ?? {}, live)).toEqual([]);
      expect(r.rekeyed).toBe(false);
      const db = openRestored(r.dir);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(diffFingerprints(fingerprint(db), live)).toEqual([]);
      db.close();
      // The keyring beside it opens with the same master key.
      const master = Buffer.from(fs.readFileSync(server.keyFile, 'utf8').trim(), 'hex');
      expect(Keyring.load(keyringPath(r.dir), master).active('db').id).toBe(server.ctx.keyring.active('db').id);
      expect(fs.statSync(keyringPath(r.dir)).mode & 0o777).toBe(0o600);
    }
    // Nothing readable in the objects: no SQLite header, no row label.
    const files = listFiles(backupDir).filter((f) => f.startsWith('generations/'));
    expect(files.some((f) => f.endsWith('.snap'))).toBe(true);
    expect(files.some((f) => f.endsWith('.seg'))).toBe(true);
    for (const f of files) {
      const bytes = fs.readFileSync(path.join(backupDir, f));
      expect(bytes.includes(Buffer.from('round-1-'))).toBe(false);
      expect(bytes.subarray(0, 8).toString('latin1')).toBe('TSBACKUP');
    }
    // The spool is emptied once every target has an object.
    await waitFor('spool to drain', () => listFiles(path.join(server.dataDir, 'backup-spool')).length === 0);
  });

  it('restores to a point in time between two writes: exactly the first', async () => {
    insertProbe(server.ctx.db, 'pit-first');
    await shipped();
    // At or after the capture that holds pit-first (restore takes objects at or before `at`),
    // and strictly before the write of pit-second, so before the capture that holds it.
    const between = new Date();
    await after(between.getTime());
    insertProbe(server.ctx.db, 'pit-second');
    await shipped();

    const at = await restoreFrom(s3Target, { at: between });
    const db = openRestored(at.dir);
    const labels = probeLabels(db);
    db.close();
    expect(labels).toContain('pit-first');
    expect(labels).not.toContain('pit-second');
    expect(at.restoredTo.getTime()).toBeLessThanOrEqual(between.getTime());

    const latest = await restoreFrom(s3Target);
    const db2 = openRestored(latest.dir);
    expect(probeLabels(db2)).toEqual(expect.arrayContaining(['pit-first', 'pit-second']));
    db2.close();

    await expect(restoreFrom(s3Target, { at: new Date('2000-01-01T00:00:00Z') })).rejects.toThrow(NoSnapshotError);
    await expect(restoreFrom(s3Target, { at: new Date('2000-01-01T00:00:00Z') })).rejects.toThrow(/^no snapshot at or before 2000-01-01T00:00:00.000Z in s3:\/\/tessera\/prod\/eu \(the oldest is from /);
  });

  it('names a tampered segment, in restore and in verify', async () => {
    insertProbe(server.ctx.db, 'tamper');
    await shipped();
    const target = copyOfDirTarget();
    const seg = listFiles(target.root).filter((f) => f.endsWith('.seg')).at(-1) as string;
    const file = path.join(target.root, seg);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 0x10;
    fs.writeFileSync(file, bytes);
    const err = await restoreFrom(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TamperedObjectError);
    expect((err as Error).message.startsWith(`backup object ${seg} is damaged or was altered: `)).toBe(true);
    const v = await verifyBackups(target, server.ctx.keyring);
    expect(v.ok).toBe(false);
    expect(v.ok === false && v.object).toBe(seg);
  });

  it('detects an object copied over another one (swap) and names it', async () => {
    const target = copyOfDirTarget();
    const segs = listFiles(target.root).filter((f) => f.endsWith('.seg'));
    const [a, b] = segs.slice(-2) as [string, string];
    fs.copyFileSync(path.join(target.root, a), path.join(target.root, b));
    await expect(restoreFrom(target)).rejects.toThrow(new RegExp(`backup object ${b.replace(/[.]/g, '\\.')} .*renamed or swapped`));
  });

  it('refuses a restore across a missing segment (gap) and says which one', async () => {
    const target = copyOfDirTarget();
    const segs = listFiles(target.root).filter((f) => f.endsWith('.seg'));
    const gone = segs[segs.length - 3] as string;
    fs.rmSync(path.join(target.root, gone));
    const err = await restoreFrom(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupGapError);
    const p = parseKey(gone);
    expect((err as Error).message).toMatch(new RegExp(`^segment ${p?.kind === 'segment' ? p.index : -1} of generation \\S+ is missing from dir:`));
    const v = await verifyBackups(target, server.ctx.keyring);
    expect(v.ok).toBe(false);
  });

  it('refuses with a wrong backup key (another instance\'s keyring)', async () => {
    const dir = path.join(root, 'otherring');
    fs.mkdirSync(dir);
    const other = Keyring.create(path.join(dir, 'keyring.json'), randomBytes(32));
    const err = await restoreBackup({ source: s3Target, keyring: other, keyringFile: path.join(dir, 'keyring.json'), to: restoreTo() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupKeyError);
    expect((err as Error).message).toMatch(/^wrong backup key: generations\/\S+\.snap was written with a different backup-1 than the one in this keyring$/);
  });

  it('keeps serving and loses nothing while S3 is down; the lag shows and catches up', async () => {
    await s3.stop();
    let restarted = false;
    // A failure below must not leave S3 down for the tests after this one.
    onTestFinished(async () => {
      if (!restarted) await s3.restart();
    });
    const writeMs: number[] = [];
    for (let i = 0; i < 15; i++) {
      const w = performance.now();
      insertProbe(server.ctx.db, `outage-${i}`);
      writeMs.push(performance.now() - w);
      await captured();
    }
    // The directory keeps up meanwhile: at some moment of the outage it has everything while S3
    // is behind. (Read as one moment, not right after S3 falls behind: on a loaded machine a
    // directory upload with its fsyncs may itself take longer than the sync interval.)
    const during = await waitFor('S3 lag to grow while the directory keeps up', () => {
      const s = status();
      const t = s?.targets.find((x) => x.target.startsWith('s3://'));
      const d = s?.targets.find((x) => x.target.startsWith('dir:'));
      return t && t.pendingSegments >= 3 && t.lagSeconds > 0.3 && t.failures > 0 && d?.pendingSegments === 0 ? s : undefined;
    });
    const s3Status = during.targets.find((x) => x.target.startsWith('s3://'));
    const dirStatus = during.targets.find((x) => x.target.startsWith('dir:'));
    // ECONNREFUSED, or a reset for the upload that was in flight when it went down.
    expect(s3Status?.lastError).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(/);
    expect(dirStatus?.pendingSegments).toBe(0);
    expect(during.lagSeconds).toBeGreaterThan(0.3);
    // A target that is down does not hold up writes (an upload timeout would be seconds). The
    // median, not the slowest: one fsync on a loaded machine may take that long by itself.
    expect(writeMs.sort((a, b) => a - b)[7]).toBeLessThan(500);
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBeLessThan(500);

    await s3.restart();
    restarted = true;
    await waitFor('S3 to catch up', () => caughtUp(status()));
    const r = await restoreFrom(s3Target);
    const db = openRestored(r.dir);
    const labels = probeLabels(db);
    db.close();
    for (let i = 0; i < 15; i++) expect(labels).toContain(`outage-${i}`);
    expect(diffFingerprints(r.fingerprint ?? {}, fingerprint(server.ctx.db))).toEqual([]);
  });

  it('reports an unreachable target and a missing bucket as one line', async () => {
    const gone = new S3Target({ ...s3.config('tessera'), endpoint: 'http://127.0.0.1:1' });
    await expect(restoreBackup({ source: gone, keyring: server.ctx.keyring, keyringFile: keyringPath(server.dataDir), to: restoreTo() })).rejects.toThrow(TargetError);
    const noBucket = new S3Target(s3.config('no-such-bucket'));
    await expect(restoreBackup({ source: noBucket, keyring: server.ctx.keyring, keyringFile: keyringPath(server.dataDir), to: restoreTo() })).rejects.toThrow(
      /^bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+$/,
    );
  });

  it('refuses a non-empty destination unless forced', async () => {
    const to = restoreTo();
    fs.mkdirSync(to);
    fs.writeFileSync(path.join(to, 'something'), 'x');
    await expect(restoreFrom(dirTarget, { to })).rejects.toThrow(/is not empty: use --force/);
    const r = await restoreBackup({ source: dirTarget, keyring: server.ctx.keyring, keyringFile: keyringPath(server.dataDir), to, force: true });
    expect(fs.existsSync(r.dbFile)).toBe(true);
    expect(fs.readdirSync(to).sort()).toEqual(['keyring.json', 'something', 'tessera.db']);
  });

  it('retention deletes only what no restore inside the window needs', async () => {
    // A second snapshot in the same generation, so there is something older to let go.
    insertProbe(server.ctx.db, 'before-second-snapshot');
    await server.backup?.snapshotNow(10_000);
    insertProbe(server.ctx.db, 'after-second-snapshot');
    await shipped();
    const target = copyOfDirTarget();
    const cat = await readCatalog(target);
    const gen = cat.generations.at(-1);
    const [first, second] = gen?.snapshots ?? [];
    expect(first && second).toBeTruthy();
    if (!first || !second) return;

    // Window starts just after the second snapshot: it is the base; older objects may go.
    const now = second.time + 1 + 30 * 86_400_000;
    const plan = planRetention(cat, now, 30);
    expect(plan.base?.key).toBe(second.key);
    const expected = [first.key, ...(gen?.segments ?? []).filter((s) => s.index < second.nextSegment).map((s) => s.key)].sort();
    expect([...plan.delete].filter((k) => k.startsWith('generations/')).sort()).toEqual(expected);
    await target.delete(plan.delete);
    const left = await readCatalog(target);
    expect(left.generations.at(-1)?.snapshots.map((s) => s.key)).toEqual([second.key]);
    expect(left.keyrings.length).toBeGreaterThanOrEqual(1);
    // What is left still restores to the latest state, and verifies.
    const r = await restoreFrom(target);
    const db = openRestored(r.dir);
    expect(probeLabels(db)).toContain('after-second-snapshot');
    db.close();
    expect((await verifyBackups(target, server.ctx.keyring)).ok).toBe(true);

    // A window that reaches back before every snapshot deletes nothing restorable.
    expect(planRetention(left, second.time - 1 + 30 * 86_400_000, 30).delete.filter((k) => k.startsWith('generations/'))).toEqual([]);
  });
});
