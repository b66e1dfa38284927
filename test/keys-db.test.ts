import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openInstance } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import { MigrationError, migrate } from '../src/db/migrate.ts';
import { DatabaseOpenError, openDatabase } from '../src/db/open.ts';
import { Keyring } from '../src/keys/keyring.ts';
import { hashTree, tempDir, writeKeyFile } from './support/temp.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fresh() {
  const dir = tempDir();
  dirs.push(dir);
  const dataDir = path.join(dir, 'data');
  return { dir, dataDir };
}

describe('first start', () => {
  it('generates the master key outside the data dir with private modes', async () => {
    const { dir, dataDir } = fresh();
    const cfg = loadConfig({ dataDir }, {});
    const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
    opened.db.close();
    const keyFile = path.join(dir, 'keys', 'master.key');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(keyFile)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(dataDir, 'tessera.db')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    // Nothing under data/ holds the master key.
    const master = fs.readFileSync(keyFile, 'utf8').trim();
    for (const f of fs.readdirSync(dataDir, { recursive: true }) as string[]) {
      const p = path.join(dataDir, f);
      if (fs.statSync(p).isFile()) expect(fs.readFileSync(p).toString('latin1')).not.toContain(master);
    }
  });

  it('keeps every byte under data/ encrypted: a marker never appears in plaintext, and another key cannot open it', async () => {
    const { dir, dataDir } = fresh();
    const { file } = writeKeyFile(dir);
    const cfg = loadConfig({ dataDir, masterKeyFile: file }, {});
    const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    opened.db.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)').run('marker', JSON.stringify(marker.repeat(50)), 'now');
    const scan = () => {
      const files = (fs.readdirSync(dataDir, { recursive: true }) as string[]).map((f) => path.join(dataDir, f)).filter((p) => fs.statSync(p).isFile());
      expect(files.some((f) => f.endsWith('-wal'))).toBe(true);
      for (const f of files) {
        const bytes = fs.readFileSync(f);
        expect(bytes.includes(Buffer.from(marker)), `${f} holds the marker in plaintext`).toBe(false);
        expect(bytes.includes(Buffer.from('SQLite format 3')), `${f} has a plaintext SQLite header`).toBe(false);
      }
    };
    scan(); // while open: the row sits in the WAL
    const key = opened.keyring.active('db').key;
    opened.db.close();
    expect(fs.statSync(path.join(dataDir, 'tessera.db')).size).toBeGreaterThan(0);
    const reopened = openDatabase(path.join(dataDir, 'tessera.db'), { key });
    expect((reopened.prepare(`SELECT value FROM settings WHERE key = 'marker'`).get() as { value: string }).value).toContain(marker);
    expect(reopened.pragma('cipher', { simple: true })).toBe('sqlcipher');
    reopened.close();
    expect(() => openDatabase(path.join(dataDir, 'tessera.db'), { key: randomBytes(32) })).toThrow(/wrong master key or not a Tessera database/);
  });

  it('records the unwrap of data keys in the audit chain on every open', async () => {
    const { dir, dataDir } = fresh();
    const { file } = writeKeyFile(dir);
    const cfg = loadConfig({ dataDir, masterKeyFile: file }, {});
    (await openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).db.close();
    const again = await openInstance(cfg, { allowCreate: false, migrate: true, env: {} });
    const actions = (again.db.prepare('SELECT action FROM audit_log ORDER BY seq').all() as { action: string }[]).map((r) => r.action);
    expect(actions).toEqual(['instance.created', 'keys.unwrap']);
    expect(again.audit.verify()).toMatchObject({ ok: true, rows: 2 });
    again.db.close();
  });
});

