import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditAnchor, anchorPath } from '../src/audit/anchor.ts';
import { verifyAuditLog } from '../src/audit/verify.ts';
import { type Opened, openInstance } from '../src/bootstrap.ts';
import { type Config, loadConfig } from '../src/config/config.ts';
import { databasePath } from '../src/db/open.ts';
import { createLogger } from '../src/log.ts';
import { runCli } from './support/cli.ts';
import { startTestServer } from './support/server.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';
import { waitFor } from './support/wait.ts';

interface Instance {
  dir: string;
  keyFile: string;
  cfg: Config;
  opened: Opened;
  errors: string[];
  anchor: AuditAnchor;
  clock: { t: number };
}

function attachAnchor(opened: Opened, cfg: Config, errors: string[], clock: { t: number }, intervalMs = 60_000): AuditAnchor {
  const log = createLogger('error', { write: (line: string) => void errors.push(line) });
  return new AuditAnchor({ dataDir: cfg.dataDir, audit: opened.audit, keyring: opened.keyring, now: () => clock.t, log, intervalMs });
}

async function instance(): Promise<Instance> {
  const dir = tempDir();
  const { file } = writeKeyFile(dir);
  const cfg = loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {});
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
  const errors: string[] = [];
  const clock = { t: Date.parse('2031-05-06T07:08:09.000Z') };
  return { dir, keyFile: file, cfg, opened, errors, clock, anchor: attachAnchor(opened, cfg, errors, clock) };
}

async function reopen(i: Instance): Promise<Instance> {
  const opened = await openInstance(i.cfg, { allowCreate: false, migrate: false, env: {} });
  return { ...i, opened, anchor: attachAnchor(opened, i.cfg, i.errors, i.clock) };
}

const record = (i: Instance, n: number) => {
  for (let k = 0; k < n; k++) i.opened.audit.record({ actor: { type: 'user', id: `u${k}` }, orgId: 'org-1' }, 'thing.done', { type: 'thing', id: String(k) });
};
const lastSeq = (i: Instance) => i.opened.audit.head()?.seq ?? 0;
const report = (i: Instance) => verifyAuditLog(i.opened.audit, i.opened.keyring, i.cfg.dataDir);
const readFile = (i: Instance) => JSON.parse(fs.readFileSync(anchorPath(i.cfg.dataDir), 'utf8')) as Record<string, unknown>;
const cliVerify = (i: Instance) => runCli(['audit', 'verify', '--data-dir', i.cfg.dataDir, '--master-key-file', i.keyFile]);

