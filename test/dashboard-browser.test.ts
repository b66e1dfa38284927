import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { Clock, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };
const DAY = 86_400_000;
const widths = [390, 1280] as const;
/** A hang guard only: each test is several page loads with axe at two widths, on a shared 2-core machine. */
const HANG_GUARD = { timeout: 300_000 };

/** The dashboard and the event overview in Chromium, with a realistic amount of data: axe, both widths, no overflow, copying the link. */
describe('dashboard and event overview in Chromium', () => {
  let s: TestServer;
  let browser: Browser;
  let org: OrgRow;
  let fresh: OrgRow;
  let page: Page;
  let summit: EventRow;
  const clock = new Clock();

  beforeAll(async () => {
    s = await startTestServer({}, { now: clock.now });
    browser = await launchBrowser();
    const owner = await createUser(s, { email: testEmail('dashb-owner') });
    org = createOrg(s, owner.user, uniqueSlug('dashb'), 'Harbour Events');
    fresh = createOrg(s, owner.user, uniqueSlug('dashb-new'), 'Brand New Club');
    const now = clock.t;
    // Three events: one filling up over three weeks, one full with a waiting list, one draft.
    clock.t = now - 21 * DAY;
    summit = createEvent(s, org, { title: 'Harbour Summit 2027', capacity: 120, waitlist_enabled: true, timezone: 'Europe/Zurich' });
    for (let d = 20; d >= 0; d--) {
      const n = Math.round(3 + 4 * Math.sin(d / 3) + (20 - d) / 4);
      for (let i = 0; i < n; i++) {
        clock.t = now - d * DAY - i * 600_000;
        const r = await s.ctx.registrations.register(s.ctx.events.get(org, summit.id)!, { email: testEmail(`dashb-${d}-${i}`), name: `Guest ${d}-${i}` }, sys);
        if (!r.ok) throw new Error(r.message);
        if (d > 15 && i === 0) s.ctx.attendees.checkIn(summit, r.reg.id, false, sys);
      }
    }
    clock.t = now - 5 * DAY;
    const gala = createEvent(s, org, { title: 'Lighthouse Gala', capacity: 2, waitlist_enabled: true, registration_closes_at: new Date(now + 2 * DAY).toISOString() });
    for (let i = 0; i < 4; i++) {
      clock.t = now - (4 - i) * DAY;
      await s.ctx.registrations.register(s.ctx.events.get(org, gala.id)!, { email: testEmail(`gala-${i}`), name: `Gala ${i}` }, sys);
    }
    clock.t = now;
    createEvent(s, org, { title: 'Winter Workshop (draft)', publish: false, starts_at: new Date(now + 4 * DAY).toISOString(), ends_at: new Date(now + 4 * DAY + 7200_000).toISOString() });
    s.ctx.orgs.invite(org, owner.user, 'owner', { email: testEmail('dashb-invitee'), role: 'organizer' }, sys);

    page = await newPage(browser, s.url);
    // A hang guard for a loaded shared machine, not a speed claim.
    page.setDefaultTimeout(120_000);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(s.url).origin });
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

  /**
   * Nothing of these pages' own content sticks out at this width (listed for the message); wide
   * tables scroll inside their own container. The navigation bars are the app shell's, whose
   * page-by-page test checks the whole page width.
   */
  const overflow = () =>
    page.evaluate(() => {
      const scrolls = (el: Element | null): boolean => !!el && el !== document.body && (getComputedStyle(el).overflowX !== 'visible' || scrolls(el.parentElement));
      return [...document.querySelectorAll('main *')]
        .filter((el) => !el.closest('nav') && !scrolls(el.parentElement) && el.getBoundingClientRect().right > window.innerWidth + 1)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)
        .slice(0, 12);
    });

  it('shows the dashboard at phone and desktop width without overflow or axe violations', HANG_GUARD, async () => {
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`/orgs/${org.slug}`);
      await page.getByRole('heading', { name: 'Coming up' }).waitFor();
      await checkA11y(page, `dashboard at ${width}px`);
      expect(await overflow(), `dashboard overflows at ${width}px`).toEqual([]);
      await screenshot(page, `dashboard-${width}`);
    }
    // The sparkline's numbers open as a table.
    const row = page.locator(`tr[data-event="${summit.id}"]`);
    await row.locator('summary', { hasText: 'Numbers' }).click();
    await expect.poll(() => row.locator('.chart-numbers tbody tr').count()).toBe(14);
    // A new organization's first-steps page, on a phone.
    await page.setViewportSize({ width: 390, height: 900 });
    await page.goto(`/orgs/${fresh.slug}`);
    // A link styled as a button (role=button): the one call to action on the page.
    await page.getByRole('button', { name: 'Create your first event' }).waitFor();
    await checkA11y(page, 'first steps');
    expect(await overflow()).toEqual([]);
    await screenshot(page, 'dashboard-first-steps-390');
    expect(pageProblems(page)).toEqual([]);
  });

  it('shows the event overview with its charts at both widths, copies the public link, and passes axe', HANG_GUARD, async () => {
    const url = `/orgs/${org.slug}/events/${summit.id}`;
    for (const width of widths) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(url);
      await page.getByRole('heading', { name: 'Registrations per day' }).waitFor();
      await checkA11y(page, `event overview at ${width}px`);
      expect(await overflow(), `overview overflows at ${width}px`).toEqual([]);
      await screenshot(page, `event-overview-${width}`);
    }
    // With script the copy button appears and puts the link on the clipboard.
    const copy = page.getByRole('button', { name: 'Copy link' });
    await copy.click();
    await expect.poll(() => page.locator('.copy-status').textContent()).toBe('Link copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${s.ctx.baseUrl()}/e/${summit.slug}`);
    await expect.poll(() => page.getByRole('button', { name: 'Print the QR code' }).isVisible()).toBe(true);
    // The chart's numbers as a table.
    await page.locator('.chart-figure summary').click();
    await expect.poll(() => page.locator('.chart-figure tbody tr').count()).toBe(22);
    // Print: only the title and the QR code with its address.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.qr-print').isVisible()).toBe(true);
    expect(await page.locator('.figures').isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    expect(pageProblems(page)).toEqual([]);
  });

  it('keeps the passcode on the Access page and deleting in the danger zone of Settings; a passcode draft goes there and back to publish', HANG_GUARD, async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    const base = `/orgs/${org.slug}/events/${summit.id}`;
    await page.goto(`${base}/share-links`);
    await page.getByRole('heading', { name: 'Event passcode' }).waitFor();
    await checkA11y(page, 'access page');
    await screenshot(page, 'event-access-1280');
    await page.goto(`${base}/edit`);
    await page.getByRole('heading', { name: /Danger zone/ }).waitFor();
    await checkA11y(page, 'settings with danger zone');

    // A passcode draft: the overview sends the organizer to Access for the passcode, then back to publish.
    const locked = createEvent(s, org, { title: 'Members Only Night', access_mode: 'passcode', publish: false });
    const lockedBase = `/orgs/${org.slug}/events/${locked.id}`;
    await page.goto(lockedBase);
    await page.getByRole('link', { name: 'set it under Access' }).click();
    await page.waitForURL(`**${lockedBase}/share-links#passcode`);
    await page.getByLabel(/^Passcode/).fill('lantern-passcode');
    await page.getByRole('button', { name: 'Set passcode' }).click();
    await page.waitForURL('**?done=passcode-set*');
    await expect.poll(() => page.getByTestId('passcode-state').textContent()).toBe('set, no expiry');
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(`**${lockedBase}`);
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL('**?done=published');
    await expect.poll(() => page.getByTestId('event-status').textContent()).toBe('Published');
    expect(pageProblems(page)).toEqual([]);
  });
});
