import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FIELDS, SECTIONS, type SectionId, fieldsOf } from '../src/admin/settings-fields.ts';
import { Client, RecordingClient } from './support/client.ts';
import { Clock, addMember, createUser, loginViaHttp, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';
import { type SmsStub, startSmsStub } from './support/sms-stub.ts';

const MIN = 60_000;
const email = (who: string) => testEmail(`${who}-${randomBytes(3).toString('hex')}`, 'c');


/** A bad value for each field, and the words of the message it must get. */
const BAD: Record<string, [string, string]> = {
  instanceName: ['Events <script>', 'without &lt; or &gt;'],
  publicUrl: ['ftp://events.example.org', 'http:// or https://'],
  timeZone: ['Mars/Olympus_Mons', 'time zone name'],
  language: ['xx', 'Choose a language'],
  smtpHost: ['mail server!', 'host name'],
  smtpPort: ['70000', 'at most 65535'],
  smtpTls: ['maybe', 'encryption mode'],
  smtpUser: ['a\nb', 'one line'],
  smtpPassword: ['pass\nword', 'one line'],
  mailFrom: ['nobody', 'Enter a sender'],
  smsUrl: ['https://user:pw@sms.example.org/Messages.json', 'credentials'],
  smsAccountSid: ['AC:1', 'without spaces or &quot;:&quot;'],
  smsAuthToken: ['short', '8–256 printable'],
  smsFrom: ['0791234567', 'E.164'],
  passwordMinLength: ['8', 'at least 12'],
  sessionIdleMinutes: ['2', 'at least 5'],
  sessionAbsoluteHours: ['ten', 'whole number'],
  loginLockAfter: ['1', 'at least 3'],
  loginLockMinutes: ['99999', 'at most 1440'],
  adminNetworks: ['300.1.2.3', 'not an IP address'],
};

describe('instance settings page', () => {
  let s: TestServer;
  let sink: SmtpSink;
  const clock = new Clock();
  const bodies: string[] = [];
  let admin: RecordingClient;
  let adminEmail: string;
  const SMTP_SECRET = `smtp-${randomBytes(12).toString('hex')}`;
  const SMS_SECRET = `sms${randomBytes(12).toString('hex')}`;

  let adminUser: Awaited<ReturnType<typeof createUser>>['user'];
  /** A session signed in just now: saving mail, SMS and security settings needs a recent password. */
  const freshAdmin = async () => {
    const signed = await signedInClient(s, adminUser);
    admin.cookies.clear();
    for (const [k, v] of signed.cookies) admin.cookies.set(k, v);
    await admin.get('/admin/settings');
  };
  /** Saves a section and asserts it was saved (not refused, not sent to re-authenticate). */
  const save = async (section: SectionId, over: Record<string, string> = {}) => {
    const r = await admin.post(`/admin/settings/${section}`, formOf(section, over));
    expect(r.status, r.text.slice(0, 400)).toBe(303);
    expect(r.location).toMatch(/^\/admin\/settings\?done=(saved|unchanged)#/);
    return r;
  };
  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({}, { now: clock.now });
    adminUser = (await createUser(s, { email: email('settings-admin'), instanceRole: 'admin', totp: true })).user;
    adminEmail = adminUser.email;
    admin = new RecordingClient(s.url, bodies);
    await freshAdmin();
  });
  beforeEach(() => freshAdmin());
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  const storedSettings = () => s.ctx.db.prepare(`SELECT key, value FROM settings WHERE key LIKE 'instance.%' ORDER BY key`).all() as { key: string; value: string }[];
  /** The section's form as the page would submit it now, with `over` applied. */
  const formOf = (section: SectionId, over: Record<string, string> = {}) => {
    const out: Record<string, string> = {};
    for (const v of s.ctx.instanceSettings.view(section)) if (!v.lockedBy && v.def.input !== 'secret' && !(v.def.input === 'checkbox' && v.text === '')) out[v.def.name] = v.text;
    return { ...out, ...over };
  };

  it('mail settings saved on the page are used at once: the test email and queued mail reach the SMTP server', async () => {
    expect(s.ctx.mailer.devMode).toBe(true);
    await save('mail', { smtpHost: '127.0.0.1', smtpPort: String(sink.port), smtpTls: 'none', smtpUser: 'mailer', smtpPassword: SMTP_SECRET, mailFrom: 'Example Events <events@example.org>' });
    expect(s.ctx.mailer.devMode).toBe(false);
    const r = await admin.post('/admin/settings/mail/test');
    expect(r.status).toBe(303);
    const test = await sink.waitFor((m) => m.to.includes(adminEmail) && /test email/.test(m.subject));
    expect(test.user).toBe('mailer');
    expect(test.fromHeader).toContain('events@example.org');
    // Ordinary mail through the outbox goes out the same way.
    const to = email('queued');
    s.ctx.mailer.enqueue({ template: 'test', to, subject: 'Queued after the change', text: 'hello' });
    await s.ctx.mailer.processOutbox();
    await sink.waitFor((m) => m.to.includes(to));
    const audit = s.ctx.db.prepare(`SELECT details, actor_id FROM audit_log WHERE action = 'settings.changed' AND target_id = 'mail'`).all() as { details: string }[];
    expect(audit).toHaveLength(1);
    const changes = (JSON.parse(audit[0]!.details) as { changes: { field: string; before?: unknown; after?: unknown; changed?: boolean }[] }).changes;
    expect(changes).toContainEqual({ field: 'smtpHost', before: null, after: '127.0.0.1' });
    expect(changes).toContainEqual({ field: 'smtpPassword', before: null, after: '(secret)' });
    // Addresses are personal data: the audit row says only that they changed.
    expect(changes).toContainEqual({ field: 'mailFrom', changed: true });
    expect(s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'settings.mail_test_sent' AND result = 'success'`).get()).toEqual({ n: 1 });
  });

  it('a failed test email says why, and nothing is saved by it', async () => {
    await save('mail', { smtpPort: '1' });
    const t = await admin.post('/admin/settings/mail/test');
    expect(t.status).toBe(502);
    expect(t.text).toMatch(/The test email was not sent: (ESOCKET|ECONNECTION)/);
    await save('mail', { smtpPort: String(sink.port) });
  });

  it('keeps a secret when its field is left empty, replaces it when typed, and never shows it', async () => {
    const before = s.ctx.instanceSettings.smtp()!.url;
    expect((await admin.post('/admin/settings/mail', formOf('mail'))).location).toBe('/admin/settings?done=unchanged#mail');
    expect(s.ctx.instanceSettings.smtp()!.url).toBe(before);
    const page = await admin.get('/admin/settings');
    expect(page.text).toContain('data-secret-state="set"');
    // SMS: token saved, then the whole provider works with it.
    await save('sms', { smsUrl: 'http://127.0.0.1:9/Messages.json', smsAccountSid: 'AC123', smsAuthToken: SMS_SECRET, smsFrom: '+41791234567' });
    expect(s.ctx.instanceSettings.smsProvider()).toMatchObject({ authToken: SMS_SECRET, accountSid: 'AC123' });
    expect(s.ctx.sms.devMode).toBe(false);
    const t = await admin.post('/admin/settings/sms/test', { to: '+41791234567' });
    expect(t.status).toBe(502);
    expect(t.text).toContain('The test SMS was not sent: network');
    // The stored rows hold neither secret in the clear (sealed on top of the database encryption).
    const raw = JSON.stringify(storedSettings());
    expect(raw).not.toContain(SMTP_SECRET);
    expect(raw).not.toContain(SMS_SECRET);
    expect(raw).toContain('kid');
  });

  it('refuses each bad field with a clear message and saves nothing', async () => {
    for (const section of SECTIONS) {
      for (const f of fieldsOf(section)) {
        const bad = BAD[f.name];
        if (f.input === 'checkbox') continue; // on or off: nothing to get wrong
        expect(bad, `a bad value for ${f.name}`).toBeDefined();
        const before = storedSettings();
        const r = await admin.post(`/admin/settings/${section}`, formOf(section, { [f.name]: bad![0] }));
        expect(r.status, f.name).toBe(400);
        expect(r.text, f.name).toContain(bad![1]);
        expect(r.text, f.name).toContain('Nothing was saved');
        expect(storedSettings(), f.name).toEqual(before);
      }
    }
    // Rules across fields: plaintext SMTP to another host; a network list that shuts the admin out.
    const before = storedSettings();
    let r = await admin.post('/admin/settings/mail', formOf('mail', { smtpHost: 'mail.example.org', smtpTls: 'none' }));
    expect(r.status).toBe(400);
    expect(r.text).toContain('plaintext');
    r = await admin.post('/admin/settings/security', formOf('security', { adminNetworks: '10.0.0.0/8' }));
    expect(r.status).toBe(400);
    expect(r.text).toContain('would lock you out');
    r = await admin.post('/admin/settings/sms', formOf('sms', { smsUrl: 'https://sms.example.org/Messages.json', smsFrom: '' }));
    expect(r.status).toBe(400);
    expect(storedSettings()).toEqual(before);
    expect(FIELDS.filter((f) => f.input !== 'checkbox').every((f) => BAD[f.name])).toBe(true);
  });

  it('a new password shorter than the saved minimum is refused; the old minimum applied before', async () => {
    const u = await createUser(s, { email: email('pw-user'), totp: true });
    const c = await signedInClient(s, u.user);
    await c.get('/account');
    const sixteen = 'quiet lunar kelp';
    expect((await c.post('/account/password', { current: u.password, password: `${sixteen}!` })).status).toBe(303);
    await save('security', { passwordMinLength: '20' });
    const c2 = await signedInClient(s, u.user);
    await c2.get('/account');
    const r = await c2.post('/account/password', { current: `${sixteen}!`, password: 'amber vortex plum' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Use at least 20 characters');
    expect((await c2.post('/account/password', { current: `${sixteen}!`, password: 'amber vortex plum quartz' })).status).toBe(303);
    await save('security', { passwordMinLength: '12' });
  });

  it('session timeouts saved on the page apply to sessions already open', async () => {
    const u = await createUser(s, { email: email('sess-user'), totp: true });
    const c = await signedInClient(s, u.user);
    await save('security', { sessionIdleMinutes: '10', sessionAbsoluteHours: '1' });
    clock.advance(9 * MIN);
    expect((await c.get('/account')).status).toBe(200);
    clock.advance(11 * MIN);
    expect((await c.get('/account')).status).toBe(303);
    // The absolute limit: active every 9 minutes, still out after an hour.
    const c2 = await signedInClient(s, u.user);
    for (let t = 0; t < 54; t += 9) {
      clock.advance(9 * MIN);
      expect((await c2.get('/account')).status).toBe(200);
    }
    clock.advance(9 * MIN);
    expect((await c2.get('/account')).status).toBe(303);
    await freshAdmin();
    await save('security', { sessionIdleMinutes: '720', sessionAbsoluteHours: '168' });
  });

  it('new organizations require 2FA by default; the setting turns that off for the next ones', async () => {
    const member = await createUser(s, { email: email('org-member') });
    const slug = uniqueSlug('twofa');
    expect((await admin.post('/orgs', { name: 'Two factor', slug })).status).toBe(303);
    const org = s.ctx.orgs.bySlug(slug)!;
    expect(org.require_2fa).toBe(1);
    addMember(s, org, member.user, 'organizer');
    const m = await signedInClient(s, member.user);
    const r = await m.get(`/orgs/${slug}`);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/2fa/setup');
    // Turned off: the next organization lets a password-only member in, the first still does not.
    await save('security', { newOrgRequire2fa: '' });
    const slug2 = uniqueSlug('pwonly');
    expect((await admin.post('/orgs', { name: 'Password only', slug: slug2 })).status).toBe(303);
    expect(s.ctx.orgs.bySlug(slug2)!.require_2fa).toBe(0);
    await save('security', { newOrgRequire2fa: 'on' });
    expect(s.ctx.instanceSettings.newOrgRequire2fa()).toBe(true);
  });

  it('sign-in locks after the saved number of failures', async () => {
    await save('security', { loginLockAfter: '3', loginLockMinutes: '5' });
    const victim = await createUser(s, { email: email('lock-victim') });
    const c = new Client(s.url);
    await c.get('/login');
    for (let i = 0; i < 3; i++) {
      clock.advance(2 * MIN); // past the per-account back-off
      await c.post('/login', { email: victim.user.email, password: 'wrong password here' });
    }
    expect(s.ctx.userAdmin.isLocked(victim.user.id)).toBe(true);
    clock.advance(6 * MIN);
    expect(s.ctx.userAdmin.isLocked(victim.user.id)).toBe(false);
    await loginViaHttp(s, victim, clock);
  });

  it('general settings: the instance name and public URL reach emails and authenticator apps', async () => {
    await save('general', { instanceName: 'Example Events', publicUrl: 'https://events.example.org/' });
    expect(s.ctx.baseUrl()).toBe('https://events.example.org');
    const u = await createUser(s, { email: email('name-user') });
    expect(s.ctx.totp.startTotp(u.user.id).uri).toContain('issuer=Tessera%20Example%20Events');
    await save('general', { instanceName: '', publicUrl: '' });
    expect(s.ctx.baseUrl()).toBe(s.url);
  });

  it('no response of this whole test ever carried a saved secret, nor did the audit log or the technical log', () => {
    expect(bodies.length).toBeGreaterThan(50);
    for (const secret of [SMTP_SECRET, SMS_SECRET]) {
      expect(bodies.filter((b) => b.includes(secret))).toEqual([]);
      expect(JSON.stringify(s.ctx.db.prepare('SELECT * FROM audit_log').all())).not.toContain(secret);
      expect(fs.readFileSync(s.logFile, 'utf8')).not.toContain(secret);
    }
  });

  it('instance settings are for instance admins only', async () => {
    const plain = await signedInClient(s, (await createUser(s, { email: email('plain'), totp: true })).user);
    expect((await plain.get('/admin/settings')).status).toBe(403);
    expect((await plain.post('/admin/settings/general', formOf('general', { instanceName: 'Hijacked' }))).status).toBe(403);
    expect(s.ctx.instanceSettings.instanceName()).toBe('');
  });
});

describe('settings given by flag or environment', () => {
  let s: TestServer;
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url, sessionIdleMinutes: 60 });
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  it('are shown locked with where they are set, and win over anything posted', async () => {
    const a = await signedInClient(s, (await createUser(s, { email: email('lock-admin'), instanceRole: 'admin', totp: true })).user);
    const page = await a.get('/admin/settings');
    expect(page.text).toContain('set by --smtp-url');
    expect(page.text).toContain('set by --session-idle-minutes');
    expect(page.text).toMatch(/data-setting="smtpHost" data-locked="true"/);
    const r = await a.post('/admin/settings/mail', { smtpHost: 'evil.example.org', smtpPort: '25', smtpTls: 'none', mailFrom: 'Ops <ops@example.org>' });
    expect(r.status).toBe(303);
    expect(s.ctx.instanceSettings.smtp()!.url).toBe(sink.url);
    expect(s.ctx.instanceSettings.mailFrom()).toBe('Ops <ops@example.org>');
    expect((await a.post('/admin/settings/security', { passwordMinLength: '14', sessionIdleMinutes: '5', sessionAbsoluteHours: '100', loginLockAfter: '10', loginLockMinutes: '15', newOrgRequire2fa: 'on', adminNetworks: '' })).status).toBe(303);
    expect(s.ctx.instanceSettings.sessionPolicy().idleMs).toBe(60 * MIN);
    expect(s.ctx.instanceSettings.sessionPolicy().absoluteMs).toBe(100 * 60 * MIN);
  });
});

describe('networks allowed to use /admin', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ trustProxy: true });
  });
  afterAll(() => s?.close());

  it('refuses instance admins from other networks, audited, and lets the listed ones in', async () => {
    const user = (await createUser(s, { email: email('net-admin'), instanceRole: 'admin', totp: true })).user;
    const office = await signedInClient(s, user);
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    await office.get('/admin/settings', from('203.0.113.7'));
    const form: Record<string, string> = {};
    for (const v of s.ctx.instanceSettings.view('security')) if (v.def.input !== 'checkbox') form[v.def.name] = v.text;
    const r = await office.post('/admin/settings/security', { ...form, newOrgRequire2fa: 'on', adminNetworks: '203.0.113.0/24' }, from('203.0.113.7'));
    expect(r.location).toBe('/admin/settings?done=saved#security');
    expect((await office.get('/admin/users', from('203.0.113.99'))).status).toBe(200);
    const away = await office.get('/admin/users', from('198.51.100.4'));
    expect(away.status).toBe(403);
    expect(away.text).toContain('only reachable from the networks listed');
    const denied = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'access.denied' AND actor_id = ?`).all(user.id) as { details: string }[];
    expect(denied.map((d) => JSON.parse(d.details).reason)).toEqual(['admin-network']);
    // Organization pages are not /admin: unaffected.
    expect((await office.get('/account', from('198.51.100.4'))).status).toBe(200);
  });
});

