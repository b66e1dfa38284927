import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { OrgDirectory } from '../src/orgs/directory.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, addMember, createOrg, createUser, loginViaHttp, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const email = (who: string) => testEmail(`${who}-${randomBytes(3).toString('hex')}`, 'c');
const auditRows = (s: TestServer, action: string, targetId: string) =>
  s.ctx.db.prepare('SELECT result, actor_id, details FROM audit_log WHERE action = ? AND target_id = ? ORDER BY seq').all(action, targetId) as { result: string; actor_id: string; details: string }[];
/** The table row of one account or organization on an admin page. */
const rowOf = (html: string, attr: string, id: string) => /<tr[^>]*>[\s\S]*?<\/tr>/.exec(html.slice(html.indexOf(`${attr}="${id}"`) - 4))?.[0] ?? '';

describe('instance admin: users', () => {
  let s: TestServer;
  let owner: TestUser;
  let admin: TestUser;
  beforeAll(async () => {
    s = await startTestServer();
    owner = await createUser(s, { email: email('iu-owner'), instanceRole: 'owner', totp: true });
    admin = await createUser(s, { email: email('iu-admin'), instanceRole: 'admin', totp: true });
  });
  afterAll(() => s?.close());

  it('finds accounts by name or email, wildcards taken literally, and shows status, 2FA and last sign-in', async () => {
    const needle = `Needle${randomBytes(2).toString('hex')}`;
    const hit = await createUser(s, { email: email('iu-hit'), name: `Ada ${needle}`, totp: true });
    const other = await createUser(s, { email: email('iu-other'), name: 'Someone Else' });
    await loginViaHttp(s, hit);
    const c = await signedInClient(s, admin.user);
    const r = await c.get(`/admin/users?q=${needle.toLowerCase()}`);
    expect(r.status).toBe(200);
    expect(r.text).toContain(`data-user="${hit.user.id}"`);
    expect(r.text).not.toContain(`data-user="${other.user.id}"`);
    const row = rowOf(r.text, 'data-user', hit.user.id);
    expect(row).toContain('<td>on</td>');
    expect(row).toContain('<td>active</td>');
    expect(row).toMatch(/[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC/);
    // "%" matches itself only, not everything.
    expect((await c.get('/admin/users?q=%25')).text).toContain('No account matches.');
    // By email too.
    expect((await c.get(`/admin/users?q=${encodeURIComponent(other.user.email)}`)).text).toContain(`data-user="${other.user.id}"`);
  });

  it('shows an admin no buttons for owners or for themselves; the routes refuse the same', async () => {
    const c = await signedInClient(s, admin.user);
    const page = (await c.get('/admin/users')).text;
    for (const id of [owner.user.id, admin.user.id]) {
      const row = rowOf(page, 'data-user', id);
      expect(row, id).not.toContain('/disable');
      expect(row, id).not.toContain('/sign-out');
      expect(row, id).not.toContain('/reset-2fa');
    }
    const plain = await createUser(s, { email: email('iu-plain'), totp: true });
    const row = rowOf((await c.get('/admin/users')).text, 'data-user', plain.user.id);
    expect(row).toContain(`/admin/users/${plain.user.id}/disable`);
    expect(row).toContain(`/admin/users/${plain.user.id}/reset-2fa`);
    expect((await c.post(`/admin/users/${owner.user.id}/reset-2fa`, { reason: 'lost-device' })).status).toBe(403);
    expect(s.ctx.auth.user(owner.user.id)!.totp_secret).not.toBeNull();
    expect(auditRows(s, 'user.2fa_reset', owner.user.id)).toMatchObject([{ result: 'denied' }]);
  });

  it('resets a second factor only with a reason; the person is signed out, told by email, and enrols again', async () => {
    const target = await createUser(s, { email: email('iu-reset'), totp: true });
    const theirs = await signedInClient(s, target.user);
    const c = await signedInClient(s, admin.user);
    await c.get('/admin/users');
    let r = await c.post(`/admin/users/${target.user.id}/reset-2fa`, {});
    expect(r.status).toBe(400);
    expect(r.text).toContain('Choose why the second factor is reset.');
    r = await c.post(`/admin/users/${target.user.id}/reset-2fa`, { reason: 'because I said so' });
    expect(r.status).toBe(400);
    expect(s.ctx.auth.user(target.user.id)!.totp_secret).not.toBeNull();
    expect((await theirs.get('/account')).status).toBe(200);

    r = await c.post(`/admin/users/${target.user.id}/reset-2fa`, { reason: 'lost-device' });
    expect(r.location).toBe('/admin/users?done=2fa-reset');
    expect(s.ctx.auth.user(target.user.id)!.totp_secret).toBeNull();
    expect((await theirs.get('/account')).status).toBe(303);
    const [row] = auditRows(s, 'user.2fa_reset', target.user.id);
    expect(row).toMatchObject({ result: 'success', actor_id: admin.user.id });
    expect(JSON.parse(row!.details)).toEqual({ reason: 'lost-device', sessions: 1 });
    expect(s.ctx.mailer.devOutbox(20).some((m) => m.to_address === target.user.email && m.subject === 'Your two-factor sign-in was reset')).toBe(true);
    // Nothing left to reset: the button is gone.
    expect(rowOf((await c.get('/admin/users')).text, 'data-user', target.user.id)).not.toContain('/reset-2fa');
  });

  it('resends an open invitation with a new link; the old link stops working', async () => {
    const org = createOrg(s, owner.user, uniqueSlug('iu-inv'));
    const to = email('iu-invitee');
    const sent = s.ctx.orgs.invite(org, owner.user, 'owner', { email: to, role: 'viewer' }, systemContext());
    expect(sent.ok).toBe(true);
    const links = () => s.ctx.mailer.devOutbox(50).filter((m) => m.to_address === to).map((m) => /token=([A-Za-z0-9_-]{43})/.exec(m.text_body)![1]!);
    const [first] = links();
    expect(s.ctx.orgs.findInvitation(first!)).toBeDefined();
    const c = await signedInClient(s, admin.user);
    const page = await c.get('/admin/users');
    const id = sent.ok ? sent.id : '';
    expect(page.text).toContain(`data-invitation="${id}"`);
    const r = await c.post(`/admin/invitations/${id}/resend`);
    expect(r.location).toBe('/admin/users?done=invitation-resent');
    const all = links();
    expect(all).toHaveLength(2);
    expect(s.ctx.orgs.findInvitation(first!)).toBeUndefined();
    expect(s.ctx.orgs.findInvitation(all.find((t) => t !== first)!)).toMatchObject({ invitation: { email: to, role: 'viewer' } });
    // The old id is closed now: resending it again is refused.
    expect((await c.post(`/admin/invitations/${id}/resend`)).status).toBe(404);
  });

  it('on the org members page, an org admin sees no Disable or Remove next to an owner', async () => {
    const orgOwner = await createUser(s, { email: email('iu-org-owner'), totp: true });
    const orgAdmin = await createUser(s, { email: email('iu-org-admin'), totp: true });
    const viewer = await createUser(s, { email: email('iu-org-viewer'), totp: true });
    const org = createOrg(s, orgOwner.user, uniqueSlug('iu-members'));
    addMember(s, org, orgAdmin.user, 'admin');
    addMember(s, org, viewer.user, 'viewer');
    const a = await signedInClient(s, orgAdmin.user);
    const page = (await a.get(`/orgs/${org.slug}/members`)).text;
    const ownerRow = rowOf(page, 'data-member', orgOwner.user.id);
    expect(ownerRow).not.toContain('/disable');
    expect(ownerRow).not.toContain('/remove');
    expect(rowOf(page, 'data-member', viewer.user.id)).toContain('/disable');
    // The owner sees them next to the admin, but not next to themselves as the last owner.
    const o = await signedInClient(s, orgOwner.user);
    const ownPage = (await o.get(`/orgs/${org.slug}/members`)).text;
    expect(rowOf(ownPage, 'data-member', orgAdmin.user.id)).toContain('/remove');
    expect(rowOf(ownPage, 'data-member', orgOwner.user.id)).not.toContain('/remove');
  });
});

describe('instance admin: organizations', () => {
  let s: TestServer;
  let admin: TestUser;
  beforeAll(async () => {
    s = await startTestServer();
    admin = await createUser(s, { email: email('io-admin'), instanceRole: 'admin', totp: true });
  });
  afterAll(() => s?.close());

  it('lists organizations with owners, member counts and storage; renames with a checked name', async () => {
    const owner = await createUser(s, { email: email('io-owner'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('io-list'), 'Listed Org');
    addMember(s, org, (await createUser(s, { email: email('io-m') })).user, 'viewer');
    createEvent(s, org, { publish: true });
    const c = await signedInClient(s, admin.user);
    let r = await c.get('/admin/orgs');
    const row = rowOf(r.text, 'data-org', org.id);
    expect(row).toContain('Listed Org');
    expect(row).toContain(owner.user.email);
    expect(row).toContain('<td>2</td>');
    expect(row).toMatch(/<td>\d+(\.\d)? (B|KiB)<\/td>/);
    r = await c.post(`/admin/orgs/${org.id}/rename`, { name: '   ' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Enter a name.');
    expect(s.ctx.orgDirectory.byId(org.id)!.name).toBe('Listed Org');
    r = await c.post(`/admin/orgs/${org.id}/rename`, { name: 'Renamed Org' });
    expect(r.location).toBe('/admin/orgs?done=renamed');
    expect(s.ctx.orgDirectory.byId(org.id)!.name).toBe('Renamed Org');
    expect(JSON.parse(auditRows(s, 'org.renamed', org.id)[0]!.details)).toEqual({ before: 'Listed Org', after: 'Renamed Org' });
  });

  it('suspending stops members from acting and makes the public pages say unavailable; lifting it restores both', async () => {
    const owner = await createUser(s, { email: email('io-sus-owner'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('io-sus'));
    const event = createEvent(s, org, { publish: true });
    const member = await signedInClient(s, owner.user);
    const anon = new Client(s.url);
    expect((await member.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect((await anon.get(`/e/${event.slug}`)).status).toBe(200);

    const c = await signedInClient(s, admin.user);
    await c.get('/admin/orgs');
    expect((await c.post(`/admin/orgs/${org.id}/suspend`)).location).toBe('/admin/orgs?done=suspended');
    let r = await member.get(`/orgs/${org.slug}`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('suspended');
    r = await member.post(`/orgs/${org.slug}/events/${event.id}/status`, { status: 'closed' });
    expect(r.status).toBe(403);
    r = await anon.get(`/e/${event.slug}`);
    expect(r.status).toBe(503);
    expect(r.text).toContain('unavailable');
    expect((await anon.get(`/o/${org.slug}`)).text).toContain('unavailable');
    expect(rowOf((await c.get('/admin/orgs')).text, 'data-org', org.id)).toContain('suspended since');
    expect((await c.post(`/admin/orgs/${org.id}/suspend`)).status).toBe(409);

    expect((await c.post(`/admin/orgs/${org.id}/unsuspend`)).location).toBe('/admin/orgs?done=unsuspended');
    expect((await member.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect((await anon.get(`/e/${event.slug}`)).status).toBe(200);
    expect(auditRows(s, 'org.suspended', org.id)).toMatchObject([{ result: 'success', actor_id: admin.user.id }]);
    expect(auditRows(s, 'org.unsuspended', org.id)).toHaveLength(1);
  });

  it('adds an owner to an organization whose owners are gone: an existing account, a reason, the password again; audited', async () => {
    const owner = await createUser(s, { email: email('io-own-1'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('io-owners'));
    const viewer = (await createUser(s, { email: email('io-own-v'), totp: true })).user;
    addMember(s, org, viewer, 'viewer');
    const outsider = await createUser(s, { email: email('io-own-new'), totp: true });
    const role = (userId: string) => (s.ctx.db.prepare('SELECT role FROM memberships WHERE org_id = ? AND user_id = ?').get(org.id, userId) as { role: string } | undefined)?.role;
    const path = `/admin/orgs/${org.id}/owners`;

    // Not for organization owners, and not without a fresh password.
    const orgOwner = await signedInClient(s, owner.user);
    expect((await orgOwner.post(path, { email: outsider.user.email, reason: 'owners-gone' })).status).toBe(403);
    const stale = await signedInClient(s, admin.user, { reauth: false });
    expect((await stale.post(path, { email: outsider.user.email, reason: 'owners-gone' })).location).toMatch(/^\/account\/reauth/);
    expect(role(outsider.user.id)).toBeUndefined();

    const c = await signedInClient(s, admin.user);
    let r = await c.post(path, { email: email('io-own-nobody'), reason: 'owners-gone' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('No active account uses this address');
    r = await c.post(path, { email: outsider.user.email, reason: 'because' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Choose why.');
    expect(role(outsider.user.id)).toBeUndefined();

    r = await c.post(path, { email: outsider.user.email, reason: 'owners-gone' });
    expect(r.location).toBe('/admin/orgs?done=owner-added');
    expect(role(outsider.user.id)).toBe('owner');
    // An owner's page opens for them now.
    expect((await (await signedInClient(s, outsider.user)).get(`/orgs/${org.slug}/settings`)).status).toBe(200);
    expect(JSON.parse(auditRows(s, 'org.owner_added', outsider.user.id)[0]!.details)).toEqual({ reason: 'owners-gone', before: null });

    // A member is promoted; an owner already is one.
    r = await c.post(path, { email: viewer.email, reason: 'org-request' });
    expect(r.location).toBe('/admin/orgs?done=owner-added');
    expect(role(viewer.id)).toBe('owner');
    expect(JSON.parse(auditRows(s, 'org.owner_added', viewer.id)[0]!.details)).toEqual({ reason: 'org-request', before: 'viewer' });
    r = await c.post(path, { email: owner.user.email, reason: 'org-request' });
    expect(r.status).toBe(409);
    expect(r.text).toContain('is already an owner');
    expect(auditRows(s, 'org.owner_added', owner.user.id)).toEqual([]);
    expect(rowOf((await c.get('/admin/orgs')).text, 'data-org', org.id)).toContain(outsider.user.email);
  });

  it('reads the suspensions from the database when it starts', async () => {
    const owner = await createUser(s, { email: email('io-restart'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('io-restart'));
    s.ctx.orgDirectory.setSuspended(admin.user, org.id, true, systemContext());
    const { db, writer, audit, mailer, now, baseUrl } = s.ctx;
    expect(new OrgDirectory({ db, writer, audit, mailer, now, baseUrl, userByEmail: (e) => s.ctx.auth.userByEmail(e) }).isSuspended(org.id)).toBe(true);
  });
});
