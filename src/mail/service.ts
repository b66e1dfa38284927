import nodemailer, { type NodemailerError } from 'nodemailer';
import QRCode from 'qrcode';
import { z } from 'zod';
import { OutboxLoop } from './outbox-loop.ts';
import { timeOrderedId } from '../db/ids.ts';
import type { DB } from '../db/open.ts';
import { type DurableWrites, durableWrites } from '../db/wal-sync.ts';
import type { Logger } from '../log.ts';
import { type OutboxRow, type StoredOutboxRow, mailRepo } from './repo.ts';
import { type TemplateName, type TemplateParams, isTemplateName, renderMail } from './templates.ts';

export class MailError extends Error {
  override name = 'MailError';
}

export interface MailerOptions {
  db: DB;
  log: Logger;
  /** smtp:// or smtps:// URL; without it every message stays in the dev outbox. */
  smtpUrl?: string | undefined;
  from: string;
  now: () => number;
  /** How often the loop looks for due messages when nothing kicks it. */
  intervalMs?: number;
  /** After this many failed attempts a message is marked failed. */
  maxAttempts?: number;
}

/**
 * A file sent with a message. `qrText` asks for a PNG QR code of that text, drawn at delivery so
 * the request that queued the mail does not pay for it; `eventIcs` ("<org id>/<event id>") asks
 * for the event's calendar file as it is at delivery, from the source given to provideEventIcs();
 * `ticketQr` ("<org id>/<registration id>") for a QR code of that registration's ticket link
 * then, from the source given to provideRegistrationMail().
 */
export interface MailAttachment {
  filename: string;
  contentType: string;
  content?: string;
  qrText?: string;
  eventIcs?: string;
  ticketQr?: string;
}

/**
 * Where the parameters of mail about a registration come from at delivery (the events
 * capability). undefined: the registration is gone (cancelled events deleted, data erased), and
 * so is the reason to write to that person.
 */
export interface RegistrationMailSource {
  params(template: TemplateName, orgId: string, registrationId: string): Record<string, unknown> | undefined;
  ticketLink(orgId: string, registrationId: string): string | undefined;
}

/**
 * A template message about one registration. Only the reference is stored: the name, code and
 * links are filled in from the registration as it is at delivery. The outbox then holds no
 * copy of them, and the registration's transaction writes about a quarter of the bytes.
 */
export interface RegistrationMail {
  orgId: string;
  template: TemplateName;
  /** "<org id>/<registration id>" */
  registration: string;
  to: string;
  attachments?: MailAttachment[];
}

/**
 * A message from a template, stored as the template's parameters and rendered when it is sent
 * or shown (see migration 0013): the cheap way for mail queued inside a registration rush.
 */
export interface TemplateMail<K extends TemplateName> {
  orgId?: string | null;
  template: K;
  params: TemplateParams<K>;
  to: string;
  attachments?: MailAttachment[];
}

export interface OutgoingMail {
  orgId?: string | null;
  template: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
}

/** "<org id>/<row id>": what an attachment or a registration mail refers to */
const REF = /^[A-Za-z0-9-]{1,64}\/[A-Za-z0-9-]{1,64}$/;

const messageSchema = z.object({
  orgId: z.string().min(1).nullish(),
  // The template name is the one thing the technical log says about a message, so it must be an
  // identifier and never free text that could carry a name or an address.
  template: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must be an identifier'),
  to: z.email(),
  subject: z.string().min(1).max(998).regex(/^[^\r\n]*$/, 'must be one line'),
  text: z.string().min(1),
  html: z.string().min(1).optional(),
  attachments: z
    .array(
      z.object({
        filename: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
        contentType: z.string().regex(/^[a-z]+\/[a-z0-9.+-]+(?:; ?charset=[a-z0-9-]+)?$/i),
        content: z.string().max(5_000_000).optional(),
        qrText: z.string().max(500).optional(),
        eventIcs: z.string().regex(REF).optional(),
        ticketQr: z.string().regex(REF).optional(),
      }),
    )
    .max(5)
    .optional(),
});

const templateMailSchema = messageSchema.pick({ orgId: true, to: true, attachments: true });
const registrationMailSchema = messageSchema.pick({ to: true, attachments: true }).extend({ orgId: z.string().min(1), registration: z.string().regex(REF) });
/** The stored parameters of a RegistrationMail: a reference, filled in at delivery. */
const REGISTRATION_PARAM = '$registration';

