import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '../src/auth/throttle.ts';
import { Client } from './support/client.ts';
import { Clock, createUser } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/** A client whose requests come from `ip` (the test server trusts X-Forwarded-For). */
const from = (s: TestServer, ip: string) => new Client(s.url, { 'x-forwarded-for': ip });

describe('lockout keyed on account and network', () => {
  let s: TestServer;
  let sink: SmtpSink;
  const clock = new Clock();
  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url, trustProxy: 'true' }, { now: clock.now });
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  async function failTenTimes(c: Client, email: string): Promise<void> {
    await c.get('/login');
    for (let i = 0; i < 10; i++) {
      clock.advance(61_000); // wait out each back-off so every attempt is really checked
      await c.post('/login', { email, password: `wrong guess number ${i}` });
    }
  }

  it('ten failures lock the account only from that network; the holder still signs in from another', async () => {
    const victim = await createUser(s, { email: testEmail('lock-victim') });
    const attacker = from(s, '203.0.113.7');
    await failTenTimes(attacker, victim.user.email);
    clock.advance(61_000);
    const locked = await attacker.post('/login', { email: victim.user.email, password: victim.password });
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('locked');
    // The holder, elsewhere, is not locked out.
    const holder = from(s, '198.51.100.20');
    await holder.get('/login');
    expect((await holder.post('/login', { email: victim.user.email, password: victim.password })).status).toBe(303);
    // Admins still see the lock, and can lift it.
    expect(s.ctx.userAdmin.isLocked(victim.user.id)).toBe(true);
    s.ctx.userAdmin.unlock(victim.user.id, { actor: { type: 'system' } });
    expect(s.ctx.userAdmin.isLocked(victim.user.id)).toBe(false);
    expect((await attacker.post('/login', { email: victim.user.email, password: victim.password })).status).toBe(303);
  });

  it('another address in the same IPv6 /64 shares the lock; another /64 does not', async () => {
    const victim = await createUser(s, { email: testEmail('lock-v6') });
    await failTenTimes(from(s, '2001:db8:1:2::a'), victim.user.email);
    clock.advance(61_000);
    const same = from(s, '2001:db8:1:2:ffff::b');
    await same.get('/login');
    expect((await same.post('/login', { email: victim.user.email, password: victim.password })).status).toBe(429);
    const other = from(s, '2001:db8:1:3::a');
    await other.get('/login');
    expect((await other.post('/login', { email: victim.user.email, password: victim.password })).status).toBe(303);
  });

  it('back-off stays per account, whatever the network', async () => {
    const u = await createUser(s, { email: testEmail('lock-backoff') });
    for (let i = 0; i < 4; i++) {
      const c = from(s, `192.0.2.${10 + i}`);
      await c.get('/login');
      await c.post('/login', { email: u.user.email, password: `nope nope nope ${i}` });
    }
    const c = from(s, '192.0.2.99');
    await c.get('/login');
    const r = await c.post('/login', { email: u.user.email, password: u.password });
    expect(r.status).toBe(429);
    expect(r.text).toContain('Wait');
  });

  it('the account holder is told by email once per lock, not once per attempt', async () => {
    const victim = await createUser(s, { email: testEmail('lock-told') });
    const attacker = from(s, '203.0.113.50');
    await failTenTimes(attacker, victim.user.email);
    const mail = await sink.waitFor((m) => m.to.includes(victim.user.email) && m.subject.startsWith('Security alert'));
    expect(mail.subject).toBe('Security alert: Sign-in to your account was locked');
    expect(mail.text).toContain('203.0.113.50');
    // More attempts while locked send nothing more.
    for (let i = 0; i < 3; i++) {
      clock.advance(61_000);
      await attacker.post('/login', { email: victim.user.email, password: `still guessing ${i}` });
    }
    const notices = () => s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'auth.lock_notice' AND target_id = ?`).get(victim.user.id) as { n: number };
    expect(notices().n).toBe(1);
    expect(sink.messages.filter((m) => m.to.includes(victim.user.email))).toHaveLength(1);
  });
});

describe('networkOf', () => {
  it('keeps IPv4 addresses whole and reduces IPv6 to its /64', () => {
    expect(networkOf('203.0.113.7')).toBe('203.0.113.7');
    expect(networkOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(networkOf('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:0db8:0001:0002:ffff:0:0:b')).toBe('2001:db8:1:2::/64');
    expect(networkOf(null)).toBe('unknown');
    expect(networkOf('not an address')).toBe('unknown');
  });
});