describe('refusals change nothing', () => {
  async function initialised() {
    const { dir, dataDir } = fresh();
    const { file } = writeKeyFile(dir);
    const cfg = loadConfig({ dataDir, masterKeyFile: file }, {});
    (await openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).db.close();
    return { dir, dataDir, file, cfg };
  }

  it('wrong master key', async () => {
    const { dir, dataDir } = await initialised();
    const other = path.join(dir, 'other.key');
    fs.writeFileSync(other, randomBytes(32).toString('hex'), { mode: 0o600 });
    const before = await hashTree(dataDir);
    await expect(openInstance(loadConfig({ dataDir, masterKeyFile: other }, {}), { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/^wrong master key/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('missing master key file', async () => {
    const { dataDir, file } = await initialised();
    fs.rmSync(file);
    const before = await hashTree(dataDir);
    await expect(openInstance(loadConfig({ dataDir, masterKeyFile: file }, {}), { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/master key not found/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('missing default key file is never regenerated for an existing data dir', async () => {
    const { dir, dataDir } = fresh();
    const cfg = loadConfig({ dataDir }, {});
    (await openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).db.close();
    fs.rmSync(path.join(dir, 'keys', 'master.key'));
    const before = await hashTree(dataDir);
    await expect(openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/master key not found/);
    expect(fs.existsSync(path.join(dir, 'keys', 'master.key'))).toBe(false);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('malformed master key', async () => {
    const { dataDir, file } = await initialised();
    fs.writeFileSync(file, 'not-a-key');
    const before = await hashTree(dataDir);
    await expect(openInstance(loadConfig({ dataDir, masterKeyFile: file }, {}), { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/not 64 hexadecimal characters/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('truncated keyring', async () => {
    const { dataDir, cfg } = await initialised();
    const ring = path.join(dataDir, 'keyring.json');
    fs.writeFileSync(ring, fs.readFileSync(ring).subarray(0, 200));
    const before = await hashTree(dataDir);
    await expect(openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/keyring .* is damaged/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('keyring with a flipped ciphertext byte', async () => {
    const { dataDir, cfg } = await initialised();
    const ring = path.join(dataDir, 'keyring.json');
    const json = JSON.parse(fs.readFileSync(ring, 'utf8')) as { keys: { ct: string }[] };
    const ct = Buffer.from(json.keys[0]!.ct, 'base64');
    ct[0] = (ct[0] ?? 0) ^ 1;
    json.keys[0]!.ct = ct.toString('base64');
    fs.writeFileSync(ring, JSON.stringify(json));
    const before = await hashTree(dataDir);
    await expect(openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/fails its integrity check/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('corrupted database file', async () => {
    const { dataDir, cfg } = await initialised();
    const dbFile = path.join(dataDir, 'tessera.db');
    const bytes = fs.readFileSync(dbFile);
    bytes.fill(0x41, 0, 64); // destroy the first page's salt and cipher text
    fs.writeFileSync(dbFile, bytes);
    const before = await hashTree(dataDir);
    await expect(openInstance(cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/wrong master key or not a Tessera database/);
    expect(await hashTree(dataDir)).toEqual(before);
  });

  it('keyring without its database, and database without its keyring', async () => {
    const a = await initialised();
    fs.rmSync(path.join(a.dataDir, 'tessera.db'));
    await expect(openInstance(a.cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/tessera\.db is missing but a keyring exists/);
    expect(fs.existsSync(path.join(a.dataDir, 'tessera.db'))).toBe(false);
    const b = await initialised();
    fs.rmSync(path.join(b.dataDir, 'keyring.json'));
    await expect(openInstance(b.cfg, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/keyring\.json is missing/);
    expect(fs.existsSync(path.join(b.dataDir, 'keyring.json'))).toBe(false);
  });

  it('a failed first start leaves no half-made data dir behind', async () => {
    const { dir, dataDir } = fresh();
    const bad = path.join(dir, 'bad.key');
    fs.writeFileSync(bad, 'zz');
    await expect(openInstance(loadConfig({ dataDir, masterKeyFile: bad }, {}), { allowCreate: true, migrate: true, env: {} })).rejects.toThrow();
    expect(fs.existsSync(path.join(dataDir, 'keyring.json'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'tessera.db'))).toBe(false);
  });
});

describe('master key sources', () => {
  it('reads a systemd credential before the default file', async () => {
    const { dir, dataDir } = fresh();
    const credDir = path.join(dir, 'creds');
    fs.mkdirSync(credDir);
    const key = randomBytes(32);
    fs.writeFileSync(path.join(credDir, 'tessera-master-key'), key.toString('hex'));
    const cfg = loadConfig({ dataDir }, {});
    const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: { CREDENTIALS_DIRECTORY: credDir } });
    opened.db.close();
    expect(opened.master.equals(key)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'keys', 'master.key'))).toBe(false);
  });

  it('runs --master-key-command without a shell', async () => {
    const { dir, dataDir } = fresh();
    const key = randomBytes(32);
    const script = path.join(dir, 'print-key.sh');
    fs.writeFileSync(script, `#!/bin/sh\necho ${key.toString('hex')}\n`, { mode: 0o700 });
    const cfg = loadConfig({ dataDir, masterKeyCommand: script }, {});
    const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
    opened.db.close();
    expect(opened.master.equals(key)).toBe(true);
    const failing = loadConfig({ dataDir, masterKeyCommand: path.join(dir, 'nope') }, {});
    await expect(openInstance(failing, { allowCreate: true, migrate: true, env: {} })).rejects.toThrow(/--master-key-command failed/);
  });

  it('keyring round trip: another master key cannot load it', () => {
    const { dir } = fresh();
    const master = randomBytes(32);
    const file = path.join(dir, 'ring.json');
    const ring = Keyring.create(file, master);
    const loaded = Keyring.load(file, master);
    expect(loaded.active('db').key.equals(ring.active('db').key)).toBe(true);
    expect(loaded.list().map((k) => k.purpose).sort()).toEqual(['audit', 'backup', 'db', 'token']);
    expect(() => Keyring.load(file, randomBytes(32))).toThrow(/wrong master key/);
  });
});

describe('migrations', () => {
  function db() {
    const { dir } = fresh();
    return openDatabase(path.join(dir, 't.db'), { key: randomBytes(32), create: true });
  }

  it('applies in order, once, and records versions', () => {
    const d = db();
    const ms = [
      { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
      { version: 2, name: 'b', sql: 'CREATE TABLE b (y INTEGER);' },
    ];
    expect(migrate(d, ms).applied).toEqual(['1_a', '2_b']);
    expect(migrate(d, ms).applied).toEqual([]);
    d.close();
  });

  it('a failing migration leaves the database at the previous version', () => {
    const d = db();
    migrate(d, [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' }]);
    expect(() =>
      migrate(d, [
        { version: 1, name: 'a', sql: '' },
        { version: 2, name: 'bad', sql: 'CREATE TABLE c (z INTEGER); INSERT INTO nope VALUES (1);' },
      ]),
    ).toThrow(MigrationError);
    expect(d.prepare(`SELECT name FROM sqlite_schema WHERE name = 'c'`).get()).toBeUndefined();
    expect((d.prepare('SELECT max(version) v FROM schema_migrations').get() as { v: number }).v).toBe(1);
    d.close();
  });

  it('refuses a database from a newer Tessera', () => {
    const d = db();
    migrate(d, [
      { version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' },
      { version: 2, name: 'b', sql: 'CREATE TABLE b (y INTEGER);' },
    ]);
    expect(() => migrate(d, [{ version: 1, name: 'a', sql: '' }])).toThrow(/schema version 2 is newer than this Tessera supports \(1\)/);
    d.close();
  });

  it('wrong key on an existing file is a DatabaseOpenError', () => {
    const { dir } = fresh();
    const f = path.join(dir, 'x.db');
    openDatabase(f, { key: randomBytes(32), create: true }).close();
    expect(() => openDatabase(f, { key: randomBytes(32) })).toThrow(DatabaseOpenError);
  });
});