const BASE_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60_000;
const DEFAULT_MAX_ATTEMPTS = 8;
/** A claim outlives any single send (bounded by the SMTP timeouts below) with a wide margin. */
const CLAIM_LEASE_MS = 10 * 60_000;
const BATCH_SIZE = 10;
const DEFAULT_INTERVAL_MS = 5_000;

/** Delay before the next try after `failures` failed attempts: 30 s, 1 min, 2 min, … capped at 1 h. */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_RETRY_MS, BASE_RETRY_MS * 2 ** Math.max(0, failures - 1));
}

const TOKEN = /^[A-Z0-9_ -]{1,32}$/i;
/**
 * What we keep of an SMTP failure: error code, reply code, enhanced status and the command.
 * Never the server's free text or nodemailer's message: both can quote the recipient address.
 */
export function describeSmtpError(e: unknown): string {
  const err = (typeof e === 'object' && e !== null ? e : {}) as NodemailerError;
  const parts: string[] = [typeof err.code === 'string' && TOKEN.test(err.code) ? err.code : 'ERROR'];
  if (typeof err.originalCode === 'string' && TOKEN.test(err.originalCode)) parts.push(`(${err.originalCode})`);
  if (typeof err.responseCode === 'number') parts.push(String(err.responseCode));
  const enhanced = typeof err.response === 'string' ? /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(err.response) : null;
  if (enhanced?.[1]) parts.push(enhanced[1]);
  if (typeof err.command === 'string' && TOKEN.test(err.command)) parts.push(`at ${err.command}`);
  if (typeof err.timeoutType === 'string' && TOKEN.test(err.timeoutType)) parts.push(err.timeoutType);
  return parts.join(' ');
}

/**
 * Only a recipient the server refused for good (5xx at RCPT TO: no such mailbox) is hopeless.
 * Other 5xx replies (auth required, relay denied) usually mean our SMTP settings are wrong; the
 * normal retries give the owner time to fix them without losing the mail.
 */
function isPermanent(e: unknown): boolean {
  const err = e as NodemailerError;
  return err.permanent === true && err.command === 'RCPT TO';
}

function createSmtpTransport(url: string) {
  return nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: 2,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    // nodemailer's own logger would print addresses and, with debug, whole messages.
    logger: false,
    debug: false,
  });
}
type SmtpTransport = ReturnType<typeof createSmtpTransport>;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Outbox-first mail: callers only ever insert a row (in their own transaction); delivery,
 * retries and back-off happen here, off the request path. The technical log names a message by
 * its outbox id and template, never by address, subject or body.
 */
export class Mailer {
  private readonly log: Logger;
  private readonly repo;
  private readonly smtpUrl: string | undefined;
  private readonly from: string;
  private readonly messageIdDomain: string;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly maxAttempts: number;
  private transport: SmtpTransport | undefined;
  private readonly loop: OutboxLoop;
  /** the connection's group sync, looked up when needed: the batcher is made after the mailer */
  private readonly durable: () => DurableWrites | undefined;
  private eventIcsSource: ((orgId: string, eventId: string) => string | undefined) | undefined;
  private registrationSource: RegistrationMailSource | undefined;

  constructor(opts: MailerOptions) {
    this.log = opts.log;
    this.repo = mailRepo(opts.db);
    this.durable = () => durableWrites(opts.db);
    this.smtpUrl = opts.smtpUrl;
    this.from = opts.from;
    this.messageIdDomain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(opts.from)?.[1] ?? 'tessera.invalid';
    this.now = opts.now;
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.loop = new OutboxLoop(() => this.processOutbox(), this.intervalMs, (e: unknown) => {
      // Not a message failure (those are handled per row): the database itself failed.
      this.log.error({ error: e instanceof Error ? e.message : String(e) }, 'mail outbox batch failed');
    });
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  }

  /** Where `eventIcs` attachments come from (the events capability, wired after this one). */
  provideEventIcs(source: (orgId: string, eventId: string) => string | undefined): void {
    this.eventIcsSource = source;
  }

  /** Where RegistrationMail parameters and `ticketQr` links come from (the events capability). */
  provideRegistrationMail(source: RegistrationMailSource): void {
    this.registrationSource = source;
  }

  /** True when no SMTP server is configured: mail is kept for the instance owner to read. */
  get devMode(): boolean {
    return this.smtpUrl === undefined;
  }

