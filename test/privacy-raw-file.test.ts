import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../src/audit/service.ts';
import { Faults } from '../src/db/faults.ts';
import { migrate } from '../src/db/migrate.ts';
import { type DB, connectionPragmas } from '../src/db/open.ts';
import { Writer } from '../src/db/writer.ts';
import { Keyring } from '../src/keys/keyring.ts';
import { createLogger } from '../src/log.ts';
import { ErasureService } from '../src/privacy/erasure.ts';
import { LedgerCrypto, ledgerFilePath } from '../src/privacy/ledger.ts';
import { LedgerStore } from '../src/privacy/ledger-store.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { bytesContain } from './support/privacy.ts';
import { tempDir } from './support/temp.ts';

/**
 * The encrypted file hides everything from a raw read, so this runs the same erasure on a
 * database opened without encryption, with the connection settings Tessera uses, and reads the
 * bytes of the file and its WAL after a checkpoint: the erased values must be nowhere.
 */
function instance(opts: { secureDelete: boolean }) {
  const dir = tempDir('tessera-raw-');
  const file = path.join(dir, 'plain.db');
  const db: DB = new Database(file);
  db.pragma('journal_mode = WAL');
  connectionPragmas(db);
  if (!opts.secureDelete) db.pragma('secure_delete = OFF');
  migrate(db);
  const keyring = Keyring.create(path.join(dir, 'keyring.json'), randomBytes(32));
  const audit = new AuditLog(db, keyring);
  const writer = new Writer(db, { faults: new Faults(Date.now), sync: null });
  const crypto = new LedgerCrypto(keyring);
  const log = createLogger('silent');
  const ledger = new LedgerStore({ crypto, file: ledgerFilePath(keyring.file), targets: [], log });
  const erasure = new ErasureService({ db, writer, audit, crypto, ledger, log, now: Date.now, backupsExpireBy: () => null });
  return { db, file, erasure };
}

function seed(db: DB, n: number, who: { email: string; name: string; note: string }): { orgId: string; target: string } {
  const now = new Date().toISOString();
  const orgId = randomBytes(8).toString('hex');
  const eventId = randomBytes(8).toString('hex');
  db.prepare(`INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, 'Org', ?)`).run(orgId, `o-${orgId}`, now);
  db.prepare(`INSERT INTO events (id, org_id, slug, title, starts_at, ends_at, timezone, created_at, updated_at) VALUES (?, ?, ?, 'Ev', ?, ?, 'UTC', ?, ?)`).run(eventId, orgId, `e-${eventId}`, now, now, now, now);
  const ins = db.prepare(`INSERT INTO registrations (id, org_id, event_id, email, name, answers, status, attendee_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'confirmed', ?, ?, ?)`);
  let target = '';
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = randomBytes(8).toString('hex');
      const me = i === Math.floor(n / 2);
      if (me) target = id;
      ins.run(id, orgId, eventId, me ? who.email : `other${i}@example.test`, me ? who.name : `Other ${i}`, JSON.stringify({ note: me ? who.note : `note ${i}` }), `C${i}`, now, now);
    }
    db.prepare(`INSERT INTO mail_outbox (id, org_id, template, to_address, params, status, next_attempt_at, created_at) VALUES (?, ?, 'ticket', ?, ?, 'sent', ?, ?)`)
      .run(randomBytes(8).toString('hex'), orgId, who.email, JSON.stringify({ $registration: target }), now, now);
  })();
  return { orgId, target };
}

const raw = (file: string) => Buffer.concat([fs.readFileSync(file), fs.existsSync(`${file}-wal`) ? fs.readFileSync(`${file}-wal`) : Buffer.alloc(0)]);

describe('erased values do not linger in the database file (PRAGMA secure_delete)', () => {
  const who = () => {
    const t = randomBytes(4).toString('hex');
    return { email: testEmail(`raw-${t}`), name: `Raw ${PERSON_SURNAME} ${t}`, note: `SECRET-NOTE-${t}` };
  };

  it('after erasure and a checkpoint, neither the file nor the WAL holds the email, name or answers', () => {
    const p = who();
    const { db, file, erasure } = instance({ secureDelete: true });
    const { orgId } = seed(db, 300, p);
    db.pragma('wal_checkpoint(TRUNCATE)');
    // The scan can see the person before: the check below is not vacuous.
    for (const n of [p.email, p.name, p.note]) expect(bytesContain(raw(file), n)).toBe(true);

    expect(erasure.erasePerson({ orgId, email: p.email, reason: 'organizer-request', actor: { userId: null, ip: null } }).erasedRegistrations).toBe(1);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = raw(file);
    for (const n of [p.email, p.name, p.note]) expect(bytesContain(bytes, n), n).toBe(false);
    // Everyone else is still there.
    expect(bytesContain(bytes, 'other7@example.test')).toBe(true);
    db.close();
  });

  it('without secure_delete the same erasure leaves the old values in free space (why the pragma is set)', () => {
    const p = who();
    const { db, file, erasure } = instance({ secureDelete: false });
    const { orgId } = seed(db, 300, p);
    erasure.erasePerson({ orgId, email: p.email, reason: 'organizer-request', actor: { userId: null, ip: null } });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = raw(file);
    expect([p.email, p.name, p.note].some((n) => bytesContain(bytes, n))).toBe(true);
    db.close();
  });
});
