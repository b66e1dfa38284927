import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRow } from '../src/audit/repo.ts';
import type { AuditContext } from '../src/audit/service.ts';
import { Client } from './support/client.ts';
import { addMember, createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type Tenant, createTenant, newRegistration } from './support/tenant.ts';

/**
 * The audit pages against the real server: every filter on its own and combined, keyset paging
 * (links and htmx), the tenant boundary, a person searched by email without the email being kept
 * anywhere, the export (itself audited), "who accessed this attendee", and the flood fix.
 */
let s: TestServer;
let A: Tenant;
let B: Tenant;
let ownerA: Client;
let viewerA: Client;
let organizerA: Client;
let admin: Client;
let userX: string;
let userY: string;
let viewerId: string;

const seqs = (html: string) => [...html.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]));
const rowsOf = (where: string, ...args: unknown[]) => (s.ctx.db.prepare(`SELECT seq FROM audit_log WHERE ${where} ORDER BY seq DESC LIMIT 50`).pluck().all(...args) as number[]);
const record = (ctx: Partial<AuditContext>, action: string, target: { type: string; id: string } | null, result: AuditRow['result'] = 'success', details: Record<string, unknown> = {}) =>
  s.ctx.audit.record({ actor: { type: 'user', id: userX }, ...ctx }, action, target, result, details);

beforeAll(async () => {
  s = await startTestServer({ trustProxy: 'true' });
  A = await createTenant(s, 'a');
  B = await createTenant(s, 'b');
  ownerA = await signedInClient(s, A.owner.user);
  const viewer = await createUser(s, { email: testEmail('audit-viewer', 'a'), totp: true });
  addMember(s, A.org, viewer.user, 'viewer');
  viewerA = await signedInClient(s, viewer.user);
  viewerId = viewer.user.id;
  const organizer = await createUser(s, { email: testEmail('audit-organizer', 'a'), totp: true });
  addMember(s, A.org, organizer.user, 'organizer');
  organizerA = await signedInClient(s, organizer.user);
  admin = await signedInClient(s, (await createUser(s, { email: testEmail('audit-instance-admin'), instanceRole: 'admin', totp: true })).user);
  userX = A.member.id;
  userY = (await createUser(s, { email: testEmail('audit-y', 'a'), totp: true })).user.id;
  addMember(s, A.org, s.ctx.auth.user(userY)!, 'viewer');
  // A known mix in org A, and the same shapes in org B that must never show in A's results.
  for (let i = 0; i < 6; i++) {
    record({ orgId: A.org.id, ip: '198.51.100.7' }, 'event.updated', { type: 'event', id: A.event.id }, 'success', { event: A.event.id });
    record({ orgId: A.org.id, ip: '203.0.113.9', actor: { type: 'user', id: userY } }, 'member.role_changed', { type: 'user', id: userX }, i % 2 ? 'failure' : 'success');
    record({ orgId: B.org.id, ip: '198.51.100.7' }, 'event.updated', { type: 'event', id: B.event.id }, 'success', { event: B.event.id });
  }
});
afterAll(() => s?.close());