describe('SMS provider saved on the page', () => {
  let s: TestServer;
  let stub: SmsStub;
  beforeAll(async () => {
    stub = await startSmsStub();
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
    await stub?.close();
  });

  it('sends the test SMS and queued SMS through the provider with the saved token, which no page shows', async () => {
    const a = await signedInClient(s, (await createUser(s, { email: email('sms-admin'), instanceRole: 'admin', totp: true })).user);
    await a.get('/admin/settings');
    expect(s.ctx.sms.devMode).toBe(true);
    const r = await a.post('/admin/settings/sms', { smsUrl: stub.url, smsAccountSid: stub.sid, smsAuthToken: stub.token, smsFrom: '+41790000000' });
    expect(r.location).toBe('/admin/settings?done=saved#sms');
    const t = await a.post('/admin/settings/sms/test', { to: '+41791234567' });
    expect(t.location).toBe('/admin/settings?done=sms-sent#sms');
    await stub.waitFor(1);
    expect(stub.requests[0]).toMatchObject({ to: '+41791234567', from: '+41790000000', auth: { user: stub.sid, pass: stub.token }, status: 201 });
    s.ctx.sms.enqueue({ purpose: 'settings_check', to: '+41797654321', body: 'queued' });
    await expect.poll(async () => {
      await s.ctx.sms.processOutbox();
      return stub.requests.filter((q) => q.to === '+41797654321').length;
    }).toBe(1);
    expect((await a.get('/admin/settings')).text).not.toContain(stub.token);
  });
});

