import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PERSON_SURNAME, testEmail } from '../../test/support/people.ts';
import { type SmtpSink, startSmtpSink } from '../../test/support/smtp-sink.ts';
import { waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { ConfigError, loadConfig } from '../config/config.ts';
import { migrate } from '../db/migrate.ts';
import { Faults } from '../db/faults.ts';
import { type DB, openDatabase, transaction } from '../db/open.ts';
import { Writer } from '../db/writer.ts';
import { purgeOutboxes } from '../outbox/purge.ts';
import { createLogger } from '../log.ts';
import { MailError, Mailer, type MailerOptions, retryDelayMs } from './service.ts';
import { renderMail } from './templates.ts';

const START = Date.parse('2031-03-01T09:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

// Everything any test logged, handed to the global teardown's personal-data scan as well.
const allLogLines: string[] = [];
afterAll(() => {
  const dir = process.env.TESSERA_TEST_LOG_DIR;
  if (dir) fs.writeFileSync(path.join(dir, 'mail-service.log'), allLogLines.join(''));
});

let db: DB;
let faults: Faults;
let writer: Writer;
let clock: number;
let logLines: string[];
let sinks: SmtpSink[];
let mailers: Mailer[];

beforeEach(() => {
  db = openDatabase(path.join(tempDir(), 'tessera.db'), { key: randomBytes(32), create: true });
  migrate(db);
  clock = START;
  faults = new Faults(() => clock);
  writer = new Writer(db, { faults });
  logLines = [];
  sinks = [];
  mailers = [];
});

afterEach(async () => {
  for (const m of mailers) await m.stop();
  for (const s of sinks) await s.close();
  db.close();
  allLogLines.push(...logLines);
});

function mailer(opts: Partial<MailerOptions> = {}): Mailer {
  const log = createLogger('debug', {
    write(line: string) {
      logLines.push(line);
    },
  });
  const m = new Mailer({ db, log, from: 'Tessera <tessera@events.example.org>', now: () => clock, durability: writer, faults, ...opts });
  mailers.push(m);
  return m;
}

async function sink(opts: Parameters<typeof startSmtpSink>[0] = {}): Promise<SmtpSink> {
  const s = await startSmtpSink(opts);
  sinks.push(s);
  return s;
}

/** A port nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const ada = testEmail('ada');
// Long, with characters quoted-printable encodes (=, &): a naive reader of the raw MIME breaks it.
const resetLink = `https://events.example.org/reset?token=${'x'.repeat(90)}&next=%2Fme&sig=ab==`;
const resetMail = (to = ada) => ({ to, ...renderMail('passwordReset', { name: `Ada ${PERSON_SURNAME}`, link: resetLink, minutes: 30 }) });

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

/** The id of the one message in the outbox. */
async function peekId(): Promise<string> {
  return (db.prepare('SELECT id FROM mail_outbox LIMIT 1').get() as { id: string }).id;
}

function outboxCount(): number {
  return (db.prepare('SELECT count(*) AS n FROM mail_outbox').get() as { n: number }).n;
}

describe('Mailer with an SMTP server', () => {
  it('delivers a queued message with its subject, decoded text and stable Message-ID', async () => {
    const s = await sink();
    const m = mailer({ smtpUrl: `smtp://mailer:s3cret@127.0.0.1:${s.port}` });
    const id = m.enqueue({ ...resetMail(), orgId: 'org-1' });
    expect(m.get(id)).toMatchObject({ status: 'queued', attempts: 0, org_id: 'org-1', template: 'passwordReset' });

    expect(await m.processOutbox()).toBe(1);
    expect(s.messages).toHaveLength(1);
    const got = s.messages[0]!;
    expect(got.to).toEqual([ada]);
    expect(got.from).toBe('tessera@events.example.org');
    expect(got.fromHeader).toContain('Tessera');
    expect(got.subject).toBe('Reset your password');
    expect(got.text).toContain(`Hello Ada ${PERSON_SURNAME},`);
    expect(got.text).toContain(resetLink);
    expect(got.html).toContain(resetLink.replaceAll('&', '&amp;'));
    expect(got.messageId).toBe(`<${id}@events.example.org>`);
    expect(got.headers.get('auto-submitted')).toBe('auto-generated');
    expect(got.user).toBe('mailer');

    expect(m.get(id)).toMatchObject({ status: 'sent', attempts: 1, sent_at: iso(START), last_error: null });
    // Sent means done: a second pass sends nothing again.
    expect(await m.processOutbox()).toBe(0);
    expect(s.messages).toHaveLength(1);
  });

  it('sends nothing for an enqueue inside a transaction that rolls back, and sends a committed one', async () => {
    const s = await sink();
    const m = mailer({ smtpUrl: s.url });
    let rolledBack = '';
    expect(() =>
      transaction(db, () => {
        rolledBack = m.enqueue(resetMail());
        throw new Error('service failed after queuing mail');
      }),
    ).toThrow('service failed after queuing mail');
    expect(rolledBack).not.toBe('');
    expect(m.get(rolledBack)).toBeUndefined();
    expect(outboxCount()).toBe(0);
    expect(await m.processOutbox()).toBe(0);

    const committed = transaction(db, () => m.enqueue(resetMail()));
    expect(await m.processOutbox()).toBe(1);
    expect(s.messages.map((x) => x.messageId)).toEqual([`<${committed}@events.example.org>`]);
  });

  it('mails a message queued by a batched write only once the batch is on disk', async () => {
    const s = await sink();
    let finishSync: () => void = () => {};
    const slow = new Writer(db, { faults, sync: () => new Promise<void>((resolve) => (finishSync = resolve)) });
    const m = mailer({ smtpUrl: s.url, intervalMs: 60_000, durability: slow });
    const queued = slow.run(() => m.enqueue(resetMail()));
    await waitFor('batch committed', () => outboxCount() === 1);
    // Committed, not yet confirmed by the disk: the outbox must not claim it.
    expect(await m.processOutbox()).toBe(0);
    expect(m.get(await peekId())?.status).toBe('queued');
    finishSync();
    const id = await queued;
    expect(slow.syncedThrough).toBe(1);
    expect(await m.processOutbox()).toBe(1);
    expect(s.messages.map((x) => x.messageId)).toEqual([`<${id}@events.example.org>`]);
  });

  it('during a rush, sends only messages of synced batches, never one of an unsynced batch', async () => {
    const s = await sink();
    const syncs: (() => void)[] = [];
    const slow = new Writer(db, { faults, sync: () => new Promise<void>((resolve) => syncs.push(resolve)) });
    const m = mailer({ smtpUrl: s.url, intervalMs: 60_000, durability: slow });
    // Batch 1, then batch 2 queued while batch 1's sync runs (it commits once that sync ends).
    const first = Array.from({ length: 5 }, (_, i) => slow.run(() => m.enqueue(resetMail(testEmail(`rush-a${i}`)))));
    await waitFor('first sync started', () => syncs.length === 1);
    const second = Array.from({ length: 5 }, (_, i) => slow.run(() => m.enqueue(resetMail(testEmail(`rush-b${i}`)))));
    expect(outboxCount()).toBe(5);
    expect(await m.processOutbox()).toBe(0);
    syncs[0]!();
    const firstIds = await Promise.all(first);
    await waitFor('second batch committed', () => outboxCount() === 10);
    expect(slow.syncedThrough).toBe(1);
    // Batch 2 committed after sync 1 began: only sync 2 covers it.
    expect(await m.processOutbox()).toBe(5);
    expect(s.messages.map((x) => x.messageId).sort()).toEqual(firstIds.map((id) => `<${id}@events.example.org>`).sort());
    await waitFor('second sync started', () => syncs.length === 2);
    syncs[1]!();
    await Promise.all(second);
    expect(await m.processOutbox()).toBe(5);
    expect(s.messages).toHaveLength(10);
  });

  it('never mails a message whose batch failed to sync, and sends nothing while writes are refused', async () => {
    const s = await sink();
    const syncs: { resolve: () => void; reject: (e: Error) => void }[] = [];
    const slow = new Writer(db, { faults, sync: () => new Promise<void>((resolve, reject) => syncs.push({ resolve, reject })) });
    const m = mailer({ smtpUrl: s.url, intervalMs: 60_000, durability: slow });
    const queued = slow.run(() => m.enqueue(resetMail()));
    await waitFor('sync started', () => syncs.length === 1);
    syncs[0]!.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await expect(queued).rejects.toThrow(/cannot|stopped saving/);
    expect(faults.has('wal-sync-failed')).toBe(true);
    expect(await m.processOutbox()).toBe(0);
    // Even a message written before the failure, durable by itself, waits: a send could not be recorded.
    expect(s.messages).toHaveLength(0);
  });

  it('with TLS required, never sends to a server that does not offer STARTTLS, and keeps the mail', async () => {
    // The sink offers no STARTTLS, like a downgraded or misconfigured server on the way.
    const s = await sink();
    const m = mailer({ smtpUrl: `smtp://mailer:s3cret@127.0.0.1:${s.port}`, requireTls: true });
    const id = m.enqueue(resetMail());
    expect(await m.processOutbox()).toBe(0);
    const row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row.last_error).toMatch(/ETLS|STARTTLS/);
    expect(row.last_error).not.toContain('s3cret');
    expect(s.messages).toHaveLength(0);
    // The same server with TLS not required (loopback, or --allow-insecure-transport=smtp) delivers.
    const plain = mailer({ smtpUrl: `smtp://127.0.0.1:${s.port}`, requireTls: false });
    plain.enqueue(resetMail());
    expect(await plain.processOutbox()).toBe(1);
    expect(s.messages).toHaveLength(1);
  });

  it('keeps a message while SMTP is down, backs off, and delivers once the server is up', async () => {
    const port = await closedPort();
    const m = mailer({ smtpUrl: `smtp://127.0.0.1:${port}` });
    const id = m.enqueue(resetMail());

    expect(await m.processOutbox()).toBe(0);
    let row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 1, next_attempt_at: iso(START + 30_000) });
    expect(row.last_error).toMatch(/ECONNREFUSED/);

    // Not due yet: nothing is tried.
    clock += 29_000;
    expect(await m.processOutbox()).toBe(0);
    expect(m.get(id)!.attempts).toBe(1);

    clock += 2_000;
    expect(await m.processOutbox()).toBe(0);
    row = m.get(id)!;
    expect(row).toMatchObject({ status: 'queued', attempts: 2, next_attempt_at: iso(clock + 60_000) });

    const s = await sink({ port });
    clock += 60_000;
    expect(await m.processOutbox()).toBe(1);
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.text).toContain(resetLink);
    expect(m.get(id)).toMatchObject({ status: 'sent', attempts: 3, last_error: null });

    const log = logLines.join('');
    expect(log).toContain('will retry');
    expect(log).toContain(id);
    expect(log).not.toContain(ada);
    expect(log).not.toContain(PERSON_SURNAME);
    expect(log).not.toContain('Reset your password');
  });

  it('marks a message failed after 8 attempts and stops trying it', async () => {
    const m = mailer({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}` });
    const id = m.enqueue(resetMail());
    for (let i = 1; i <= 8; i++) {
      await m.processOutbox();
      expect(m.get(id)!.attempts).toBe(i);
      clock += 2 * 60 * 60_000;
    }
    expect(m.get(id)).toMatchObject({ status: 'failed', attempts: 8 });
    await m.processOutbox();
    expect(m.get(id)!.attempts).toBe(8);
    expect(logLines.join('')).toContain('giving up');
  });

  it('fails a recipient the server refuses for good at once, without logging or storing its address, and still sends the others', async () => {
    const nobody = testEmail('nobody');
    const s = await sink({ rejectRecipient: (a) => a === nobody });
    const m = mailer({ smtpUrl: s.url });
    const bad = m.enqueue(resetMail(nobody));
    const good = m.enqueue(resetMail());
    expect(await m.processOutbox()).toBe(1);
    expect(s.messages.map((x) => x.to)).toEqual([[ada]]);
    expect(m.get(good)!.status).toBe('sent');
    const row = m.get(bad)!;
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row.last_error).toBe('EENVELOPE 550 5.1.1 at RCPT TO');
    expect(logLines.join('')).not.toContain(nobody);
  });

  it('never sends one message twice when two loops overlap', async () => {
    const s = await sink();
    const a = mailer({ smtpUrl: s.url });
    const b = mailer({ smtpUrl: s.url });
    const ids = [a.enqueue(resetMail()), a.enqueue(resetMail()), b.enqueue(resetMail())];
    const counts = await Promise.all([a.processOutbox(), b.processOutbox(), a.processOutbox()]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(3);
    expect(s.messages).toHaveLength(3);
    expect(new Set(s.messages.map((x) => x.messageId)).size).toBe(3);
    for (const id of ids) expect(a.get(id)!.status).toBe('sent');
  });

  it('leaves a claimed message alone until the claim expires, then sends it (crash mid-send)', async () => {
    const s = await sink();
    const m = mailer({ smtpUrl: s.url });
    const id = m.enqueue(resetMail());
    // A process that died after claiming: the row is 'sending' with a 10-minute lease.
    expect(db.prepare(`UPDATE mail_outbox SET status = 'sending', next_attempt_at = ? WHERE id = ?`).run(iso(clock + 10 * 60_000), id).changes).toBe(1);
    expect(await m.processOutbox()).toBe(0);
    expect(m.get(id)!.status).toBe('sending');
    clock += 10 * 60_000;
    expect(await m.processOutbox()).toBe(1);
    expect(m.get(id)!.status).toBe('sent');
    expect(s.messages).toHaveLength(1);
  });

  it('delivers right after enqueue when the loop runs, and stop() waits for a send in flight', async () => {
    // The sink keeps the reply to a message open while `gate` is set: a send stays in flight
    // exactly until the test lets it finish, however slow the machine.
    let gate: PromiseWithResolvers<void> | undefined;
    const s = await sink({ hold: () => gate?.promise });
    const m = mailer({ smtpUrl: s.url, intervalMs: 60_000 });
    const early = m.enqueue(resetMail());
    m.start();
    // The pass at start delivers what was queued before; the next timed pass is a minute away.
    await s.waitFor((x) => x.messageId === `<${early}@events.example.org>`);
    const first = m.enqueue(resetMail());
    // Only the kick of enqueue can deliver this one within the minute.
    await s.waitFor((x) => x.messageId === `<${first}@events.example.org>`);

    gate = Promise.withResolvers<void>();
    const held = m.enqueue(resetMail());
    await waitFor('the third mail to be in flight', () => m.get(held)!.status === 'sending');
    let stopped = false;
    const stopping = m.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(m.get(held)!.status).toBe('sent');

    // Stopped: an enqueue schedules nothing. A pass it scheduled would have claimed the row by
    // the time a zero-delay timer set after it fires (timers of equal delay fire in order).
    const third = m.enqueue(resetMail());
    await new Promise((r) => setTimeout(r, 0));
    expect(m.get(third)!.status).toBe('queued');
    expect(s.messages).toHaveLength(3);
  });

  it('purges finished mail past its age and keeps what is still queued', async () => {
    const s = await sink();
    const m = mailer({ smtpUrl: s.url });
    const sent = m.enqueue(resetMail());
    await m.processOutbox();
    const down = mailer({ smtpUrl: `smtp://127.0.0.1:${await closedPort()}` });
    const waiting = down.enqueue(resetMail());
    clock += 8 * 24 * 60 * 60_000;
    await down.processOutbox(); // fails: stays queued, retried later
    const fresh = m.enqueue(resetMail());
    expect(await m.processOutbox()).toBe(1);
    expect(await m.purgeFinished(7 * 24 * 60 * 60_000)).toBe(1);
    expect(m.get(sent)).toBeUndefined();
    expect(m.get(fresh)!.status).toBe('sent');
    expect(m.get(waiting)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it('purges in steps of 500 and yields between them, so the mail of a rush never holds requests', async () => {
    const m = mailer({ smtpUrl: 'smtp://127.0.0.1:1' });
    // 1,201 finished rows (three steps), written as the dev channel leaves them.
    const ids = Array.from({ length: 1_201 }, () => m.enqueue(resetMail()));
    db.prepare(`UPDATE mail_outbox SET status = 'dev' WHERE id IN (${ids.map(() => '?').join(',')})`).run(...ids);
    clock += 31 * 86_400_000;
    const kept = m.enqueue(resetMail());
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    try {
      expect(await purgeOutboxes({ mailer: m, sms: { purgeFinished: async () => 0 } }, 30)).toEqual({ mail: 1_201, sms: 0 });
    } finally {
      clearInterval(counting);
    }
    expect(db.prepare('SELECT count(*) FROM mail_outbox').pluck().get()).toBe(1);
    expect(m.get(kept)!.status).toBe('queued');
    // The event loop ran between the steps.
    expect(turns).toBeGreaterThan(0);
  });

  it('refuses a malformed message with a one-line error that does not echo it', () => {
    const m = mailer({ smtpUrl: 'smtp://127.0.0.1:1' });
    expect(() => m.enqueue({ ...resetMail(), to: `Ada ${PERSON_SURNAME}` })).toThrow(MailError);
    expect(() => m.enqueue({ ...resetMail(), to: `Ada ${PERSON_SURNAME}` })).toThrow(/^invalid mail: to: /);
    const err = errorOf(() => m.enqueue({ ...resetMail(), template: `reset for ${ada}` }));
    expect(err.message).toMatch(/^invalid mail: template: /);
    expect(err.message).not.toContain(ada);
    expect(() => m.enqueue({ ...resetMail(), subject: 'a\r\nBcc: x@example.org' })).toThrow(/subject/);
    expect(outboxCount()).toBe(0);
  });
});

describe('template mail (stored as parameters, rendered at delivery)', () => {
  const params = { name: `Ada ${PERSON_SURNAME}`, event: 'Privacy Days', when: 'Monday, 3 March 2031, 10:00', where: 'Hall A', code: 'K7QF-M2XA', manageLink: 'https://events.example.org/r/manage/abc.def' };

  it('stores a fraction of the rendered bytes and sends exactly what the template renders, with the calendar as the event is at delivery', async () => {
    const s = await sink();
    let title = 'Privacy Days';
    const m = mailer({
      smtpUrl: `smtp://127.0.0.1:${s.port}`,
      eventIcs: (orgId, eventId) => (orgId === 'org-1' && eventId === 'ev-1' ? `BEGIN:VCALENDAR\r\nSUMMARY:${title}\r\nEND:VCALENDAR\r\n` : undefined),
    });
    const id = m.enqueueTemplate({
      orgId: 'org-1',
      to: ada,
      template: 'registrationConfirmed',
      params,
      attachments: [
        { filename: 'ticket.png', contentType: 'image/png', qrText: 'ticket-token' },
        { filename: 'event.ics', contentType: 'text/calendar; charset=utf-8', eventIcs: 'org-1/ev-1' },
        { filename: 'gone.ics', contentType: 'text/calendar; charset=utf-8', eventIcs: 'org-1/ev-deleted' },
      ],
    });
    const stored = db.prepare('SELECT subject, text_body, html_body, params, length(params) + length(attachments) AS bytes FROM mail_outbox WHERE id = ?').get(id) as Record<string, unknown>;
    expect(stored).toMatchObject({ subject: null, text_body: null, html_body: null });
    const want = renderMail('registrationConfirmed', params);
    expect(Number(stored.bytes)).toBeLessThan((want.text.length + (want.html?.length ?? 0)) / 2);
    // Reading it shows it rendered.
    expect(m.get(id)).toMatchObject({ subject: want.subject, text_body: want.text, html_body: want.html });

    title = 'Privacy Days (moved to Hall B)';
    expect(await m.processOutbox()).toBe(1);
    const got = s.messages[0]!;
    expect(got.subject).toBe(want.subject);
    expect(got.text).toContain('K7QF-M2XA');
    expect(got.text).toContain(params.manageLink);
    expect(got.attachments.map((a) => a.filename).sort()).toEqual(['event.ics', 'ticket.png']);
    expect(got.attachments.find((a) => a.filename === 'event.ics')!.content.toString()).toContain('SUMMARY:Privacy Days (moved to Hall B)');
  });

  it('refuses a bad recipient or attachment reference and stores nothing', () => {
    const m = mailer();
    expect(() => m.enqueueTemplate({ to: 'not-an-address', template: 'registrationConfirmed', params })).toThrow(MailError);
    expect(() => m.enqueueTemplate({ to: ada, template: 'registrationConfirmed', params, attachments: [{ filename: 'x.ics', contentType: 'text/calendar', eventIcs: '../../etc/passwd' }] })).toThrow(
      /^invalid mail: attachments\.0\.eventIcs: /,
    );
    expect(outboxCount()).toBe(0);
  });

  it('shows a row it cannot render as such in the dev outbox, and fails its delivery like a send error', async () => {
    const s = await sink();
    const m = mailer({ smtpUrl: `smtp://127.0.0.1:${s.port}` });
    const id = m.enqueueTemplate({ to: ada, template: 'registrationCancelled', params: { name: 'Ada', event: 'Privacy Days' } });
    db.prepare("UPDATE mail_outbox SET template = 'noSuchTemplate' WHERE id = ?").run(id);
    expect(m.get(id)).toMatchObject({ subject: '(cannot render noSuchTemplate)' });
    expect(await m.processOutbox()).toBe(0);
    expect(s.messages).toHaveLength(0);
    expect(m.get(id)).toMatchObject({ status: 'queued', attempts: 1 });
  });
});

describe('mail about a registration (stored as a reference, filled in at delivery)', () => {
  /** A registration the test changes and deletes, as the events capability would. */
  function source() {
    const regs = new Map<string, { name: string; code: string; token: string }>([['org-1/reg-1', { name: `Ada ${PERSON_SURNAME}`, code: 'K7QF-M2XA', token: 'ticket-token-1' }]]);
    return {
      regs,
      source: {
        params: (template: string, orgId: string, id: string) => {
          const r = regs.get(`${orgId}/${id}`);
          if (!r || template !== 'registrationConfirmed') return undefined;
          return { name: r.name, event: 'Privacy Days', when: 'Monday, 3 March 2031, 10:00', where: 'Hall A', code: r.code, manageLink: `https://events.example.org/r/${r.token}` };
        },
        ticketLink: (orgId: string, id: string) => regs.get(`${orgId}/${id}`)?.token,
      },
    };
  }

  it('keeps only the reference, and sends the registration as it is at delivery with its ticket QR code', async () => {
    const s = await sink();
    const { regs, source: src } = source();
    const m = mailer({ smtpUrl: `smtp://127.0.0.1:${s.port}`, registrations: src });
    const id = m.enqueueForRegistration({ orgId: 'org-1', to: ada, template: 'registrationConfirmed', registration: 'org-1/reg-1', attachments: [{ filename: 'ticket.png', contentType: 'image/png', ticketQr: 'org-1/reg-1' }] });
    const stored = db.prepare('SELECT params, attachments FROM mail_outbox WHERE id = ?').get(id) as { params: string; attachments: string };
    // No copy of the attendee's name, code or links in the outbox.
    expect(stored.params).toBe('{"$registration":"org-1/reg-1"}');
    expect(stored.params + stored.attachments).not.toMatch(/Ada|K7QF|ticket-token/);
    expect(m.get(id)?.text_body).toContain('K7QF-M2XA');

    regs.set('org-1/reg-1', { name: 'Ada Changed', code: 'K7QF-M2XA', token: 'ticket-token-2' });
    expect(await m.processOutbox()).toBe(1);
    const got = s.messages[0]!;
    expect(got.text).toContain('Ada Changed');
    expect(got.text).toContain('https://events.example.org/r/ticket-token-2');
    const png = got.attachments.find((a) => a.filename === 'ticket.png')!.content;
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });

  it('does not send it once the registration is gone, and shows why', async () => {
    const s = await sink();
    const { regs, source: src } = source();
    const m = mailer({ smtpUrl: `smtp://127.0.0.1:${s.port}`, registrations: src });
    const id = m.enqueueForRegistration({ orgId: 'org-1', to: ada, template: 'registrationConfirmed', registration: 'org-1/reg-1' });
    regs.clear();
    expect(m.get(id)).toMatchObject({ subject: '(cannot render registrationConfirmed)', text_body: 'the registration this message is about no longer exists' });
    expect(await m.processOutbox()).toBe(0);
    expect(s.messages).toHaveLength(0);
    expect(m.get(id)).toMatchObject({ status: 'queued', attempts: 1 });
  });

  it('refuses a malformed reference and stores nothing', () => {
    const m = mailer();
    expect(() => m.enqueueForRegistration({ orgId: 'org-1', to: ada, template: 'registrationConfirmed', registration: '../reg-1' })).toThrow(/^invalid mail: registration: /);
    expect(() => m.enqueueForRegistration({ orgId: 'org-1', to: ada, template: 'registrationConfirmed', registration: 'org-1/reg-1', attachments: [{ filename: 't.png', contentType: 'image/png', ticketQr: 'x' }] })).toThrow(/^invalid mail: attachments\.0\.ticketQr: /);
    expect(outboxCount()).toBe(0);
  });
});

describe('Mailer without SMTP (dev mode)', () => {
  it('keeps the message for the owner and logs only its id and template', async () => {
    const m = mailer();
    expect(m.devMode).toBe(true);
    const id = m.enqueue({ ...resetMail(), orgId: null });
    expect(m.get(id)).toMatchObject({ status: 'dev', to_address: ada, subject: 'Reset your password' });
    expect(await m.processOutbox()).toBe(0);
    m.start();
    expect(m.get(id)!.status).toBe('dev');

    // The owner can read the whole message (the link is what makes the product usable).
    const kept = m.devOutbox(10);
    expect(kept.map((r) => r.id)).toEqual([id]);
    expect(kept[0]!.text_body).toContain(resetLink);

    expect(logLines).toHaveLength(1);
    const entry = JSON.parse(logLines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ mailId: id, template: 'passwordReset', msg: 'mail kept in dev outbox (no SMTP configured)' });
    const log = logLines.join('');
    expect(log).not.toContain(ada);
    expect(log).not.toContain('Reset your password');
    expect(log).not.toContain(PERSON_SURNAME);
    expect(log).not.toContain('token=');
  });

  it('lists dev mail newest first and bounds the limit', () => {
    const m = mailer();
    const first = m.enqueue(resetMail());
    clock += 1_000;
    const second = m.enqueue(resetMail());
    expect(m.devOutbox(10).map((r) => r.id)).toEqual([second, first]);
    expect(m.devOutbox(1).map((r) => r.id)).toEqual([second]);
    expect(m.devOutbox(0)).toHaveLength(1);
  });
});

describe('retry schedule', () => {
  it('doubles from 30 s and caps at one hour', () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(7)).toBe(32 * 60_000);
    expect(retryDelayMs(8)).toBe(60 * 60_000);
    expect(retryDelayMs(30)).toBe(60 * 60_000);
  });
});

