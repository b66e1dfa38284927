import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestoreTester } from '../src/backup/restore-test.ts';
import { ConfigError, loadConfig } from '../src/config/config.ts';
import type { Client } from './support/client.ts';
import { type TestUser, createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { caughtUp, createProbeTable, insertProbe, listFiles, waitFor } from './support/backup.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';
import { tempDir } from './support/temp.ts';

const SYNC_MS = 100;
let root: string;
let backupDir: string;
let sink: SmtpSink;
let s: TestServer;
let tester: RestoreTester;
let owner: TestUser;
let admin: Client;
let plain: Client;

async function readyz(server: TestServer) {
  const r = await fetch(`${server.url}/readyz`);
  return { status: r.status, body: (await r.json()) as { status: string; checks: { database: string; backup: Record<string, unknown> } } };
}
const metrics = async () => (await fetch(`${s.url}/metrics`)).text();
const metricValue = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
const auditRows = () => s.ctx.db.prepare(`SELECT result, details FROM audit_log WHERE action = 'backup.restore_test' ORDER BY rowid`).all() as { result: string; details: string }[];

beforeAll(async () => {
  root = tempDir('tessera-rtest-');
  backupDir = path.join(root, 'backups');
  fs.mkdirSync(path.join(root, 'server'));
  sink = await startSmtpSink();
  s = await startTestServer({ smtpUrl: sink.url, backupDir, backupSyncIntervalMs: SYNC_MS }, { dir: path.join(root, 'server') });
  tester = s.restoreTester;
  owner = await createUser(s, { email: testEmail('restore-test-owner'), instanceRole: 'owner', totp: true });
  admin = await signedInClient(s, (await createUser(s, { email: testEmail('restore-test-admin'), instanceRole: 'admin', totp: true })).user);
  plain = await signedInClient(s, (await createUser(s, { email: testEmail('restore-test-plain'), totp: true })).user);
  createProbeTable(s.ctx.db);
  await waitFor('first snapshot shipped', () => caughtUp(s.backup?.status()));
});

afterAll(async () => {
  await s?.close();
  await sink?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('daily backup restore test', () => {
  it('restores the latest backup, matches live data, and reports it in /readyz and /metrics', async () => {
    expect(tester.configured).toBe(true);
    for (let i = 0; i < 50; i++) insertProbe(s.ctx.db, `row-${i}`, 200);
    // Before any run: ready, no verdict yet; "never ran" is a last run time of 0, never NaN.
    const before = await readyz(s);
    expect(before.status).toBe(200);
    expect(before.body.checks.backup).toMatchObject({ configured: true, lastRestoreTest: null });
    const m0 = await metrics();
    expect(metricValue(m0, 'tessera_backup_restore_test_last_result')).toBe(0);
    expect(metricValue(m0, 'tessera_backup_restore_test_last_run_timestamp_seconds')).toBe(0);
    expect(m0).not.toMatch(/ NaN$| Nan$/m);

    // The OS temp dir is shared with other test processes: only directories this run made count.
    const restoreDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('tessera-restore-test-'));
    const existing = new Set(restoreDirs());
    const r = await tester.run('test');
    expect(r?.error).toBeUndefined();
    expect(r?.ok).toBe(true);
    expect(r?.tablesCompared).toBeGreaterThan(10);
    expect(r?.mismatches).toEqual([]);
    expect(r?.position?.generation).toBe(s.backup?.status().generation);
    console.log(`restore test on a small database: ${r?.durationMs} ms`);

    const row = s.ctx.db.prepare('SELECT ok, error, tables_compared, duration_ms FROM backup_restore_tests WHERE id = ?').get(r?.id) as { ok: number; error: string | null; tables_compared: number };
    expect(row).toMatchObject({ ok: 1, error: null, tables_compared: r?.tablesCompared });
    expect(auditRows().at(-1)?.result).toBe('success');

    const after = await readyz(s);
    expect(after.status).toBe(200);
    expect(after.body.checks.backup).toMatchObject({ configured: true, lastRestoreTest: { ok: true, at: r?.finishedAt } });
    expect(typeof after.body.checks.backup.lagSeconds).toBe('number');
    const m = await metrics();
    expect(metricValue(m, 'tessera_backup_restore_test_last_result')).toBe(1);
    expect(metricValue(m, 'tessera_backup_restore_test_last_success_timestamp_seconds')).toBe(Date.parse(r?.finishedAt ?? '') / 1000);
    expect(metricValue(m, 'tessera_backup_restore_test_last_run_timestamp_seconds')).toBe(Date.parse(r?.finishedAt ?? '') / 1000);
    expect(metricValue(m, 'tessera_backup_lag_seconds')).toBeGreaterThanOrEqual(0);
    // The temp restore directory is gone.
    expect(restoreDirs().filter((d) => !existing.has(d))).toEqual([]);
  });

  it('still compares at one exact position while the app keeps writing', async () => {
    let n = 0;
    const writer = setInterval(() => insertProbe(s.ctx.db, `busy-${n++}`, 500), 3);
    try {
      const r = await tester.run('test');
      expect(r?.error).toBeUndefined();
      expect(r?.ok).toBe(true);
    } finally {
      clearInterval(writer);
    }
    expect(n).toBeGreaterThan(5);
  });

  it('the Backups page shows status and results to instance admins only; they can start a run', async () => {
    const page = await admin.get('/admin/backups');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>Backups</h1>');
    expect(page.text).toContain(`data-target="${s.backup?.targets[0]?.label}"`);
    expect(page.text).toContain('data-ok="ok"');
    expect((await plain.get('/admin/backups')).status).toBe(403);
    expect((await plain.post('/admin/backups/restore-test', {})).status).toBe(403);

    const count = () => (s.ctx.db.prepare('SELECT count(*) AS n FROM backup_restore_tests').get() as { n: number }).n;
    const had = count();
    const started = await admin.post('/admin/backups/restore-test', {});
    expect(started.status).toBe(303);
    expect(started.location).toBe('/admin/backups?done=started');
    await waitFor('the on-demand run to be recorded', () => count() > had, 30_000);
    expect(tester.repo.recent(1)[0]?.ok).toBe(true);
  });

  it('a tampered backup fails the test: recorded, audited, and the instance owners are alerted', async () => {
    // The snapshot the restore starts from: newest one of the current generation.
    const gen = s.backup?.status().generation ?? '';
    const snap = listFiles(backupDir).filter((f) => f.startsWith(`generations/${gen}/snapshots/`)).sort().at(-1);
    expect(snap).toBeDefined();
    const file = path.join(backupDir, snap ?? '');
    const bytes = fs.readFileSync(file);
    const mid = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(mid) ^ 0xff, mid);
    fs.writeFileSync(file, bytes);

    const r = await tester.run('test');
    expect(r?.ok).toBe(false);
    expect(r?.error).toContain(path.basename(snap ?? ''));
    expect(r?.error).not.toContain('\n');
    const row = s.ctx.db.prepare('SELECT ok, error FROM backup_restore_tests WHERE id = ?').get(r?.id) as { ok: number; error: string };
    expect(row.ok).toBe(0);
    expect(row.error).toBe(r?.error);

    const mail = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject === 'Security alert: The daily backup restore test failed');
    expect(mail.text).toContain(path.basename(snap ?? ''));
    const audit = auditRows().at(-1);
    expect(audit?.result).toBe('failure');
    expect(JSON.parse(audit?.details ?? '{}')).toMatchObject({ ok: false, error: r?.error });
    const alert = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'security.alert' AND target_id = 'backup-restore-test'`).get() as { details: string };
    expect(JSON.parse(alert.details).recipients).toContain(owner.user.id);

    // Reported, but the site stays in service.
    const ready = await readyz(s);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.backup).toMatchObject({ lastRestoreTest: { ok: false, at: r?.finishedAt } });
    const m = await metrics();
    expect(metricValue(m, 'tessera_backup_restore_test_last_result')).toBe(0);
    expect(metricValue(m, 'tessera_backup_restore_test_last_run_timestamp_seconds')).toBe(Date.parse(r?.finishedAt ?? '') / 1000);
    expect(metricValue(m, 'tessera_backup_restore_test_last_success_timestamp_seconds')).toBeGreaterThan(0);
    expect((await admin.get('/admin/backups')).text).toContain('data-ok="FAILED"');
  });

  it('without a backup target the page says so, the run does nothing, /readyz reports it off', async () => {
    const bare = await startTestServer();
    try {
      const t = bare.restoreTester;
      expect(t.configured).toBe(false);
      expect(await t.run('test')).toBeUndefined();
      const c = await signedInClient(bare, (await createUser(bare, { email: testEmail('restore-test-bare'), instanceRole: 'admin', totp: true })).user);
      expect((await c.get('/admin/backups')).text).toContain('No backup target is configured');
      const post = await c.post('/admin/backups/restore-test', {});
      expect(post.location).toBe('/admin/backups?done=off');
      expect((await readyz(bare)).body.checks.backup).toEqual({ configured: false });
      expect(await (await fetch(`${bare.url}/metrics`)).text()).not.toContain('tessera_backup_restore_test_last_result');
      expect((bare.ctx.db.prepare('SELECT count(*) AS n FROM backup_restore_tests').get() as { n: number }).n).toBe(0);
    } finally {
      await bare.close();
    }
  });

  it('the schedule is a cron expression checked at start-up', () => {
    expect(loadConfig({}, {}).backupRestoreTestCron).toBe('30 4 * * *');
    expect(loadConfig({}, { TESSERA_BACKUP_RESTORE_TEST_CRON: '0 2 * * *' }).backupRestoreTestCron).toBe('0 2 * * *');
    expect(() => loadConfig({ backupRestoreTestCron: 'every day' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ backupRestoreTestCron: 'every day' }, {})).toThrow(/backup-restore-test-cron/);
  });
});