  /**
   * Queues one message and returns its outbox id. Inside an open transaction the row joins it,
   * so a service call that rolls back sends nothing; delivery starts only after the commit
   * because the loop runs on a later tick.
   */
  enqueue(msg: OutgoingMail): string {
    const parsed = messageSchema.safeParse(msg);
    if (!parsed.success) throw invalidMail(parsed.error.issues[0]);
    const m = parsed.data;
    return this.store({ orgId: m.orgId, template: m.template, to: m.to, attachments: m.attachments }, { subject: m.subject, text_body: m.text, html_body: m.html ?? null, params: null });
  }

  /**
   * Queues a message from a template, kept as its parameters and rendered at delivery (or when
   * shown): a fraction of the rendered message's bytes in the caller's transaction.
   */
  enqueueTemplate<K extends TemplateName>(msg: TemplateMail<K>): string {
    const parsed = templateMailSchema.safeParse(msg);
    if (!parsed.success) throw invalidMail(parsed.error.issues[0]);
    const m = parsed.data;
    return this.store({ orgId: m.orgId, template: msg.template, to: m.to, attachments: m.attachments }, { subject: null, text_body: null, html_body: null, params: JSON.stringify(msg.params) });
  }

  /** Queues a template message about one registration, stored as a reference (RegistrationMail). */
  enqueueForRegistration(msg: RegistrationMail): string {
    const parsed = registrationMailSchema.safeParse(msg);
    if (!parsed.success) throw invalidMail(parsed.error.issues[0]);
    const m = parsed.data;
    return this.store({ orgId: m.orgId, template: msg.template, to: m.to, attachments: m.attachments }, { subject: null, text_body: null, html_body: null, params: JSON.stringify({ [REGISTRATION_PARAM]: m.registration }) });
  }

  private store(
    m: { orgId?: string | null | undefined; template: string; to: string; attachments?: MailAttachment[] | undefined },
    body: Pick<StoredOutboxRow, 'subject' | 'text_body' | 'html_body' | 'params'>,
  ): string {
    // Time-ordered: outbox rows arrive in bursts (a registration rush) and the id is internal.
    const id = timeOrderedId();
    const at = iso(this.now());
    const status = this.devMode ? 'dev' : 'queued';
    this.repo.insert({
      id,
      org_id: m.orgId ?? null,
      template: m.template,
      to_address: m.to,
      ...body,
      attachments: JSON.stringify(m.attachments ?? []),
      status,
      next_attempt_at: at,
      created_at: at,
    });
    if (status === 'dev') {
      this.log.info({ mailId: id, template: m.template }, 'mail kept in dev outbox (no SMTP configured)');
    } else {
      this.loop.kick();
    }
    return id;
  }

  /** The message as it goes out: a template row is rendered from its parameters now. */
  private rendered(row: StoredOutboxRow): OutboxRow {
    const { params, ...rest } = row;
    if (params === null) return { ...rest, subject: rest.subject ?? '', text_body: rest.text_body ?? '' };
    if (!isTemplateName(row.template)) throw new MailError(`unknown mail template ${row.template}`);
    let values = JSON.parse(params) as Record<string, unknown>;
    const ref = values[REGISTRATION_PARAM];
    if (typeof ref === 'string') {
      const found = this.registrationSource?.params(row.template, ...refParts(ref));
      if (!found) throw new MailError('the registration this message is about no longer exists');
      values = found;
    }
    const c = renderMail(row.template, values as TemplateParams<typeof row.template>);
    return { ...rest, subject: c.subject, text_body: c.text, html_body: c.html ?? null };
  }

  private async renderAttachments(json: string | undefined): Promise<{ filename: string; contentType: string; content: Buffer }[]> {
    const list = JSON.parse(json || '[]') as MailAttachment[];
    const out: { filename: string; contentType: string; content: Buffer }[] = [];
    for (const a of list) {
      let content: Buffer;
      if (a.eventIcs !== undefined) {
        const ics = this.eventIcsSource?.(...refParts(a.eventIcs));
        // The event is gone: the mail still goes, without a calendar for it.
        if (ics === undefined) continue;
        content = Buffer.from(ics, 'utf8');
      } else if (a.qrText !== undefined || a.ticketQr !== undefined) {
        const text = a.ticketQr !== undefined ? this.registrationSource?.ticketLink(...refParts(a.ticketQr)) : a.qrText;
        if (text === undefined) continue;
        content = await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
      } else content = Buffer.from(a.content ?? '', 'utf8');
      out.push({ filename: a.filename, contentType: a.contentType, content });
    }
    return out;
  }