describe('audit head anchor: the record', () => {
  it('is written 0600 beside the keyring, signed, with the injected clock, and an untouched chain passes', async () => {
    const i = await instance();
    record(i, 5);
    const rec = i.anchor.writeNow();
    expect(rec).toMatchObject({ seq: lastSeq(i), at: '2031-05-06T07:08:09.000Z', keyId: 'audit-1' });
    const file = anchorPath(i.cfg.dataDir);
    expect(path.dirname(file)).toBe(path.dirname(path.join(i.cfg.dataDir, 'keyring.json')));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readFile(i)).toEqual(rec);
    expect(fs.readdirSync(i.cfg.dataDir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(report(i)).toMatchObject({ findings: [], warnings: [], exitCode: 0, anchor: { state: 'ok' } });
    // Nothing moved: no rewrite.
    expect(i.anchor.writeNow()).toBeUndefined();
    i.opened.db.close();
  });

  it('rows appended after the anchor was written pass', async () => {
    const i = await instance();
    record(i, 3);
    i.anchor.writeNow();
    record(i, 50);
    expect(report(i)).toMatchObject({ findings: [], exitCode: 0 });
    i.opened.db.close();
  });
});

describe('audit verify against the anchor', () => {
  it('names a truncation of the last row (exit 5), through the real CLI', async () => {
    const i = await instance();
    record(i, 10);
    i.anchor.writeNow();
    const anchored = lastSeq(i);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq = ?').run(anchored);
    // The rows left still form a valid chain: only the anchor can tell.
    expect(i.opened.audit.verify().ok).toBe(true);
    expect(report(i).findings).toEqual([expect.objectContaining({ kind: 'truncation', seq: anchored })]);
    i.opened.db.close();
    const r = await cliVerify(i);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(`truncation: the anchor vouches for row ${anchored} but the anchored chain ends at row ${anchored - 1} (1 newest rows deleted)`);
    // The CLI's own unwrap row lands after the cut; the chain walk names that hole as well.
    expect(r.stderr).toContain(`audit chain broken at row ${anchored}: row ${anchored} is missing`);
    expect(r.stdout).not.toContain('intact');
  });

  it('names a truncation of the last 100 rows', async () => {
    const i = await instance();
    record(i, 150);
    i.anchor.writeNow();
    const anchored = lastSeq(i);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq > ?').run(anchored - 100);
    const r = report(i);
    expect(r.findings).toEqual([expect.objectContaining({ kind: 'truncation', seq: anchored, message: expect.stringContaining('100 newest rows deleted') })]);
    expect(r.exitCode).toBe(5);
    i.opened.db.close();
  });

  it('names a rollback: the database files replaced by an older copy that then kept running (exit 6)', async () => {
    let i = await instance();
    record(i, 10);
    i.opened.db.pragma('wal_checkpoint(TRUNCATE)');
    i.opened.db.close();
    const dbFile = databasePath(i.cfg.dataDir);
    const saved = tempDir();
    for (const f of fs.readdirSync(i.cfg.dataDir).filter((f) => f.startsWith('tessera.db'))) fs.copyFileSync(path.join(i.cfg.dataDir, f), path.join(saved, f));
    i = await reopen(i);
    record(i, 20);
    i.anchor.writeNow();
    const anchored = lastSeq(i);
    i.opened.db.close();
    for (const f of fs.readdirSync(i.cfg.dataDir).filter((f) => f.startsWith('tessera.db'))) fs.rmSync(path.join(i.cfg.dataDir, f));
    for (const f of fs.readdirSync(saved)) fs.copyFileSync(path.join(saved, f), path.join(i.cfg.dataDir, f));
    expect(fs.existsSync(dbFile)).toBe(true);
    i = await reopen(i);
    // The old chain grows past the anchored seq with rows of its own: a valid chain, not ours.
    record(i, 40);
    expect(i.opened.audit.verify().ok).toBe(true);
    const r = report(i);
    expect(r.findings).toEqual([expect.objectContaining({ kind: 'rollback', seq: anchored, message: expect.stringMatching(/^rollback: row \d+ differs/) })]);
    expect(r.exitCode).toBe(6);
    i.opened.db.close();
  });

  it('names a gap inside the anchored chain (exit 4)', async () => {
    const i = await instance();
    record(i, 20);
    i.anchor.writeNow();
    record(i, 5);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq IN (7, 8)').run();
    expect(report(i)).toMatchObject({ exitCode: 4, findings: [{ kind: 'gap', seq: 7, message: expect.stringContaining('rows 7–8 are missing') }] });
    i.opened.db.close();
  });

  it('a tail cut and then written past is still a truncation, not only a gap', async () => {
    const i = await instance();
    record(i, 20);
    i.anchor.writeNow();
    const at = lastSeq(i);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq > ?').run(at - 5);
    record(i, 30);
    expect(report(i)).toMatchObject({
      exitCode: 5,
      findings: [
        { kind: 'truncation', seq: at, message: expect.stringContaining(`ends at row ${at - 5} (5 newest rows deleted); rows up to ${at + 30} were appended`) },
        { kind: 'gap', seq: at - 4 },
      ],
    });
    i.opened.db.close();
  });

  it('refuses a tampered anchor (exit 7): an edited seq, an edited mac, a foreign key, garbage', async () => {
    const i = await instance();
    record(i, 10);
    i.anchor.writeNow();
    const file = anchorPath(i.cfg.dataDir);
    const good = fs.readFileSync(file, 'utf8');
    const rec = JSON.parse(good) as { seq: number; mac: string; keyId: string };
    // The attack it stops: cut the tail, then lower the anchor's seq to match.
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq > ?').run(rec.seq - 3);
    const variants: Record<string, string> = {
      'edited seq': JSON.stringify({ ...rec, seq: rec.seq - 3 }),
      'edited mac': JSON.stringify({ ...rec, mac: Buffer.alloc(32, 1).toString('base64') }),
      'unknown key': JSON.stringify({ ...rec, keyId: 'audit-9' }),
      garbage: '{"format":',
    };
    for (const [name, text] of Object.entries(variants)) {
      fs.writeFileSync(file, text);
      const r = report(i);
      expect(r.exitCode, name).toBe(7);
      expect(r.findings[0], name).toMatchObject({ kind: 'bad-anchor', message: expect.stringMatching(/^bad anchor: /) });
    }
    i.opened.db.close();
    fs.writeFileSync(file, JSON.stringify({ ...rec, seq: rec.seq - 3 }));
    const r = await cliVerify(i);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('bad signature');
  });

  it('an anchor signed by another instance\'s audit key is refused', async () => {
    const a = await instance();
    const b = await instance();
    record(a, 3);
    record(b, 3);
    a.anchor.writeNow();
    fs.copyFileSync(anchorPath(a.cfg.dataDir), anchorPath(b.cfg.dataDir));
    expect(report(b)).toMatchObject({ exitCode: 7, findings: [{ kind: 'bad-anchor' }] });
    a.opened.db.close();
    b.opened.db.close();
  });

  it('a missing anchor is a warning, not a failure, and the chain walk still runs', async () => {
    const i = await instance();
    record(i, 4);
    expect(report(i)).toMatchObject({ exitCode: 0, findings: [], anchor: { state: 'missing' }, warnings: [expect.stringContaining('no audit anchor')] });
    i.opened.db.prepare(`UPDATE audit_log SET action = 'x' WHERE seq = 2`).run();
    expect(report(i)).toMatchObject({ exitCode: 3, findings: [{ kind: 'broken', seq: 2 }] });
    i.opened.db.prepare(`UPDATE audit_log SET action = 'thing.done' WHERE seq = 2`).run();
    i.opened.db.close();
    const r = await cliVerify(i);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('tessera: warning: no audit anchor');
    expect(r.stdout).toMatch(/audit chain intact: \d+ rows verified/);
  });
});

describe('the anchor writer', () => {
  it('writes at start, follows the head on its timer, and writes the final head at stop', async () => {
    const i = await instance();
    const anchor = attachAnchor(i.opened, i.cfg, i.errors, i.clock, 20);
    anchor.start();
    expect(readFile(i).seq).toBe(lastSeq(i));
    record(i, 3);
    i.clock.t += 1000;
    await waitFor(() => readFile(i).seq === lastSeq(i), { what: 'the timer to anchor the new head' });
    expect(readFile(i).at).toBe('2031-05-06T07:08:10.000Z');
    record(i, 1);
    anchor.stop();
    expect(readFile(i).seq).toBe(lastSeq(i));
    expect(i.errors).toEqual([]);
    i.opened.db.close();
  });

  it('never moves the anchor off its chain: rows deleted while running leave the old anchor as evidence', async () => {
    const i = await instance();
    record(i, 10);
    i.anchor.start();
    const anchored = readFile(i);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq > ?').run((anchored.seq as number) - 4);
    record(i, 1);
    expect(i.anchor.writeNow()).toBeUndefined();
    i.anchor.stop();
    expect(readFile(i)).toEqual(anchored);
    expect(i.errors.join('')).toContain('lost rows');
    expect(report(i).findings[0]).toMatchObject({ kind: 'truncation', seq: anchored.seq });
    i.opened.db.close();
  });

  it('refuses at start to overwrite an anchor the database no longer matches', async () => {
    let i = await instance();
    record(i, 10);
    i.anchor.writeNow();
    const anchored = readFile(i);
    i.opened.db.prepare('DELETE FROM audit_log WHERE seq > ?').run((anchored.seq as number) - 2);
    i.opened.db.close();
    i = await reopen(i);
    i.anchor.start();
    i.anchor.stop();
    expect(readFile(i)).toEqual(anchored);
    expect(i.errors.join('')).toContain('no longer contains its anchored head');
    i.opened.db.close();
  });

  it('does not vouch for rows it could not make durable', async () => {
    const i = await instance();
    record(i, 2);
    const log = createLogger('error', { write: (line: string) => void i.errors.push(line) });
    const failing = new AuditAnchor({ dataDir: i.cfg.dataDir, audit: i.opened.audit, keyring: i.opened.keyring, now: () => i.clock.t, log, syncDatabase: () => { throw new Error('EIO'); } });
    expect(failing.writeNow()).toBeUndefined();
    expect(fs.existsSync(anchorPath(i.cfg.dataDir))).toBe(false);
    expect(i.errors.join('')).toContain('could not write the audit anchor');
    i.opened.db.close();
  });

  it('the server anchors its head at start and at shutdown', async () => {
    const s = await startTestServer();
    const file = anchorPath(s.dataDir);
    const atStart = JSON.parse(fs.readFileSync(file, 'utf8')) as { seq: number };
    // Start-up may add rows after the anchor (the setup link); the anchor names a row that is there.
    expect(atStart.seq).toBeGreaterThan(0);
    expect(s.ctx.audit.macAt(atStart.seq)?.toString('base64')).toBe((JSON.parse(fs.readFileSync(file, 'utf8')) as { mac: string }).mac);
    s.ctx.audit.record({ actor: { type: 'system' } }, 'test.after_start', null);
    const last = s.ctx.audit.head()?.seq;
    await s.close();
    expect((JSON.parse(fs.readFileSync(file, 'utf8')) as { seq: number }).seq).toBe(last);
    const r = await runCli(['audit', 'verify', '--data-dir', s.dataDir, '--master-key-file', s.keyFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`anchored head row ${last}`);
  });
});
