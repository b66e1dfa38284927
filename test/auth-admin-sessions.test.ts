import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { MAX_SESSIONS_PER_USER } from '../src/auth/sessions.ts';
import { Client } from './support/client.ts';
import { Clock, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const SESSION = '__Host-tessera_session';
const audit = (s: TestServer, action: string) =>
  s.ctx.db.prepare('SELECT result, actor_id, target_id, org_id, details FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { result: string; actor_id: string | null; target_id: string | null; org_id: string | null; details: string }[];

describe('admins end sessions; the cap on concurrent sessions', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    s = await startTestServer({ trustProxy: 'true' }, { now: clock.now });
  });
  afterAll(() => s.close());

  it('an instance admin signs one user out everywhere, after re-authenticating; the action is audited', async () => {
    const admin = await createUser(s, { email: testEmail('so-admin'), instanceRole: 'admin', totp: true });
    const owner = await createUser(s, { email: testEmail('so-owner'), instanceRole: 'owner', totp: true });
    const u = await createUser(s, { email: testEmail('so-user') });
    const phone = await signedInClient(s, u.user);
    const laptop = await signedInClient(s, u.user);

    const stale = await signedInClient(s, admin.user, { reauth: false });
    await stale.get('/admin/users');
    const asked = await stale.post(`/admin/users/${u.user.id}/sign-out`);
    expect(asked.location).toBe('/account/reauth?next=%2Fadmin%2Fusers');
    expect((await phone.get('/account')).status).toBe(200);

    const c = await signedInClient(s, admin.user);
    const page = await c.get('/admin/users');
    expect(page.text).toContain(`/admin/users/${u.user.id}/sign-out`);
    const r = await c.post(`/admin/users/${u.user.id}/sign-out`);
    expect(r.location).toBe('/admin/users?done=signed-out');
    expect((await phone.get('/account')).status).toBe(303);
    expect((await laptop.get('/account')).status).toBe(303);
    expect(audit(s, 'user.signed_out')).toMatchObject([{ result: 'success', actor_id: admin.user.id, target_id: u.user.id }]);
    // An admin cannot sign out an owner (the people above them).
    const ownerSession = await signedInClient(s, owner.user);
    expect((await c.post(`/admin/users/${owner.user.id}/sign-out`)).status).toBe(403);
    expect((await ownerSession.get('/account')).status).toBe(200);
  });

  it('an instance admin signs everyone out at once (typed confirmation, re-authentication), keeping their own session', async () => {
    const admin = await createUser(s, { email: testEmail('soa-admin'), instanceRole: 'admin', totp: true });
    const a = await signedInClient(s, (await createUser(s, { email: testEmail('soa-a') })).user);
    const b = await signedInClient(s, (await createUser(s, { email: testEmail('soa-b') })).user);
    const stale = await signedInClient(s, admin.user, { reauth: false });
    await stale.get('/admin/users');
    expect((await stale.post('/admin/sessions/sign-out-all', { confirm: 'sign out everyone' })).location).toBe('/account/reauth?next=%2Fadmin%2Fusers');
    const c = await signedInClient(s, admin.user);
    await c.get('/admin/users');
    expect((await c.post('/admin/sessions/sign-out-all', { confirm: 'yes' })).status).toBe(400);
    expect((await a.get('/account')).status).toBe(200);
    const r = await c.post('/admin/sessions/sign-out-all', { confirm: 'sign out everyone' });
    expect(r.location).toBe('/admin/users?done=all-signed-out');
    expect((await a.get('/account')).status).toBe(303);
    expect((await b.get('/account')).status).toBe(303);
    expect((await stale.get('/account')).status).toBe(303);
    expect((await c.get('/admin/users')).status).toBe(200);
    const row = audit(s, 'auth.all_sessions_revoked').at(-1)!;
    expect(row.actor_id).toBe(admin.user.id);
    expect(JSON.parse(row.details).count).toBeGreaterThanOrEqual(3);
  });

  it('a user has at most 10 sessions; a new one ends the one used longest ago', async () => {
    expect(MAX_SESSIONS_PER_USER).toBe(10);
    const u = await createUser(s, { email: testEmail('cap-user') });
    const clients: Client[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_USER; i++) {
      clients.push(await signedInClient(s, u.user));
      clock.advance(61_000); // distinct last-seen times
    }
    // The first one is used again, so the second is now the least recently used.
    expect((await clients[0]!.get('/account')).status).toBe(200);
    clock.advance(61_000);
    const extra = await signedInClient(s, u.user);
    expect(s.ctx.sessions.list(u.user.id)).toHaveLength(MAX_SESSIONS_PER_USER);
    expect((await clients[1]!.get('/account')).status).toBe(303);
    expect((await clients[0]!.get('/account')).status).toBe(200);
    expect((await extra.get('/account')).status).toBe(200);
    expect(clients[0]!.cookies.get(SESSION)).toBeDefined();
  });

  it('failed, revoked and expired API-token attempts are audited, at most once a minute per token and network', async () => {
    const owner = await createUser(s, { email: testEmail('tok-owner') });
    const org = createOrg(s, owner.user, uniqueSlug('tokaudit'));
    const tok = s.ctx.orgs.createToken(org, owner.user, 'owner', { name: 'x', permissions: ['org.read'], days: 1 }, systemContext());
    if (!tok.ok) throw new Error(tok.message);
    const api = (ip: string) => new Client(s.url, { 'x-forwarded-for': ip });
    const [id] = tok.token.slice(4).split('.');
    const wrongSecret = `tsr_${id}.${'A'.repeat(43)}`;
    const get = (ip: string, bearer: string) => api(ip).get(`/api/v1/orgs/${org.slug}`, { authorization: `Bearer ${bearer}` });

    for (let i = 0; i < 5; i++) expect((await get('192.0.2.1', wrongSecret)).status).toBe(401);
    let rows = audit(s, 'api_token.auth_failed');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ result: 'failure', target_id: id, org_id: org.id });
    expect(JSON.parse(rows[0]!.details)).toMatchObject({ reason: 'bad_secret' });
    await get('192.0.2.2', wrongSecret); // another network: its own row
    expect(audit(s, 'api_token.auth_failed')).toHaveLength(2);
    clock.advance(61_000);
    await get('192.0.2.1', wrongSecret); // a minute later: a new row
    expect(audit(s, 'api_token.auth_failed')).toHaveLength(3);

    s.ctx.orgs.revokeToken(org, id!, systemContext());
    clock.advance(61_000);
    await get('192.0.2.1', tok.token);
    rows = audit(s, 'api_token.auth_failed');
    expect(JSON.parse(rows.at(-1)!.details)).toMatchObject({ reason: 'revoked' });

    const tok2 = s.ctx.orgs.createToken(org, owner.user, 'owner', { name: 'y', permissions: ['org.read'], days: 1 }, systemContext());
    if (!tok2.ok) throw new Error(tok2.message);
    clock.advance(86_400_000 + 1000);
    expect((await get('192.0.2.1', tok2.token)).status).toBe(401);
    expect(JSON.parse(audit(s, 'api_token.auth_failed').at(-1)!.details)).toMatchObject({ reason: 'expired' });
    // A token that does not parse or names no token: one row per network and minute, no target.
    await get('192.0.2.9', 'tsr_garbage');
    await get('192.0.2.9', 'tsr_garbage2');
    expect(audit(s, 'api_token.auth_failed').filter((r) => r.target_id === null)).toHaveLength(1);
  });
});
