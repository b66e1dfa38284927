import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anchorPath, signAnchor } from '../src/audit/anchor.ts';
import { LogRetention } from '../src/audit/retention.ts';
import { verifyAuditLog } from '../src/audit/verify.ts';
import { type Opened, openInstance } from '../src/bootstrap.ts';
import { type Config, loadConfig } from '../src/config/config.ts';
import { writeFileAtomic } from '../src/keys/keyring.ts';
import { runCli } from './support/cli.ts';
import { createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';

/**
 * Retention removes the oldest audit rows; the signed checkpoint it leaves must keep `audit
 * verify` passing (and the anchor valid), while any deletion or forgery around it still fails.
 * And the server's chain check: on demand, on its schedule, and an alert when it fails.
 */
async function instance(): Promise<{ cfg: Config; opened: Opened; keyFile: string }> {
  const dir = tempDir();
  const { file } = writeKeyFile(dir);
  const cfg = loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {});
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
  return { cfg, opened, keyFile: file };
}

const sys = { actor: { type: 'system' as const } };

describe('audit retention with a signed checkpoint', () => {
  it('prunes the oldest rows in slices and the chain, the anchor and the CLI still verify', async () => {
    const { cfg, opened, keyFile } = await instance();
    const a = opened.audit;
    for (let k = 0; k < 40; k++) a.record({ actor: { type: 'user', id: `u${k}` }, orgId: 'org-1' }, 'thing.done', { type: 'thing', id: String(k) });
    // An anchor that vouches for a row retention will remove (written by a server stopped long ago).
    const early = { seq: 12, mac: a.macAt(12)! };
    writeFileAtomic(anchorPath(cfg.dataDir), `${JSON.stringify(signAnchor(opened.keyring, early, new Date()))}\n`);
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir).exitCode).toBe(0);
    // Cut between two rows with different times (rows written in the same millisecond share one).
    const rows = opened.db.prepare('SELECT seq, at FROM audit_log ORDER BY seq').all() as { seq: number; at: string }[];
    const cutRow = rows.find((r, i) => i >= 25 && r.at > rows[i - 1]!.at) ?? rows.at(-1)!;
    const expectedGone = rows.filter((r) => r.at < cutRow.at).length;
    const removed = a.prune(new Date(cutRow.at), sys, 7);
    expect(removed).toBe(expectedGone);
    expect(opened.db.prepare('SELECT min(seq) FROM audit_log').pluck().get()).toBe(expectedGone + 1);
    const cp = a.checkpoint();
    expect(cp.state).toBe('ok');
    if (cp.state === 'ok') expect(cp.row).toMatchObject({ seq: expectedGone, pruned_total: expectedGone });
    // The pruning itself is in the chain.
    expect(opened.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'audit.pruned'`).pluck().get()).toBe(1);
    const report = verifyAuditLog(a, opened.keyring, cfg.dataDir);
    expect(report.findings).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.rows).toBe(41 - expectedGone + 1);
    a.record(sys, 'thing.after', null);
    expect(a.verify().ok).toBe(true);
    opened.db.close();
    const cli = await runCli(['audit', 'verify', '--data-dir', cfg.dataDir, '--master-key-file', keyFile]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
  });

  it('still catches a deleted prefix, a removed checkpoint and a forged one', async () => {
    const { cfg, opened } = await instance();
    const a = opened.audit;
    for (let k = 0; k < 20; k++) a.record(sys, 'thing.done', null, 'success', { k });
    const rows = opened.db.prepare('SELECT seq, at FROM audit_log ORDER BY seq').all() as { seq: number; at: string }[];
    const cut = rows.find((r, i) => i >= 8 && r.at > rows[i - 1]!.at) ?? rows.at(-1)!;
    a.prune(new Date(cut.at), sys);
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir).exitCode).toBe(0);
    const db = opened.db;
    // Deleting more of the oldest rows without the key to sign a checkpoint: a gap.
    const first = db.prepare('SELECT min(seq) FROM audit_log').pluck().get() as number;
    const saved = db.prepare('SELECT * FROM audit_log WHERE seq = ?').get(first) as Record<string, unknown>;
    db.prepare('DELETE FROM audit_log WHERE seq = ?').run(first);
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir)).toMatchObject({ exitCode: 4, findings: [expect.objectContaining({ kind: 'gap', seq: first })] });
    const { subject: _s, ...restore } = saved;
    db.prepare(`INSERT INTO audit_log (${Object.keys(restore).join(', ')}) VALUES (${Object.keys(restore).map((k) => `@${k}`).join(', ')})`).run(restore);
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir).exitCode).toBe(0);
    // Removing the checkpoint makes the pruned rows show as missing.
    const cpRow = db.prepare('SELECT * FROM audit_checkpoint').get() as Record<string, unknown>;
    db.prepare('DELETE FROM audit_checkpoint').run();
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir)).toMatchObject({ exitCode: 4, findings: [expect.objectContaining({ kind: 'gap', seq: 1 })] });
    // A checkpoint claiming more was pruned, without the key: refused as forged.
    db.prepare('INSERT INTO audit_checkpoint (id, seq, mac, last_at, pruned_at, pruned_total, key_id, sig) VALUES (@id, @seq, @mac, @last_at, @pruned_at, @pruned_total, @key_id, @sig)').run(cpRow);
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir).exitCode).toBe(0);
    db.prepare('UPDATE audit_checkpoint SET seq = seq + 1').run();
    expect(verifyAuditLog(a, opened.keyring, cfg.dataDir)).toMatchObject({ exitCode: 8, findings: [expect.objectContaining({ kind: 'bad-checkpoint' })] });
    opened.db.close();
  });

  it('LogRetention keeps a year of audit rows and 90 days of access logs by default, configurable', async () => {
    const { cfg, opened } = await instance();
    expect(cfg.auditLogRetentionDays).toBe(365);
    expect(cfg.accessLogRetentionDays).toBe(90);
    expect(loadConfig({ dataDir: cfg.dataDir, auditLogRetentionDays: '400' }, {}).auditLogRetentionDays).toBe(400);
    expect(loadConfig({ dataDir: cfg.dataDir }, { TESSERA_AUDIT_LOG_RETENTION_DAYS: '730' }).auditLogRetentionDays).toBe(730);
    expect(() => loadConfig({ dataDir: cfg.dataDir, auditLogRetentionDays: '3' }, {})).toThrow(/audit-log-retention-days/);
    expect(() => loadConfig({ dataDir: cfg.dataDir, auditVerifyCron: 'daily' }, {})).toThrow(/audit-verify-cron/);
    for (let k = 0; k < 5; k++) opened.audit.record(sys, 'thing.done', null);
    const dir = path.join(cfg.dataDir, 'access-log');
    fs.mkdirSync(dir, { recursive: true });
    const pruned: string[] = [];
    const accessLog = { prune: (days: number, now: Date) => (pruned.push(`${days}@${now.toISOString().slice(0, 10)}`), ['2020-01-01.jsonl']) };
    const denials = { prune: () => 0 };
    const now = Date.now();
    // Today: nothing is a year old.
    const today = new LogRetention({ audit: opened.audit, accessLog, denials, auditDays: 365, accessLogDays: 90, now: () => now });
    expect(today.run(sys).auditRows).toBe(0);
    // 366 days on, every row but the one saying what was pruned goes; the chain still verifies.
    const later = new LogRetention({ audit: opened.audit, accessLog, denials, auditDays: 365, accessLogDays: 90, now: () => now + 366 * 86_400_000 });
    const total = opened.db.prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
    expect(later.run(sys).auditRows).toBe(total);
    expect(pruned.at(-1)).toMatch(/^90@/);
    expect(opened.db.prepare('SELECT action FROM audit_log ORDER BY seq').pluck().all()).toEqual(['audit.pruned', 'access_log.pruned']);
    expect(verifyAuditLog(opened.audit, opened.keyring, cfg.dataDir).exitCode).toBe(0);
    opened.db.close();
  });
});

describe('chain status in the server', () => {
  let s: TestServer;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    // Every second: the schedule is seen to run without waiting for a day.
    s = await startTestServer({ smtpUrl: sink.url, auditVerifyCron: '* * * * * *' });
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  it('runs on its schedule and on demand, shows the result, and alerts the owners when verification fails', async () => {
    await expect.poll(() => s.ctx.chainStatus.latest()?.trigger).toBe('schedule');
    expect(s.ctx.chainStatus.latest()?.ok).toBe(1);
    const owner = await createUser(s, { email: testEmail('chain-owner'), instanceRole: 'owner', totp: true });
    const c = await signedInClient(s, owner.user);
    let page = await c.get('/admin/audit');
    expect(page.text).toContain('data-chain-ok="yes"');
    expect(page.text).toContain('Audit entries are kept for 365 days and access logs for 90 days');
    const r = await c.post('/admin/audit/verify');
    expect(r.status).toBe(303);
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_chain_checks WHERE trigger = 'manual' AND ok = 1`).pluck().get()).toBe(1);
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'audit.verified' AND actor_id = ?`).pluck().get(owner.user.id)).toBe(1);
    // Someone edits a row in the database.
    s.ctx.db.prepare(`UPDATE audit_log SET details = '{"edited":true}' WHERE seq = 2`).run();
    await c.post('/admin/audit/verify');
    expect(s.ctx.db.prepare(`SELECT ok FROM audit_chain_checks WHERE trigger = 'manual' ORDER BY id DESC LIMIT 1`).pluck().get()).toBe(0);
    page = await c.get('/admin/audit');
    expect(page.text).toContain('data-chain-ok="no"');
    expect(page.text).toContain('audit chain broken at row 2');
    const mail = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject === 'Security alert: The audit log failed verification', 30_000);
    expect(mail.text).toContain('row 2');
    // One alert while it keeps failing, however often it is checked that day.
    await expect.poll(() => s.ctx.db.prepare(`SELECT count(*) FROM audit_chain_checks WHERE ok = 0`).pluck().get()).toBeGreaterThanOrEqual(3);
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'security.alert' AND target_id LIKE 'audit-verify:%'`).pluck().get()).toBe(1);
  });
});
