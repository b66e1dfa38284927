import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSessionCookie } from '../src/http/cookies.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createUser } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type Tenant, createTenant } from './support/tenant.ts';

/** The audit and access-log pages in Chromium: htmx paging, the person search, axe, 390 and 1280 px. */
describe('audit pages in Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  let A: Tenant;

  const signedIn = async (userId: string): Promise<Page> => {
    const page = await newPage(browser, s.url);
    const { token } = s.ctx.sessions.create(userId, { mfaPending: false, ip: '127.0.0.1', userAgent: 'test', reauth: true });
    // The server sets the cookie, as at sign-in (a test-only route; sign-in itself is tested elsewhere).
    await page.goto(`/__test/session?token=${encodeURIComponent(token)}`);
    return page;
  };
  /** Axe, no sideways scrolling and a screenshot at both widths. */
  const check = async (page: Page, name: string) => {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await screenshot(page, `${name}-${width}`);
      await checkA11y(page, `${name} at ${width}px`);
      // The page's own content (the sub-navigation bars are the app shell's, restyled there);
      // wide tables scroll inside their own region.
      const overflow = await page.evaluate(() =>
        Math.max(0, ...[...document.querySelectorAll('main *')].filter((e) => !e.closest('nav, .overflow-auto')).map((e) => Math.ceil(e.getBoundingClientRect().right - window.innerWidth))),
      );
      expect(overflow, `${name} at ${width}px overflows by ${overflow}px`).toBeLessThanOrEqual(0);
    }
  };

  beforeAll(async () => {
    s = await startTestServer(
      {},
      {
        extendApp: (app) =>
          app.get('/__test/session', (c) => {
            setSessionCookie(c, c.req.query('token') ?? '');
            return c.text('ok');
          }),
      },
    );
    browser = await launchBrowser();
    A = await createTenant(s, 'a');
    for (let i = 0; i < 55; i++) s.ctx.audit.record({ actor: { type: 'user', id: A.owner.user.id }, orgId: A.org.id, ip: '198.51.100.4' }, 'event.updated', { type: 'event', id: A.event.id }, i % 7 ? 'success' : 'failure', { event: A.event.id });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('an organization owner filters, pages with htmx and searches a person without the email in the URL', async () => {
    const page = await signedIn(A.owner.user.id);
    await page.goto(`/orgs/${A.org.slug}/audit`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Audit log');
    await check(page, 'audit-org');
    await page.setViewportSize({ width: 1280, height: 900 });
    const firstSeq = await page.locator('tr[data-seq]').first().getAttribute('data-seq');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    await page.getByRole('link', { name: 'Older entries' }).click();
    await expect.poll(() => page.url()).toContain('before=');
    await expect.poll(() => page.locator('tr[data-seq]').first().getAttribute('data-seq')).not.toBe(firstSeq);
    // Swapped in place: the same document, no page load.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

    await page.goto(`/orgs/${A.org.slug}/audit`);
    await page.getByLabel('Action').selectOption('event.updated');
    await page.getByLabel('Result').selectOption('failure');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tr[data-seq]').count()).toBe(8);
    await check(page, 'audit-org-filtered');

    await page.goto(`/orgs/${A.org.slug}/audit`);
    await page.getByLabel('Person (attendee email)').fill(A.reg.email);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tr[data-action="registration.created"]').count()).toBe(1);
    expect(page.url()).not.toContain('@');
    expect(await page.content()).not.toContain(A.reg.email);

    await page.locator('tr[data-seq] a').first().click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain('Audit entry');
    await check(page, 'audit-entry');
    expect(pageProblems(page)).toEqual([]);
  });

  it('an instance admin sees the chain status, the whole log and the access log', async () => {
    const admin = await createUser(s, { email: testEmail('audit-browser-admin'), instanceRole: 'admin', totp: true });
    const page = await signedIn(admin.user.id);
    await page.goto('/admin/audit');
    await page.getByRole('button', { name: 'Verify the chain now' }).click();
    await expect.poll(() => page.locator('[data-chain-ok="yes"]').count()).toBe(1);
    await check(page, 'audit-admin');
    await page.goto('/admin/access-log');
    await expect.poll(() => page.locator('tr[data-status]').count()).toBeGreaterThan(0);
    await check(page, 'access-log');
    expect(pageProblems(page)).toEqual([]);
  });
});
