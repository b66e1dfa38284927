import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { type TestUser, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/**
 * An instance admin in Chromium: points the instance at an SMTP server on the settings page and
 * sends a test email to it, disables a user, and finds that action in the audit log by
 * filtering on actor and action.
 */
describe('instance admin journey in Chromium', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let admin: TestUser;
  let target: TestUser;

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer();
    browser = await launchBrowser();
    admin = await createUser(s, { email: testEmail('journey-admin'), name: 'Ada Admin', instanceRole: 'admin', totp: true });
    target = await createUser(s, { email: testEmail('journey-target'), name: 'Tom Target', totp: true });
    createOrg(s, target.user, uniqueSlug('journey-admin'));
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await sink?.close();
  });

  async function check(page: Page, name: string) {
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      await screenshot(page, `admin-${name}-${width}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} at ${width}px overflows by ${overflow}px`).toBeLessThanOrEqual(0);
    }
    await checkA11y(page, name);
  }

  it('changes the SMTP settings, sends a test email, disables a user and finds that in the audit log by filtering', async () => {
    const page = await newPage(browser, s.url);
    page.on('dialog', (d) => void d.accept());
    // Signed in as by password and code (the sign-in pages have their own journey).
    const { token } = s.ctx.sessions.create(admin.user.id, { mfaPending: false, ip: '127.0.0.1', userAgent: 'journey', reauth: true });
    await page.context().addCookies([{ name: '__Host-tessera_session', value: token, domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);

    // 1. Settings: mail goes nowhere yet; point it at the SMTP server.
    await page.goto('/admin/settings');
    await check(page, 'settings');
    expect(await page.getByRole('button', { name: /Send test email/ }).isDisabled()).toBe(true);
    const mail = page.locator('section#mail');
    await mail.getByLabel('SMTP host').fill('127.0.0.1');
    await mail.getByLabel('SMTP port').fill(String(sink.port));
    await mail.getByLabel('Encryption').selectOption('none');
    await mail.getByLabel('SMTP user').fill('tessera');
    await mail.getByLabel('SMTP password').fill('journey smtp secret 1');
    await mail.getByLabel('Sender').fill('Journey Events <events@example.org>');
    await mail.getByRole('button', { name: 'Save Mail settings' }).click();
    await page.locator('.flash.ok', { hasText: 'Settings saved' }).waitFor();
    expect(await page.content()).not.toContain('journey smtp secret 1');
    expect(await page.locator('[data-setting="smtpPassword"] [data-secret-state]').getAttribute('data-secret-state')).toBe('set');

    // 2. The test email reaches the server, from the new sender.
    await page.getByRole('button', { name: `Send test email to ${admin.user.email}` }).click();
    await page.locator('.flash.ok', { hasText: 'Test email sent' }).waitFor();
    const received = await sink.waitFor((m) => m.to.includes(admin.user.email));
    expect(received.fromHeader).toContain('events@example.org');
    expect(received.user).toBe('tessera');

    // 3. Users: find the person and disable them.
    await page.getByRole('navigation', { name: 'Administration', exact: true }).getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Search by name or email').fill('Tom Target');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL('**/admin/users?q=*');
    await check(page, 'users');
    const row = page.getByRole('row').filter({ hasText: target.user.email });
    await row.getByRole('button', { name: 'Disable' }).click();
    await page.locator('.flash.ok', { hasText: 'Account disabled' }).waitFor();
    expect(s.ctx.auth.user(target.user.id)!.disabled_at).not.toBeNull();

    // 4. Audit log: find that action by filtering on actor and action, and open the entry.
    await page.getByRole('navigation', { name: 'Administration', exact: true }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Actor (staff email or id)').fill(admin.user.email);
    await page.getByLabel('Action').selectOption('user.disabled');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tr[data-seq]').count()).toBe(1);
    const found = page.locator('tr[data-action="user.disabled"]');
    expect(await found.count()).toBe(1);
    expect(await found.textContent()).toContain('Account disabled');
    await check(page, 'audit-filtered');
    await found.getByRole('link').click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Audit entry');
    expect(await page.content()).toContain(target.user.id);

    await page.goto('/admin/orgs');
    await check(page, 'orgs');

    // Readable action names for the audit log search to find.
    const actions = (s.ctx.db.prepare('SELECT action FROM audit_log WHERE actor_id = ? ORDER BY seq').all(admin.user.id) as { action: string }[]).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['settings.changed', 'settings.mail_test_sent', 'user.disabled']));
    expect(pageProblems(page)).toEqual([]);
  });
});
