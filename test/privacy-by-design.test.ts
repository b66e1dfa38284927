import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

const sys = { actor: { type: 'system' as const } };
const browserHeaders = { 'sec-fetch-site': 'same-origin' };

/**
 * The existing product's privacy fixes (issue 21): registration does not tell who registered,
 * consent is the attendee's alone, sensitive answers are revealed by POST with a reason (see
 * attendees.test.ts), and each event has a generated notice kept with every registration.
 */
describe('privacy by design', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let org: OrgRow;
  let owner: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url });
    owner = await createUser(s, { email: testEmail('pbd-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('pbd'));
    viewer = await createUser(s, { email: testEmail('pbd-viewer'), totp: true });
    addMember(s, org, viewer.user, 'viewer');
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  const anon = () => new Client(s.url, browserHeaders);
  const regs = (eventId: string) => s.ctx.db.prepare('SELECT * FROM registrations WHERE event_id = ?').all(eventId) as { id: string; email: string; answers: string; notice_id: string | null }[];
  const auditOf = (action: string) => s.ctx.db.prepare('SELECT * FROM audit_log WHERE org_id = ? AND action = ? ORDER BY seq').all(org.id, action) as { target_id: string; actor_id: string | null; details: string }[];

  it('by default, registering a new address and an already registered one give the same page and status; the ticket travels by email', async () => {
    const e = createEvent(s, org, { show_ticket: false, title: 'Quiet Meetup' });
    const who = testEmail('pbd-known');
    const first = await anon().post(`/e/${e.slug}/register`, { email: who, name: `Kim ${PERSON_SURNAME}` });
    const again = await anon().post(`/e/${e.slug}/register`, { email: who.toUpperCase(), name: 'Someone Else' });
    const fresh = await anon().post(`/e/${e.slug}/register`, { email: testEmail('pbd-fresh'), name: 'F' });
    for (const r of [first, again, fresh]) {
      expect(r.status).toBe(201);
      expect(r.text).toContain('Thanks — we have sent your ticket to this address');
      expect(r.text).not.toContain('data-testid="attendee-code"');
      expect(r.text).not.toContain('/r/');
    }
    // Byte for byte: nothing on the page tells a new address from a known one.
    expect(again.text).toBe(fresh.text);
    expect(first.text).toBe(fresh.text);
    expect(regs(e.id)).toHaveLength(2);

    const ticket = await sink.waitFor((m) => m.to.includes(who) && m.subject === 'Your ticket: Quiet Meetup');
    const code = /Your attendee code: ([A-Z0-9]{8})/.exec(ticket.text)?.[1];
    expect(code).toBeDefined();
    // The second attempt mailed the owner of the address their link, not a second ticket.
    const dup = await sink.waitFor((m) => m.to.includes(who) && m.subject === 'You are already registered: Quiet Meetup');
    expect(dup.text).toMatch(/\/r\/[A-Za-z0-9._~-]{16,}/);
    expect(dup.text).toContain(`Kim ${PERSON_SURNAME}`);
    const dupAudit = auditOf('registration.duplicate');
    expect(dupAudit.map((a) => a.target_id)).toEqual([regs(e.id).find((r) => r.email === who)!.id]);
    expect(dupAudit[0]!.details).not.toContain(who);
  });

  it('an event that shows the ticket on the page answers as before, and its setting says what that reveals', async () => {
    const e = createEvent(s, org, { show_ticket: true });
    const who = testEmail('pbd-shown');
    const first = await anon().post(`/e/${e.slug}/register`, { email: who, name: 'S' });
    expect(first.status).toBe(201);
    expect(first.text).toMatch(/data-testid="attendee-code">[A-Z0-9]{8}</);
    const again = await anon().post(`/e/${e.slug}/register`, { email: who, name: 'S' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already registered');

    const c = await signedInClient(s, owner.user);
    const edit = await c.get(`/orgs/${org.slug}/events/${e.id}/edit`);
    expect(edit.text).toContain('Show the ticket on the confirmation page');
    expect(edit.text).toContain('reveals whether an address is already registered');
    // A new event starts discreet.
    const fresh = await c.get(`/orgs/${org.slug}/events/new`);
    expect(fresh.text).toMatch(/<input[^>]*name="show_ticket"(?![^>]*checked)[^>]*>/);
  });

  it('consent is the attendee’s: staff edits never grant or remove it; staff withdraw it only on request, recorded with who and when', async () => {
    const e = createEvent(s, org);
    const add = s.ctx.events.addField(e, { type: 'consent', label: 'Photos', help: '', required: false, options: [], personal: true, sensitive: false, purpose: 'Event photos', consent_text: 'I agree to be photographed.' }, sys);
    if (!add.ok) throw new Error(add.message);
    const key = add.field.key;
    const withConsent = await s.ctx.registrations.register(s.ctx.events.eventById(org.id, e.id)!, { email: testEmail('pbd-consent-yes'), name: 'Y', [key]: 'on' }, sys);
    const without = await s.ctx.registrations.register(s.ctx.events.eventById(org.id, e.id)!, { email: testEmail('pbd-consent-no'), name: 'N' }, sys);
    if (!withConsent.ok || !without.ok) throw new Error('register');
    const answers = (id: string) => JSON.parse((s.ctx.db.prepare('SELECT answers FROM registrations WHERE id = ?').get(id) as { answers: string }).answers) as Record<string, unknown>;
    const given = answers(withConsent.reg.id)[key];
    expect(given).toMatchObject({ accepted: true, text: 'I agree to be photographed.' });

    const c = await signedInClient(s, owner.user);
    const base = `/orgs/${org.slug}/events/${e.id}/attendees`;
    // The edit form has no consent box to tick.
    const page = await c.get(`${base}/${without.reg.id}`);
    expect(page.text).not.toContain(`name="${key}"`);
    expect(page.text).toContain('Consent is the attendee');
    // A crafted edit that ticks it grants nothing; one that leaves it out removes nothing.
    expect((await c.post(`${base}/${without.reg.id}`, { email: without.reg.email, name: 'N2', [key]: 'on' })).status).toBe(303);
    expect(answers(without.reg.id)[key]).toBeUndefined();
    expect((await c.post(`${base}/${withConsent.reg.id}`, { email: withConsent.reg.email, name: 'Y2' })).status).toBe(303);
    expect(answers(withConsent.reg.id)[key]).toEqual(given);

    // A viewer cannot withdraw; a consent that was never given cannot be withdrawn.
    expect((await (await signedInClient(s, viewer.user)).post(`${base}/${withConsent.reg.id}/withdraw-consent`, { field: key })).status).toBe(403);
    expect((await c.post(`${base}/${without.reg.id}/withdraw-consent`, { field: key })).status).toBe(409);
    const w = await c.post(`${base}/${withConsent.reg.id}/withdraw-consent`, { field: key });
    expect(w.status).toBe(303);
    expect(answers(withConsent.reg.id)[key]).toMatchObject({ accepted: false, text: 'I agree to be photographed.', withdrawn_by: 'staff', staff_id: owner.user.id });
    expect((await c.follow(w.location!)).text).toContain('by staff at the attendee&#39;s request');
    expect(auditOf('registration.consent_withdrawn').map((a) => [a.target_id, a.actor_id])).toEqual([[withConsent.reg.id, owner.user.id]]);
    // Withdrawn once: nothing left to withdraw.
    expect((await c.post(`${base}/${withConsent.reg.id}/withdraw-consent`, { field: key })).status).toBe(409);
  });

  it('the public form shows a notice generated from the form, and each registration keeps the version it was shown', async () => {
    const e = createEvent(s, org, { privacy_notice: 'We also share your name with the venue.', controller_contact: 'Quiet Org, Main Street 2' });
    const add = s.ctx.events.addField(e, { type: 'long_text', label: 'Dietary needs', help: '', required: false, options: [], personal: true, sensitive: true, purpose: 'Catering on the day', consent_text: '' }, sys);
    if (!add.ok) throw new Error(add.message);
    const page = await anon().get(`/e/${e.slug}`);
    const notice = /<details class="privacy-notice"[\s\S]*?<\/details>/.exec(page.text)?.[0] ?? '';
    expect(notice).toContain('Dietary needs');
    expect(notice).toContain('sensitive');
    expect(notice).toContain('Catering on the day');
    expect(notice).toContain('Sending the ticket and event updates');
    expect(notice).toContain('Quiet Org, Main Street 2');
    expect(notice).toContain('We also share your name with the venue.');
    expect(notice).toContain(`/o/${org.slug}/privacy`);

    expect((await anon().post(`/e/${e.slug}/register`, { email: testEmail('pbd-notice-1'), name: 'A' })).status).toBe(201);
    // The organizer empties their text: the generated facts stay, and the new version is kept apart.
    const current = s.ctx.events.eventById(org.id, e.id)!;
    expect(s.ctx.events.update(org, current, { ...current, waitlist_enabled: false, double_opt_in: false, show_ticket: true, privacy_notice: '' }, sys).ok).toBe(true);
    const after = await anon().get(`/e/${e.slug}`);
    expect(after.text).toContain('Catering on the day');
    expect(after.text).not.toContain('We also share your name with the venue.');
    expect((await anon().post(`/e/${e.slug}/register`, { email: testEmail('pbd-notice-2'), name: 'B' })).status).toBe(201);

    const [r1, r2] = regs(e.id).sort((a, b) => a.email.localeCompare(b.email));
    expect(r1!.notice_id).not.toBe(r2!.notice_id);
    const shown1 = s.ctx.notices.shown(org.id, r1!.notice_id)!;
    const shown2 = s.ctx.notices.shown(org.id, r2!.notice_id)!;
    expect(shown1.organizerText).toBe('We also share your name with the venue.');
    expect(shown2.organizerText).toBe('');
    expect(shown2.fields.map((f) => [f.label, f.sensitive, f.purpose])).toContainEqual(['Dietary needs', true, 'Catering on the day']);
    // Another organization cannot read this organization's notice versions.
    expect(s.ctx.notices.shown('another-org', r1!.notice_id)).toBeUndefined();
  });
});