  /**
   * Delivers every due queued message and returns how many were sent. A failing message is
   * rescheduled or marked failed; it never stops the others and never makes this throw.
   */
  async processOutbox(): Promise<number> {
    if (this.smtpUrl === undefined) return 0;
    this.transport ??= createSmtpTransport(this.smtpUrl);
    const transport = this.transport;
    // A row queued by a batched write is committed before it is on disk; mail it only once it is.
    await this.durable()?.settled();
    const requeued = this.repo.requeueExpiredClaims(iso(this.now()));
    if (requeued > 0) this.log.warn({ count: requeued }, 'mail claims expired; messages queued again');
    let sent = 0;
    for (;;) {
      const now = this.now();
      const rows = this.repo.claimDue(iso(now), iso(now + CLAIM_LEASE_MS), BATCH_SIZE);
      if (rows.length === 0) break;
      const results = await Promise.all(rows.map((row) => this.deliver(transport, row)));
      sent += results.filter(Boolean).length;
      if (rows.length < BATCH_SIZE || this.loop.stopping) break;
    }
    return sent;
  }

  private async deliver(transport: SmtpTransport, stored: StoredOutboxRow): Promise<boolean> {
    try {
      const row = this.rendered(stored);
      await transport.sendMail({
        from: this.from,
        to: row.to_address,
        subject: row.subject,
        text: row.text_body,
        ...(row.html_body !== null ? { html: row.html_body } : {}),
        attachments: await this.renderAttachments(row.attachments),
        // Stable per outbox row: if a crash makes us send twice, receivers can tell it is one mail.
        messageId: `<${row.id}@${this.messageIdDomain}>`,
        // RFC 3834: keeps vacation responders from answering automated mail.
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
    } catch (e) {
      this.recordFailure(stored, e);
      return false;
    }
    this.repo.markSent(stored.id, iso(this.now()));
    this.log.info({ mailId: stored.id, template: stored.template }, 'mail sent');
    return true;
  }

  private recordFailure(row: Pick<OutboxRow, 'id' | 'attempts' | 'template'>, e: unknown): void {
    const attempts = row.attempts + 1;
    const error = describeSmtpError(e);
    const now = this.now();
    const giveUp = attempts >= this.maxAttempts || isPermanent(e);
    this.repo.markAttemptFailed(row.id, {
      status: giveUp ? 'failed' : 'queued',
      attempts,
      nextAt: iso(giveUp ? now : now + retryDelayMs(attempts)),
      error,
    });
    const fields = { mailId: row.id, template: row.template, attempts, error };
    if (giveUp) this.log.error(fields, 'mail delivery failed; giving up');
    else this.log.warn(fields, 'mail delivery failed; will retry');
  }

  /** Starts the delivery loop. In dev mode there is nothing to deliver, so nothing starts. */
  start(): void {
    if (!this.devMode) this.loop.start();
  }

  /** Stops the loop and waits for a batch in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
    this.transport?.close();
    this.transport = undefined;
  }

  /** Messages kept because no SMTP server is configured, newest first, for the owner's admin page. */
  devOutbox(limit = 50): OutboxRow[] {
    return this.repo.listByStatus('dev', Math.min(Math.max(1, Math.trunc(limit)), 500)).map((r) => this.shown(r));
  }

  get(id: string): OutboxRow | undefined {
    const row = this.repo.get(id);
    return row && this.shown(row);
  }

  /** Rendered for reading; a row that cannot be rendered says so instead of failing the page. */
  private shown(row: StoredOutboxRow): OutboxRow {
    try {
      return this.rendered(row);
    } catch (e) {
      const { params: _params, ...rest } = row;
      return { ...rest, subject: `(cannot render ${row.template})`, text_body: e instanceof Error ? e.message : String(e), html_body: null };
    }
  }

  /**
   * Deletes sent, failed and dev messages older than `maxAgeMs`. Finished mail still holds
   * addresses, names and one-time links, so it must not outlive its use; the retention job
   * calls this. Queued and in-flight messages are never touched.
   */
  purgeFinished(maxAgeMs: number): number {
    return this.repo.purgeFinished(iso(this.now() - maxAgeMs));
  }
}

/** The two ids of a REF ("<org id>/<row id>"). */
function refParts(ref: string): [string, string] {
  const [orgId = '', id = ''] = ref.split('/');
  return [orgId, id];
}

function invalidMail(issue: z.core.$ZodIssue | undefined): MailError {
  return new MailError(`invalid mail: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
}
