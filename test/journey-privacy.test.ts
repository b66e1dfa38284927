import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { Clock, type TestUser, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/**
 * The privacy journey in a real browser (issue 21): an attendee registers, asks for their data
 * through the emailed link, sees that staff opened their record, erases it and gets the
 * receipt; the organizer sees the erasure request closed. Screenshots at 390 and 1280 px.
 */
describe('privacy journey (Chromium)', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let org: OrgRow;
  let owner: TestUser;
  let e: EventRow;
  const clock = new Clock();
  const attendee = { name: `Ines ${PERSON_SURNAME}`, email: testEmail('privacy-journey-attendee') };

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    browser = await launchBrowser();
    owner = await createUser(s, { email: testEmail('privacy-journey-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('pj'), 'Journey Privacy');
    e = createEvent(s, org, { title: 'Quiet Harbour Talk', show_ticket: false });
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await sink?.close();
  });

  async function check(page: Page, name: string) {
    await screenshot(page, `privacy-journey-${name}`);
    await checkA11y(page, name);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    expect(overflow, `${name} overflows`).toBe(false);
  }

  /**
   * The organizer's browser gets a signed-in session's cookies (sign-in itself has its own
   * journey in journey-identity.test.ts): one argon2 verification less on a loaded machine.
   */
  async function signIn(page: Page, u: TestUser) {
    const { token } = s.ctx.sessions.create(u.user.id, { mfaPending: false, ip: '127.0.0.1', userAgent: 'test', reauth: true });
    await page.context().addCookies([{ name: '__Host-tessera_session', value: token, domain: '127.0.0.1', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' }]);
    await page.goto('/orgs');
  }

  it('registers, opens the data page by email, sees who read it, erases, gets the receipt; the organizer sees the request closed', { timeout: 420_000 }, async () => {
    // 1. The attendee registers on a phone; the page does not show the ticket.
    const visitor = await newPage(browser, s.url);
    await visitor.setViewportSize({ width: 390, height: 844 });
    await visitor.goto(`/e/${e.slug}`);
    await visitor.getByLabel('Email address').fill(attendee.email);
    await visitor.getByLabel(/^Name/).fill(attendee.name);
    await visitor.getByText('How we handle your data').click();
    await check(visitor, '01-form-with-notice');
    await visitor.getByRole('button', { name: 'Register' }).click();
    await visitor.getByRole('heading', { name: 'Thank you' }).waitFor();
    await sink.waitFor((m) => m.to.includes(attendee.email) && m.subject.startsWith('Your ticket'), 30_000);

    // 2. The organizer opens the attendee's record.
    const organizer = await newPage(browser, s.url);
    await signIn(organizer, owner);
    const reg = s.ctx.attendees.ofPerson(org.id, attendee.email)[0]!;
    await organizer.goto(`/orgs/${org.slug}/events/${e.id}/attendees/${reg.id}`);
    await organizer.getByRole('heading', { name: attendee.name }).waitFor();

    // 3. The attendee asks for their data from the notice's link, and opens the emailed link.
    await visitor.goto(`/e/${e.slug}`);
    await visitor.getByText('How we handle your data').click();
    await visitor.getByRole('link', { name: 'your privacy page' }).click();
    await visitor.waitForURL(`**/o/${org.slug}/privacy`);
    await check(visitor, '02-ask-for-link');
    await visitor.getByLabel('Email address').fill(attendee.email);
    await visitor.getByRole('button', { name: 'Email me a link' }).click();
    await visitor.getByText('we have emailed it a link').waitFor();
    const mail = await sink.waitFor((m) => m.to.includes(attendee.email) && m.subject.startsWith('Your data at'), 30_000);
    const link = /http\S+\/privacy\/open\?token=[A-Za-z0-9_-]{43}/.exec(mail.text)![0];
    await visitor.goto(link.replace(/^https?:\/\/[^/]+/, ''));
    await visitor.waitForURL('**/privacy/open');
    expect(visitor.url()).not.toContain('token=');
    await visitor.getByRole('button', { name: 'Show my data' }).click();
    await visitor.waitForURL('**/privacy/me');
    const reads = visitor.getByTestId('reads');
    await reads.waitFor();
    expect(await reads.textContent()).toContain('opened your registration');
    expect(await reads.textContent()).toContain('owner');
    await check(visitor, '03-my-data-390');
    await visitor.setViewportSize({ width: 1280, height: 900 });
    await check(visitor, '04-my-data-1280');

    // 4. Erasure, the receipt page and the receipt mail.
    await visitor.getByLabel('I understand this cannot be undone').check();
    await visitor.getByRole('button', { name: 'Erase my data' }).click();
    await visitor.getByRole('heading', { name: 'Your data was erased' }).waitFor();
    await check(visitor, '05-erased');
    const receipt = await sink.waitFor((m) => m.to.includes(attendee.email) && m.subject.includes('was erased'), 30_000);
    expect(receipt.text).toContain('1 registration(s)');
    expect(s.ctx.attendees.ofPerson(org.id, attendee.email)).toEqual([]);
    expect(pageProblems(visitor)).toEqual([]);

    // 5. The organizer sees the erasure request closed, with its receipt.
    await organizer.goto(`/orgs/${org.slug}/privacy/requests`);
    const row = organizer.locator('[data-testid="requests"] tbody tr').filter({ hasText: 'Erasure' });
    await row.waitFor();
    expect(await row.textContent()).toContain('completed');
    await check(organizer, '06-requests');
    await row.getByRole('link').click();
    await organizer.getByRole('heading', { name: 'Erasure request' }).waitFor();
    expect(await organizer.getByTestId('request-status').textContent()).toContain('completed');
    await check(organizer, '07-request-detail');
    await organizer.goto(`/orgs/${org.slug}/security`);
    await organizer.getByRole('heading', { name: 'Security' }).waitFor();
    await check(organizer, '08-security');
    expect(pageProblems(organizer)).toEqual([]);
  });
});
