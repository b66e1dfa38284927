import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caughtUp, waitFor } from './support/backup.ts';
import { type TestUser, createUser } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';
import { tempDir } from './support/temp.ts';

/**
 * The backup rule on a real backup (issue 21): a target whose uploads really fail — the backup
 * directory replaced by a file — alerts the instance owners once it has kept failing for ten
 * minutes (the server's clock is moved; the 10-minute check is called with the same status the
 * server's cron passes); a healthy backup, and a first failed upload still being retried, raise
 * nothing.
 * A failed daily restore test alerts too: test/backup-restore-test.test.ts ("a tampered backup
 * fails the test").
 */
describe('backup failure alerts on a real backup target', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let owner: TestUser;
  let root: string;
  let backupDir: string;
  let offset = 0;
  const now = () => Date.now() + offset;

  beforeAll(async () => {
    sink = await startSmtpSink();
    root = tempDir('tessera-backup-alert-');
    backupDir = path.join(root, 'backups');
    fs.mkdirSync(path.join(root, 'server'));
    s = await startTestServer({ smtpUrl: sink.url, backupDir, backupSyncIntervalMs: 100 }, { dir: path.join(root, 'server'), now });
    owner = await createUser(s, { email: testEmail('bk-alert-owner'), instanceRole: 'owner' });
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const backupAlerts = () => (s.ctx.db.prepare(`SELECT count(*) AS n FROM security_alerts WHERE org_id IS NULL AND rule = 'backup-failure'`).get() as { n: number }).n;
  const check = () => s.ctx.alertRules.backupChecked(s.backup!.status());
  /** A write that the backup must ship (a user row is enough). */
  const write = (tag: string) => createUser(s, { email: testEmail(`bk-alert-${tag}`) });

  it('a healthy backup raises none', async () => {
    await write('healthy');
    s.backup!.tick();
    await waitFor('the backup to catch up', () => caughtUp(s.backup?.status()));
    check();
    expect(backupAlerts()).toBe(0);
  });

  it('a failed upload alerts after ten minutes of failing, not at the first failure', async () => {
    // The target breaks: its directory is replaced by a file, so every upload fails.
    fs.renameSync(backupDir, `${backupDir}.away`);
    fs.writeFileSync(backupDir, 'not a directory');
    await write('broken');
    s.backup!.tick();
    const failing = await waitFor('an upload to fail', () => s.backup?.status().targets.find((t) => t.failures > 0 && t.failingSince));
    expect(failing.lastError).toMatch(/cannot write/);

    // A first failure is retried, not reported.
    check();
    expect(backupAlerts()).toBe(0);

    offset += 11 * 60_000;
    check();
    expect(backupAlerts()).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject === 'Security alert: Backups are failing');
    expect(mail.text).toContain(`Uploads to dir:${backupDir} have failed since`);
    expect(mail.text).toContain('cannot write');
    // The next checks while it lasts do not mail again (at most every 6 hours).
    offset += 10 * 60_000;
    check();
    expect(backupAlerts()).toBe(1);
  });

  it('the target back: uploads resume and the failure clears', async () => {
    fs.rmSync(backupDir);
    fs.renameSync(`${backupDir}.away`, backupDir);
    s.backup!.tick();
    await waitFor('the backup to catch up', () => caughtUp(s.backup?.status()), 60_000);
    expect(s.backup!.status().targets.every((t) => t.failingSince === undefined && t.failures === 0)).toBe(true);
  });
});