describe('mail settings', () => {
  it('accepts smtp and smtps URLs and refuses others without echoing the URL', () => {
    expect(loadConfig({}, { TESSERA_SMTP_URL: 'smtps://user:pw@mail.example.org:465' }).smtpUrl).toBe('smtps://user:pw@mail.example.org:465');
    expect(loadConfig({}, {}).smtpUrl).toBeUndefined();
    expect(loadConfig({}, {}).mailFrom).toBe('Tessera <tessera@localhost>');
    for (const bad of ['https://user:hunter2@mail.example.org', 'smtp://', 'hunter2']) {
      const err = errorOf(() => loadConfig({}, { TESSERA_SMTP_URL: bad }));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/^invalid value for TESSERA_SMTP_URL: must be an smtp/);
      expect(err.message).not.toContain('hunter2');
    }
    expect(() => loadConfig({ mailFrom: 'nobody' }, {})).toThrow(/--mail-from/);
  });

  it('refuses URL options that would weaken TLS, which nodemailer would otherwise let override ours', () => {
    for (const q of ['ignoreTLS=true', 'requireTLS=false', 'secure=false', 'tls.rejectUnauthorized=false', 'opportunisticTLS=true', 'x=1&IGNORETLS=1']) {
      const err = errorOf(() => loadConfig({}, { TESSERA_SMTP_URL: `smtp://u:hunter2@mail.example.org:587/?${q}` }));
      expect(err.message, q).toBe('invalid value for TESSERA_SMTP_URL: must not set TLS options in the URL (TLS is required; see --allow-insecure-transport)');
    }
    expect(loadConfig({}, { TESSERA_SMTP_URL: 'smtp://u:p@mail.example.org:587/?name=tessera.example.org' }).smtpUrl).toContain('name=');
  });
});
