import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client, type Resp } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { waitFor } from './support/wait.ts';

const sys = systemContext();
const browser = { 'sec-fetch-site': 'same-origin' };
const UNAVAILABLE = 'This organization is currently unavailable.';

/**
 * Every kind of public page and personal link of a suspended organization answers the same
 * "unavailable" page with 503, and none of them shows anything of the event, the person or the
 * organization. Each link is first shown to work, so a link that was already broken cannot pass.
 */
describe('a suspended organization: every public page and personal link says unavailable', () => {
  let s: TestServer;
  let admin: TestUser;
  let org: OrgRow;
  let event: EventRow;
  let optIn: EventRow;
  const attendee = testEmail(`sus-att-${randomBytes(3).toString('hex')}`, 'c');
  const tokens: { manage: string; confirm: string; share: string; privacy: string; invite: string } = { manage: '', confirm: '', share: '', privacy: '', invite: '' };
  /** Clients that already hold a link's cookie (opened before the suspension): each kind of personal session. */
  const held: { manage: Client; confirm: Client; share: Client; privacy: Client; invite: Client } = {} as never;

  const mailTo = async (to: string, re: RegExp) =>
    waitFor(
      () => {
        const m = s.ctx.mailer.devOutbox(500).find((x) => x.to_address === to && re.test(x.text_body));
        return m ? (re.exec(m.text_body)?.[1] as string) : undefined;
      },
      { what: `mail to ${to} matching ${re}` },
    );

  beforeAll(async () => {
    s = await startTestServer();
    admin = await createUser(s, { email: testEmail('sus-admin', 'c'), instanceRole: 'admin', totp: true });
    const owner = await createUser(s, { email: testEmail('sus-owner', 'c'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('sus'), 'Hidden Org Name');
    event = createEvent(s, org, { title: 'Secret Summit' });
    optIn = createEvent(s, org, { title: 'Opt In Summit', double_opt_in: true });
    const reg = await s.ctx.registrations.register(event, { email: attendee, name: 'Ada Attendee' }, sys);
    if (!reg.ok) throw new Error(reg.message);
    tokens.manage = s.ctx.links.managePath(reg.reg).slice('/r/'.length);
    const pending = await s.ctx.registrations.register(optIn, { email: attendee, name: 'Ada Attendee' }, sys);
    if (!pending.ok) throw new Error(pending.message);
    tokens.confirm = s.ctx.links.link(pending.reg, 'confirm').replace(/^.*\/r\//, '').replace(/\/confirm$/, '');
    tokens.share = (await s.ctx.events.createShareLink(event, { label: 'press', password: 'share-link-password', expiresAt: null }, sys)).token;
    const inv = s.ctx.orgs.invite(org, owner.user, 'owner', { email: testEmail('sus-invitee', 'c'), role: 'viewer' }, sys);
    if (!inv.ok) throw new Error(inv.message);
    tokens.invite = await mailTo(testEmail('sus-invitee', 'c'), /\/invite\?token=([A-Za-z0-9_-]+)/);
    const requested = s.ctx.selfService.requestLink(org, attendee, sys);
    expect(requested.ok).toBe(true);
    tokens.privacy = await mailTo(attendee, /\/privacy\/open\?token=([A-Za-z0-9_-]{43})/);

    // Each personal session opened while the organization still worked.
    held.manage = new Client(s.url, browser);
    expect((await held.manage.get(`/r/${tokens.manage}`)).location).toBe('/my-registration');
    held.confirm = new Client(s.url, browser);
    expect((await held.confirm.get(`/r/${tokens.confirm}/confirm`)).location).toBe('/my-registration/confirm');
    held.share = new Client(s.url, browser);
    expect((await held.share.get(`/s/${tokens.share}`)).location).toBe('/share');
    held.invite = new Client(s.url, browser);
    expect((await held.invite.get(`/invite?token=${tokens.invite}`)).location).toBe('/invite');
    held.privacy = new Client(s.url, browser);
    await held.manage.get('/my-registration');
    expect((await held.manage.get('/my-registration/privacy')).location).toBe('/privacy/me');
    for (const [k, v] of held.manage.cookies) held.privacy.cookies.set(k, v);
    held.privacy.csrf = held.manage.csrf;
  });
  afterAll(() => s?.close());

  /** [label, request] for every page and link; the same list runs before and during the suspension. */
  const requests = (): [string, () => Promise<Resp>][] => {
    const anon = () => new Client(s.url, browser);
    return [
      ['organization page', () => anon().get(`/o/${org.slug}`)],
      ['event page', () => anon().get(`/e/${event.slug}`)],
      ['calendar file', () => anon().get(`/e/${event.slug}/event.ics`)],
      ['registration', () => anon().post(`/e/${event.slug}/register`, { email: testEmail('sus-new', 'c'), name: 'New Person' })],
      ['queue page', () => anon().get(`/e/${event.slug}/queue`)],
      ['share link', () => anon().get(`/s/${tokens.share}`)],
      ['share page (opened before)', () => held.share.get('/share')],
      ['share password (opened before)', () => held.share.post('/share', { passcode: 'wrong password' })],
      ['manage link', () => anon().get(`/r/${tokens.manage}`)],
      ['ticket from the link', () => anon().get(`/r/${tokens.manage}/ticket.svg`)],
      ['registration page (opened before)', () => held.manage.get('/my-registration')],
      ['ticket (opened before)', () => held.manage.get('/my-registration/ticket.svg')],
      ['change answers (opened before)', () => held.manage.post('/my-registration', { email: attendee, name: 'Ada Changed' })],
      ['confirmation link', () => anon().get(`/r/${tokens.confirm}/confirm`)],
      ['confirmation page (opened before)', () => held.confirm.get('/my-registration/confirm')],
      ['privacy request page', () => anon().get(`/o/${org.slug}/privacy`)],
      ['privacy link', () => anon().follow(`/privacy/open?token=${tokens.privacy}`)],
      ['privacy data page (opened before)', () => held.privacy.get('/privacy/me')],
      ['privacy export (opened before)', () => held.privacy.get('/privacy/me/export.json')],
      ['invitation link', () => anon().get(`/invite?token=${tokens.invite}`)],
      ['invitation page (opened before)', () => held.invite.get('/invite')],
    ];
  };

  it('every page and link works before, answers 503 "unavailable" with nothing of the event, the person or the organization while suspended, and works again after', async () => {
    for (const [label, req] of requests()) {
      const r = await req();
      expect(r.status, `${label} before: ${r.text.slice(0, 200)}`).not.toBe(503);
      expect(r.text, label).not.toContain(UNAVAILABLE);
    }
    expect(s.ctx.orgDirectory.setSuspended(admin.user, org.id, true, sys).ok).toBe(true);
    for (const [label, req] of requests()) {
      const r = await req();
      expect(r.status, `${label}: ${r.text.slice(0, 200)}`).toBe(503);
      expect(r.text, label).toContain(UNAVAILABLE);
      expect(r.headers.get('cache-control'), label).toContain('no-store');
      for (const secret of ['Secret Summit', 'Opt In Summit', 'Hidden Org Name', attendee, 'Ada']) expect(r.text, `${label} shows ${secret}`).not.toContain(secret);
    }
    // The writes tried while suspended changed nothing.
    const reg = s.ctx.db.prepare('SELECT count(*) AS n FROM registrations WHERE org_id = ?').get(org.id) as { n: number };
    expect(reg.n).toBe(2 + 1); // the two from the set-up and the one registered in the "before" pass
    // Lifting it: the links work again (the ones that were not used up).
    expect(s.ctx.orgDirectory.setSuspended(admin.user, org.id, false, sys).ok).toBe(true);
    expect((await held.manage.get('/my-registration')).status).toBe(200);
    expect((await new Client(s.url, browser).get(`/e/${event.slug}`)).status).toBe(200);
    expect((await held.privacy.get('/privacy/me')).status).toBe(200);
  });

  it('a link that does not exist still says so, suspended organization or not', async () => {
    s.ctx.orgDirectory.setSuspended(admin.user, org.id, true, sys);
    expect(s.ctx.orgDirectory.isSuspended(org.id)).toBe(true);
    try {
      const anon = new Client(s.url, browser);
      expect((await anon.get(`/r/${'x'.repeat(43)}`)).status).toBe(404);
      expect((await anon.get(`/s/${'x'.repeat(32)}`)).status).toBe(404);
      expect((await anon.get('/o/no-such-org-here')).status).toBe(404);
    } finally {
      s.ctx.orgDirectory.setSuspended(admin.user, org.id, false, sys);
    }
  });
});