describe('backup targets on the settings page', () => {
  let s: TestServer;
  let target: string;
  beforeAll(async () => {
    const dir = tempDir();
    target = path.join(dir, 'backup');
    s = await startTestServer({ backupDir: target }, { dir });
  });
  afterAll(() => s?.close());

  it('shows the configured target with where it is set, and tests its connection (audited)', async () => {
    const a = await signedInClient(s, (await createUser(s, { email: email('bk-admin'), instanceRole: 'admin', totp: true })).user);
    const page = await a.get('/admin/settings');
    expect(page.text).toContain('set by --backup-dir');
    const r = await a.post('/admin/settings/backups/test');
    expect(r.location).toBe('/admin/settings?done=targets-ok#backups');
    expect((await a.get(r.location!)).text).toContain('Every backup target answered');
    const row = s.ctx.db.prepare(`SELECT result, details FROM audit_log WHERE action = 'settings.backup_targets_tested'`).get() as { result: string; details: string };
    expect(row.result).toBe('success');
    expect(JSON.parse(row.details).targets).toHaveLength(1);
  });

  it('says which target failed and why when it cannot be used', async () => {
    const a = await signedInClient(s, (await createUser(s, { email: email('bk-admin2'), instanceRole: 'admin', totp: true })).user);
    await a.get('/admin/settings');
    // A file where the directory should be: the mount went away and something else took its place.
    fs.rmSync(target, { recursive: true, force: true });
    fs.writeFileSync(target, 'not a directory');
    const r = await a.post('/admin/settings/backups/test');
    expect(r.status).toBe(502);
    expect(r.text).toContain('is not a directory');
    const rows = s.ctx.db.prepare(`SELECT result FROM audit_log WHERE action = 'settings.backup_targets_tested' ORDER BY seq`).all() as { result: string }[];
    expect(rows.at(-1)).toEqual({ result: 'failure' });
  });
});
