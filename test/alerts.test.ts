import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { Clock, addMember, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

describe('security alerts', () => {
  let s: TestServer;
  let sink: SmtpSink;
  const clock = new Clock();
  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  it('a locked account alerts the owners and admins of its organizations, not other members', async () => {
    const owner = await createUser(s, { email: testEmail('alert-owner', 'a'), totp: true });
    const admin = await createUser(s, { email: testEmail('alert-admin', 'a'), totp: true });
    const viewer = await createUser(s, { email: testEmail('alert-viewer', 'a'), totp: true });
    const victim = await createUser(s, { email: testEmail('alert-victim', 'a') });
    const org = createOrg(s, owner.user, uniqueSlug('alert'));
    addMember(s, org, admin.user, 'admin');
    addMember(s, org, viewer.user, 'viewer');
    addMember(s, org, victim.user, 'organizer');
    const c = new Client(s.url);
    await c.get('/login');
    for (let i = 0; i < 10; i++) {
      clock.advance(61_000);
      await c.post('/login', { email: victim.user.email, password: `wrong guess number ${i}` });
    }
    // Five failures already raised the failed sign-ins alert (test/security-alerts.test.ts); the lock is its own alert.
    const locked = 'Security alert: An account in your organization was locked';
    await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject === locked, 10_000);
    await sink.waitFor((m) => m.to.includes(admin.user.email) && m.subject === locked, 10_000);
    const alert = sink.messages.find((m) => m.to.includes(owner.user.email) && m.subject === locked)!;
    expect(alert.text).toContain(victim.user.id);
    expect(sink.messages.some((m) => m.to.includes(viewer.user.email))).toBe(false);
    const row = s.ctx.db.prepare(`SELECT org_id, details FROM audit_log WHERE action = 'security.alert' AND target_id = ?`).get(`account-locked:${victim.user.id}`) as { org_id: string; details: string };
    expect(row.org_id).toBe(org.id);
    expect((JSON.parse(row.details) as { recipients: string[] }).recipients.sort()).toEqual([owner.user.id, admin.user.id].sort());
  });
});
