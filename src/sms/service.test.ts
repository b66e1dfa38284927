import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PERSON_SURNAME, testEmail } from '../../test/support/people.ts';
import { type SmsStub, startSmsStub } from '../../test/support/sms-stub.ts';
import { waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { migrate } from '../db/migrate.ts';
import { type DB, openDatabase, transaction } from '../db/open.ts';
import { createLogger } from '../log.ts';
import { Faults } from '../db/faults.ts';
import { Writer } from '../db/writer.ts';
import { type NewSmsRow, type SmsRow, outboxRepo } from '../outbox/repo.ts';
import { TwilioCompatibleSender } from './sender.ts';
import { SmsCodes, SmsError, SmsOutbox, type SmsOutboxOptions } from './service.ts';

const START = Date.parse('2031-03-01T09:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
// Fictional numbers (NANP 555-01xx, Ofcom's drama range).
const ADA_PHONE = '+14155550123';
const BOB_PHONE = '+447700900456';
const loginText = (code: string) => `${code} is your Tessera sign-in code. It expires in 5 minutes.`;

// Everything any test logged, handed to the global teardown's personal-data scan as well.
const allLogLines: string[] = [];
afterAll(() => {
  const dir = process.env.TESSERA_TEST_LOG_DIR;
  if (dir) fs.writeFileSync(path.join(dir, 'sms-service.log'), allLogLines.join(''));
});

let db: DB;
let clock: number;
let faults: Faults;
let writer: Writer;
let logLines: string[];
let stubs: SmsStub[];
let outboxes: SmsOutbox[];
let ada: string;

beforeEach(() => {
  db = openDatabase(path.join(tempDir(), 'tessera.db'), { key: randomBytes(32), create: true });
  migrate(db);
  clock = START;
  faults = new Faults(() => clock);
  writer = new Writer(db, { faults });
  logLines = [];
  stubs = [];
  outboxes = [];
  ada = addUser('ada');
});

afterEach(async () => {
  for (const o of outboxes) await o.stop();
  for (const s of stubs) await s.close();
  db.close();
  allLogLines.push(...logLines);
});

function addUser(local: string): string {
  const id = randomUUID();
  db.prepare(`INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at)
    VALUES (?, ?, ?, 'x', ?, ?)`).run(id, testEmail(local), `${local} ${PERSON_SURNAME}`, iso(START), iso(START));
  return id;
}

function outbox(opts: Partial<SmsOutboxOptions> = {}): SmsOutbox {
  const log = createLogger('debug', {
    write(line: string) {
      logLines.push(line);
    },
  });
  const o = new SmsOutbox({ db, log, now: () => clock, durability: writer, faults, ...opts });
  outboxes.push(o);
  return o;
}

async function stub(opts: Parameters<typeof startSmsStub>[0] = {}): Promise<SmsStub> {
  const s = await startSmsStub(opts);
  stubs.push(s);
  return s;
}

function senderFor(s: SmsStub, over: { token?: string; from?: string } = {}): TwilioCompatibleSender {
  return new TwilioCompatibleSender({ url: s.url, accountSid: s.sid, authToken: over.token ?? s.token, from: over.from ?? '+15005550006' });
}

const loginSms = (to = ADA_PHONE, code = '482913') => ({ userId: ada, purpose: 'login_code', to, body: loginText(code) });

function count(table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

describe('SmsOutbox with a provider', () => {
  it('posts the form with Basic auth, records the provider sid and drops the spent body', async () => {
    const s = await stub();
    const o = outbox({ sender: senderFor(s) });
    const id = o.enqueue(loginSms());
    expect(o.get(id)).toMatchObject({ status: 'queued', attempts: 0, user_id: ada, purpose: 'login_code', to_number: ADA_PHONE });

    expect(await o.processOutbox()).toBe(1);
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]).toMatchObject({
      method: 'POST',
      contentType: 'application/x-www-form-urlencoded',
      to: ADA_PHONE,
      from: '+15005550006',
      messagingServiceSid: undefined,
      body: loginText('482913'),
      auth: { user: s.sid, pass: s.token },
      status: 201,
    });
    const row = o.get(id)!;
    expect(row).toMatchObject({ status: 'sent', attempts: 1, sent_at: iso(START), last_error: null, provider_id: s.requests[0]!.sid, body: '' });
    expect(row.provider_id).toMatch(/^SM[0-9a-f]{32}$/);
    // Sent means done.
    expect(await o.processOutbox()).toBe(0);
    expect(s.requests).toHaveLength(1);
    expect(logLines.join('')).toContain(row.provider_id!);
  });

  it('keeps retrying on wrong credentials, storing status and code but never the number', async () => {
    const s = await stub();
    const o = outbox({ sender: senderFor(s, { token: 'not-the-token' }) });
    const id = o.enqueue(loginSms());
    expect(await o.processOutbox()).toBe(0);
    expect(s.requests.map((r) => r.status)).toEqual([401]);
    const row = o.get(id)!;
    // Not the recipient's fault: retried so the owner can fix the settings.
    expect(row).toMatchObject({ status: 'queued', attempts: 1, last_error: 'HTTP 401 code 20003', next_attempt_at: iso(START + 30_000) });
    const log = logLines.join('');
    expect(log).toContain('HTTP 401 code 20003');
    expect(log).not.toContain(ADA_PHONE);
    expect(log).not.toContain('482913');
    expect(log).not.toContain('not-the-token');
  });

  it('retries after a provider 500 whose text quotes the number, and then delivers', async () => {
    const s = await stub({ failNext: 1 });
    const o = outbox({ sender: senderFor(s) });
    const id = o.enqueue(loginSms());
    expect(await o.processOutbox()).toBe(0);
    let row = o.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 1, last_error: 'HTTP 500 code 20500', next_attempt_at: iso(START + 30_000) });
    // The stub's own message said "while sending to +1415…".
    expect(row.last_error).not.toContain(ADA_PHONE.slice(1));

    clock += 29_000;
    expect(await o.processOutbox()).toBe(0);
    expect(s.requests).toHaveLength(1);
    clock += 1_000;
    expect(await o.processOutbox()).toBe(1);
    row = o.get(id)!;
    expect(row).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(s.requests.map((r) => r.status)).toEqual([500, 201]);
    expect(logLines.join('')).toContain('will retry');
    expect(logLines.join('')).not.toContain(ADA_PHONE);
  });

  it('keeps a message while the provider is unreachable and delivers it once it is back', async () => {
    const s = await stub({ down: true });
    const o = outbox({ sender: senderFor(s) });
    const id = o.enqueue(loginSms());
    expect(await o.processOutbox()).toBe(0);
    expect(o.get(id)).toMatchObject({ status: 'queued', attempts: 1, last_error: 'network ECONNREFUSED', next_attempt_at: iso(START + 30_000) });
    clock += 30_000;
    expect(await o.processOutbox()).toBe(0);
    expect(o.get(id)).toMatchObject({ status: 'queued', attempts: 2, next_attempt_at: iso(clock + 60_000) });

    await s.up();
    clock += 60_000;
    expect(await o.processOutbox()).toBe(1);
    expect(o.get(id)).toMatchObject({ status: 'sent', attempts: 3, last_error: null });
    expect(s.requests.map((r) => r.body)).toEqual([loginText('482913')]);
  });

  it('gives up after 4 attempts, since a code is dead by then', async () => {
    const s = await stub({ down: true });
    const o = outbox({ sender: senderFor(s) });
    const id = o.enqueue(loginSms());
    // The shared back-off: tries at 0, 30 s, 1 min 30 and 3 min 30, well inside the maximum age.
    for (const [i, wait] of [30_000, 60_000, 120_000, 240_000].entries()) {
      await o.processOutbox();
      expect(o.get(id)).toMatchObject({ attempts: i + 1, last_error: 'network ECONNREFUSED' });
      clock += wait;
    }
    expect(o.get(id)!.status).toBe('failed');
    await s.up();
    await o.processOutbox();
    expect(o.get(id)!.attempts).toBe(4);
    expect(s.requests).toHaveLength(0);
    expect(logLines.join('')).toContain('giving up');
  });

  it('fails a number the provider refuses as invalid at once and still sends the others', async () => {
    const s = await stub({ rejectNumber: (to) => to === BOB_PHONE });
    const o = outbox({ sender: senderFor(s) });
    const bad = o.enqueue(loginSms(BOB_PHONE));
    const good = o.enqueue(loginSms());
    expect(await o.processOutbox()).toBe(1);
    expect(o.get(bad)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'HTTP 400 code 21211' });
    expect(o.get(good)!.status).toBe('sent');
    expect(logLines.join('')).not.toContain(BOB_PHONE);
  });

  it('drops a message that waited too long (server was down) instead of sending it late', async () => {
    const s = await stub();
    const o = outbox({ sender: senderFor(s) });
    const old = o.enqueue(loginSms());
    clock += 11 * 60_000;
    const fresh = o.enqueue(loginSms());
    expect(await o.processOutbox()).toBe(1);
    expect(o.get(old)).toMatchObject({ status: 'failed', attempts: 0, last_error: 'too old to send' });
    expect(o.get(fresh)!.status).toBe('sent');
    expect(s.requests).toHaveLength(1);
  });

  it('sends nothing for an enqueue inside a transaction that rolls back, and sends a committed one', async () => {
    const s = await stub();
    const o = outbox({ sender: senderFor(s) });
    let rolledBack = '';
    expect(() =>
      transaction(db, () => {
        rolledBack = o.enqueue(loginSms());
        throw new Error('enrolment failed after queuing the SMS');
      }),
    ).toThrow('enrolment failed after queuing the SMS');
    expect(rolledBack).not.toBe('');
    expect(o.get(rolledBack)).toBeUndefined();
    expect(count('sms_outbox')).toBe(0);
    expect(await o.processOutbox()).toBe(0);
    expect(s.requests).toHaveLength(0);

    const committed = transaction(db, () => o.enqueue(loginSms()));
    expect(await o.processOutbox()).toBe(1);
    expect(o.get(committed)!.status).toBe('sent');
    expect(s.requests).toHaveLength(1);
  });

  it('never sends one message twice when two loops overlap, and recovers an abandoned claim', async () => {
    const s = await stub();
    const a = outbox({ sender: senderFor(s) });
    const b = outbox({ sender: senderFor(s) });
    const ids = [a.enqueue(loginSms()), a.enqueue(loginSms()), b.enqueue(loginSms())];
    const counts = await Promise.all([a.processOutbox(), b.processOutbox(), a.processOutbox()]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(3);
    expect(s.requests).toHaveLength(3);
    for (const id of ids) expect(a.get(id)!.status).toBe('sent');

    // A process that died after claiming: left alone until its 2-minute lease runs out.
    const crashed = a.enqueue(loginSms());
    expect(outboxRepo(db, 'sms_outbox').claimDue(iso(clock), iso(clock + 2 * 60_000), 0, 10)).toHaveLength(1);
    expect(await a.processOutbox()).toBe(0);
    clock += 2 * 60_000;
    expect(await a.processOutbox()).toBe(1);
    expect(a.get(crashed)!.status).toBe('sent');
  });

  it('delivers right after enqueue when the loop runs, and stop() waits for a send in flight', async () => {
    // The stub keeps its answer open while `gate` is set: a send stays in flight exactly until
    // the test lets it finish, however slow the machine.
    let gate: PromiseWithResolvers<void> | undefined;
    const s = await stub({ hold: () => gate?.promise });
    const o = outbox({ sender: senderFor(s), intervalMs: 60_000 });
    o.enqueue(loginSms());
    o.start();
    // The pass at start delivers what was queued before; the next timed pass is a minute away.
    await s.waitFor(1);
    // Only the kick of enqueue can deliver this one within the minute.
    o.enqueue(loginSms());
    await s.waitFor(2);

    gate = Promise.withResolvers<void>();
    const held = o.enqueue(loginSms());
    await waitFor('the third SMS to be in flight', () => o.get(held)!.status === 'sending');
    let stopped = false;
    const stopping = o.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(o.get(held)!.status).toBe('sent');

    // Stopped: an enqueue schedules nothing. A pass it scheduled would have claimed the row by
    // the time a zero-delay timer set after it fires (timers of equal delay fire in order).
    const third = o.enqueue(loginSms());
    await new Promise((r) => setTimeout(r, 0));
    expect(o.get(third)!.status).toBe('queued');
    expect(s.requests).toHaveLength(3);
  });

  it('refuses a malformed message with a one-line error that does not echo it', () => {
    const o = outbox({ sender: { send: () => Promise.reject(new Error('unused')) } });
    const local = errorOf(() => o.enqueue(loginSms('0041 44 668 18 00')));
    expect(local).toBeInstanceOf(SmsError);
    expect(local.message).toMatch(/^invalid sms: to: must be an international number/);
    expect(local.message).not.toContain('668');
    expect(() => o.enqueue({ ...loginSms(), purpose: `code for ${ADA_PHONE}` })).toThrow(/^invalid sms: purpose: /);
    expect(() => o.enqueue({ ...loginSms(), body: '' })).toThrow(/^invalid sms: body: /);
    expect(count('sms_outbox')).toBe(0);
  });

  it('logs a sender failure that is not an SmsError without its text', async () => {
    const o = outbox({ sender: { send: () => Promise.reject(new Error(`cannot reach ${ADA_PHONE}`)) } });
    const id = o.enqueue(loginSms());
    await o.processOutbox();
    expect(o.get(id)).toMatchObject({ status: 'queued', last_error: 'sender error' });
    expect(logLines.join('')).not.toContain(ADA_PHONE);
  });

  it('purges finished messages past their age and keeps what is still queued', async () => {
    const s = await stub();
    const o = outbox({ sender: senderFor(s) });
    const sent = o.enqueue(loginSms());
    await o.processOutbox();
    clock += 2 * 60_000;
    const down = outbox({ sender: { send: () => Promise.reject(new SmsError('network ECONNREFUSED')) } });
    const waiting = down.enqueue(loginSms());
    await down.processOutbox();
    clock += 60 * 60_000;
    expect(await o.purgeFinished(60 * 60_000)).toBe(1);
    expect(o.get(sent)).toBeUndefined();
    expect(o.get(waiting)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it("deletes a person's queued messages and codes with the person", () => {
    const o = outbox({ sender: { send: () => Promise.reject(new SmsError('unused')) } });
    o.enqueue(loginSms());
    outbox().enqueue(loginSms());
    new SmsCodes({ db, writer, now: () => clock }).issue(ada, 'login');
    db.prepare('DELETE FROM users WHERE id = ?').run(ada);
    expect(count('sms_outbox')).toBe(0);
    expect(count('sms_codes')).toBe(0);
  });

  it('refuses a number that is not E.164 at the database too', () => {
    const insert = () =>
      outboxRepo<SmsRow, NewSmsRow>(db, 'sms_outbox').insert({ id: 'x', user_id: null, purpose: 'p', to_number: '+1 415 555 0123', body: 'b', status: 'queued', next_attempt_at: iso(START), created_at: iso(START), batch: 0 });
    expect(insert).toThrow(/CHECK constraint/);
    expect(() => db.prepare('UPDATE users SET phone = ? WHERE id = ?').run('004144668', ada)).toThrow(/CHECK constraint/);
    db.prepare('UPDATE users SET phone = ? WHERE id = ?').run(ADA_PHONE, ada);
  });
});

describe('SmsOutbox without a provider (dev mode)', () => {
  it('keeps the message for the owner and logs only its id and purpose', async () => {
    const o = outbox();
    expect(o.devMode).toBe(true);
    const id = o.enqueue(loginSms());
    expect(o.get(id)).toMatchObject({ status: 'dev', to_number: ADA_PHONE, body: loginText('482913') });
    expect(await o.processOutbox()).toBe(0);
    o.start();
    expect(o.get(id)!.status).toBe('dev');

    const kept = o.devOutbox(10);
    expect(kept.map((r) => r.id)).toEqual([id]);
    expect(kept[0]!.body).toContain('482913');

    expect(logLines).toHaveLength(1);
    expect(JSON.parse(logLines[0]!)).toMatchObject({ smsId: id, purpose: 'login_code', msg: 'sms kept in dev outbox (no SMS provider configured)' });
    const log = logLines.join('');
    expect(log).not.toContain(ADA_PHONE);
    expect(log).not.toContain(ADA_PHONE.slice(2));
    expect(log).not.toContain('482913');
    expect(log).not.toContain('sign-in code');
  });

  it('lists dev messages newest first and bounds the limit', () => {
    const o = outbox();
    const first = o.enqueue(loginSms());
    clock += 1_000;
    const second = o.enqueue({ ...loginSms(BOB_PHONE), userId: null, purpose: 'enrol_code' });
    expect(o.devOutbox(10).map((r) => r.id)).toEqual([second, first]);
    expect(o.devOutbox(1).map((r) => r.id)).toEqual([second]);
    expect(o.devOutbox(0)).toHaveLength(1);
  });
});

describe('SmsCodes', () => {
  const codes = () => new SmsCodes({ db, writer, now: () => clock });

  it('issues 6 digits, stores only a hash, and accepts the code exactly once', () => {
    const c = codes();
    const code = c.issue(ada, 'login');
    expect(code).toMatch(/^\d{6}$/);
    const row = db.prepare('SELECT * FROM sms_codes').get() as { code_hash: Buffer; expires_at: number; attempts: number };
    expect(row.code_hash).toHaveLength(32);
    expect(row.code_hash.toString('latin1')).not.toContain(code);
    expect(row).toMatchObject({ expires_at: START + 5 * 60_000, attempts: 0 });

    expect(c.verify(ada, 'login', code)).toBe('ok');
    expect(c.verify(ada, 'login', code)).toBe('invalid');
  });

  it('accepts the code typed with spaces or a dash', () => {
    const c = codes();
    const code = c.issue(ada, 'login');
    expect(c.verify(ada, 'login', ` ${code.slice(0, 3)} ${code.slice(3)} `)).toBe('ok');
    const next = c.issue(ada, 'login');
    expect(c.verify(ada, 'login', `${next.slice(0, 3)}-${next.slice(3)}`)).toBe('ok');
  });

  it('binds a code to its person and purpose', () => {
    const c = codes();
    const bob = addUser('bob');
    const code = c.issue(ada, 'enrol');
    expect(c.verify(ada, 'login', code)).toBe('invalid');
    expect(c.verify(bob, 'enrol', code)).toBe('invalid');
    expect(c.verify(ada, 'enrol', code)).toBe('ok');
  });

  it('expires at its lifetime, by the injected clock', () => {
    const c = codes();
    const code = c.issue(ada, 'login');
    clock += 5 * 60_000 - 1;
    const other = c.issue(ada, 'enrol', 60_000);
    clock += 1;
    expect(c.verify(ada, 'login', code)).toBe('expired');
    expect(c.verify(ada, 'enrol', other)).toBe('ok');
  });

  it('kills a code after 5 wrong guesses, even for the right code afterwards', () => {
    const c = codes();
    const code = c.issue(ada, 'login');
    const wrong = code === '000000' ? '000001' : '000000';
    expect([1, 2, 3, 4].map(() => c.verify(ada, 'login', wrong))).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(c.verify(ada, 'login', wrong)).toBe('too-many');
    expect(c.verify(ada, 'login', code)).toBe('too-many');
    // A new code starts afresh.
    const fresh = c.issue(ada, 'login');
    expect(c.verify(ada, 'login', fresh)).toBe('ok');
  });

  it('retires the earlier unused code when a new one is issued', () => {
    const c = codes();
    let first = c.issue(ada, 'login');
    let second = c.issue(ada, 'login');
    // One in a million the two codes are equal, which would make this test meaningless.
    while (second === first) [first, second] = [second, c.issue(ada, 'login')];
    expect(count('sms_codes')).toBe(1);
    expect(c.verify(ada, 'login', first)).toBe('invalid');
    expect(c.verify(ada, 'login', second)).toBe('ok');
  });

  it('answers invalid when no code was issued, and purges expired codes', () => {
    const c = codes();
    expect(c.verify(ada, 'login', '123456')).toBe('invalid');
    c.issue(ada, 'login');
    c.issue(ada, 'enrol', 10 * 60_000);
    clock += 6 * 60_000;
    expect(c.purgeExpired()).toBe(1);
    expect(count('sms_codes')).toBe(1);
  });

  it('refuses a purpose that is not an identifier and an absurd lifetime', () => {
    const c = codes();
    expect(() => c.issue(ada, 'log in')).toThrow(/^invalid sms code purpose: /);
    expect(() => c.issue(ada, 'login', 24 * 60 * 60_000)).toThrow(RangeError);
  });
});
