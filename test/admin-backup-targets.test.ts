import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Target } from '../src/backup/targets/s3.ts';
import { caughtUp, waitFor } from './support/backup.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshotDir } from './support/browser.ts';
import { RecordingClient } from './support/client.ts';
import { createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type LocalS3, startS3 } from './support/s3rver.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

const email = (who: string) => testEmail(`${who}-${randomBytes(3).toString('hex')}`, 'c');


const KEY_ID = 'TESSERAADMIN';
const SECRET = `s3-${randomBytes(16).toString('hex')}`;

describe('backup targets added on the settings page', () => {
  let dir: string;
  let s: TestServer;
  let s3: LocalS3;
  const bodies: string[] = [];
  const logFiles: string[] = [];
  let admin: RecordingClient;
  let adminUser: Awaited<ReturnType<typeof createUser>>['user'];
  let backupDir: string;
  const s3Form = (over: Record<string, string> = {}) => ({ endpoint: s3.endpoint, region: 'us-east-1', bucket: 'tessera', prefix: 'site', accessKeyId: KEY_ID, secretAccessKey: SECRET, pathStyle: 'on', ...over });
  const bucket = () => new S3Target({ endpoint: s3.endpoint, region: 'us-east-1', bucket: 'tessera', prefix: 'site', accessKeyId: KEY_ID, secretAccessKey: SECRET, pathStyle: true });
  const saved = () => s.ctx.db.prepare(`SELECT value FROM settings WHERE key = 'backup.targets'`).get() as { value: string } | undefined;
  const audits = (action: string) => s.ctx.db.prepare('SELECT result, target_id, details, actor_id FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { result: string; target_id: string; details: string; actor_id: string }[];
  const signIn = async () => {
    const c = await signedInClient(s, adminUser);
    admin = new RecordingClient(s.url, bodies);
    for (const [k, v] of c.cookies) admin.cookies.set(k, v);
    await admin.get('/admin/settings');
  };
  const rowOf = (page: string, label: string) => {
    const m = new RegExp(`<tr data-target="${label.replace(/[/.]/g, '\\$&')}" data-target-id="([0-9a-z-]+)">([\\s\\S]*?)</tr>`).exec(page);
    return m ? { id: m[1] as string, html: m[2] as string } : undefined;
  };

  beforeAll(async () => {
    dir = tempDir();
    s3 = await startS3(path.join(dir, 's3'), ['tessera'], 0, { [KEY_ID]: SECRET });
    backupDir = path.join(dir, 'mnt-backup');
    fs.mkdirSync(backupDir);
    s = await startTestServer({}, { dir });
    logFiles.push(s.logFile);
    adminUser = (await createUser(s, { email: email('bt-admin'), instanceRole: 'admin', totp: true })).user;
    await signIn();
  });
  afterAll(async () => {
    await s?.close();
    await s3?.stop();
  });

  it('a wrong secret key, a missing bucket or an endpoint that is down: a clear error, and nothing saved', async () => {
    const wrong = await admin.post('/admin/settings/backups/targets/s3', s3Form({ secretAccessKey: `${SECRET}x` }));
    expect(wrong.status).toBe(502);
    expect(wrong.text).toContain('Not saved: the connection test failed');
    expect(wrong.text).toContain('the secret access key was rejected (SignatureDoesNotMatch)');
    // What was typed stays in the form, except the secret.
    expect(wrong.text).toContain('value="tessera"');
    expect(wrong.text).not.toContain(`${SECRET}x`);

    const noBucket = await admin.post('/admin/settings/backups/targets/s3', s3Form({ bucket: 'no-such-bucket' }));
    expect(noBucket.status).toBe(502);
    expect(noBucket.text).toContain('bucket &quot;no-such-bucket&quot; does not exist');

    const down = await admin.post('/admin/settings/backups/targets/s3', s3Form({ endpoint: 'http://127.0.0.1:9' }));
    expect(down.status).toBe(502);
    expect(down.text).toContain('cannot reach http://127.0.0.1:9');

    const badField = await admin.post('/admin/settings/backups/targets/s3', s3Form({ bucket: 'Not A Bucket', secretAccessKey: '' }));
    expect(badField.status).toBe(400);
    expect(badField.text).toContain('Enter a bucket name');
    expect(badField.text).toContain('Enter the secret access key');

    const plaintext = await admin.post('/admin/settings/backups/targets/s3', s3Form({ endpoint: 'http://s3.example.org' }));
    expect(plaintext.status).toBe(400);
    expect(plaintext.text).toContain('must be https://');

    expect(saved()).toBeUndefined();
    const failed = audits('settings.backup_target_added');
    expect(failed.map((a) => a.result)).toEqual(['failure', 'failure', 'failure']);
    for (const a of failed) expect(JSON.parse(a.details).target.secretAccessKey).toBe('(secret)');
  });

  it('adds an S3 bucket after a real write, read and delete; the probe leaves nothing behind; audited with the secret masked', async () => {
    const r = await admin.post('/admin/settings/backups/targets/s3', s3Form());
    expect(r.status, r.text.slice(0, 600)).toBe(303);
    expect(r.location).toBe('/admin/settings?done=target-added#backups');
    const page = (await admin.get(r.location!)).text;
    expect(page).toContain('Backup target tested and saved');
    const row = rowOf(page, 's3://tessera/site');
    expect(row?.html).toContain('Saved on this page');
    expect(row?.html).toContain('From the next start');
    expect(page).toContain('data-restart-pending');
    expect(await bucket().list('')).toEqual([]);
    // Sealed: the stored row holds no plaintext secret.
    expect(saved()?.value).not.toContain(SECRET);
    const [added] = audits('settings.backup_target_added').filter((a) => a.result === 'success');
    expect(added?.actor_id).toBe(adminUser.id);
    expect(JSON.parse(added!.details).after).toMatchObject({ kind: 's3', bucket: 'tessera', prefix: 'site', accessKeyId: KEY_ID, secretAccessKey: '(secret)' });

    const dup = await admin.post('/admin/settings/backups/targets/s3', s3Form());
    expect(dup.status).toBe(400);
    expect(dup.text).toContain('s3://tessera/site is already a backup target');
  });

  it('tests a saved target on demand, and says why when it fails', async () => {
    const id = rowOf((await admin.get('/admin/settings')).text, 's3://tessera/site')!.id;
    const ok = await admin.post('/admin/settings/backups/targets/test', { target: id });
    expect(ok.location).toBe('/admin/settings?done=target-ok#backups');
    await s3.stop();
    try {
      const down = await admin.post('/admin/settings/backups/targets/test', { target: id });
      expect(down.status).toBe(502);
      expect(down.text).toContain('Connection test failed: s3://tessera/site: cannot reach');
    } finally {
      await s3.restart();
    }
    expect(audits('settings.backup_targets_tested').map((a) => [a.result, a.target_id])).toEqual([
      ['success', id],
      ['failure', id],
    ]);
  });

  it('adds a directory only when it exists and is outside the data directory', async () => {
    const missing = await admin.post('/admin/settings/backups/targets/dir', { path: path.join(dir, 'not-mounted') });
    expect(missing.status).toBe(502);
    expect(missing.text).toContain('does not exist');
    const inside = await admin.post('/admin/settings/backups/targets/dir', { path: path.join(s.dataDir, 'backup') });
    expect(inside.status).toBe(400);
    expect(inside.text).toContain('inside the data directory');
    const relative = await admin.post('/admin/settings/backups/targets/dir', { path: 'backup' });
    expect(relative.status).toBe(400);
    expect(relative.text).toContain('absolute path');
    const ok = await admin.post('/admin/settings/backups/targets/dir', { path: backupDir });
    expect(ok.location).toBe('/admin/settings?done=target-added#backups');
    expect(fs.readdirSync(backupDir, { recursive: true }).filter((f) => !fs.statSync(path.join(backupDir, String(f))).isDirectory())).toEqual([]);
  });

  it('only instance admins may add, test or remove targets; a stale password asks again first', async () => {
    const owner = (await createUser(s, { email: email('bt-owner'), totp: true })).user;
    const org = createOrg(s, owner, uniqueSlug('bt'));
    expect(org.id).toBeTruthy();
    const o = await signedInClient(s, owner);
    await o.get('/account');
    const before = saved()?.value;
    for (const [p, form] of [
      ['/admin/settings/backups/targets/s3', s3Form({ prefix: 'other' })],
      ['/admin/settings/backups/targets/dir', { path: backupDir }],
      ['/admin/settings/backups/targets/remove', { target: 'x' }],
      ['/admin/settings/backups/targets/test', { target: 'x' }],
    ] as const) {
      expect((await o.post(p, form)).status).toBe(403);
    }
    expect(saved()?.value).toBe(before);

    const stale = await signedInClient(s, adminUser, { reauth: false });
    const r = await stale.post('/admin/settings/backups/targets/s3', s3Form({ prefix: 'other' }));
    expect(r.status).toBe(303);
    expect(r.location).toMatch(/reauth/);
    expect(saved()?.value).toBe(before);
  });

  it('after a restart the saved targets receive the backup; removing one keeps its objects and applies at the next start', async () => {
    await s.close();
    s = await startTestServer({}, { dir });
    logFiles.push(s.logFile);
    expect(s.backup?.targets.map((t) => t.label).sort()).toEqual([`dir:${backupDir}`, 's3://tessera/site']);
    await waitFor('both saved targets hold the first snapshot', () => caughtUp(s.backup?.status()));
    const stored = (await bucket().list('generations/')).map((o) => o.key);
    expect(stored.some((k) => k.includes('/snapshots/'))).toBe(true);

    await signIn();
    const page = (await admin.get('/admin/settings')).text;
    expect(page).not.toContain('data-restart-pending');
    const row = rowOf(page, 's3://tessera/site')!;
    expect(row.html).toContain('In use');
    expect(row.html).toContain('The objects already stored in s3://tessera/site are kept');
    const r = await admin.post('/admin/settings/backups/targets/remove', { target: row.id });
    expect(r.location).toBe('/admin/settings?done=target-removed#backups');
    const after = (await admin.get(r.location!)).text;
    expect(rowOf(after, 's3://tessera/site')).toBeUndefined();
    expect(after).toContain('1 removed target is still shipped to until then');
    // Nothing was deleted in the bucket.
    const still = (await bucket().list('generations/')).map((o) => o.key);
    expect(still).toEqual(expect.arrayContaining(stored));
    const [removed] = audits('settings.backup_target_removed');
    expect(removed?.target_id).toBe(row.id);
    expect(JSON.parse(removed!.details)).toMatchObject({ before: { kind: 's3', secretAccessKey: '(secret)' }, after: null });

    await s.close();
    s = await startTestServer({}, { dir });
    logFiles.push(s.logFile);
    expect(s.backup?.targets.map((t) => t.label)).toEqual([`dir:${backupDir}`]);
  });

  it('in Chromium: the Backups section with a target and a refused add fits 390 and 1280 px and passes axe', async () => {
    const browser = await launchBrowser();
    try {
      const page = await newPage(browser, s.url);
      const { token } = s.ctx.sessions.create(adminUser.id, { mfaPending: false, ip: '127.0.0.1', userAgent: 'browser', reauth: true });
      await page.context().addCookies([{ name: '__Host-tessera_session', value: token, domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
      await page.goto('/admin/settings#backups');
      const section = page.locator('section#backups');
      await section.getByText('Add an S3-compatible bucket').click();
      const form = page.locator('#add-s3');
      await form.locator('input[name="endpoint"]').fill(s3.endpoint);
      await form.locator('input[name="bucket"]').fill('tessera');
      await form.locator('input[name="prefix"]').fill('browser');
      await form.locator('input[name="accessKeyId"]').fill(KEY_ID);
      await form.locator('input[name="secretAccessKey"]').fill(`${SECRET}-wrong`);
      await form.getByLabel(/Path-style/).check();
      await form.getByRole('button', { name: 'Test and add bucket' }).click();
      await page.locator('.flash', { hasText: 'SignatureDoesNotMatch' }).waitFor();
      expect(await page.locator('#add-s3').getAttribute('open')).not.toBeNull();
      expect(await page.content()).not.toContain(SECRET);
      for (const width of [390, 1280]) {
        await page.setViewportSize({ width, height: 900 });
        await section.screenshot({ path: path.join(screenshotDir, `admin-settings-backups-${width}.png`) });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `overflow at ${width}px`).toBeLessThanOrEqual(0);
      }
      await checkA11y(page, 'settings-backups');
      // The refused add answers 502 on purpose (the target failed); anything else is a problem.
      expect(pageProblems(page).filter((p) => !p.includes('status of 502'))).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('no response, audit row or log line of this whole test ever carried the secret key', () => {
    expect(bodies.length).toBeGreaterThan(15);
    for (const b of bodies) expect(b).not.toContain(SECRET);
    const rows = s.ctx.db.prepare('SELECT details FROM audit_log').all() as { details: string }[];
    for (const r of rows) expect(r.details ?? '').not.toContain(SECRET);
    expect(logFiles).toHaveLength(3);
    const logs = logFiles.map((f) => fs.readFileSync(f, 'utf8'));
    for (const l of logs) expect(l).not.toContain(SECRET);
  });
});

describe('backup targets given by flag', () => {
  let s: TestServer;
  beforeAll(async () => {
    const dir = tempDir();
    s = await startTestServer({ backupDir: path.join(dir, 'backup') }, { dir });
  });
  afterAll(() => s?.close());

  it('are shown locked with where they are set, with no Remove; removing one by hand is refused', async () => {
    const a = await signedInClient(s, (await createUser(s, { email: email('bt-flag'), instanceRole: 'admin', totp: true })).user);
    const page = (await a.get('/admin/settings')).text;
    expect(page).toContain('Locked: set by --backup-dir');
    expect(page).not.toContain('/admin/settings/backups/targets/remove');
    const r = await a.post('/admin/settings/backups/targets/remove', { target: 'flag-dir' });
    expect(r.status).toBe(409);
    expect(r.text).toContain('set by a flag or environment variable');
    const t = await a.post('/admin/settings/backups/targets/test', { target: 'flag-dir' });
    expect(t.location).toBe('/admin/settings?done=target-ok#backups');
  });
});
