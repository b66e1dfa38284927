import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authRepo } from '../src/auth/repo.ts';
import { openInstance } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import { runCli } from './support/cli.ts';
import { testEmail } from './support/people.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';

async function instance() {
  const dir = tempDir();
  const { file } = writeKeyFile(dir);
  const cfg = loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {});
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
  return { dir, file, cfg, opened };
}

describe('audit hash chain', () => {
  it('records who/what/where and verifies an untouched chain', async () => {
    const { opened } = await instance();
    const a = opened.audit;
    for (let i = 0; i < 5; i++) a.record({ actor: { type: 'user', id: `u${i}` }, orgId: 'org-1', ip: '203.0.113.5', userAgent: 'UA', requestId: `r${i}` }, 'thing.done', { type: 'thing', id: String(i) }, 'success', { n: i });
    const row = opened.db.prepare(`SELECT * FROM audit_log WHERE action = 'thing.done' ORDER BY seq LIMIT 1`).get() as Record<string, unknown>;
    expect(row).toMatchObject({ actor_type: 'user', actor_id: 'u0', org_id: 'org-1', ip: '203.0.113.5', user_agent: 'UA', request_id: 'r0', target_type: 'thing', target_id: '0', result: 'success', key_id: 'audit-1' });
    expect(a.verify()).toMatchObject({ ok: true, rows: 6 });
    opened.db.close();
  });

  it('detects an edited row, a deleted row and a reordered chain', async () => {
    const { opened } = await instance();
    const a = opened.audit;
    for (let i = 0; i < 6; i++) a.record({ actor: { type: 'system' } }, 'x', null, 'success', { i });
    const db = opened.db;
    db.prepare(`UPDATE audit_log SET details = '{"i":99}' WHERE seq = 3`).run();
    expect(a.verify()).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringContaining('edited') });
    db.prepare(`UPDATE audit_log SET details = '{"i":1}' WHERE seq = 3`).run();
    expect(a.verify().ok).toBe(true);
    db.prepare('DELETE FROM audit_log WHERE seq = 4').run();
    expect(a.verify()).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringContaining('missing') });
    db.close();
  });

  it('a forged row with a recomputed MAC but without the key fails', async () => {
    const { opened } = await instance();
    opened.audit.record({ actor: { type: 'system' } }, 'x', null);
    const last = opened.db.prepare('SELECT mac FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { mac: Buffer };
    opened.db
      .prepare(`INSERT INTO audit_log (at, actor_type, action, result, details, key_id, prev_mac, mac) VALUES (?, 'system', 'forged', 'success', '{}', 'audit-1', ?, ?)`)
      .run(new Date().toISOString(), last.mac, randomBytes(32));
    expect(opened.audit.verify()).toMatchObject({ ok: false, reason: expect.stringContaining('edited') });
    opened.db.close();
  });

  it('`tessera audit verify` exits 0 on an intact chain and 3 naming the row when tampered', async () => {
    const { dir, file, opened } = await instance();
    opened.db.close();
    const ok = await runCli(['audit', 'verify', '--data-dir', path.join(dir, 'data'), '--master-key-file', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit chain intact: \d+ rows verified/);
    const again = await openInstance(loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {}), { allowCreate: false, migrate: false, env: {} });
    again.db.prepare(`UPDATE audit_log SET action = 'something.else' WHERE seq = 1`).run();
    again.db.close();
    const bad = await runCli(['audit', 'verify', '--data-dir', path.join(dir, 'data'), '--master-key-file', file]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('audit chain broken at row 1');
  });
});

describe('tessera user reset-2fa', () => {
  it('removes the second factor and sessions of a locked-out owner, audited', async () => {
    const { dir, file, opened } = await instance();
    const { buildContext } = await import('../src/services.ts');
    const { Metrics } = await import('../src/http/metrics.ts');
    const { AccessLogWriter } = await import('../src/audit/access-log.ts');
    const { createLogger } = await import('../src/log.ts');
    const cfg = loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {});
    const ctx = buildContext({ cfg, db: opened.db, keyring: opened.keyring, audit: opened.audit, log: createLogger('silent'), metrics: new Metrics(() => 0), accessLog: new AccessLogWriter(cfg.dataDir), now: Date.now }, () => 'http://x');
    const id = opened.db.transaction(() => ctx.auth.insertUser({ email: testEmail('locked-owner'), name: 'Owner', hash: 'x', instanceRole: 'owner', verified: true })).immediate();
    authRepo(ctx.db).setPendingTotp(id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    authRepo(ctx.db).enableTotp(id, new Date().toISOString(), 1);
    ctx.sessions.create(id, { mfaPending: false, ip: null, userAgent: null });
    await ctx.accessLog.close();
    opened.db.close();

    const unknown = await runCli(['user', 'reset-2fa', '--email', testEmail('nobody'), '--data-dir', cfg.dataDir, '--master-key-file', file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no account with that email address');
    const r = await runCli(['user', 'reset-2fa', '--email', testEmail('locked-owner'), '--data-dir', cfg.dataDir, '--master-key-file', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('two-factor authentication removed');
    expect(r.stdout).not.toContain(testEmail('locked-owner'));

    const after = await openInstance(cfg, { allowCreate: false, migrate: false, env: {} });
    const user = after.db.prepare('SELECT totp_secret FROM users WHERE id = ?').get(id) as { totp_secret: string | null };
    expect(user.totp_secret).toBeNull();
    expect((after.db.prepare('SELECT count(*) n FROM sessions WHERE user_id = ?').get(id) as { n: number }).n).toBe(0);
    const audit = after.db.prepare(`SELECT actor_id, details FROM audit_log WHERE action = 'auth.2fa_reset'`).get() as { actor_id: string; details: string };
    expect(audit.actor_id).toBe('cli:user reset-2fa');
    expect(after.audit.verify().ok).toBe(true);
    after.db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
