import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import type { UserRow } from '../src/auth/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/**
 * Secret links (manage, confirm, share, invitation) are swapped on their first GET for a
 * short-lived __Host- cookie and a redirect to a clean address, so the token leaves the address
 * bar, the history and the Referer (ASVS V14.2.1). Opening the link again re-issues the cookie.
 */
describe('secret link tokens leave the address', () => {
  let s: TestServer;
  let org: OrgRow;
  let owner: UserRow;
  const browser = { 'sec-fetch-site': 'same-origin' };
  beforeAll(async () => {
    s = await startTestServer();
    owner = (await createUser(s, { email: testEmail('lt-owner') })).user;
    org = createOrg(s, owner, uniqueSlug('lt'));
  });
  afterAll(async () => {
    await s?.close();
  });

  const cookieOf = (setCookies: string[], name: string) => setCookies.find((c) => c.startsWith(`${name}=`));
  /** The exchange: 303 to the clean address, a short-lived, HttpOnly, Secure, Lax __Host- cookie holding the token. */
  const expectExchange = (r: { status: number; location: string | null; headers: Headers }, clean: string, cookie: string, token: string, maxAge: number) => {
    expect(r.status).toBe(303);
    expect(r.location).toBe(clean);
    const set = cookieOf(r.headers.getSetCookie(), cookie);
    expect(set).toBeDefined();
    expect(set).toContain(token);
    expect(set).toMatch(/; Path=\/(;|$)/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; Secure/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(set).toContain(`Max-Age=${maxAge}`);
    expect(set).not.toMatch(/Domain=/i);
  };

  it('manage link: cookie + /my-registration; works again from the email later; refused without the cookie or with a forged one', async () => {
    const e = createEvent(s, org);
    const reg = await s.ctx.registrations.register(e, { email: testEmail('lt-manage'), name: 'Lina Token' }, systemContext());
    if (!reg.ok) throw new Error(reg.message);
    const path = s.ctx.links.managePath(reg.reg);
    const token = path.slice('/r/'.length);
    const c = new Client(s.url, browser);
    const first = await c.get(path);
    expectExchange(first, '/my-registration', '__Host-tessera_reg', token, 1800);
    const page = await c.get('/my-registration');
    expect(page.status).toBe(200);
    expect(page.text).toContain(testEmail('lt-manage'));
    expect(page.text).not.toContain(token);
    expect(page.text).toContain('action="/my-registration"');
    expect(page.text).toContain('src="/my-registration/ticket.svg"');
    // Without the cookie (it expired, another browser): a plain answer, no data.
    const bare = await new Client(s.url, browser).get('/my-registration');
    expect(bare.status).toBe(404);
    expect(bare.text).toContain('Open your personal link again');
    expect(bare.text).not.toContain(testEmail('lt-manage'));
    expect((await new Client(s.url, browser).post('/my-registration/cancel')).status).toBe(404);
    // A forged cookie is no key.
    const forged = new Client(s.url, browser);
    forged.cookies.set('__Host-tessera_reg', `${token.slice(0, -2)}xx`);
    expect((await forged.get('/my-registration')).status).toBe(404);
    // A tampered link sets no cookie.
    const tampered = await new Client(s.url, browser).get(`${path.slice(0, -2)}xx`);
    expect(tampered.status).toBe(404);
    expect(cookieOf(tampered.headers.getSetCookie(), '__Host-tessera_reg')).toBeUndefined();
    // The link in the email keeps working when opened again later, in a fresh browser.
    const later = new Client(s.url, browser);
    expect((await later.follow(path)).text).toContain(testEmail('lt-manage'));
    expect(s.ctx.db.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'registration.viewed' AND target_id = ?").get(reg.reg.id)).toEqual({ n: 2 });
  });

  it('the ticket QR is personal: never cached, at the clean address and right after registering', async () => {
    const e = createEvent(s, org);
    const r = await new Client(s.url, browser).post(`/e/${e.slug}/register`, { email: testEmail('lt-qr'), name: 'Quinn Token' });
    const manage = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(r.text)![1]!;
    const c = new Client(s.url, browser);
    const direct = await c.get(`${manage}/ticket.svg`);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('cache-control')).toBe('no-store');
    await c.follow(manage);
    const clean = await c.get('/my-registration/ticket.svg');
    expect(clean.status).toBe(200);
    expect(clean.headers.get('content-type')).toBe('image/svg+xml');
    expect(clean.headers.get('cache-control')).toBe('no-store');
    expect(clean.text).toContain('<svg');
    expect((await new Client(s.url).get('/my-registration/ticket.svg')).status).toBe(404);
  });

  it('double opt-in link: cookie + /my-registration/confirm; the GET changes nothing; the POST confirms', async () => {
    const e = createEvent(s, org, { double_opt_in: true });
    const reg = await s.ctx.registrations.register(e, { email: testEmail('lt-optin'), name: 'Otto Token' }, systemContext());
    if (!reg.ok) throw new Error(reg.message);
    const path = s.ctx.links.link(reg.reg, 'confirm').replace(s.ctx.baseUrl(), '');
    const token = path.slice('/r/'.length, -'/confirm'.length);
    const c = new Client(s.url, browser);
    expectExchange(await c.get(path), '/my-registration/confirm', '__Host-tessera_confirm', token, 1800);
    const page = await c.get('/my-registration/confirm');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(token);
    expect(s.ctx.attendees.get(e, reg.reg.id)?.status).toBe('pending');
    const done = await c.post('/my-registration/confirm');
    expect(done.status).toBe(200);
    expect(s.ctx.attendees.get(e, reg.reg.id)?.status).toBe('confirmed');
    // The confirmed attendee's own page is reachable next, by the manage cookie it was handed.
    expect((await c.get('/my-registration')).text).toContain(testEmail('lt-optin'));
    expect((await new Client(s.url, browser).post('/my-registration/confirm')).status).toBe(404);
  });

  it('share link: cookie + /share, the password form there, and the link is not on the page', async () => {
    const base = createEvent(s, org, { access_mode: 'passcode', publish: false });
    await s.ctx.events.setPasscode(org, base, 'unused passcode', null, systemContext());
    const e = s.ctx.events.get(org, base.id)!;
    s.ctx.events.setStatus(org, e, 'published', systemContext());
    const { token } = await s.ctx.events.createShareLink(e, { label: 'Press', password: 'press pass 1', expiresAt: null }, systemContext());
    const c = new Client(s.url, browser);
    expectExchange(await c.get(`/s/${token}`), '/share', '__Host-tessera_share', token, 1800);
    const page = await c.get('/share');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(token);
    expect(page.text).toContain('action="/share"');
    const opened = await c.post('/share', { passcode: 'press pass 1' });
    expect(opened.location).toBe(`/e/${e.slug}`);
    // Used: the share cookie is cleared, the grant cookie opens the event.
    expect(cookieOf(opened.headers.getSetCookie(), '__Host-tessera_share')).toMatch(/Max-Age=0/);
    expect((await c.get(`/e/${e.slug}`)).status).toBe(200);
    expect((await new Client(s.url, browser).get('/share')).status).toBe(404);
  });

  it('invitation link: cookie + /invite; signing in on the way keeps it out of the login address', async () => {
    const to = testEmail('lt-invitee');
    const res = s.ctx.orgs.invite(org, owner, 'owner', { email: to, role: 'viewer' }, systemContext());
    expect(res.ok).toBe(true);
    const mail = s.ctx.mailer.devOutbox(500).find((m) => m.to_address === to)!;
    const token = /\/invite\?token=([A-Za-z0-9_-]+)/.exec(JSON.stringify(mail))![1]!;
    const c = new Client(s.url, browser);
    expectExchange(await c.get(`/invite?token=${token}`), '/invite', '__Host-tessera_invite', token, 3600);
    const page = await c.get('/invite');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(token);
    expect((await new Client(s.url, browser).get('/invite')).status).toBe(410);
  });
});
