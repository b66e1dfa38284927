import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgPrivacyDefaults, OrgRow } from '../src/orgs/repo.ts';
import type { Client } from './support/client.ts';
import { type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const roles = ['owner', 'admin', 'organizer', 'viewer'] as const;
type Role = (typeof roles)[number];

/** The new-event form as a browser sends it after the page prefilled it. */
const eventForm = (d: OrgPrivacyDefaults, over: Record<string, string> = {}): Record<string, string> => ({
  title: 'Spring Meetup',
  slug: `pd-${randomBytes(4).toString('hex')}`,
  description_md: '',
  starts_at: '2026-04-10T18:00',
  ends_at: '2026-04-10T21:00',
  timezone: 'Europe/Berlin',
  venue: 'Room 1',
  online_url: '',
  capacity: '',
  registration_opens_at: '',
  registration_closes_at: '',
  duplicate_policy: 'reject',
  access_mode: 'public',
  intent: 'save',
  ...d,
  ...over,
});

describe('organization defaults for the privacy fields of new events', () => {
  let s: TestServer;
  let org: OrgRow;
  const people = {} as Record<Role, TestUser>;
  const clients = {} as Record<Role, Client>;

  beforeAll(async () => {
    s = await startTestServer();
    for (const role of roles) people[role] = await createUser(s, { email: testEmail(`pd-${role}-${randomBytes(2).toString('hex')}`, 'a') });
    org = createOrg(s, people.owner.user, uniqueSlug('pd'));
    for (const role of ['admin', 'organizer', 'viewer'] as const) addMember(s, org, people[role].user, role);
    for (const role of roles) clients[role] = await signedInClient(s, people[role].user);
  });
  afterAll(() => s?.close());

  const settings = () => `/orgs/${org.slug}/settings`;
  const stored = (): OrgPrivacyDefaults => {
    const o = s.ctx.orgs.bySlug(org.slug)!;
    return { organizer_contact: o.organizer_contact, privacy_notice: o.privacy_notice, controller_contact: o.controller_contact };
  };
  const auditRows = () => s.ctx.audit.recentForOrg(org.id, 2000).filter((r) => r.action === 'org.privacy_defaults_changed');
  const eventRow = (id: string) => s.ctx.db.prepare('SELECT * FROM events WHERE id = ?').get(id) as EventRow;

  it('starts empty, and only roles with org.settings may change the defaults', async () => {
    expect(stored()).toEqual({ organizer_contact: '', privacy_notice: '', controller_contact: '' });
    const attempt = { organizer_contact: 'hijack@example.test', privacy_notice: 'Changed by the wrong person.', controller_contact: 'Nobody' };
    for (const role of ['viewer', 'organizer'] as const) {
      const c = clients[role];
      await c.get(`/orgs/${org.slug}`);
      expect((await c.get(settings())).status, role).toBe(403);
      expect((await c.post(`${settings()}/privacy`, attempt)).status, role).toBe(403);
    }
    expect(stored()).toEqual({ organizer_contact: '', privacy_notice: '', controller_contact: '' });
    expect(auditRows()).toHaveLength(0);
  });

  it('lets the owner set the defaults: newlines normalized, flash shown, values shown back, audited', async () => {
    const c = clients.owner;
    const page = await c.get(settings());
    expect(page.status).toBe(200);
    expect(page.text).toContain('Defaults for new events');
    expect(page.text).toContain(`action="${settings()}/privacy"`);
    expect(page.text).toContain('does not change events that already exist');

    const r = await c.post(`${settings()}/privacy`, {
      organizer_contact: '  team@example.test  ',
      privacy_notice: 'We keep your registration for 30 days.\r\nThen it is <deleted>.',
      controller_contact: 'Example Club\r\nMain Street 1',
    });
    expect(r.status, r.text.slice(0, 1500)).toBe(303);
    expect(r.location).toBe(`${settings()}?done=privacy`);
    expect(stored()).toEqual({
      organizer_contact: 'team@example.test',
      privacy_notice: 'We keep your registration for 30 days.\nThen it is <deleted>.',
      controller_contact: 'Example Club\nMain Street 1',
    });

    const shown = await c.get(r.location!);
    expect(shown.text).toContain('Defaults for new events saved.');
    expect(shown.text).toContain('value="team@example.test"');
    expect(shown.text).toMatch(/<textarea[^>]*name="privacy_notice"[^>]*>We keep your registration for 30 days.\nThen it is &lt;deleted&gt;.<\/textarea>/);
    expect(shown.text).toMatch(/<textarea[^>]*name="controller_contact"[^>]*>Example Club\nMain Street 1<\/textarea>/);

    const rows = auditRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_id: people.owner.user.id, result: 'success', target_type: 'organization', target_id: org.id });
    // The audit row names the changed fields; the texts themselves stay in the org row.
    expect(JSON.parse(rows[0]!.details)).toEqual({ changed: ['privacy_notice', 'controller_contact', 'organizer_contact'] });
  });

  it('refuses bad input with errors next to the fields, keeps the input and stores nothing', async () => {
    const c = clients.admin;
    await c.get(settings());
    const before = stored();
    const cases: { form: Record<string, string>; field: keyof OrgPrivacyDefaults; message: string }[] = [
      { form: { organizer_contact: 'x'.repeat(301) }, field: 'organizer_contact', message: 'At most 300 characters.' },
      { form: { organizer_contact: 'line one\nline two' }, field: 'organizer_contact', message: 'Contains characters that are not allowed.' },
      { form: { privacy_notice: 'n'.repeat(5001) }, field: 'privacy_notice', message: 'At most 5000 characters.' },
      { form: { privacy_notice: 'Ring the bell\u0007 now' }, field: 'privacy_notice', message: 'Contains characters that are not allowed.' },
      { form: { privacy_notice: 'tab\there' }, field: 'privacy_notice', message: 'Contains characters that are not allowed.' },
      { form: { controller_contact: 'c'.repeat(1001) }, field: 'controller_contact', message: 'At most 1000 characters.' },
      { form: { controller_contact: 'Example\u0000Club' }, field: 'controller_contact', message: 'Contains characters that are not allowed.' },
    ];
    for (const { form, field, message } of cases) {
      const full = { organizer_contact: 'kept-contact@example.test', privacy_notice: 'Kept notice text.', controller_contact: 'Kept controller', ...form };
      const r = await c.post(`${settings()}/privacy`, full);
      const label = `${field}: ${JSON.stringify(form[field]).slice(0, 40)}`;
      expect(r.status, label).toBe(400);
      expect(r.text, label).toContain(`<small id="f-${field}-error" class="field-error">${message}</small>`);
      expect(r.text, label).toMatch(new RegExp(`name="${field}"[^>]*aria-invalid="true"`));
      expect(r.text, label).toContain('Nothing was saved');
      // The other fields come back as typed.
      if (field !== 'organizer_contact') expect(r.text, label).toContain('value="kept-contact@example.test"');
      if (field !== 'privacy_notice') expect(r.text, label).toContain('>Kept notice text.</textarea>');
      if (field !== 'controller_contact') expect(r.text, label).toContain('>Kept controller</textarea>');
      expect(stored(), label).toEqual(before);
    }
    // The overlong text itself is kept too, so it can be shortened rather than retyped.
    const long = await c.post(`${settings()}/privacy`, { organizer_contact: '', privacy_notice: 'n'.repeat(5001), controller_contact: '' });
    expect(long.text).toContain(`>${'n'.repeat(5001)}</textarea>`);
    expect(stored()).toEqual(before);
    expect(auditRows()).toHaveLength(1);
  });

  it('prefills the new-event form; a created event keeps its copy when the defaults change later', async () => {
    const c = clients.organizer;
    const defaults = stored();
    const form = await c.get(`/orgs/${org.slug}/events/new`);
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/<input[^>]*name="organizer_contact"[^>]*value="team@example.test"/);
    expect(form.text).toMatch(/<textarea[^>]*name="privacy_notice"[^>]*>We keep your registration for 30 days.\nThen it is &lt;deleted&gt;.<\/textarea>/);
    expect(form.text).toMatch(/<textarea[^>]*name="controller_contact"[^>]*>Example Club\nMain Street 1<\/textarea>/);
    expect(form.text).toContain('later changes to those defaults do not change it');

    const created = await c.post(`/orgs/${org.slug}/events`, eventForm(defaults));
    expect(created.status, created.text.slice(0, 1500)).toBe(303);
    const id = /\/events\/([0-9a-f-]{36})/.exec(created.location ?? '')?.[1] ?? '';
    expect(eventRow(id)).toMatchObject(defaults);

    // An event can also change its copy away from the defaults at creation.
    const own = await c.post(`/orgs/${org.slug}/events`, eventForm(defaults, { privacy_notice: 'This event has its own notice.' }));
    expect(own.status).toBe(303);
    const ownId = /\/events\/([0-9a-f-]{36})/.exec(own.location ?? '')?.[1] ?? '';
    expect(eventRow(ownId).privacy_notice).toBe('This event has its own notice.');

    const next = { organizer_contact: 'new-team@example.test', privacy_notice: 'New notice for later events.', controller_contact: 'Example Club e.V.' };
    expect((await clients.owner.post(`${settings()}/privacy`, next)).status).toBe(303);
    expect(stored()).toEqual(next);

    // Existing events are untouched, in the database and in their edit form.
    expect(eventRow(id)).toMatchObject(defaults);
    expect(eventRow(ownId).privacy_notice).toBe('This event has its own notice.');
    const edit = await c.get(`/orgs/${org.slug}/events/${id}/edit`);
    expect(edit.text).toContain('value="team@example.test"');
    expect(edit.text).not.toContain('New notice for later events.');
    expect(edit.text).not.toContain('later changes to those defaults do not change it');

    // The next new event starts from the new defaults.
    const fresh = await c.get(`/orgs/${org.slug}/events/new`);
    expect(fresh.text).toMatch(/<input[^>]*name="organizer_contact"[^>]*value="new-team@example.test"/);
    expect(fresh.text).toContain('>New notice for later events.</textarea>');
    expect(JSON.parse(auditRows()[0]!.details)).toEqual({ changed: ['privacy_notice', 'controller_contact', 'organizer_contact'] });
    expect(auditRows()).toHaveLength(2);
  });

  it('keeps defaults per organization: another org starts empty and cannot be reached', async () => {
    const otherOwner = await createUser(s, { email: testEmail(`pd-other-${randomBytes(2).toString('hex')}`, 'b') });
    const other = createOrg(s, otherOwner.user, uniqueSlug('pdother'));
    const oc = await signedInClient(s, otherOwner.user);
    const form = await oc.get(`/orgs/${other.slug}/events/new`);
    expect(form.status).toBe(200);
    expect(form.text).not.toContain('new-team@example.test');
    expect(form.text).toMatch(/<textarea[^>]*name="privacy_notice"[^>]*><\/textarea>/);
    // A member of org A posting to org B's settings: as if org B did not exist.
    await clients.owner.get(settings());
    expect((await clients.owner.post(`/orgs/${other.slug}/settings/privacy`, { privacy_notice: 'Not yours.' })).status).toBe(404);
    expect(s.ctx.orgs.bySlug(other.slug)?.privacy_notice).toBe('');
  });
});
