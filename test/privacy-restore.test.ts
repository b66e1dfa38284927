import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { ledgerFilePath } from '../src/privacy/ledger.ts';
import { caughtUp, listFiles, waitFor } from './support/backup.ts';
import { runCli } from './support/cli.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { findTraces } from './support/privacy.ts';
import { startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

const t = randomBytes(3).toString('hex');
const x = { email: testEmail(`restore-x-${t}`), name: `Xavier ${PERSON_SURNAME} ${t}` };
const y = { email: testEmail(`restore-y-${t}`), name: `Yara ${PERSON_SURNAME} ${t}` };

let root: string;
let backupDir: string;
let dataDir: string;
let keyFile: string;
let master: Buffer;
let before: Date;

function openRestored(dir: string) {
  const ring = Keyring.load(keyringPath(dir), master);
  return openDatabase(path.join(dir, 'tessera.db'), { key: ring.active('db').key });
}

/** A backup directory as it was before any erasure object reached it. */
function copyWithoutLedger(to: string): string {
  fs.cpSync(backupDir, to, { recursive: true, filter: (src) => !src.includes(`${path.sep}erasures`) });
  return to;
}

beforeAll(async () => {
  root = tempDir('tessera-privacy-restore-');
  backupDir = path.join(root, 'backups');
  fs.mkdirSync(path.join(root, 'server'));
  const s = await startTestServer({ backupDir, backupSyncIntervalMs: 100 }, { dir: path.join(root, 'server') });
  const owner = (await createUser(s, { email: testEmail(`restore-owner-${t}`) })).user;
  const org = createOrg(s, owner, uniqueSlug('rs'));
  const ev = createEvent(s, org);
  for (const p of [x, y]) {
    const r = await s.ctx.registrations.register(ev, { email: p.email, name: p.name }, { actor: { type: 'system' } });
    expect(r.ok).toBe(true);
  }
  await s.ctx.writer.settled();
  // The backup position to restore to: both registered, nobody erased yet. One sync step now
  // captures the registrations; then every target must have them.
  s.backup!.tick();
  await waitFor('registrations in the backup', () => caughtUp(s.backup?.status()));
  before = new Date();
  await waitFor('the clock to move past the position', () => Date.now() > before.getTime() + 5);

  const receipt = s.ctx.erasure.erasePerson({ orgId: org.id, email: x.email, reason: 'attendee-request', actor: { userId: null, ip: null } });
  expect(receipt.erasedRegistrations).toBe(1);
  // With a backup target, the receipt says when the last backup holding the data expires: from
  // the backup retention window (default 30 days), two snapshot intervals (default 24 h) and the
  // hourly retention pass.
  expect(receipt.backupsExpireBy).toBe(receipt.at + 30 * 86_400_000 + 2 * 24 * 3_600_000 + 3_600_000);
  await s.ctx.erasure.settled();
  await s.close();
  dataDir = s.dataDir;
  keyFile = s.keyFile;
  master = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'hex');
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('no resurrection after a restore to an earlier point', () => {
  it('the ledger is on the backup target as a sealed object, and in the file beside the keyring', () => {
    const objects = listFiles(backupDir).filter((f) => f.startsWith('erasures/'));
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(/^erasures\/\d{8}T\d{9}Z-[0-9a-f-]{36}\.led$/);
    const sealed = fs.readFileSync(path.join(backupDir, objects[0]!), 'utf8');
    expect(sealed).not.toContain('attendee-request');
    expect(fs.readFileSync(ledgerFilePath(keyringPath(dataDir)), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('tessera restore --at the earlier position (new machine: only the target) erases X again, audited', async () => {
    const to = path.join(root, 'restored-a');
    const r = await runCli(['restore', '--from', backupDir, '--to', to, '--at', before.toISOString(), '--data-dir', path.join(root, 'empty-a'), '--master-key-file', keyFile]);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tessera:'))).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('erasure ledger: 1 registration(s) erased again');
    const db = openRestored(to);
    try {
      expect(findTraces(db, [x.email, x.name])).toEqual([]);
      expect(findTraces(db, [y.email]).length).toBeGreaterThan(0);
      // The erasure itself was after the position: its audit row is not in the restored chain, the replay is.
      const rows = db.prepare(`SELECT action, details FROM audit_log WHERE action IN ('privacy.person_erased', 'privacy.erasures_replayed')`).all() as { action: string; details: string }[];
      expect(rows.map((row) => row.action)).toEqual(['privacy.erasures_replayed']);
      expect(JSON.parse(rows[0]!.details)).toMatchObject({ source: 'restore', registrations: 1, rejected: 0 });
    } finally {
      db.close();
    }
    // The restored directory carries the ledger for its own next start.
    expect(fs.existsSync(ledgerFilePath(keyringPath(to)))).toBe(true);
  });

  it('a database put back without replay is corrected at start, from the file beside the keyring', async () => {
    const dir = path.join(root, 'by-hand');
    const to = path.join(dir, 'data');
    const src = copyWithoutLedger(path.join(root, 'backups-old'));
    const r = await runCli(['restore', '--from', src, '--to', to, '--at', before.toISOString(), '--data-dir', path.join(root, 'empty-b'), '--master-key-file', keyFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('erasure ledger: 0 registration(s)');
    let db = openRestored(to);
    expect(findTraces(db, [x.email]).length).toBeGreaterThan(0); // X is back: the situation start must fix
    db.close();
    fs.copyFileSync(ledgerFilePath(keyringPath(dataDir)), ledgerFilePath(keyringPath(to)));
    fs.copyFileSync(keyFile, path.join(dir, 'master.key'));

    const s = await startTestServer({}, { dir });
    try {
      expect(findTraces(s.ctx.db, [x.email, x.name])).toEqual([]);
      expect(findTraces(s.ctx.db, [y.email]).length).toBeGreaterThan(0);
      const replay = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'privacy.erasures_replayed'`).all() as { details: string }[];
      expect(replay.map((row) => JSON.parse(row.details))).toEqual([expect.objectContaining({ source: 'local', registrations: 1 })]);
    } finally {
      await s.close();
    }
  });

  it('tessera privacy replay-erasures does it by hand; a tampered ledger record is refused (exit 3)', async () => {
    const to = path.join(root, 'by-cli');
    const src = copyWithoutLedger(path.join(root, 'backups-old-2'));
    expect((await runCli(['restore', '--from', src, '--to', to, '--at', before.toISOString(), '--data-dir', path.join(root, 'empty-c'), '--master-key-file', keyFile])).code).toBe(0);
    const ledger = ledgerFilePath(keyringPath(to));
    const line = fs.readFileSync(ledgerFilePath(keyringPath(dataDir)), 'utf8');
    const sealed = JSON.parse(line) as { ct: string };
    const flipped = Buffer.from(sealed.ct, 'base64');
    flipped[5] = (flipped[5] as number) ^ 1;
    fs.writeFileSync(ledger, `${JSON.stringify({ ...sealed, ct: flipped.toString('base64') })}\n`);
    const bad = await runCli(['privacy', 'replay-erasures', '--data-dir', to, '--master-key-file', keyFile]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('1 ledger record(s) could not be read');

    fs.writeFileSync(ledger, line);
    const ok = await runCli(['privacy', 'replay-erasures', '--data-dir', to, '--master-key-file', keyFile]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('erasure ledger: 1 registration(s) erased again');
    const db = openRestored(to);
    try {
      expect(findTraces(db, [x.email, x.name])).toEqual([]);
    } finally {
      db.close();
    }
  });
});
