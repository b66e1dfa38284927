import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import type { UserRow } from '../src/auth/repo.ts';
import { type OrgRole, type Permission, orgRoles, roleHas } from '../src/orgs/permissions.ts';
import { type OrgRow, orgsRepo } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { Clock, type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer, withSmtpServer } from './support/server.ts';
import type { SmtpSink } from './support/smtp-sink.ts';

const email = (who: string, tenant: 'a' | 'b' | 'c' = 'a') => testEmail(`${who}-${randomBytes(3).toString('hex')}`, tenant);

/** An organization with one member per role (owner first), each with a signed-in client. */
async function orgWithRoles(s: TestServer, tenant: 'a' | 'b' = 'a') {
  const people = {} as Record<OrgRole, TestUser>;
  for (const role of orgRoles) people[role] = await createUser(s, { email: email(role, tenant) });
  const org = createOrg(s, people.owner.user, uniqueSlug(tenant));
  for (const role of orgRoles) if (role !== 'owner') addMember(s, org, people[role].user, role);
  return { org, people };
}

const membership = (s: TestServer, org: OrgRow, u: UserRow) => orgsRepo(s.ctx.db).membership(org.id, u.id);
const auditRows = (s: TestServer, org: OrgRow, action: string) => s.ctx.audit.recentForOrg(org.id, 1000).filter((r) => r.action === action);
const inviteTokenIn = (text: string) => /\/invite\?token=([A-Za-z0-9_-]{43})/.exec(text)?.[1];
const devInviteToken = (s: TestServer, to: string) => {
  const mail = s.ctx.mailer.devOutbox(500).find((m) => m.to_address === to && m.template === 'invitation');
  return mail ? inviteTokenIn(mail.text_body) : undefined;
};
const newToken = (html: string) => /data-testid="new-token">\s*(tsr_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*</.exec(html)?.[1];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('organizations (trust-proxy server)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ trustProxy: 'true' });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses a viewer who tries to invite: 403, nothing stored, audited as access.denied', async () => {
    const { org, people } = await orgWithRoles(s);
    const viewer = await signedInClient(s, people.viewer.user);
    const invitee = email('uninvited');
    const r = await viewer.post(`/orgs/${org.slug}/members/invite`, { email: invitee, role: 'admin' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('Your role in this organization does not allow this.');
    expect(s.ctx.orgs.openInvitations(org.id)).toHaveLength(0);
    expect(s.ctx.mailer.devOutbox(500).some((m) => m.to_address === invitee)).toBe(false);
    const denied = auditRows(s, org, 'access.denied').find((row) => row.actor_id === people.viewer.user.id);
    expect(denied?.result).toBe('denied');
    expect(JSON.parse(denied!.details)).toMatchObject({ reason: 'permission', permission: 'members.manage' });
  });

  it('answers 404 on every organization route to a member of another organization, and changes nothing', async () => {
    const a = await orgWithRoles(s, 'a');
    const b = await orgWithRoles(s, 'b');
    // Real ids of org A's objects, so a guard that let the request through would visibly act.
    const inv = s.ctx.orgs.invite(a.org, a.people.owner.user, 'owner', { email: email('pending'), role: 'viewer' }, systemContext());
    const tok = s.ctx.orgs.createToken(a.org, a.people.owner.user, 'owner', { name: 'ci', permissions: ['org.read'], days: 5 }, systemContext());
    expect(inv.ok && tok.ok).toBe(true);
    const ids = { invitation: inv.ok ? inv.id : '', token: tok.ok ? tok.id : '' };
    const intruder = await signedInClient(s, b.people.owner.user);
    const orgRoutes = [...s.routes.declared].filter(([, access]) => access.kind === 'org');
    expect(orgRoutes.length).toBeGreaterThanOrEqual(17);
    for (const [key] of orgRoutes) {
      const [method, pattern] = key.split(' ') as [string, string];
      const path = pattern
        .replace(':orgSlug', a.org.slug)
        .replace(':userId', a.people.viewer.user.id)
        .replace(':id', pattern.includes('/invitations/') ? ids.invitation : ids.token);
      const r = method === 'GET' ? await intruder.get(path) : await intruder.post(path, { role: 'owner', email: email('x', 'b'), name: 'x', permissions: 'org.read', days: '5', require2fa: 'on', allowlist: '10.0.0.0/8' });
      expect(r.status, key).toBe(404);
      expect(r.text, key).not.toContain(a.org.name);
    }
    // A slug that does not exist looks exactly the same.
    expect((await intruder.get('/orgs/no-such-org-here')).status).toBe(404);
    expect(membership(s, a.org, a.people.viewer.user)?.role).toBe('viewer');
    expect(s.ctx.orgs.bySlug(a.org.slug)).toMatchObject({ require_2fa: 0, ip_allowlist: '[]' });
    expect(s.ctx.orgs.openInvitations(a.org.id)).toHaveLength(1);
    expect(s.ctx.orgs.tokens(a.org.id).every((t) => t.revoked_at === null)).toBe(true);
    // An outsider's refusals go to the instance log, one row per route and hour, none to org A's.
    expect(auditRows(s, a.org, 'access.denied').filter((r) => r.actor_id === b.people.owner.user.id)).toHaveLength(0);
    const outsider = s.ctx.db.prepare(`SELECT target_id FROM audit_log WHERE action = 'access.denied' AND org_id IS NULL AND actor_id = ?`).all(b.people.owner.user.id) as { target_id: string }[];
    expect(new Set(outsider.map((r) => r.target_id)).size).toBe(outsider.length);
    expect(outsider.length).toBeGreaterThan(0);
  });

  it('enforces the IP allowlist: a request from elsewhere gets 403 with a clear page and an audit row', async () => {
    const { org, people } = await orgWithRoles(s);
    const owner = await signedInClient(s, people.owner.user);
    Object.assign(owner.extraHeaders, { 'x-forwarded-for': '198.51.100.7' });

    // Bad input: the error is shown next to the field and the input is kept.
    let r = await owner.post(`/orgs/${org.slug}/settings/ip-allowlist`, { allowlist: '198.51.100.0/24\nnot-an-address' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('&quot;not-an-address&quot; is not an IP address or CIDR range');
    expect(r.text).toMatch(/<textarea[^>]*>198\.51\.100\.0\/24\nnot-an-address<\/textarea>/);

    // A list that would lock out the admin making the change is refused.
    r = await owner.post(`/orgs/${org.slug}/settings/ip-allowlist`, { allowlist: '203.0.113.0/24' });
    expect(r.status).toBe(409);
    expect(r.text).toContain('does not include your current address (198.51.100.7)');
    expect(r.text).toContain('203.0.113.0/24</textarea>');
    expect(s.ctx.orgs.bySlug(org.slug)?.ip_allowlist).toBe('[]');

    r = await owner.post(`/orgs/${org.slug}/settings/ip-allowlist`, { allowlist: '198.51.100.0/24, 2001:db8::/32' });
    expect(r.status).toBe(303);
    expect(JSON.parse(s.ctx.orgs.bySlug(org.slug)!.ip_allowlist)).toEqual(['198.51.100.0/24', '2001:db8::/32']);
    expect(r.location).toBe(`/orgs/${org.slug}/settings?done=ip`);
    expect((await owner.get(r.location!)).text).toContain('Allowed addresses saved.');

    const viewer = await signedInClient(s, people.viewer.user);
    r = await viewer.get(`/orgs/${org.slug}`, { 'x-forwarded-for': '203.0.113.9' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('only accepts staff connections from its allowed network addresses');
    const denied = auditRows(s, org, 'access.denied').find((row) => row.actor_id === people.viewer.user.id);
    expect(denied?.ip).toBe('203.0.113.9');
    expect(JSON.parse(denied!.details)).toMatchObject({ reason: 'ip' });
    expect((await viewer.get(`/orgs/${org.slug}`, { 'x-forwarded-for': '198.51.100.20' })).status).toBe(200);
    // No forwarded address: the socket address (127.0.0.1) is not on the list either.
    expect((await viewer.get(`/orgs/${org.slug}`)).status).toBe(403);

    // Clearing the list lifts the restriction.
    expect((await owner.post(`/orgs/${org.slug}/settings/ip-allowlist`, { allowlist: '' })).status).toBe(303);
    expect((await viewer.get(`/orgs/${org.slug}`, { 'x-forwarded-for': '203.0.113.9' })).status).toBe(200);
    expect(auditRows(s, org, 'org.ip_allowlist_changed')).toHaveLength(2);
  });

  it('keeps the last owner: cannot be removed or demoted; an admin cannot touch owners', async () => {
    const { org, people } = await orgWithRoles(s);
    const owner = await signedInClient(s, people.owner.user);
    const admin = await signedInClient(s, people.admin.user);
    const ownerId = people.owner.user.id;

    let r = await owner.post(`/orgs/${org.slug}/members/${ownerId}/remove`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('The last owner cannot be removed or demoted');
    r = await owner.post(`/orgs/${org.slug}/members/${ownerId}/role`, { role: 'admin' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('The last owner cannot be removed or demoted');
    expect(membership(s, org, people.owner.user)?.role).toBe('owner');

    r = await admin.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/role`, { role: 'owner' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('Only owners can change or remove owners.');
    expect(membership(s, org, people.viewer.user)?.role).toBe('viewer');
    r = await admin.post(`/orgs/${org.slug}/members/${ownerId}/role`, { role: 'viewer' });
    expect(r.status).toBe(403);
    r = await admin.post(`/orgs/${org.slug}/members/${ownerId}/remove`);
    expect(r.status).toBe(403);
    r = await admin.post(`/orgs/${org.slug}/members/${ownerId}/disable`);
    expect(r.status).toBe(403);
    expect(membership(s, org, people.owner.user)).toMatchObject({ role: 'owner', disabled_at: null });
    // Nor can an admin invite an owner.
    r = await admin.post(`/orgs/${org.slug}/members/invite`, { email: email('would-be-owner'), role: 'owner' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('Only owners can invite owners.');
    expect(s.ctx.orgs.openInvitations(org.id)).toHaveLength(0);
    expect(auditRows(s, org, 'member.role_changed').filter((x) => x.result === 'denied')).toHaveLength(3);

    // What the rules allow still works.
    r = await owner.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/role`, { role: 'owner' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/orgs/${org.slug}/members?done=role`);
    r = await owner.post(`/orgs/${org.slug}/members/${ownerId}/role`, { role: 'admin' });
    expect(r.status).toBe(303);
    expect(membership(s, org, people.owner.user)?.role).toBe('admin');
    r = await admin.post(`/orgs/${org.slug}/members/${people.checkin.user.id}/remove`);
    expect(r.status).toBe(303);
    expect(membership(s, org, people.checkin.user)).toBeUndefined();
  });

  it('asks for a recent re-authentication before a role change or a new API token', async () => {
    const { org, people } = await orgWithRoles(s);
    const stale = await signedInClient(s, people.owner.user, { reauth: false });
    const back = encodeURIComponent(`/orgs/${org.slug}/members`);
    let r = await stale.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/role`, { role: 'admin' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/account/reauth?next=${back}`);
    expect(membership(s, org, people.viewer.user)?.role).toBe('viewer');
    r = await stale.post(`/orgs/${org.slug}/tokens`, { name: 'x', permissions: 'org.read', days: '5' });
    expect(r.location).toBe(`/account/reauth?next=${encodeURIComponent(`/orgs/${org.slug}/tokens`)}`);
    expect(s.ctx.orgs.tokens(org.id)).toHaveLength(0);

    await stale.get(`/account/reauth?next=${back}`);
    r = await stale.post(`/account/reauth?next=${back}`, { password: people.owner.password });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/orgs/${org.slug}/members`);
    // Re-authentication rotated the session (and its CSRF token): follow the redirect as a browser does.
    await stale.get(r.location!);
    r = await stale.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/role`, { role: 'admin' });
    expect(r.status).toBe(303);
    expect(membership(s, org, people.viewer.user)?.role).toBe('admin');
  });

  it('refuses a POST without the CSRF token and changes nothing', async () => {
    const { org, people } = await orgWithRoles(s);
    const owner = await signedInClient(s, people.owner.user);
    let r = await owner.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/role`, { role: 'admin', _csrf: '' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('Form expired or sent from elsewhere');
    r = await owner.post(`/orgs/${org.slug}/members/invite`, { email: email('csrf'), role: 'viewer', _csrf: 'not-the-token' });
    expect(r.status).toBe(403);
    r = await owner.post(`/orgs/${org.slug}/settings/2fa`, { require2fa: 'on', _csrf: '' });
    expect(r.status).toBe(403);
    expect(membership(s, org, people.viewer.user)?.role).toBe('viewer');
    expect(s.ctx.orgs.openInvitations(org.id)).toHaveLength(0);
    expect(s.ctx.orgs.bySlug(org.slug)?.require_2fa).toBe(0);
  });

  it('disabling a member in one organization stops them there on the next request, not elsewhere', async () => {
    const { org, people } = await orgWithRoles(s);
    const other = createOrg(s, people.owner.user, uniqueSlug('other'));
    addMember(s, other, people.organizer.user, 'organizer');
    const tok = s.ctx.orgs.createToken(org, people.owner.user, 'owner', { name: 'x', permissions: ['org.read'], days: 5 }, systemContext());
    expect(tok.ok).toBe(true);
    const member = await signedInClient(s, people.organizer.user);
    expect((await member.get(`/orgs/${org.slug}`)).status).toBe(200);

    const owner = await signedInClient(s, people.owner.user);
    let r = await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/disable`);
    expect(r.status).toBe(303);
    r = await member.get(`/orgs/${org.slug}/members`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('Your access to this organization has been disabled');
    expect((await member.get(`/orgs/${other.slug}`)).status).toBe(200);
    expect((await member.get('/orgs')).text).not.toContain(`/orgs/${org.slug}"`);
    const list = await owner.get(`/orgs/${org.slug}/members`);
    expect(list.text).toMatch(new RegExp(`data-member="${people.organizer.user.id}">(?:(?!</tr>).)*<td>disabled</td>`, 's'));
    // One cannot disable oneself.
    r = await owner.post(`/orgs/${org.slug}/members/${people.owner.user.id}/disable`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('You cannot disable yourself.');

    r = await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/enable`);
    expect(r.status).toBe(303);
    expect((await member.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect(auditRows(s, org, 'member.disabled')).toHaveLength(1);
    expect(auditRows(s, org, 'member.enabled')).toHaveLength(1);
  });

  it('API tokens: scoped to their organization and permissions; revoked, role-changed or non-API use gets 401', async () => {
    const { org, people } = await orgWithRoles(s);
    const b = createOrg(s, people.owner.user, uniqueSlug('b'));
    const owner = await signedInClient(s, people.owner.user);

    let r = await owner.post(`/orgs/${org.slug}/tokens`, { name: 'bad', permissions: 'no.such', days: '5' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Unknown permission.');
    r = await owner.post(`/orgs/${org.slug}/tokens`, { name: 'bad', permissions: 'org.read', days: '400' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('At most 365 days.');
    r = await owner.post(`/orgs/${org.slug}/tokens`, { name: 'bad', days: '5' });
    expect(r.text).toContain('Choose at least one permission.');
    expect(s.ctx.orgs.tokens(org.id)).toHaveLength(0);

    r = await owner.post(`/orgs/${org.slug}/tokens`, { name: 'dashboard', permissions: 'org.read', days: '30' });
    expect(r.status).toBe(201);
    const readOnly = newToken(r.text)!;
    expect(readOnly).toBeTruthy();
    r = await owner.post(`/orgs/${org.slug}/tokens`, { name: 'sync', permissions: ['org.read', 'members.read'], days: '30' });
    const members = newToken(r.text)!;
    // Shown once: the list never repeats a secret.
    const page = await owner.get(`/orgs/${org.slug}/tokens`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(readOnly.split('.')[1]);
    expect(page.text).toContain('members.read, org.read');

    const api = new Client(s.url);
    r = await api.get(`/api/v1/orgs/${org.slug}`, bearer(readOnly));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ id: org.id, slug: org.slug, name: org.name });
    r = await api.get(`/api/v1/orgs/${org.slug}/members`, bearer(readOnly));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'Not allowed' });
    r = await api.get(`/api/v1/orgs/${org.slug}/members`, bearer(members));
    expect(r.status).toBe(200);
    const list = JSON.parse(r.text) as { userId: string; email: string; role: string; status: string }[];
    expect(list).toHaveLength(5);
    expect(list.find((m) => m.userId === people.checkin.user.id)).toMatchObject({ email: people.checkin.user.email, role: 'checkin', status: 'active' });
    // The token's creator belongs to B too, but the token does not.
    expect((await api.get(`/api/v1/orgs/${b.slug}`, bearer(readOnly))).status).toBe(404);
    // Tokens work only on /api routes.
    r = await api.get(`/orgs/${org.slug}`, bearer(readOnly));
    expect(r.status).toBe(401);
    expect((await api.get(`/api/v1/orgs/${org.slug}`)).status).toBe(401);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(`${readOnly}x`))).status).toBe(401);
    // A signed-in session may use the API too.
    expect(JSON.parse((await owner.get(`/api/v1/orgs/${org.slug}`)).text).slug).toBe(org.slug);
    expect((await owner.get(`/orgs/${org.slug}/tokens`)).text).toMatch(/<td>active<\/td>/);

    const row = s.ctx.orgs.tokens(org.id).find((t) => t.name === 'dashboard')!;
    expect(row.last_used_at).not.toBeNull();
    r = await owner.post(`/orgs/${org.slug}/tokens/${row.id}/revoke`);
    expect(r.status).toBe(303);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(readOnly))).status).toBe(401);
    expect((await owner.get(`/orgs/${org.slug}/tokens`)).text).toContain('<td>revoked</td>');

    // A token made by an admin ends when the admin's role changes.
    const admin = await signedInClient(s, people.admin.user);
    const adminToken = newToken((await admin.post(`/orgs/${org.slug}/tokens`, { name: 'mine', permissions: 'org.read', days: '5' })).text)!;
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(adminToken))).status).toBe(200);
    expect((await owner.post(`/orgs/${org.slug}/members/${people.admin.user.id}/role`, { role: 'viewer' })).status).toBe(303);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(adminToken))).status).toBe(401);
    expect(auditRows(s, org, 'token.created')).toHaveLength(3);
    expect(auditRows(s, org, 'token.revoked')).toHaveLength(1);
  });

  it('renders every organization page for the roles allowed to see it, and 403 for the others', async () => {
    const { org, people } = await orgWithRoles(s);
    s.ctx.orgs.invite(org, people.owner.user, 'owner', { email: email('open'), role: 'checkin' }, systemContext());
    const pages: [string, Permission][] = [
      ['', 'org.read'],
      ['/members', 'members.read'],
      ['/settings', 'org.settings'],
      ['/tokens', 'tokens.manage'],
      ['/audit', 'audit.read'],
      ['/permissions', 'org.read'],
    ];
    for (const role of orgRoles) {
      const c = await signedInClient(s, people[role].user);
      const home = await c.get('/orgs');
      expect(home.status).toBe(200);
      expect(home.text).toContain(org.name);
      expect(home.text.includes('Create organization')).toBe(false);
      for (const [path, perm] of pages) {
        const r = await c.get(`/orgs/${org.slug}${path}`);
        expect(r.status, `${role} ${path}`).toBe(roleHas(role, perm) ? 200 : 403);
      }
      for (const [path, perm] of [['', 'org.read'], ['/members', 'members.read']] as const) {
        expect((await c.get(`/api/v1/orgs/${org.slug}${path}`)).status, `${role} api${path}`).toBe(roleHas(role, perm) ? 200 : 403);
      }
      const dash = await c.get(`/orgs/${org.slug}`);
      expect(dash.text).toContain(`data-testid="my-role">${role}<`);
      // The dashboard links only what the role can open.
      expect(dash.text.includes(`href="/orgs/${org.slug}/tokens"`)).toBe(roleHas(role, 'tokens.manage'));
      const members = await c.get(`/orgs/${org.slug}/members`);
      if (members.status === 200) expect(members.text.includes('Send invitation')).toBe(roleHas(role, 'members.manage'));
    }
    const owner = await signedInClient(s, people.owner.user);
    const audit = await owner.get(`/orgs/${org.slug}/audit`);
    expect(audit.text).toContain('member.invited');
    expect(audit.text).toContain('access.denied');
    const perms = await owner.get(`/orgs/${org.slug}/permissions`);
    expect(perms.text).toContain('attendees.export');
  });

  it('lets instance admins create organizations with a valid, free, non-reserved address', async () => {
    const admin = await createUser(s, { email: email('instance-admin'), instanceRole: 'admin', totp: true });
    const plain = await createUser(s, { email: email('plain') });
    const c = await signedInClient(s, admin.user);
    expect((await c.get('/orgs')).text).toContain('Create organization');
    for (const [slug, message] of [
      ['admin', 'This address is reserved'],
      ['api', 'This address is reserved'],
      ['new', 'This address is reserved'],
      ['Upper', '3–40 lowercase letters'],
      ['-dash', '3–40 lowercase letters'],
      ['ab', '3–40 lowercase letters'],
    ]) {
      const r = await c.post('/orgs', { name: 'Acme', slug: slug! });
      expect(r.status, slug).toBe(400);
      expect(r.text, slug).toContain(message);
    }
    const slug = uniqueSlug('acme');
    let r = await c.post('/orgs', { name: 'Acme Events', slug });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/orgs/${slug}`);
    r = await c.get(`/orgs/${slug}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('Acme Events');
    expect(r.text).toContain('data-testid="my-role">owner<');
    r = await c.post('/orgs', { name: 'Again', slug });
    expect(r.status).toBe(409);
    expect(r.text).toContain('already taken');

    const p = await signedInClient(s, plain.user);
    r = await p.post('/orgs', { name: 'Mine', slug: uniqueSlug('mine') });
    expect(r.status).toBe(403);
    expect(s.ctx.orgs.forUser(plain.user.id)).toHaveLength(0);
  });

  it('sends members of an organization that requires 2FA to enrolment first', async () => {
    const { org, people } = await orgWithRoles(s);
    const owner = await signedInClient(s, people.owner.user);
    const viewer = await signedInClient(s, people.viewer.user);
    let r = await owner.post(`/orgs/${org.slug}/settings/2fa`, { require2fa: 'on' });
    expect(r.status).toBe(303);
    expect(s.ctx.orgs.bySlug(org.slug)?.require_2fa).toBe(1);
    r = await viewer.get(`/orgs/${org.slug}`);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/2fa/setup');
    // The owner has no 2FA either: turning it off again is the way back.
    await owner.get('/account/2fa/setup');
    r = await owner.post(`/orgs/${org.slug}/settings/2fa`, {});
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/2fa/setup');
    s.ctx.orgs.setRequire2fa(org, false, systemContext());
    expect((await viewer.get(`/orgs/${org.slug}`)).status).toBe(200);
    const settings = await owner.get(`/orgs/${org.slug}/settings`);
    expect(settings.text).toContain('5 members without it.');
  });

  it('lets a signed-in invitee join, refuses another account, and links an existing account to sign-in', async () => {
    const { org, people } = await orgWithRoles(s);
    const invitee = await createUser(s, { email: email('existing') });
    const owner = await signedInClient(s, people.owner.user);
    expect((await owner.post(`/orgs/${org.slug}/members/invite`, { email: invitee.user.email, role: 'organizer' })).status).toBe(303);
    const token = devInviteToken(s, invitee.user.email)!;
    expect(token).toBeTruthy();
    const members = await owner.get(`/orgs/${org.slug}/members`);
    expect(members.text).toContain(invitee.user.email);
    // Already a member: refused.
    const again = await owner.post(`/orgs/${org.slug}/members/invite`, { email: people.viewer.user.email, role: 'viewer' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('That person is already a member.');

    const anon = new Client(s.url);
    let r = await anon.follow(`/invite?token=${token}`);
    expect(r.status).toBe(200);
    // The token went into a cookie: the page and its sign-in link no longer carry it.
    expect(r.text).toContain(`/login?next=${encodeURIComponent('/invite')}`);
    expect(r.text).not.toContain(token);
    r = await anon.post('/invite', { name: 'Someone', password: 'a long enough password 123' });
    expect(r.status).toBe(303);
    expect(r.location).toContain('/login?next=');

    const wrong = await signedInClient(s, people.viewer.user);
    r = await wrong.follow(`/invite?token=${token}`);
    expect(r.text).toContain('This invitation is for someone else');
    r = await wrong.post('/invite');
    expect(r.status).toBe(403);
    expect(membership(s, org, invitee.user)).toBeUndefined();

    const right = await signedInClient(s, invitee.user);
    r = await right.follow(`/invite?token=${token}`);
    expect(r.text).toContain(`Join ${org.name} as organizer`);
    r = await right.post('/invite');
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/orgs/${org.slug}`);
    expect(membership(s, org, invitee.user)?.role).toBe('organizer');
    expect((await right.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect((await right.get(`/invite?token=${token}`)).status).toBe(410);
  });

  it('a revoked invitation no longer works', async () => {
    const { org, people } = await orgWithRoles(s);
    const owner = await signedInClient(s, people.owner.user);
    const to = email('revoked');
    await owner.post(`/orgs/${org.slug}/members/invite`, { email: to, role: 'viewer' });
    const token = devInviteToken(s, to)!;
    const inv = s.ctx.orgs.openInvitations(org.id)[0]!;
    const r = await owner.post(`/orgs/${org.slug}/invitations/${inv.id}/revoke`);
    expect(r.status).toBe(303);
    expect(s.ctx.orgs.openInvitations(org.id)).toHaveLength(0);
    const anon = new Client(s.url, { 'sec-fetch-site': 'same-origin' });
    const page = await anon.get(`/invite?token=${token}`);
    expect(page.status).toBe(410);
    expect(page.text).toContain('invalid, expired, revoked or already used');
    expect((await anon.post('/invite', { token, name: 'Late', password: 'a long enough password 123' })).status).toBe(410);
    expect(s.ctx.orgs.hasAccount(to)).toBe(false);
    expect((await anon.get('/invite?token=garbage')).status).toBe(410);
  });
});

describe('invitation by email (real SMTP)', () => {
  let s: TestServer;
  let sink: SmtpSink;
  withSmtpServer((server, mailSink) => {
    s = server;
    sink = mailSink;
  });

  it('invite → mail → the new person registers through /invite → member with the invited role', async () => {
    const owner = await createUser(s, { email: email('owner') });
    const org = createOrg(s, owner.user, uniqueSlug('mail'), 'Mail Test Org');
    const c = await signedInClient(s, owner.user);
    const to = email('newcomer');
    const r0 = await c.post(`/orgs/${org.slug}/members/invite`, { email: to, role: 'checkin' });
    expect(r0.status).toBe(303);
    expect((await c.get(r0.location!)).text).toContain('Invitation sent.');
    const mail = await sink.waitFor((m) => m.to.includes(to));
    expect(mail.subject).toContain('Mail Test Org');
    const token = inviteTokenIn(mail.text)!;
    expect(token).toBeTruthy();

    const visitor = new Client(s.url);
    let r = await visitor.follow(`/invite?token=${token}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('Create account and join');
    expect(r.text).toContain(`value="${to}"`);
    r = await visitor.post('/invite', { name: 'New Person', password: 'short' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Use at least 12 characters');
    expect(s.ctx.orgs.hasAccount(to)).toBe(false);
    r = await visitor.post('/invite', { name: '', password: 'a long enough password 123' });
    expect(r.status).toBe(400);

    r = await visitor.post('/invite', { name: 'New Person', password: 'a long enough password 123' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/orgs/${org.slug}`);
    r = await visitor.get(`/orgs/${org.slug}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('data-testid="my-role">checkin<');
    const members = s.ctx.orgs.members(org.id);
    const joined = members.find((m) => m.email === to)!;
    expect(joined).toMatchObject({ role: 'checkin', disabled_at: null });
    expect(s.ctx.auth.user(joined.user_id)?.email_verified_at).not.toBeNull();
    expect(auditRows(s, org, 'member.joined')).toHaveLength(1);
    // Used once.
    expect((await new Client(s.url).get(`/invite?token=${token}`)).status).toBe(410);
    // The new account signs in with the chosen password.
    const again = new Client(s.url);
    await again.get('/login');
    expect((await again.post('/login', { email: to, password: 'a long enough password 123' })).status).toBe(303);
  });
});

describe('time limits (moving clock)', () => {
  const clock = new Clock();
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({}, { now: clock.now });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('an expired invitation answers 410 and creates nothing', async () => {
    const owner = await createUser(s, { email: email('owner') });
    const org = createOrg(s, owner.user, uniqueSlug('exp'));
    const to = email('late');
    const res = s.ctx.orgs.invite(org, owner.user, 'owner', { email: to, role: 'viewer' }, systemContext());
    expect(res.ok).toBe(true);
    const token = devInviteToken(s, to)!;
    expect((await new Client(s.url).follow(`/invite?token=${token}`)).status).toBe(200);
    clock.advance(7 * 86_400_000 + 60_000);
    // A browser: its same-origin POST needs no token when there is no session.
    const c = new Client(s.url, { 'sec-fetch-site': 'same-origin' });
    const r = await c.get(`/invite?token=${token}`);
    expect(r.status).toBe(410);
    expect(r.text).toContain('Invitation not usable');
    expect((await c.post('/invite', { token, name: 'Late', password: 'a long enough password 123' })).status).toBe(410);
    expect(s.ctx.orgs.hasAccount(to)).toBe(false);
  });

  it('an expired API token answers 401', async () => {
    const owner = await createUser(s, { email: email('owner') });
    const org = createOrg(s, owner.user, uniqueSlug('tok'));
    const res = s.ctx.orgs.createToken(org, owner.user, 'owner', { name: 'short', permissions: ['org.read'], days: 1 }, systemContext());
    if (!res.ok) throw new Error(res.message);
    const api = new Client(s.url);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(res.token))).status).toBe(200);
    clock.advance(86_400_000 + 1_000);
    const r = await api.get(`/api/v1/orgs/${org.slug}`, bearer(res.token));
    expect(r.status).toBe(401);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'Authentication required' });
  });
});