describe('audit search (organization)', () => {
  it('filters by actor, action, category, target, IP, result and time range, each matching the SQL truth', async () => {
    const base = `/orgs/${A.org.slug}/audit`;
    const cases: [string, string, unknown[]][] = [
      [`?actor=${userY}`, 'org_id = ? AND actor_id = ?', [A.org.id, userY]],
      [`?actor=${encodeURIComponent(s.ctx.auth.user(userY)!.email)}`, 'org_id = ? AND actor_id = ?', [A.org.id, userY]],
      ['?action=event.updated', `org_id = ? AND action = 'event.updated'`, [A.org.id]],
      ['?action=member.*', `org_id = ? AND action LIKE 'member.%'`, [A.org.id]],
      [`?target=${userX}`, 'org_id = ? AND target_id = ?', [A.org.id, userX]],
      ['?ip=203.0.113.9', `org_id = ? AND ip = '203.0.113.9'`, [A.org.id]],
      ['?result=failure', `org_id = ? AND result = 'failure'`, [A.org.id]],
      [`?actor=${userY}&result=success&action=member.role_changed`, `org_id = ? AND actor_id = ? AND result = 'success' AND action = 'member.role_changed'`, [A.org.id, userY]],
    ];
    for (const [q, where, args] of cases) {
      const r = await ownerA.get(`${base}${q}`);
      expect(r.status, q).toBe(200);
      const expected = rowsOf(where, ...args);
      expect(expected.length, q).toBeGreaterThan(0);
      expect(seqs(r.text), q).toEqual(expected);
    }
    // Time range: from the 3rd event.updated row of org A up to (not including) the 5th.
    const ev = s.ctx.db.prepare(`SELECT seq, at FROM audit_log WHERE org_id = ? AND action = 'event.updated' ORDER BY seq`).all(A.org.id) as { seq: number; at: string }[];
    const from = ev[2]!.at;
    const to = ev[4]!.at;
    const ranged = await ownerA.get(`${base}?action=event.updated&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    const expected = rowsOf(`org_id = ? AND action = 'event.updated' AND at >= ? AND at < ?`, A.org.id, from, to);
    expect(expected.length).toBeGreaterThan(0);
    expect(seqs(ranged.text)).toEqual(expected);
    // Bad input: a clear message, nothing listed.
    const bad = await ownerA.get(`${base}?from=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter a date');
    expect(seqs(bad.text)).toEqual([]);
  });

  it('shows readable actions and targets: words and the event title, not codes and UUIDs', async () => {
    const r = await ownerA.get(`/orgs/${A.org.slug}/audit?action=event.updated`);
    expect(r.text).toContain('Event changed');
    expect(r.text).toContain(`event ${A.event.title}`);
    const seq = seqs(r.text)[0]!;
    const entry = await ownerA.get(`/orgs/${A.org.slug}/audit/entries/${seq}`);
    expect(entry.status).toBe(200);
    expect(entry.text).toContain('Event changed');
    expect(entry.text).toContain('198.51.100.7');
    expect(entry.text).toContain(A.event.id);
  });

  it('pages with keyset links (plain and htmx) through every row exactly once', async () => {
    for (let i = 0; i < 57; i++) record({ orgId: A.org.id }, 'event.field_moved', { type: 'event', id: A.event.id });
    const all = s.ctx.db.prepare(`SELECT seq FROM audit_log WHERE org_id = ? AND action = 'event.field_moved' ORDER BY seq DESC`).pluck().all(A.org.id) as number[];
    const first = await ownerA.get(`/orgs/${A.org.slug}/audit?action=event.field_moved`);
    expect(seqs(first.text)).toEqual(all.slice(0, 50));
    const older = /href="([^"]+)"[^>]*rel="next"/.exec(first.text)?.[1]?.replaceAll('&amp;', '&');
    expect(older).toContain(`before=${all[49]}`);
    const page2 = await ownerA.get(older!, { 'hx-request': 'true' });
    // htmx gets the results region only, not a whole page.
    expect(page2.text).not.toContain('<html');
    expect(page2.text).toContain('id="audit-results"');
    expect(seqs(page2.text)).toEqual(all.slice(50));
    expect(page2.text).not.toContain('rel="next"');
    const plain = await ownerA.get(older!);
    expect(plain.text).toContain('<html');
    expect(seqs(plain.text)).toEqual(all.slice(50));
  });

  it("keeps to the organization: org B's entries are not found, and members without audit.read get 403", async () => {
    const bSeq = s.ctx.db.prepare('SELECT max(seq) FROM audit_log WHERE org_id = ?').pluck().get(B.org.id) as number;
    expect((await ownerA.get(`/orgs/${A.org.slug}/audit/entries/${bSeq}`)).status).toBe(404);
    const byTarget = await ownerA.get(`/orgs/${A.org.slug}/audit?target=${B.event.id}`);
    expect(seqs(byTarget.text)).toEqual([]);
    const byIp = await ownerA.get(`/orgs/${A.org.slug}/audit?ip=198.51.100.7`);
    expect(seqs(byIp.text).length).toBeGreaterThan(0);
    expect(seqs(byIp.text).every((q) => (s.ctx.db.prepare('SELECT org_id FROM audit_log WHERE seq = ?').pluck().get(q) as string) === A.org.id)).toBe(true);
    for (const c of [viewerA, organizerA]) {
      expect((await c.get(`/orgs/${A.org.slug}/audit`)).status).toBe(403);
      expect((await c.post(`/orgs/${A.org.slug}/audit`, { person: 'someone@example.test' })).status).toBe(403);
      expect((await c.get(`/orgs/${A.org.slug}/audit/export.csv`)).status).toBe(403);
      expect((await c.get(`/orgs/${A.org.slug}/audit/entries/${seqs(byIp.text)[0]}`)).status).toBe(403);
    }
    // The owner of org B does not learn that org A exists.
    const ownerB = await signedInClient(s, B.owner.user);
    expect((await ownerB.get(`/orgs/${A.org.slug}/audit`)).status).toBe(404);
  });

  it('finds a person by email through the pseudonym, without keeping the email anywhere', async () => {
    const email = testEmail('audit-person-kim', 'a');
    const reg = await s.ctx.registrations.register(A.event, { email, name: 'Kim Pseudonymova' }, { actor: { type: 'system' } });
    expect(reg.ok).toBe(true);
    if (!reg.ok) return;
    s.ctx.attendees.view(A.event, reg.reg.id, { actor: { type: 'user', id: A.owner.user.id } });
    // The same email in org B is another pseudonym: its rows must not match in org A.
    const regB = await s.ctx.registrations.register(B.event, { email, name: 'Kim Pseudonymova' }, { actor: { type: 'system' } });
    expect(regB.ok).toBe(true);
    const other = await newRegistration(A);
    await ownerA.get(`/orgs/${A.org.slug}/audit`);
    const r = await ownerA.post(`/orgs/${A.org.slug}/audit`, { person: email.toUpperCase() });
    expect(r.status).toBe(200);
    const found = seqs(r.text);
    const expected = s.ctx.db.prepare(`SELECT seq FROM audit_log WHERE org_id = ? AND target_id = ? ORDER BY seq DESC`).pluck().all(A.org.id, reg.reg.id) as number[];
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect(found).toEqual(expected);
    expect(found).not.toContain(s.ctx.db.prepare(`SELECT seq FROM audit_log WHERE target_id = ?`).pluck().get(other.id));
    // The email went nowhere: not into the page, a link, the audit log or the access log.
    expect(r.text).not.toContain(email);
    expect(r.text).not.toContain(encodeURIComponent(email));
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_log WHERE details LIKE ? OR target_id LIKE ? OR user_agent LIKE ?`).pluck().get(`%${email}%`, `%${email}%`, `%${email}%`)).toBe(0);
    s.ctx.accessLog.flush();
    await expect.poll(() => fs.readdirSync(path.join(s.dataDir, 'access-log')).map((f) => fs.readFileSync(path.join(s.dataDir, 'access-log', f), 'utf8')).join('').includes(`/orgs/:orgSlug/audit`)).toBe(true);
    for (const f of fs.readdirSync(path.join(s.dataDir, 'access-log'))) expect(fs.readFileSync(path.join(s.dataDir, 'access-log', f), 'utf8')).not.toContain('audit-person-kim');
    // The search itself is recorded (without the email), and the next page link carries the pseudonym.
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'audit.searched_person' AND org_id = ? AND actor_id = ?`).pluck().get(A.org.id, A.owner.user.id)).toBe(1);
    const pseudonyms = s.ctx.audit.personPseudonyms(A.org.id, email);
    expect(r.text).toContain(`name="subject" value="${pseudonyms[0]}"`);
    const viaLink = await ownerA.get(`/orgs/${A.org.slug}/audit?subject=${pseudonyms[0]}`);
    expect(seqs(viaLink.text)).toEqual(expected);
    // A malformed email is refused with a clear message and not echoed.
    const bad = await ownerA.post(`/orgs/${A.org.slug}/audit`, { person: 'not an email kim' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter the attendee');
    expect(bad.text).not.toContain('not an email kim');
  });

  it('exports the filtered view as CSV and JSON, and the export is itself audited', async () => {
    const csv = await ownerA.get(`/orgs/${A.org.slug}/audit/export.csv?action=member.role_changed&result=failure`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toContain('seq,at,organization,actor_type');
    const expected = rowsOf(`org_id = ? AND action = 'member.role_changed' AND result = 'failure'`, A.org.id);
    expect(lines.length - 1).toBe(expected.length);
    expect(lines.slice(1).every((l) => l.includes('member.role_changed') && l.includes('failure'))).toBe(true);
    const exported = s.ctx.db.prepare(`SELECT * FROM audit_log WHERE action = 'audit.exported' ORDER BY seq DESC LIMIT 1`).get() as AuditRow;
    expect(exported).toMatchObject({ org_id: A.org.id, actor_id: A.owner.user.id, result: 'success' });
    expect(JSON.parse(exported.details)).toMatchObject({ format: 'csv', rows: expected.length, filter: { action: 'member.role_changed', result: 'failure', person: false } });
    const json = await ownerA.get(`/orgs/${A.org.slug}/audit/export.json?ip=203.0.113.9`);
    const parsed = JSON.parse(json.text) as { seq: number; organization: string; action_words: string }[];
    expect(parsed.map((p) => p.seq)).toEqual(rowsOf(`org_id = ? AND ip = '203.0.113.9'`, A.org.id));
    expect(parsed.every((p) => p.organization === A.org.id && p.action_words === 'Member role changed')).toBe(true);
  });

  it('shows who accessed an attendee on the attendee page', async () => {
    const reg = await newRegistration(A);
    const detail = `/orgs/${A.org.slug}/events/${A.event.id}/attendees/${reg.id}`;
    expect((await organizerA.get(detail)).status).toBe(200);
    const page = await ownerA.get(detail);
    expect(page.text).toContain('Who accessed this attendee');
    const section = page.text.slice(page.text.indexOf('id="accesses"'));
    expect(section).toContain(s.ctx.auth.user(A.owner.user.id)!.name);
    // The organizer's own page has no audit section: they cannot read the audit log.
    expect((await organizerA.get(detail)).text).not.toContain('Who accessed this attendee');
    const viewedBy = s.ctx.db.prepare(`SELECT DISTINCT actor_id FROM audit_log WHERE action = 'attendee.viewed' AND target_id = ?`).pluck().all(reg.id) as string[];
    expect(viewedBy.length).toBe(2);
    for (const id of viewedBy) expect(section).toContain(s.ctx.auth.user(id)!.name);
  });
});

