import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accentPalette } from '../src/orgs/accent.ts';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/**
 * An organization's public pages with its colour and logo, in a real browser, at a phone's and a
 * laptop's width, in the light and the dark scheme: the logo loads, buttons and links take the
 * colour the palette promises in each scheme, axe finds no serious or critical problem (its
 * contrast rule included), nothing overflows, no console error or CSP violation. A pale yellow is
 * the hard case: white text would fail on it. Screenshots: test-artifacts/screenshots/brand-*.png.
 */
const ACCENT = '#ffd400';
const sys = { actor: { type: 'system' as const } };
const hexOf = (rgb: string) => `#${(rgb.match(/\d+/g) ?? []).slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;

let s: TestServer;
let browser: Browser;
let org: OrgRow;
let e: EventRow;

beforeAll(async () => {
  s = await startTestServer();
  browser = await launchBrowser();
  const owner = await createUser(s, { email: testEmail('brand-browser-owner') });
  org = createOrg(s, owner.user, uniqueSlug('brand-ui'), 'Harbour Events Club');
  s.ctx.branding.setAccent(org, ACCENT, sys);
  const saved = s.ctx.branding.setLogo(org, fs.readFileSync(new URL('./fixtures/logos/logo.png', import.meta.url)), sys);
  if (!saved.ok) throw new Error(saved.message);
  e = createEvent(s, org, { title: 'Harbour Night', capacity: 50 });
});
afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function check(page: Page, name: string, failures: string[]): Promise<void> {
  const before = pageProblems(page).length;
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) failures.push(`${name}: ${overflow} px wider than the viewport`);
  const logo = await page.locator('header.site .org-brand img').evaluate((img: HTMLImageElement) => ({ loaded: img.complete && img.naturalWidth, alt: img.alt }));
  if (logo.loaded !== 240) failures.push(`${name}: the logo did not load (${JSON.stringify(logo)})`);
  await screenshot(page, `brand-${name}`);
  try {
    await checkA11y(page, name);
  } catch (err) {
    failures.push(String(err instanceof Error ? err.message : err));
  }
  failures.push(...pageProblems(page).slice(before).filter((p) => !p.includes('status of 404')).map((p) => `${name}: ${p}`));
}

describe('branded public pages in a browser', () => {
  for (const scheme of ['light', 'dark'] as const) {
    for (const width of [390, 1280] as const) {
      it(`${scheme} scheme, ${width} px: logo, colours, axe, no overflow, no console error or CSP violation`, async () => {
        const page = await newPage(browser, s.url);
        await page.emulateMedia({ colorScheme: scheme });
        await page.setViewportSize({ width, height: 800 });
        const failures: string[] = [];
        const palette = accentPalette(ACCENT);

        expect((await page.goto(`/e/${e.slug}`))?.status()).toBe(200);
        await check(page, `event-${scheme}-${width}`, failures);
        const button = page.getByRole('button', { name: 'Register' });
        const colours = await button.evaluate((b) => ({ bg: getComputedStyle(b).backgroundColor, fg: getComputedStyle(b).color }));
        expect(hexOf(colours.bg)).toBe(palette.accent);
        expect(hexOf(colours.fg)).toBe(palette.onAccent);
        const link = await page.getByRole('link', { name: 'Add to calendar (.ics)' }).evaluate((a) => getComputedStyle(a).color);
        expect(hexOf(link)).toBe(scheme === 'light' ? palette.linkLight : palette.linkDark);

        await page.getByLabel('Email').fill(testEmail(`brand-ui-${scheme}-${width}`));
        await page.getByLabel('Name').fill('Robin Guest');
        await button.click();
        await page.getByText('You are registered').waitFor();
        await check(page, `confirmation-${scheme}-${width}`, failures);

        for (const [name, url, status] of [
          ['org', `/o/${org.slug}`, 200],
          ['privacy', `/o/${org.slug}/privacy`, 200],
          ['queue-gone', `/e/${e.slug}/queue`, 404],
        ] as const) {
          expect((await page.goto(url))?.status(), name).toBe(status);
          await check(page, `${name}-${scheme}-${width}`, failures);
        }
        expect(failures).toEqual([]);
        await page.context().close();
      }, 300_000);
    }
  }

  it('works without JavaScript: register, see the logo on the confirmation, change the answers on the manage page, ask for a data link', async () => {
    const context = await browser.newContext({ baseURL: s.url, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`/e/${e.slug}`);
    await page.getByLabel('Email').fill(testEmail('brand-ui-nojs'));
    await page.getByLabel('Name').fill('Sam NoScript');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByText('You are registered').waitFor();
    expect(await page.locator('header.site .org-brand img').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(240);
    expect(await page.locator('link[rel=stylesheet][href*="brand.css"]').count()).toBe(1);
    // The manage page: open "Change my answers" (a details element) and save, still without script.
    await page.getByRole('link', { name: 'Manage my registration' }).click();
    await page.getByRole('heading', { name: 'Your registration' }).waitFor();
    await page.locator('summary', { hasText: 'Change my answers' }).click();
    await page.getByLabel('Name').fill('Sam Renamed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Your changes are saved.').waitFor();
    expect(await page.locator('header.site .org-brand img').count()).toBe(1);
    // The "your data" request form.
    await page.goto(`/o/${org.slug}/privacy`);
    await page.getByLabel('Email address').fill(testEmail('brand-ui-nojs'));
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await page.getByText('If Harbour Events Club holds data about this address').waitFor();
    await context.close();
  }, 120_000);
});
