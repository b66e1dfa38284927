import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { readNewGenerationMarker } from '../src/keys/rotation.ts';
import { caughtUp, createProbeTable, insertProbe, listFiles, probeLabels, waitFor } from './support/backup.ts';
import { runCli } from './support/cli.ts';
import { type LocalS3, startS3 } from './support/s3rver.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';

let root: string;
let s3: LocalS3;
let dataDir: string;
let keyFile: string;
let master: Buffer;
let backupDir: string;
let s3Env: Record<string, string>;

const oneLine = (s: string) => s.trim().split('\n').length === 1;

function restoredLabels(dir: string, key: Buffer): string[] {
  const ring = Keyring.load(keyringPath(dir), key);
  const db = openDatabase(path.join(dir, 'tessera.db'), { key: ring.active('db').key });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    return probeLabels(db);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  root = tempDir('tessera-backup-cli-');
  s3 = await startS3(path.join(root, 's3'), ['tessera']);
  backupDir = path.join(root, 'backups');
  s3Env = {
    TESSERA_BACKUP_S3_ENDPOINT: s3.endpoint,
    TESSERA_BACKUP_S3_ACCESS_KEY_ID: 'S3RVER',
    TESSERA_BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER',
    TESSERA_BACKUP_S3_PATH_STYLE: 'true',
  };
  // A server that backs up to both, writes, and shuts down (shipping everything on the way out).
  fs.mkdirSync(path.join(root, 'server'));
  const server: TestServer = await startTestServer(
    { backupDir, backupS3Url: 's3://tessera/site', backupS3Endpoint: s3.endpoint, backupS3AccessKeyId: 'S3RVER', backupS3SecretAccessKey: 'S3RVER', backupS3PathStyle: 'true', backupSyncIntervalMs: 100 },
    { dir: path.join(root, 'server') },
  );
  createProbeTable(server.ctx.db);
  for (let i = 0; i < 20; i++) insertProbe(server.ctx.db, `cli-${i}`);
  await waitFor('first snapshot', () => caughtUp(server.backup?.status()));
  insertProbe(server.ctx.db, 'last-before-shutdown');
  await server.close();
  dataDir = server.dataDir;
  keyFile = server.keyFile;
  master = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('tessera restore and tessera backup', () => {
  it('backup list and status describe what is stored', async () => {
    const list = await runCli(['backup', 'list', '--from', backupDir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^dir:${backupDir}: 1 generation\\(s\\), 1 keyring copy\\n  \\d{8}T\\d{9}Z-[0-9a-f]{8}  snapshots   1  segments +\\d+ `));
    const status = await runCli(['backup', 'status', '--data-dir', dataDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^replication: not running \(last status from /);
    expect(status.stdout).toMatch(/target dir:.*: ok; lag 0\.0 s, 0 segment\(s\)/);
    // What a lost server would have lost, per target, as measured when segments were stored.
    expect(status.stdout).toMatch(/target dir:.*; RPO \d+\.\d\d s \(worst last minute \d+\.\d\d s\)/);
    expect(status.stdout).toMatch(/target s3:\/\/tessera\/site: ok; lag 0\.0 s/);
  });

  it('disaster recovery: only the master key and the bucket; restore, then the data directory opens', async () => {
    const to = path.join(root, 'dr', 'data');
    const r = await runCli(['restore', '--from', 's3://tessera/site', '--to', to, '--data-dir', to, '--master-key-file', keyFile], { env: s3Env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restored generations\/\S+\.snap and \d+ segment\(s\) from s3:\/\/tessera\/site /);
    expect(r.stdout).toContain('integrity_check: ok');
    expect(r.stdout).toMatch(/keyring: s3:\/\/tessera\/site\/keyrings\/\S+\.json/);
    // Not a terminal: plain progress lines on stderr.
    expect(r.stderr).toMatch(/^restore: .* in \d+ objects\n/);
    expect(r.stderr).toMatch(/restore: .* objects, done\n$/);
    expect(restoredLabels(to, master)).toContain('last-before-shutdown');
    const doctor = await runCli(['doctor', '--data-dir', to, '--master-key-file', keyFile]);
    expect(doctor.stdout).toContain('OK   integrity_check: ok');
    // The restore is in the restored database's audit trail.
    const verify = await runCli(['audit', 'verify', '--data-dir', to, '--master-key-file', keyFile]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it('one-line errors: non-empty target, bad --at, wrong master key, missing bucket, unreachable endpoint', async () => {
    const busy = path.join(root, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'x'), '');
    const notEmpty = await runCli(['restore', '--from', backupDir, '--to', busy, '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(notEmpty.code).toBe(1);
    expect(notEmpty.stderr).toBe(`tessera: ${busy} is not empty: use --force to replace its database and keyring\n`);

    const badAt = await runCli(['restore', '--from', backupDir, '--to', path.join(root, 'x1'), '--at', 'yesterday', '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(badAt.code).toBe(2);
    expect(badAt.stderr).toMatch(/^tessera: invalid value for --at: /);

    const otherDir = path.join(root, 'otherkey');
    fs.mkdirSync(otherDir);
    const other = writeKeyFile(otherDir);
    const wrong = await runCli(['restore', '--from', backupDir, '--to', path.join(root, 'x2'), '--data-dir', path.join(root, 'nowhere'), '--master-key-file', other.file]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`tessera: none of the 1 keyrings in dir:${backupDir} opens with this master key (wrong master key?)\n`);

    const noBucket = await runCli(['restore', '--from', 's3://missing-bucket/x', '--to', path.join(root, 'x3'), '--data-dir', dataDir, '--master-key-file', keyFile], { env: s3Env });
    expect(noBucket.code).toBe(1);
    expect(noBucket.stderr).toMatch(/^tessera: bucket "missing-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+\n$/);

    const down = await runCli(['restore', '--from', 's3://tessera/site', '--to', path.join(root, 'x4'), '--data-dir', dataDir, '--master-key-file', keyFile], { env: { ...s3Env, TESSERA_BACKUP_S3_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(down.code).toBe(1);
    expect(oneLine(down.stderr)).toBe(true);
    expect(down.stderr).toMatch(/^tessera: s3:\/\/tessera\/site: cannot reach http:\/\/127\.0\.0\.1:9 /);

    const noKeys = await runCli(['restore', '--from', 's3://tessera/site', '--to', path.join(root, 'x5'), '--data-dir', dataDir, '--master-key-file', keyFile], { env: { TESSERA_BACKUP_S3_ENDPOINT: s3.endpoint } });
    expect(noKeys.code).toBe(2);
    expect(noKeys.stderr).toBe('tessera: invalid value for --backup-s3-url: also set --backup-s3-access-key-id (TESSERA_BACKUP_S3_ACCESS_KEY_ID), --backup-s3-secret-access-key (TESSERA_BACKUP_S3_SECRET_ACCESS_KEY)\n');
  });

  it('backup verify passes, then names a tampered object (exit 3) and restore names it too', async () => {
    const ok = await runCli(['backup', 'verify', '--from', backupDir, '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/objects in 1 generation\(s\) authenticated, .* no gap/);

    const copy = path.join(root, 'tampered');
    fs.cpSync(backupDir, copy, { recursive: true });
    const snap = listFiles(copy).find((f) => f.endsWith('.snap')) as string;
    const file = path.join(copy, snap);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    const bad = await runCli(['backup', 'verify', '--from', copy, '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`backup object ${snap} is damaged or was altered`);
    const restore = await runCli(['restore', '--from', copy, '--to', path.join(root, 'x6'), '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(restore.code).toBe(1);
    // After the plain progress line, exactly one error line naming the object.
    expect(restore.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^tessera: backup object ${snap.replace(/\./g, '\\.')} is damaged or was altered: `));
  });

  it('backup now with the server stopped starts a new generation with a snapshot', async () => {
    const r = await runCli(['backup', 'now', '--data-dir', dataDir, '--master-key-file', keyFile, '--backup-dir', backupDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^snapshot generations\/\S+\.snap is stored on dir:/);
    const list = await runCli(['backup', 'list', '--from', backupDir]);
    expect(list.stdout).toMatch(/2 generation\(s\)/);
  });

  it('backup now through a running server', async () => {
    const dir = tempDir('tessera-now-');
    const target = path.join(dir, 'bk');
    const server = await startTestServer({ backupDir: target, backupSyncIntervalMs: 100 }, { dir });
    try {
      await waitFor('first snapshot', () => caughtUp(server.backup?.status()));
      const r = await runCli(['backup', 'now', '--data-dir', server.dataDir, '--master-key-file', server.keyFile, '--timeout-seconds', '20']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^asked the running server \(pid \d+\) for a snapshot\nsnapshot generations\/\S+\/snapshots\/00000001-\S+\.snap is stored on every target\n$/);
      const status = await runCli(['backup', 'status', '--data-dir', server.dataDir, '--json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ live: true, running: true });
    } finally {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('after a database key rotation, an older backup restores under the current key', async () => {
    const rot = await runCli(['keys', 'rotate-db', '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(rot.code, rot.stderr + rot.stdout).toBe(0);
    const to = path.join(root, 'after-rotation');
    // The first generation was written under db-1; the data dir's keyring now has db-2 active.
    const gens = fs.readdirSync(path.join(backupDir, 'generations')).sort();
    const r = await runCli(['restore', '--from', backupDir, '--to', to, '--generation', gens[0] as string, '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('rekeyed from db-1 to the current database key');
    const ring = Keyring.load(keyringPath(to), master);
    expect(ring.active('db').id).toBe('db-2');
    expect(restoredLabels(to, master)).toContain('last-before-shutdown');

    // The next server start honours the rotation's marker: a generation under db-2, then the marker goes.
    const server = await startTestServer({ backupDir, backupSyncIntervalMs: 100 }, { dir: path.dirname(dataDir) });
    try {
      expect(readNewGenerationMarker(server.ctx.db)?.dbKeyId).toBe('db-2');
      await waitFor('first snapshot under the new key', () => caughtUp(server.backup?.status()));
      await waitFor('marker cleared', () => readNewGenerationMarker(server.ctx.db) === undefined);
    } finally {
      await server.close();
    }
    const latest = await runCli(['restore', '--from', backupDir, '--to', path.join(root, 'after-rotation-latest'), '--data-dir', dataDir, '--master-key-file', keyFile]);
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout).not.toContain('rekeyed');
  });
});
