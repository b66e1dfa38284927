import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { RegistrationQueue } from '../src/registrations/queue.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const browserHeaders = { 'sec-fetch-site': 'same-origin' };
const sys = { actor: { type: 'system' as const } };

describe('the opening-rush queue', () => {
  let s: TestServer;
  let org: OrgRow;
  const clock = new Clock();

  beforeAll(async () => {
    s = await startTestServer({ registrationQueueAfterMs: 1000, registrationLimitNetwork: 0 }, { now: clock.now });
    const owner = await createUser(s, { email: testEmail('queue-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('queue'));
  });
  afterAll(async () => {
    await s?.close();
  });

  const anon = () => new Client(s.url, browserHeaders);
  const stored = (eventId: string) =>
    s.ctx.db.prepare('SELECT email, status FROM registrations WHERE event_id = ? ORDER BY rowid').all(eventId) as { email: string; status: string }[];
  /** Holds the writer so the first registration stays in flight, and lets the clock pass the threshold. */
  async function backlog(slug: string, email: string) {
    const release = s.ctx.writer.hold();
    const first = anon().post(`/e/${slug}/register`, { email, name: 'First Person' });
    await expect.poll(() => s.ctx.registrationQueue.stats().inFlight).toBe(1);
    clock.advance(1500);
    return { release, first };
  }

  /** Asks again, as the queue page does, until the answer is something other than "still waiting". */
  async function collect(client: Client, slug: string) {
    let last = await client.get(`/e/${slug}/queue`);
    await expect.poll(async () => (last.status === 202 ? (last = await client.get(`/e/${slug}/queue`)).status : last.status)).not.toBe(202);
    return last;
  }

  it('answers directly while the writer keeps up', async () => {
    const e = createEvent(s, org, { capacity: 5 });
    const r = await anon().post(`/e/${e.slug}/register`, { email: testEmail('q-direct'), name: 'Direct Person' });
    expect(r.status).toBe(201);
    expect(r.headers.get('refresh')).toBeNull();
  });

  it('parks arrivals behind a slow writer, then admits them in arrival order: the seat goes to who came first', async () => {
    const e = createEvent(s, org, { capacity: 2, waitlist_enabled: true });
    const { release, first } = await backlog(e.slug, testEmail('q-a'));
    const b = anon();
    const c = anon();
    const rb = await b.post(`/e/${e.slug}/register`, { email: testEmail('q-b'), name: 'Second Person' });
    expect(rb.status).toBe(202);
    expect(rb.text).toContain('High demand — you are in the queue');
    expect(rb.text).toContain('You are next.');
    expect(rb.headers.get('refresh')).toBe('2');
    expect(rb.headers.get('cache-control')).toBe('no-store');
    // The ticket travels in a cookie, never in the URL.
    expect([...b.cookies.keys()].some((k) => k.startsWith('__Host-tessera_q_'))).toBe(true);
    expect(rb.text).not.toMatch(/queue\?|ticket=/);
    const rc = await c.post(`/e/${e.slug}/register`, { email: testEmail('q-c'), name: 'Third Person' });
    expect(rc.status).toBe(202);
    expect(rc.text).toContain('1 person is ahead of you');
    // Nothing of the parked two is stored yet, and asking again keeps them waiting.
    expect(stored(e.id)).toEqual([]);
    expect((await b.get(`/e/${e.slug}/queue`)).status).toBe(202);
    // Someone without a ticket (or another event's) has no place.
    expect((await anon().get(`/e/${e.slug}/queue`)).status).toBe(404);

    release();
    expect((await first).status).toBe(201);
    const answerB = await collect(b, e.slug);
    expect(answerB.status).toBe(201);
    expect(answerB.text).toContain('You are registered');
    const answerC = await collect(c, e.slug);
    expect(answerC.status).toBe(201);
    expect(answerC.text).toContain('You are on the waiting list');
    expect(stored(e.id)).toEqual([
      { email: testEmail('q-a'), status: 'confirmed' },
      { email: testEmail('q-b'), status: 'confirmed' },
      { email: testEmail('q-c'), status: 'waitlisted' },
    ]);
    // The answer is collected once; the ticket is gone afterwards.
    expect((await b.get(`/e/${e.slug}/queue`)).status).toBe(404);
  });

  it('never stores a parked registration whose person left the queue page', async () => {
    const e = createEvent(s, org, { capacity: 10 });
    const { release, first } = await backlog(e.slug, testEmail('q-first'));
    const gone = anon();
    const stays = anon();
    expect((await gone.post(`/e/${e.slug}/register`, { email: testEmail('q-gone'), name: 'Gone Person' })).status).toBe(202);
    expect((await stays.post(`/e/${e.slug}/register`, { email: testEmail('q-stays'), name: 'Staying Person' })).status).toBe(202);
    // Three refreshes (2 s each) and the grace pass without a word from the first; the second keeps asking.
    clock.advance(12_000);
    expect((await stays.get(`/e/${e.slug}/queue`)).status).toBe(202);
    release();
    expect((await first).status).toBe(201);
    expect((await collect(stays, e.slug)).status).toBe(201);
    expect(stored(e.id).map((r) => r.email)).toEqual([testEmail('q-first'), testEmail('q-stays')]);
    const late = await gone.get(`/e/${e.slug}/queue`);
    expect(late.status).toBe(404);
    expect(late.text).toContain('Your place in the queue was not found');
  });

  it('drops a direct registration whose connection closed before the writer reached it', async () => {
    const e = createEvent(s, org, { capacity: 10 });
    const release = s.ctx.writer.hold();
    const abort = new AbortController();
    const pending = s.ctx.registrationQueue.register(e, { email: testEmail('q-aborted'), name: 'Aborted Person' }, sys, abort.signal);
    abort.abort();
    release();
    const admission = await pending;
    expect(admission).toEqual({ kind: 'answer', result: { ok: false, error: 'abandoned' } });
    expect(stored(e.id)).toEqual([]);
  });

  it('is bounded: past the most parked people, the answer is "try again", with nothing saved', async () => {
    const e = createEvent(s, org, { capacity: 10 });
    const queue = new RegistrationQueue(s.ctx.registrations, { queueAfterMs: 0, maxParked: 1, now: clock.now });
    const release = s.ctx.writer.hold();
    try {
      const inFlight = queue.register(e, { email: testEmail('q-bound-1'), name: 'One' }, sys);
      clock.advance(1);
      const parked = await queue.register(e, { email: testEmail('q-bound-2'), name: 'Two' }, sys);
      expect(parked.kind).toBe('queued');
      const busy = await queue.register(e, { email: testEmail('q-bound-3'), name: 'Three' }, sys);
      expect(busy).toMatchObject({ kind: 'busy', result: { ok: false, error: 'throttled', retryAfterMs: 60_000 } });
      release();
      await inFlight;
    } finally {
      release();
      await queue.close();
    }
    // An invalid form is answered at once, even with people parked: it never waits for a turn.
    const invalid = await queue.register(e, { email: 'not-an-address', name: '' }, sys);
    expect(invalid).toMatchObject({ kind: 'answer', result: { ok: false, error: 'invalid' } });
  });
});
