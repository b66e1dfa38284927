import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { totpCodeAt } from '../src/auth/totp.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { Clock, type TestUser, addMember, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/**
 * The events journey in a real browser: the organizer builds a form with a sensitive field and
 * publishes a passcode event → an attendee enters the passcode and registers → the ticket email
 * (code, QR, .ics) arrives → check-in staff check people in on a phone-sized screen, by typed code
 * and by scanned ticket → the organizer exports CSV (no sensitive field by default) and sees the
 * sensitive answer masked in the list.
 */
describe('events journey (Chromium)', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  let org: OrgRow;
  let owner: TestUser;
  let staff: TestUser;
  const clock = new Clock();
  const passcode = 'harbour-lights-2026';
  const slug = uniqueSlug('journey-ev');
  const attendee = { name: `Ada ${PERSON_SURNAME}`, email: testEmail('events-journey-attendee'), company: 'Lighthouse Works', dietary: 'Severe nut allergy' };

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    browser = await launchBrowser();
    owner = await createUser(s, { email: testEmail('events-journey-owner'), totp: true });
    staff = await createUser(s, { email: testEmail('events-journey-staff'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('journey-org'), 'Journey Events');
    addMember(s, org, staff.user, 'checkin');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await sink?.close();
  });

  async function check(page: Page, name: string) {
    await screenshot(page, `events-journey-${name}`);
    await checkA11y(page, name);
  }

  /** Password, then a TOTP code from a fresh step (each step is accepted once), through the pages. */
  async function signIn(page: Page, u: TestUser) {
    await page.goto('/login');
    await page.getByLabel('Email address').fill(u.user.email);
    await page.getByLabel('Password').fill(u.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/login/2fa');
    clock.advance(30_000);
    await page.getByLabel('Code').fill(totpCodeAt(u.totpSecret!, clock.now()));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL('**/orgs');
  }

  /** `YYYY-MM-DDTHH:MM` for a datetime-local input, `days` after the test clock's today. */
  const localDay = (days: number, time: string) => `${new Date(clock.now() + days * 86_400_000).toISOString().slice(0, 10)}T${time}`;

  // A hang guard only: the whole journey is many page loads, and a shared 2-core machine under
  // load runs them ten times slower than a quiet one.
  it('runs end to end', { timeout: 600_000 }, async () => {
    // 1. The organizer creates a passcode event, builds its form and publishes it.
    const organizer = await newPage(browser, s.url);
    await signIn(organizer, owner);
    await organizer.goto(`/orgs/${org.slug}/events/new`);
    await check(organizer, '01-new-event');
    await organizer.getByLabel('Title').fill('Harbour Summit');
    await organizer.getByLabel('Address of the public page').fill(slug);
    await organizer.getByLabel('Starts').fill(localDay(30, '09:00'));
    await organizer.getByLabel('Ends').fill(localDay(30, '17:30'));
    await organizer.getByLabel('Time zone').selectOption('Europe/Zurich');
    await organizer.getByLabel('Venue (optional)').fill('Pier 4, Harbour Hall');
    await organizer.getByLabel('Who can see the event').selectOption('passcode');
    await organizer.getByRole('button', { name: 'Create event' }).click();
    await organizer.waitForURL(/\/events\/[0-9a-f-]{36}\?done=created/);
    const eventId = /\/events\/([0-9a-f-]{36})/.exec(organizer.url())![1]!;
    const base = `/orgs/${org.slug}/events/${eventId}`;
    await check(organizer, '02-event-created');

    const eventNav = organizer.getByRole('navigation', { name: 'Event', exact: true });
    await eventNav.getByRole('link', { name: 'Form', exact: true }).click();
    await organizer.waitForURL(`**${base}/form`);
    // A sensitive long-text field...
    await organizer.getByLabel('Type', { exact: true }).selectOption('long_text');
    await organizer.getByLabel(/^Label/).fill('Dietary or health needs');
    await organizer.getByLabel('Help text (optional)').fill('So the catering can plan safely.');
    await organizer.getByRole('checkbox', { name: 'Personal data' }).check();
    await organizer.getByRole('checkbox', { name: 'Sensitive' }).check();
    await organizer.getByLabel('Purpose (why you ask)').fill('Catering and first aid on the day');
    await check(organizer, '03-form-builder-sensitive');
    await organizer.getByRole('button', { name: 'Add field' }).click();
    await organizer.waitForURL('**/form?done=added');
    // ...and an ordinary one.
    await organizer.getByLabel('Type', { exact: true }).selectOption('short_text');
    await organizer.getByLabel(/^Label/).fill('Company');
    await organizer.getByRole('checkbox', { name: 'Personal data' }).uncheck();
    await organizer.getByRole('button', { name: 'Add field' }).click();
    await organizer.waitForURL('**/form?done=added');
    const rows = organizer.locator('#field-list tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-field')))).toEqual(['email', 'name', 'dietary_or_health_needs', 'company']);
    expect(await organizer.locator('tr[data-field="dietary_or_health_needs"] td').nth(5).textContent()).toBe('yes');
    await check(organizer, '04-form-builder-done');

    await eventNav.getByRole('link', { name: 'Overview' }).click();
    await organizer.waitForURL(`**${base}`);
    // The passcode is an access setting: the overview points to the Access page for it.
    await organizer.getByRole('link', { name: 'set it under Access' }).click();
    await organizer.waitForURL(`**${base}/share-links#passcode`);
    await organizer.getByLabel(/^Passcode/).fill(passcode);
    await organizer.getByRole('button', { name: 'Set passcode' }).click();
    await organizer.waitForURL('**?done=passcode-set*');
    await expect.poll(() => organizer.getByTestId('passcode-state').textContent()).toBe('set, no expiry');
    await organizer.getByRole('link', { name: 'Overview' }).click();
    await organizer.waitForURL(`**${base}`);
    await organizer.getByRole('button', { name: 'Publish' }).click();
    await organizer.waitForURL('**?done=published');
    await expect.poll(() => organizer.getByTestId('event-status').textContent()).toBe('Published');
    await check(organizer, '05-published');

    // 2. An attendee (own browser context, not signed in) gets in with the passcode and registers.
    const visitor = await newPage(browser, s.url);
    await visitor.goto(`/e/${slug}`);
    await expect.poll(() => visitor.getByRole('heading', { level: 1 }).textContent()).toBe('Harbour Summit');
    expect(await visitor.getByLabel('Dietary or health needs').count()).toBe(0); // nothing of the event before the passcode
    await check(visitor, '06-passcode-page');
    await visitor.getByLabel('Event passcode').fill('not-the-passcode');
    await visitor.getByRole('button', { name: 'Continue' }).click();
    await visitor.getByRole('alert').filter({ hasText: 'That passcode is not correct.' }).waitFor();
    await visitor.getByLabel('Event passcode').fill(passcode);
    await visitor.getByRole('button', { name: 'Continue' }).click();
    await visitor.getByRole('heading', { name: 'Registration' }).waitFor();
    await check(visitor, '07-event-page');
    await visitor.getByLabel('Email address').fill(attendee.email);
    await visitor.getByLabel(/^Name/).fill(attendee.name);
    await visitor.getByLabel('Dietary or health needs').fill(attendee.dietary);
    await visitor.getByLabel('Company').fill(attendee.company);
    await visitor.getByRole('button', { name: 'Register' }).click();
    // By default the page does not say whether the address was new: the ticket travels by email only.
    await visitor.getByRole('heading', { name: 'Thank you' }).waitFor();
    expect(await visitor.getByTestId('attendee-code').count()).toBe(0);
    await check(visitor, '08-confirmation');

    // 3. The ticket email: code in the text, the QR as a PNG and the calendar file attached.
    const mail = await sink.waitFor((m) => m.to.includes(attendee.email));
    expect(mail.subject.startsWith('Your ticket')).toBe(true);
    const code = /Your attendee code: ([A-Z0-9]{8})/.exec(mail.text)?.[1] ?? '';
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const png = mail.attachments.find((a) => a.filename === 'ticket.png');
    expect(png?.contentType).toBe('image/png');
    expect(png!.content.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    const ics = mail.attachments.find((a) => a.filename === 'event.ics');
    expect(ics?.content.toString('utf8')).toContain('BEGIN:VCALENDAR');
    expect(ics?.content.toString('utf8')).toContain('Harbour Summit');
    // The sensitive answer never travels by email.
    expect(mail.text).not.toContain(attendee.dietary);

    // 4. Check-in staff on a phone: a typed code, then a scanned ticket (keyboard wedge: text + Enter).
    const desk = await newPage(browser, s.url);
    await desk.setViewportSize({ width: 375, height: 740 });
    await signIn(desk, staff);
    await desk.goto(`${base}/checkin`);
    await check(desk, '09-checkin-empty');
    const search = desk.getByLabel('Attendee code, ticket or name');
    await expect.poll(() => desk.evaluate(() => document.activeElement?.id)).toBe('checkin-q');
    await desk.keyboard.type(code);
    await desk.keyboard.press('Enter');
    const card = desk.locator('#checkin-results .checkin-card').filter({ hasText: code });
    await card.waitFor();
    expect(await card.textContent()).toContain(attendee.name);
    expect(await card.textContent()).not.toContain(attendee.email); // the desk sees no contact data
    await check(desk, '10-checkin-found');
    await card.getByRole('button', { name: 'Check in', exact: true }).click();
    await desk.locator('#checkin-results .checkin-card.is-in').filter({ hasText: code }).waitFor();
    await expect.poll(() => desk.getByTestId('checked-in').textContent()).toBe('1');
    await check(desk, '11-checked-in');

    const e = s.ctx.events.get(org, eventId)!;
    const second = await s.ctx.registrations.register(e, { email: testEmail('events-journey-second'), name: `Ben ${PERSON_SURNAME}`, company: 'Dockside Ltd' }, systemContext());
    if (!second.ok) throw new Error(second.message);
    const ticket = s.ctx.links.link(second.reg, 'ticket');
    // After a check-in the search box has the focus with its text selected: the next scan replaces it.
    await expect.poll(() => desk.evaluate(() => document.activeElement?.id)).toBe('checkin-q');
    await desk.keyboard.type(ticket);
    expect(await search.inputValue()).toBe(ticket);
    await desk.keyboard.press('Enter');
    const card2 = desk.locator('#checkin-results .checkin-card').filter({ hasText: second.reg.attendee_code });
    await card2.waitFor();
    await card2.getByRole('button', { name: 'Check in', exact: true }).click();
    await desk.locator('#checkin-results .checkin-card.is-in').filter({ hasText: second.reg.attendee_code }).waitFor();
    await expect.poll(() => desk.getByTestId('checked-in').textContent()).toBe('2');
    await check(desk, '12-ticket-checked-in');

    // 5. The organizer exports CSV with the default choices: no sensitive column, no sensitive value.
    await organizer.goto(`${base}/attendees`);
    await check(organizer, '13-attendees');
    const [download] = await Promise.all([organizer.waitForEvent('download'), organizer.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^attendees-${slug}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    expect(header).toContain('Company');
    expect(header).not.toContain('Dietary');
    expect(csv).not.toContain(attendee.dietary);
    const line = lines.find((l) => l.includes(code));
    expect(line).toBeDefined();
    for (const v of [attendee.name, attendee.email, attendee.company]) expect(line).toContain(v);
    expect(lines).toHaveLength(2);

    // The list masks the sensitive answer.
    const row = organizer.locator('#attendee-results tbody tr').filter({ hasText: code });
    expect(await row.locator('td.masked').textContent()).toBe('•••');
    expect(await organizer.locator('#attendee-results').textContent()).not.toContain(attendee.dietary);
    expect(await row.textContent()).toContain(attendee.company);

    // 6. The audit trail saw it all.
    const audit = (action: string) => s.ctx.db.prepare('SELECT result, details FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { result: string; details: string }[];
    const exported = audit('attendee.exported');
    expect(exported).toHaveLength(1);
    expect(JSON.parse(exported[0]!.details)).toMatchObject({ format: 'csv', sensitive: false, rows: 2 });
    expect(JSON.parse(exported[0]!.details).fields).not.toContain('dietary_or_health_needs');
    expect(audit('checkin.done').map((r) => r.result)).toEqual(['success', 'success']);
    expect(audit('event.passcode_used').map((r) => r.result)).toEqual(['failure', 'success']);

    for (const page of [organizer, visitor, desk]) expect(pageProblems(page).filter((p) => !p.includes('status of 4'))).toEqual([]);
  });
});
