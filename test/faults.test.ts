import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { waitFor } from './support/backup.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

const sys = { actor: { type: 'system' as const } };
const browserHeaders = { 'sec-fetch-site': 'same-origin' };
const METRICS_TOKEN = 'faults-metrics-token-0123';

describe('check-in race', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('two staff checking in the same ticket at once: exactly one succeeds, the other learns when and by whom', async () => {
    const owner = await createUser(s, { email: testEmail('race-owner'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('race'));
    const staffA = await createUser(s, { email: testEmail('race-a'), name: 'Desk Alpha', totp: true });
    const staffB = await createUser(s, { email: testEmail('race-b'), name: 'Desk Bravo', totp: true });
    addMember(s, org, staffA.user, 'checkin');
    addMember(s, org, staffB.user, 'checkin');
    const e = createEvent(s, org);
    const base = `/orgs/${org.slug}/events/${e.id}/checkin`;
    const [a, b] = await Promise.all([signedInClient(s, staffA.user), signedInClient(s, staffB.user)]);
    for (let round = 0; round < 5; round++) {
      const r = await s.ctx.registrations.register(e, { email: testEmail(`race-${round}`), name: `Racer ${round}` }, sys);
      if (!r.ok) throw new Error(r.message);
      const [ra, rb] = await Promise.all([a.post(`${base}/${r.reg.id}`, { q: '' }, { 'hx-request': 'true' }), b.post(`${base}/${r.reg.id}`, { q: '' }, { 'hx-request': 'true' })]);
      const statuses = [ra.status, rb.status].sort();
      expect(statuses).toEqual([200, 409]);
      const loser = ra.status === 409 ? ra : rb;
      const winner = ra.status === 409 ? staffB : staffA;
      expect(loser.text).toMatch(/Already checked in at \d\d:\d\d UTC by Desk (Alpha|Bravo)\./);
      expect(loser.text).toContain(winner.user.name);
      const done = s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'checkin.done' AND target_id = ?`).get(r.reg.id) as { n: number };
      expect(done.n).toBe(1);
    }
  });

  it('undo refuses a registration that is not checked in, and check-in refuses one that is not confirmed', async () => {
    const owner = await createUser(s, { email: testEmail('race2-owner'), totp: true });
    const org = createOrg(s, owner.user, uniqueSlug('race2'));
    const e = createEvent(s, org, { capacity: 1, waitlist_enabled: true });
    const first = await s.ctx.registrations.register(e, { email: testEmail('cap-1'), name: 'Seated' }, sys);
    const second = await s.ctx.registrations.register(e, { email: testEmail('cap-2'), name: 'Waiting' }, sys);
    if (!first.ok || !second.ok) throw new Error('registration failed');
    expect(second.reg.status).toBe('waitlisted');
    const undo = s.ctx.attendees.checkIn(e, first.reg.id, true, sys);
    expect(undo).toMatchObject({ ok: false, message: 'This attendee is not checked in.' });
    const waitlisted = s.ctx.attendees.checkIn(e, second.reg.id, false, sys);
    expect(waitlisted).toMatchObject({ ok: false, message: expect.stringMatching(/waitlisted, not confirmed/) });
    expect(s.ctx.attendees.card(second.reg)).toMatchObject({ canCheckIn: false, canUndo: false });
    expect(s.ctx.attendees.checkIn(e, first.reg.id, false, sys).ok).toBe(true);
    expect(s.ctx.attendees.card(s.ctx.attendees.get(e, first.reg.id)!)).toMatchObject({ canCheckIn: false, canUndo: true });
  });
});

describe('a failed WAL sync', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let org: OrgRow;
  let organizer: Awaited<ReturnType<typeof signedInClient>>;
  let failSyncs = false;

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer(
      { smtpUrl: sink.url },
      {
        // A real sync until the test pulls the plug, then EIO, as a dying disk answers fdatasync.
        walSync: () => (failSyncs ? Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })) : Promise.resolve()),
      },
    );
    const owner = await createUser(s, { email: testEmail('fsync-owner'), totp: true, instanceRole: 'owner' });
    org = createOrg(s, owner.user, uniqueSlug('fsync'));
    organizer = await signedInClient(s, owner.user);
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  it('turns the instance read-only and not ready, answers writes with 503, mails nothing for the lost write, and alerts the owner', async () => {
    const e = createEvent(s, org);
    const anon = new Client(s.url, browserHeaders);
    const ok = await anon.post(`/e/${e.slug}/register`, { email: testEmail('fsync-before'), name: 'Before' });
    expect(ok.status).toBe(201);
    const regId = /data-reg="([0-9a-f-]{36})"/.exec((await organizer.get(`/orgs/${org.slug}/events/${e.id}/attendees`)).text)?.[1];
    expect(regId).toBeDefined();
    expect((await anon.get('/readyz')).status).toBe(200);

    failSyncs = true;
    const lost = await anon.post(`/e/${e.slug}/register`, { email: testEmail('fsync-lost'), name: 'Lost' });
    expect(lost.status).toBe(503);
    expect(lost.headers.get('retry-after')).not.toBeNull();
    expect(lost.text).toContain('Changes cannot be saved right now');
    expect(lost.text).not.toMatch(/half-saved|at .*\.ts:\d+/);

    // The test calls from loopback, an allowed caller: it sees the reason as well.
    const ready = await anon.get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'not ready', checks: { database: 'read-only', faults: [{ kind: 'wal-sync-failed' }] } });
    const metrics = await anon.get('/metrics');
    expect(metrics.text).toMatch(/tessera_fault\{kind="wal-sync-failed"\} 1/);
    expect(metrics.text).toMatch(/tessera_fault\{kind="disk-full"\} 0/);

    // Even after a good sync would be possible again, nothing is written until a restart.
    failSyncs = false;
    const after = await anon.post(`/e/${e.slug}/register`, { email: testEmail('fsync-after'), name: 'After' });
    expect(after.status).toBe(503);
    expect(s.ctx.faults.has('wal-sync-failed')).toBe(true);

    // The owner is told directly (nothing can be queued); the lost registrant gets no ticket.
    const alert = await sink.waitFor((m) => m.to.includes(testEmail('fsync-owner')) && /stopped accepting changes/.test(m.subject));
    expect(alert.text).toMatch(/wal-sync-failed|synced to disk/);
    await s.ctx.mailer.processOutbox();
    await waitFor('ticket for the registration before the failure', () => sink.messages.some((m) => m.to.includes(testEmail('fsync-before'))) || undefined);
    expect(sink.messages.some((m) => m.to.includes(testEmail('fsync-lost')))).toBe(false);
    expect(sink.messages.some((m) => m.to.includes(testEmail('fsync-after')))).toBe(false);
    // Reads still work: the public page and the organizer's event list are served, but a read of
    // personal data, which must leave an audit row, is refused rather than done unaudited.
    expect((await organizer.get(`/orgs/${org.slug}/events`)).status).toBe(200);
    expect((await organizer.get(`/orgs/${org.slug}/events/${e.id}/attendees/${regId}`)).status).toBe(503);
    expect((await anon.get(`/e/${e.slug}`)).status).toBe(200);
    expect(fs.readFileSync(s.logFile, 'utf8')).toMatch(/"fault":"wal-sync-failed"/);
  });
});

describe('a full disk', () => {
  let s: TestServer;
  let org: OrgRow;

  beforeAll(async () => {
    // Behind a proxy with a metrics token, so the test can call /readyz both as a stranger and as
    // an allowed caller (the token, or a loopback client).
    s = await startTestServer({ trustProxy: 'true', metricsToken: METRICS_TOKEN }, {
      extendApp: (app) => {
        // What SQLite throws when a write finds no space: the fault path, without filling a disk.
        app.post('/test/full-write', () => {
          throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        });
      },
    });
    const owner = await createUser(s, { email: testEmail('full-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('full'));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('is a state: 503 with a clear page, /readyz says why, and it clears by itself once a write succeeds', async () => {
    const anon = new Client(s.url, browserHeaders);
    const refused = await anon.post('/test/full-write', {});
    expect(refused.status).toBe(503);
    expect(refused.text).toContain('disk is full');
    // A stranger learns only that the instance is not ready; the token holder and a loopback
    // client (the operator on the host) learn why.
    const stranger = { 'x-forwarded-for': '203.0.113.9' };
    const told = await anon.get('/readyz', stranger);
    expect(told.status).toBe(503);
    expect(JSON.parse(told.text)).toEqual({ status: 'not ready' });
    const ready = await anon.get('/readyz', { ...stranger, authorization: `Bearer ${METRICS_TOKEN}` });
    expect(ready.status).toBe(503);
    expect(ready.text).toContain('disk-full');
    expect((await anon.get('/readyz')).text).toContain('disk-full');
    // Space is back (it never ran out here): the probe's write succeeds and the fault clears.
    await waitFor('disk-full cleared', () => !s.ctx.faults.has('disk-full'));
    expect((await anon.get('/readyz')).status).toBe(200);
    const e = createEvent(s, org);
    expect((await anon.post(`/e/${e.slug}/register`, { email: testEmail('full-after'), name: 'After' })).status).toBe(201);
  });
});