describe('refusals of outsiders (flood fix)', () => {
  it("another organization's admin hammering an organization's routes leaves nothing in its log and one aggregated row per route and hour", async () => {
    const adminB = (await createUser(s, { email: testEmail('audit-flooder', 'b'), totp: true })).user;
    addMember(s, B.org, adminB, 'admin');
    const ownerB = await signedInClient(s, adminB);
    const before = s.ctx.db.prepare('SELECT count(*) FROM audit_log WHERE org_id = ?').pluck().get(A.org.id) as number;
    const targets = [`/orgs/${A.org.slug}/audit`, `/orgs/${A.org.slug}/members`, `/orgs/${A.org.slug}/events/${A.event.id}`];
    for (let i = 0; i < 15; i++) for (const t of targets) expect((await ownerB.get(t)).status).toBe(404);
    for (let i = 0; i < 10; i++) expect((await ownerB.post(`/orgs/${A.org.slug}/members/invite`, { email: 'x@example.test', role: 'viewer' })).status).toBe(404);
    expect(s.ctx.db.prepare('SELECT count(*) FROM audit_log WHERE org_id = ?').pluck().get(A.org.id)).toBe(before);
    const perBucket = s.ctx.db
      .prepare(`SELECT target_id AS route, substr(at, 1, 13) AS hour, count(*) AS n FROM audit_log WHERE action = 'access.denied' AND org_id IS NULL AND actor_id = ? GROUP BY 1, 2`)
      .all(adminB.id) as { route: string; hour: string; n: number }[];
    expect(perBucket.length).toBeGreaterThanOrEqual(4);
    for (const b of perBucket) expect(b.n, `${b.route} ${b.hour}`).toBe(1);
    const counted = s.ctx.db.prepare(`SELECT route, sum(count) AS n FROM audit_denials WHERE actor_id = ? GROUP BY route`).all(adminB.id) as { route: string; n: number }[];
    expect(Object.fromEntries(counted.map((c) => [c.route, c.n]))).toMatchObject({ '/orgs/:orgSlug/audit': 15, '/orgs/:orgSlug/members': 15, '/orgs/:orgSlug/members/invite': 10 });
    const row = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'access.denied' AND org_id IS NULL AND actor_id = ? AND target_id = '/orgs/:orgSlug/members'`).get(adminB.id) as { details: string };
    expect(JSON.parse(row.details)).toMatchObject({ reason: 'not-member', targetOrg: A.org.id });
    // The instance admin sees them, aggregated.
    const page = await admin.get('/admin/audit');
    expect(page.text).toContain('Refused requests from outside');
    expect(page.text).toContain('<code>/orgs/:orgSlug/members/invite</code>');
    // A member's own refusal still belongs to the organization.
    expect((await viewerA.get(`/orgs/${A.org.slug}/audit`)).status).toBe(403);
    expect(s.ctx.db.prepare(`SELECT count(*) FROM audit_log WHERE org_id = ? AND action = 'access.denied' AND actor_id = ?`).pluck().get(A.org.id, viewerId)).toBeGreaterThan(0);
  });
});

describe('audit search (instance admins)', () => {
  it('searches every organization, one organization, or the instance log; a person needs the organization', async () => {
    const all = await admin.get('/admin/audit?action=event.updated');
    expect(seqs(all.text)).toEqual(rowsOf(`action = 'event.updated'`));
    const onlyB = await admin.get(`/admin/audit?action=event.updated&scope=${B.org.id}`);
    expect(seqs(onlyB.text)).toEqual(rowsOf(`action = 'event.updated' AND org_id = ?`, B.org.id));
    const inst = await admin.get('/admin/audit?scope=instance');
    expect(seqs(inst.text)).toEqual(rowsOf('org_id IS NULL'));
    await admin.get('/admin/audit');
    const noScope = await admin.post('/admin/audit', { person: testEmail('audit-person-kim', 'a') });
    expect(noScope.status).toBe(400);
    expect(noScope.text).toContain('Choose the organization');
    const scoped = await admin.post('/admin/audit', { person: testEmail('audit-person-kim', 'a'), scope: B.org.id });
    expect(scoped.status).toBe(200);
    const found = seqs(scoped.text);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((q) => s.ctx.db.prepare('SELECT org_id FROM audit_log WHERE seq = ?').pluck().get(q) === B.org.id)).toBe(true);
    const entry = await admin.get(`/admin/audit/entries/${found[0]}`);
    expect(entry.status).toBe(200);
    const csv = await admin.get(`/admin/audit/export.csv?scope=${B.org.id}&action=event.updated`);
    expect(csv.text.trim().split('\n').length - 1).toBe(rowsOf(`action = 'event.updated' AND org_id = ?`, B.org.id).length);
    expect(s.ctx.db.prepare(`SELECT org_id FROM audit_log WHERE action = 'audit.exported' ORDER BY seq DESC LIMIT 1`).pluck().get()).toBeNull();
  });

  it('shows the access log of a day, filtered by status, route and user, newest first', async () => {
    await ownerA.get('/no-such-page-for-the-viewer');
    s.ctx.accessLog.flush();
    const r = await admin.get('/admin/access-log?status=4xx');
    expect(r.status).toBe(200);
    const statuses = [...r.text.matchAll(/data-status="(\d+)"/g)].map((m) => Number(m[1]));
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((x) => x >= 400 && x < 500)).toBe(true);
    const byUser = await admin.get(`/admin/access-log?user=${A.owner.user.id}&route=audit`);
    const cells = [...byUser.text.matchAll(/<tr data-status="\d+">([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
    expect(cells.length).toBeGreaterThan(0);
    expect(cells.every((c) => c.includes(A.owner.user.id) && c.includes('audit'))).toBe(true);
    expect((await admin.get('/admin/access-log?day=not-a-day')).status).toBe(400);
  });
});
