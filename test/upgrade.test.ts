import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/backup/restore.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { type Migration, MigrationError, currentVersion, latestVersion, migrate } from '../src/db/migrate.ts';
import { databasePath, openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { startTestServer } from './support/server.ts';
import { hashTree, tempDir } from './support/temp.ts';

const schemaOf = (db: ReturnType<typeof openDatabase>) => db.prepare(`SELECT type, name, sql FROM sqlite_schema ORDER BY name`).all();

describe('migrate()', () => {
  const m = (version: number, name: string, sql: string): Migration => ({ version, name, sql });
  const base = [m(1, 'one', 'CREATE TABLE a (x INTEGER);')];

  it('a failing migration rolls back every migration of the run: the database is exactly as it was', () => {
    const dir = tempDir();
    const db = openDatabase(path.join(dir, 't.db'), { key: Buffer.alloc(32, 3), create: true });
    try {
      expect(migrate(db, base).applied).toEqual(['1_one']);
      db.prepare('INSERT INTO a VALUES (1)').run();
      const before = schemaOf(db);
      const upgrade = [...base, m(2, 'two', 'CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (2);'), m(3, 'three', 'ALTER TABLE a ADD COLUMN z TEXT;'), m(4, 'broken', 'INSERT INTO no_such_table VALUES (1);')];
      expect(() => migrate(db, upgrade)).toThrow(MigrationError);
      expect(() => migrate(db, upgrade)).toThrow(/^migration 4_broken failed: no such table: no_such_table; nothing was changed, the database is still at version 1$/);
      expect(currentVersion(db)).toBe(1);
      expect(schemaOf(db)).toEqual(before);
      expect(db.prepare('SELECT x FROM a').pluck().all()).toEqual([1]);
      // Fixed, the same upgrade goes through whole.
      expect(migrate(db, [...upgrade.slice(0, 3), m(4, 'fixed', 'CREATE TABLE d (w INTEGER);')]).applied).toEqual(['2_two', '3_three', '4_fixed']);
      expect(currentVersion(db)).toBe(4);
      expect(db.prepare('SELECT x FROM a ORDER BY x').pluck().all()).toEqual([1, 2]);
    } finally {
      db.close();
    }
  });

  it('refuses a database newer than the migrations it knows', () => {
    const dir = tempDir();
    const db = openDatabase(path.join(dir, 't.db'), { key: Buffer.alloc(32, 4), create: true });
    try {
      migrate(db, [...base, m(2, 'two', 'CREATE TABLE b (y INTEGER);')]);
      expect(() => migrate(db, base)).toThrow(/schema version 2 is newer than this Tessera supports \(1\)/);
    } finally {
      db.close();
    }
  });
});

/**
 * An instance one migration behind: the last bundled migration (0092, which creates
 * the org_branding table) is taken back out of a fresh database, as if it had been made by the
 * release before it. When a later migration is added, move this to it (the test checks it is the last).
 */
const LAST = { version: 92, name: '92_org_branding' };
function rollBackLastMigration(dataDir: string, master: Buffer, opts: { keepColumns?: boolean } = {}): void {
  const ring = Keyring.load(keyringPath(dataDir), master);
  const db = openDatabase(databasePath(dataDir), { key: ring.active('db').key });
  try {
    expect(latestVersion()).toBe(LAST.version);
    // With the table left in place, applying 0092 again fails (it already exists).
    if (!opts.keepColumns) db.exec('DROP TABLE org_branding;');
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(LAST.version);
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

describe('upgrading an existing instance at start', () => {
  it('takes a snapshot to the backup target before the migrations, says so, and the snapshot restores the old version', async () => {
    const dir = tempDir('tessera-upgrade-');
    const backupDir = path.join(dir, 'backups');
    fs.mkdirSync(path.join(dir, 'server'));
    const first = await startTestServer({ backupDir }, { dir: path.join(dir, 'server') });
    const master = Buffer.from(fs.readFileSync(first.keyFile, 'utf8').trim(), 'hex');
    await first.close();
    rollBackLastMigration(first.dataDir, master);

    const s = await startTestServer({ backupDir }, { dir: path.join(dir, 'server') });
    let generation: string;
    try {
      const log = fs.readFileSync(s.logFile, 'utf8');
      expect(log).toContain('upgrade: taking a snapshot to the backup targets before applying migrations');
      expect(log).toMatch(/upgrade: snapshot stored; to go back, restore it with `tessera restore --generation \S+`/);
      expect(log.indexOf('upgrade: snapshot stored')).toBeLessThan(log.indexOf('applied migrations'));
      const row = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'instance.upgraded'`).get() as { details: string };
      const details = JSON.parse(row.details) as { from: number; to: number; applied: string[]; snapshot: string };
      expect(details).toMatchObject({ from: LAST.version - 1, applied: [LAST.name] });
      generation = details.snapshot.split('/')[1]!;
      expect(currentVersion(s.ctx.db)).toBe(LAST.version);
    } finally {
      await s.close();
    }
    // That generation is the database as it was before the upgrade: one version back.
    const ring = Keyring.load(keyringPath(s.dataDir), master);
    const r = await restoreBackup({ source: new DirTarget(backupDir), keyring: ring, keyringFile: keyringPath(s.dataDir), to: path.join(dir, 'restored'), generation });
    const db = openDatabase(path.join(r.dir, 'tessera.db'), { key: ring.active('db').key });
    try {
      expect(currentVersion(db)).toBe(LAST.version - 1);
      expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'org_branding'`).pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('a migration that fails at start stops it with one line and leaves the database file as it was', async () => {
    const dir = tempDir('tessera-upgrade-fail-');
    fs.mkdirSync(path.join(dir, 'server'));
    const first = await startTestServer({}, { dir: path.join(dir, 'server') });
    const master = Buffer.from(fs.readFileSync(first.keyFile, 'utf8').trim(), 'hex');
    await first.close();
    // The table stays: applying 0092 again fails on it.
    rollBackLastMigration(first.dataDir, master, { keepColumns: true });
    const before = await hashTree(first.dataDir);
    await expect(startTestServer({}, { dir: path.join(dir, 'server') })).rejects.toThrow(/^migration 92_org_branding failed: table org_branding already exists; nothing was changed, the database is still at version 91$/);
    const after = await hashTree(first.dataDir);
    // The database file itself is untouched (its -wal and -shm may be recreated by opening it).
    expect(after['tessera.db']).toBe(before['tessera.db']);
    const ring = Keyring.load(keyringPath(first.dataDir), master);
    const db = openDatabase(databasePath(first.dataDir), { key: ring.active('db').key });
    try {
      expect(currentVersion(db)).toBe(LAST.version - 1);
    } finally {
      db.close();
    }
  });
});
