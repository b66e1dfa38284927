import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../src/auth/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import type { Client, Resp } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };

/** The hidden inputs of the page's form that posts to `action`, as a browser would send them. */
function hiddenFields(page: Resp, action: string): Record<string, string> {
  const form = new RegExp(`<form[^>]*action="${action.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>([\\s\\S]*?)</form>`).exec(page.text);
  if (!form) throw new Error(`no form posting to ${action} on the page (status ${page.status})`);
  const out: Record<string, string> = {};
  for (const m of (form[1] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) out[m[1] as string] = m[2] as string;
  return out;
}

/**
 * Submits the form of `page` that posts to `action` exactly as a browser does: only what the
 * form holds (no token picked up from elsewhere on the page), marked same-origin by the browser.
 */
function submit(c: Client, page: Resp, action: string, fields: Record<string, string>, headers: Record<string, string> = { 'sec-fetch-site': 'same-origin', origin: c.base }): Promise<Resp> {
  c.csrf = '';
  return c.post(action, { ...hiddenFields(page, action), ...fields }, headers);
}

describe('public forms for a signed-in person', () => {
  let s: TestServer;
  let org: OrgRow;
  let member: UserRow;
  beforeAll(async () => {
    s = await startTestServer();
    const owner = await createUser(s, { email: testEmail('pf-owner') });
    org = createOrg(s, owner.user, uniqueSlug('pf'));
    member = (await createUser(s, { email: testEmail('pf-member') })).user;
  });
  afterAll(async () => {
    await s?.close();
  });

  const signedIn = () => signedInClient(s, member);

  it('registers, edits the answers and cancels through the manage link', async () => {
    const e = createEvent(s, org);
    const c = await signedIn();
    const page = await c.get(`/e/${e.slug}`);
    expect(hiddenFields(page, `/e/${e.slug}/register`)._csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The page anonymous visitors share holds no token of anybody's.
    const anonymous = await fetch(`${s.url}/e/${e.slug}`);
    expect(await anonymous.text()).not.toContain('name="_csrf"');
    const reg = await submit(c, page, `/e/${e.slug}/register`, { email: testEmail('pf-reg'), name: 'Signed In Person' });
    expect(reg.status).toBe(201);
    const manage = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(reg.text)?.[1] as string;
    expect(manage).toBeDefined();

    const managePage = await c.follow(manage);
    const edited = await submit(c, managePage, '/my-registration', { name: 'Renamed Person' });
    expect(edited.status).toBe(303);
    expect((await c.get(edited.location as string)).text).toContain('Your changes are saved.');

    const again = await c.follow(manage);
    const cancelled = await submit(c, again, '/my-registration/cancel', {});
    expect(cancelled.status).toBe(303);
    const row = s.ctx.db.prepare('SELECT status, name FROM registrations WHERE event_id = ?').get(e.id) as { status: string; name: string };
    expect(row).toEqual({ status: 'cancelled', name: 'Renamed Person' });
  });

  it('confirms a double opt-in registration', async () => {
    const e = createEvent(s, org, { double_opt_in: true });
    const res = await s.ctx.registrations.register(e, { email: testEmail('pf-optin'), name: 'Opt In' }, sys);
    if (!res.ok) throw new Error(res.message);
    const confirm = s.ctx.links.link(res.reg, 'confirm').replace(s.ctx.baseUrl(), '');
    const c = await signedIn();
    const page = await c.follow(confirm);
    const done = await submit(c, page, '/my-registration/confirm', {});
    expect(done.status).toBe(200);
    expect(done.text).toContain('You are registered');
  });

  it('opens a passcode event and a share link', async () => {
    const e = createEvent(s, org, { access_mode: 'passcode', publish: false });
    await s.ctx.events.setPasscode(org, e, 'open sesame', null, sys);
    s.ctx.events.setStatus(org, s.ctx.events.get(org, e.id)!, 'published', sys);
    const c = await signedIn();
    const locked = await c.get(`/e/${e.slug}`);
    expect(locked.status).toBe(401);
    const opened = await submit(c, locked, `/e/${e.slug}/passcode`, { passcode: 'open sesame' });
    expect(opened.status).toBe(303);
    expect((await c.get(`/e/${e.slug}`)).status).toBe(200);

    const { token } = await s.ctx.events.createShareLink(s.ctx.events.get(org, e.id)!, { label: 'Press', password: 'press pass 1', expiresAt: null }, sys);
    const c2 = await signedIn();
    const linkPage = await c2.follow(`/s/${token}`);
    expect((await submit(c2, linkPage, '/share', { passcode: 'press pass 1' })).status).toBe(303);
  });

  it('still refuses a post from another site, token or not, and audits it', async () => {
    const e = createEvent(s, org);
    const c = await signedIn();
    const page = await c.get(`/e/${e.slug}`);
    const before = s.ctx.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'security.csrf_rejected'").get() as { n: number };
    const crossSite = await submit(c, page, `/e/${e.slug}/register`, { email: testEmail('pf-x1'), name: 'X' }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.text).toContain('Form expired or sent from elsewhere');
    const otherOrigin = await submit(c, page, `/e/${e.slug}/register`, { email: testEmail('pf-x2'), name: 'X' }, { origin: 'https://evil.example' });
    expect(otherOrigin.status).toBe(403);
    // A signed-in person's post with neither the form's token nor any proof of origin.
    c.csrf = '';
    expect((await c.post(`/e/${e.slug}/register`, { email: testEmail('pf-x3'), name: 'X' })).status).toBe(403);
    const after = s.ctx.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'security.csrf_rejected'").get() as { n: number };
    expect(after.n - before.n).toBe(3);
    expect((s.ctx.db.prepare('SELECT count(*) AS n FROM registrations WHERE event_id = ?').get(e.id) as { n: number }).n).toBe(0);
  });
});
