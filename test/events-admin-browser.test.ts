import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { OrgRow } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/** The organizer pages in a real browser: htmx list updates, live Markdown preview, accessibility. */
describe('organizer event pages in Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  let org: OrgRow;
  let page: Page;

  beforeAll(async () => {
    s = await startTestServer();
    browser = await launchBrowser();
    const owner = await createUser(s, { email: testEmail('evb-owner') });
    org = createOrg(s, owner.user, uniqueSlug('evb'));
    page = await newPage(browser, s.url);
    await page.goto('/login');
    await page.getByLabel('Email address').fill(owner.user.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/orgs');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('moves and removes form fields in place with htmx, previews Markdown live, and passes axe', async () => {
    const e = createEvent(s, org, { title: 'Browser Day', publish: false });
    const base = `/orgs/${org.slug}/events`;

    await page.goto(base);
    await checkA11y(page, 'event list');
    await screenshot(page, 'events-admin-list');
    await page.goto(`${base}/new`);
    await checkA11y(page, 'new event form');
    await screenshot(page, 'events-admin-new');

    // Typing in the description updates the preview without a page load.
    await page.goto(`${base}/${e.id}/edit`);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    await page.locator('summary', { hasText: 'Preview of the description' }).click();
    await page.fill('#f-description_md', '## Live heading\n\nSome *text*.');
    await page.locator('#description-preview h2', { hasText: 'Live heading' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    await checkA11y(page, 'edit form');
    await screenshot(page, 'events-admin-edit');

    await page.goto(`${base}/${e.id}`);
    await checkA11y(page, 'event overview');
    await screenshot(page, 'events-admin-overview');
    await page.goto(`${base}/${e.id}/share-links`);
    await checkA11y(page, 'share links');
    await screenshot(page, 'events-admin-share-links');

    await page.goto(`${base}/${e.id}/form`);
    await checkA11y(page, 'form builder');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 7));
    const order = () => page.locator('#field-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-field')));
    expect(await order()).toEqual(['email', 'name']);
    await page.getByRole('button', { name: 'Move Name up' }).click();
    await page.locator('#field-list .flash.ok', { hasText: 'Field moved.' }).waitFor();
    expect(await order()).toEqual(['name', 'email']);
    page.once('dialog', (d) => void d.accept());
    await page.locator('tr[data-field="name"] button', { hasText: 'Remove' }).click();
    await page.locator('#field-list .flash.ok', { hasText: 'Field removed.' }).waitFor();
    expect(await order()).toEqual(['email']);
    // Still the same document: no full reload happened.
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
    expect(s.ctx.events.fields(e).map((f) => f.key)).toEqual(['email']);
    await screenshot(page, 'events-admin-form-builder');
    expect(pageProblems(page)).toEqual([]);
  });
});
