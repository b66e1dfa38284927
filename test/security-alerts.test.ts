import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../src/audit/verify.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, type TestUser, addMember, createOrg, createUser, loginViaHttp, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

const sys = { actor: { type: 'system' as const } };

/**
 * The security alert rules (issue 21): each fires on the audit rows that describe it, is stored
 * for the organization's Security page and mailed to its owners and admins (grouped), and
 * ordinary work raises none.
 */
describe('security alerts', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let org: OrgRow;
  let owner: TestUser;
  let member: TestUser;
  let instanceOwner: TestUser;
  const clock = new Clock();

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    instanceOwner = await createUser(s, { email: testEmail('al-instance-owner'), instanceRole: 'owner', totp: true });
    owner = await createUser(s, { email: testEmail('al-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('al'));
    member = await createUser(s, { email: testEmail('al-member'), totp: true });
    addMember(s, org, member.user, 'organizer');
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  const rules = (orgId: string | null) => (s.ctx.db.prepare('SELECT rule FROM security_alerts WHERE org_id IS ? ORDER BY id').all(orgId) as { rule: string }[]).map((r) => r.rule);
  const reportRows = (orgId: string) => s.ctx.db.prepare(`SELECT details FROM audit_log WHERE org_id = ? AND action = 'security.incident_report' ORDER BY seq`).all(orgId) as { details: string }[];
  const escapeHtml = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  const alertMail = (to: string, title: string) => sink.waitFor((m) => m.to.includes(to) && m.subject === `Security alert: ${title}`);
  const record = (action: string, target: string | null, result: 'success' | 'failure' | 'denied', ip: string, details: Record<string, unknown> = {}, orgId: string | null = null) =>
    s.ctx.audit.record({ actor: { type: 'user', id: target }, orgId, ip }, action, target ? { type: 'user', id: target } : null, result, details);

  it('ordinary work raises none: sign-in, registrations, reading a few records and the list, the Security page', async () => {
    const quiet = await createUser(s, { email: testEmail('al-quiet-owner'), totp: true });
    const quietOrg = createOrg(s, quiet.user, uniqueSlug('alq'));
    const c = await loginViaHttp(s, quiet, clock);
    const e = createEvent(s, quietOrg);
    const regs = [];
    for (let i = 0; i < 5; i++) {
      const r = await s.ctx.registrations.register(e, { email: testEmail(`al-q-${i}`), name: `Q ${i}` }, sys);
      if (r.ok) regs.push(r.reg);
    }
    for (const r of regs) expect((await c.get(`/orgs/${quietOrg.slug}/events/${e.id}/attendees/${r.id}`)).status).toBe(200);
    expect((await c.get(`/orgs/${quietOrg.slug}/events/${e.id}/attendees`)).status).toBe(200);
    // A second sign-in from the same network is not "new".
    await loginViaHttp(s, quiet, clock);
    const page = await c.get(`/orgs/${quietOrg.slug}/security`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('No alerts.');
    expect(rules(quietOrg.id)).toEqual([]);
    expect(sink.messages.filter((m) => m.subject.startsWith('Security alert'))).toEqual([]);
  });

  it('repeated failed sign-ins to a member account alert its organization', async () => {
    const c = new Client(s.url);
    await c.get('/login');
    for (let i = 0; i < 5; i++) await c.post('/login', { email: member.user.email, password: `wrong-password-${i}-xx` });
    await alertMail(owner.user.email, 'Repeated failed sign-ins to a member account');
    expect(rules(org.id)).toContain('failed-logins-account');
  });

  it('many failed sign-ins from one network alert the instance owners', async () => {
    for (let i = 0; i < 20; i++) record('auth.login', null, 'failure', '203.0.113.9', { reason: 'unknown_email' });
    const mail = await alertMail(instanceOwner.user.email, 'Many failed sign-ins from one network');
    expect(mail.text).toContain('203.0.113.0/24');
    expect(rules(null)).toContain('failed-logins-network');
  });

  it('an owner signing in from a new network, and 2FA turned off for an owner, alert the organization; not for others', async () => {
    record('auth.login', owner.user.id, 'success', '192.0.2.10');
    record('auth.login', owner.user.id, 'success', '192.0.2.77'); // same /24: known
    expect(rules(org.id)).not.toContain('new-network');
    record('auth.login', owner.user.id, 'success', '198.51.100.5');
    await alertMail(owner.user.email, 'An administrator signed in from a new network');
    // An organizer is no administrator: no alert for their new networks or their 2FA.
    record('auth.login', member.user.id, 'success', '192.0.2.10');
    record('auth.login', member.user.id, 'success', '198.51.100.5');
    record('auth.2fa_disabled', member.user.id, 'success', '192.0.2.10');
    expect(rules(org.id).filter((r) => r === 'new-network' || r === '2fa-off')).toEqual(['new-network']);
    record('auth.2fa_disabled', owner.user.id, 'success', '192.0.2.10');
    await alertMail(owner.user.email, 'Two-factor authentication was turned off for an administrator');
  });

  it('a member reading more attendee records than the threshold alerts, with the threshold set on the Security page', async () => {
    const c = await signedInClient(s, owner.user);
    expect((await c.post(`/orgs/${org.slug}/security/thresholds`, { failed_n: '5', failed_minutes: '15', reads_n: 'many', reads_minutes: '10' })).status).toBe(400);
    expect((await c.post(`/orgs/${org.slug}/security/thresholds`, { failed_n: '5', failed_minutes: '15', reads_n: '10', reads_minutes: '10' })).status).toBe(303);
    const e = createEvent(s, org);
    for (let i = 0; i < 12; i++) await s.ctx.registrations.register(e, { email: testEmail(`al-r-${i}`), name: `R ${i}` }, sys);
    const staff = await signedInClient(s, member.user, { reauth: true });
    expect((await staff.get(`/orgs/${org.slug}/events/${e.id}/attendees/export.csv`)).status).toBe(200);
    const mail = await alertMail(owner.user.email, 'A member read or exported many attendees’ personal data');
    expect(mail.text).toContain(`User ${member.user.id}: 12 attendee records`);
    // A viewer of the page is refused; the page lists the alert.
    const viewer = await createUser(s, { email: testEmail('al-viewer'), totp: true });
    addMember(s, org, viewer.user, 'viewer');
    expect((await (await signedInClient(s, viewer.user)).get(`/orgs/${org.slug}/security`)).status).toBe(403);
    expect((await c.get(`/orgs/${org.slug}/security`)).text).toContain('data-rule="bulk-reads"');
  });

  it('access refused by the IP allowlist alerts; a second within 15 minutes is grouped into the next mail', async () => {
    const fresh = s.ctx.orgs.bySlug(org.slug)!;
    expect(s.ctx.orgs.setAllowlist(fresh, ['10.0.0.0/8'], '10.1.2.3', sys).ok).toBe(true);
    const staff = await signedInClient(s, member.user);
    const toOwner = () => sink.messages.filter((m) => m.to.includes(owner.user.email) && m.subject === 'Security alert: Access refused by the IP allowlist').length;
    expect(toOwner()).toBe(0);
    expect((await staff.get(`/orgs/${org.slug}`)).status).toBe(403);
    await alertMail(owner.user.email, 'Access refused by the IP allowlist');
    expect((await staff.get(`/orgs/${org.slug}/events`)).status).toBe(403);
    expect(rules(org.id).filter((r) => r === 'ip-allowlist')).toHaveLength(2);
    clock.advance(16 * 60_000);
    expect((await staff.get(`/orgs/${org.slug}/members`)).status).toBe(403);
    const grouped = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject === 'Security alert: Access refused by the IP allowlist' && m.text.includes('Also 1 more alert'));
    expect(grouped).toBeDefined();
    // Three alerts, two mails: the first, and the grouped one.
    expect(toOwner()).toBe(2);
    expect(rules(org.id).filter((r) => r === 'ip-allowlist')).toHaveLength(3);
    expect(s.ctx.orgs.setAllowlist(s.ctx.orgs.bySlug(org.slug)!, [], null, sys).ok).toBe(true);
  });

  it('an incident declared from an alert counts the people from the audit log, keeps the 72-hour clock, mails owners and admins, and reports as JSON', async () => {
    const alertId = (s.ctx.db.prepare(`SELECT id FROM security_alerts WHERE org_id = ? AND rule = 'bulk-reads'`).get(org.id) as { id: number }).id;
    const c = await signedInClient(s, owner.user);
    const form = await c.get(`/orgs/${org.slug}/security/incidents/new?alert=${alertId}`);
    expect(form.text).toContain('The audit log shows 12 attendee records');
    const aware = new Date(clock.now() - 2 * 3600_000).toISOString();
    const fields = { title: 'Export by a departing organizer', what_happened: 'An organizer exported the attendee list before leaving.', affected_data: 'names, email addresses', likely_consequences: 'Unwanted contact by a competitor.', measures_taken: 'Account removed;\nthe recipient asked to delete the file.', affected_people: '', alert_id: String(alertId) };
    expect((await c.post(`/orgs/${org.slug}/security/incidents`, { ...fields, aware_at: 'yesterday' })).status).toBe(400);
    const declared = await c.post(`/orgs/${org.slug}/security/incidents`, { ...fields, aware_at: `${aware.slice(0, 10)} ${aware.slice(11, 16)}` });
    expect(declared.status).toBe(303);
    const url = declared.location!.split('?')[0]!;
    const page = await c.get(url);
    expect(page.text).toMatch(/data-testid="art33-clock"><strong>(69|70) h \d+ min left to tell the authority/);
    expect(page.text).toContain('audit log: 12 attendee records');
    const mail = await alertMail(owner.user.email, 'Personal-data incident: Export by a departing organizer');
    expect(mail.text).toContain(url);
    const report = JSON.parse((await c.get(`${url}/report.json`)).text) as Record<string, unknown>;
    expect(report).toMatchObject({ title: 'Export by a departing organizer', affectedPeople: null, affectedPeopleFromAuditLog: 12, fromAlert: alertId, authorityNotifiedAt: null });
    expect(Date.parse(report.authorityDeadline as string) - Date.parse(report.awareAt as string)).toBe(72 * 3600_000);
    expect(report).toMatchObject({ likelyConsequences: 'Unwanted contact by a competitor.', measuresTaken: 'Account removed;\nthe recipient asked to delete the file.' });

    // The printable report: standalone (no app shell), a print stylesheet, every fact of the JSON,
    // the clock, and audited like the JSON.
    const reportsBefore = reportRows(org.id);
    const html = await c.get(`${url}/report`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    expect(html.headers.get('cache-control')).toBe('no-store');
    expect(html.text).not.toContain('class="nav-heading"');
    expect(html.text).toMatch(/<link rel="stylesheet" href="\/static\/app\.[0-9a-f]+\.css"/);
    const facts = JSON.parse((await c.get(`${url}/report.json`)).text) as Record<string, unknown>;
    for (const [k, v] of Object.entries(facts)) {
      if (v === null || k === 'reportAt') continue;
      expect(html.text, k).toContain(escapeHtml(String(v)));
    }
    expect(html.text).toMatch(/data-testid="art33-clock"[^>]*><strong>(69|70) h \d+ min left to tell the authority/);
    expect(html.text).toMatch(/data-testid="affected-audit">12</);
    expect(html.text).toContain('data-testid="affected-people">not known yet<');
    expect(reportRows(org.id).slice(reportsBefore.length).map((r) => JSON.parse(r.details).format)).toEqual(['html', 'json']);
    // A viewer of another organization's incident, or a wrong id, gets nothing.
    expect((await c.get(`/orgs/${org.slug}/security/incidents/00000000-0000-4000-8000-000000000000/report`)).status).toBe(404);
    // Past the 72 hours the clock says overdue, until the authority is recorded as told (once).
    clock.advance(71 * 3600_000);
    const later = await signedInClient(s, owner.user);
    expect((await later.get(url)).text).toMatch(/overdue by 1 h/);
    expect((await later.post(`${url}/authority`)).status).toBe(303);
    expect((await later.get(url)).text).toContain('authority told');
    expect((await later.post(`${url}/authority`)).status).toBe(409);
    expect((await later.get(`/orgs/${org.slug}/security`)).text).toContain('Export by a departing organizer');

    // Declared by hand (no alert): nothing is counted from the audit log, and the report says so.
    const byHand = await later.post(`/orgs/${org.slug}/security/incidents`, { title: 'Lost laptop', what_happened: 'Left on a train.', affected_data: 'names', affected_people: '40', aware_at: `${new Date(clock.now()).toISOString().slice(0, 10)} 08:00` });
    expect(byHand.status).toBe(303);
    const handReport = (await later.get(`${byHand.location!.split('?')[0]}/report`)).text;
    expect(handReport).toContain('data-testid="from-alert">no (declared by hand)<');
    expect(handReport).toContain('data-testid="affected-people">40<');
    expect(handReport).toContain('data-testid="measures"><em>Not recorded.</em>');
  });

  it('a broken audit chain, and backups an hour behind, alert the instance owners', async () => {
    s.ctx.alertRules.backupChecked({ lagSeconds: 120, targets: [] });
    expect(rules(null)).not.toContain('backup-failure');
    s.ctx.alertRules.backupChecked({ lagSeconds: 7200, targets: [] });
    await alertMail(instanceOwner.user.email, 'Backups are failing');

    s.ctx.alertRules.auditChainChecked(verifyAuditLog(s.ctx.audit, s.ctx.keyring, s.dir));
    expect(rules(null)).not.toContain('audit-chain');
    s.ctx.db.prepare(`UPDATE audit_log SET details = '{"edited":true}' WHERE seq = 2`).run();
    s.ctx.alertRules.auditChainChecked(verifyAuditLog(s.ctx.audit, s.ctx.keyring, s.dir));
    const mail = await alertMail(instanceOwner.user.email, 'The audit log failed verification');
    expect(mail.text).toContain('row 2');
  });
});
