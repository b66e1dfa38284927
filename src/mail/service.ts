import { smtpRequiresTls } from '../config/transport.ts';
import type { NodemailerError } from 'nodemailer';
import { SmtpConnection } from './smtp-transport.ts';
import QRCode from 'qrcode';
import { z } from 'zod';
import { timeOrderedId } from '../db/ids.ts';
import { type Channel, Outbox, type OutboxDeps } from '../outbox/outbox.ts';
import type { StoredMailRow } from '../outbox/repo.ts';
import { type TemplateName, type TemplateParams, isTemplateName, renderMail } from './templates.ts';

export class MailError extends Error {
  override name = 'MailError';
}

/** A message as sent and shown: rendered, whatever way it is stored. */
export type OutboxRow = Omit<StoredMailRow, 'subject' | 'text_body' | 'params'> & { subject: string; text_body: string };

export interface MailerOptions extends OutboxDeps {
  /** smtp:// or smtps:// URL; without it every message stays in the dev outbox. */
  smtpUrl?: string | undefined;
  /** STARTTLS or nothing: see smtpRequiresTls in config/transport.ts (false for loopback or with the flag). */
  requireTls?: boolean | undefined;
  from: string;
  /**
   * The SMTP server as it is configured now (the instance settings); when given it replaces
   * smtpUrl/requireTls, so a change on the settings page applies to the next message.
   */
  smtp?: () => { url: string; requireTls: boolean } | undefined;
  /** The sender as configured now; replaces `from` when given. */
  fromOf?: () => string;
  now: () => number;
  /** How often the loop looks for due messages when nothing kicks it. */
  intervalMs?: number;
  /** After this many failed attempts a message is marked failed. */
  maxAttempts?: number;
  /** Where registration mail and ticket links come from at delivery (the registrations capability). */
  registrations?: RegistrationMailSource;
  /** An event's calendar file as it is at delivery (the events capability). */
  eventIcs?: (orgId: string, eventId: string) => string | undefined;
}

/**
 * A file sent with a message. `qrText` asks for a PNG QR code of that text, drawn at delivery so
 * the request that queued the mail does not pay for it; `eventIcs` ("<org id>/<event id>") asks
 * for the event's calendar file as it is at delivery (MailerOptions.eventIcs); `ticketQr`
 * ("<org id>/<registration id>") for a QR code of that registration's ticket link then.
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

const DEFAULT_MAX_ATTEMPTS = 8;
/** A claim outlives any single send (bounded by the SMTP timeouts below) with a wide margin. */
const CLAIM_LEASE_MS = 10 * 60_000;

export { retryDelayMs } from '../outbox/outbox.ts';

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


/**
 * Mail: callers queue a row in their own transaction (the outbox); delivery, retries and back-off
 * happen in the outbox loop, off the request path, and only for durable writes. The technical
 * log names a message by its outbox id and template, never by address, subject or body.
 */
export class Mailer {
  private readonly outbox: Outbox<StoredMailRow>;
  private readonly connection = new SmtpConnection();
  private readonly requireTls: boolean;

  constructor(private readonly opts: MailerOptions) {
    // Unless told otherwise, the policy without the operator's flag: TLS unless the server is on loopback.
    this.requireTls = opts.requireTls ?? smtpRequiresTls({ smtpUrl: opts.smtpUrl, allowInsecureTransport: [] });
    const channel: Channel<StoredMailRow> | undefined =
      opts.smtpUrl === undefined && opts.smtp === undefined
        ? undefined
        : {
            name: 'mail',
            table: 'mail_outbox',
            leaseMs: CLAIM_LEASE_MS,
            maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
            ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
            describeError: describeSmtpError,
            isPermanent,
            logFields: (row) => ({ template: row.template }),
            deliver: async (stored) => {
              const row = this.rendered(stored);
              const from = this.from();
              const messageIdDomain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'tessera.invalid';
              await this.currentTransport().sendMail({
                from,
                to: row.to_address,
                subject: row.subject,
                text: row.text_body,
                ...(row.html_body !== null ? { html: row.html_body } : {}),
                attachments: await this.renderAttachments(row.attachments),
                // Stable per outbox row: if a crash makes us send twice, receivers can tell it is one mail.
                messageId: `<${row.id}@${messageIdDomain}>`,
                // RFC 3834: keeps vacation responders from answering automated mail.
                headers: { 'Auto-Submitted': 'auto-generated' },
              });
              return null;
            },
          };
    this.outbox = new Outbox(opts, 'mail_outbox', channel, 'no SMTP configured', () => this.smtp() !== undefined);
  }

  private smtp(): { url: string; requireTls: boolean } | undefined {
    if (this.opts.smtp) return this.opts.smtp();
    return this.opts.smtpUrl === undefined ? undefined : { url: this.opts.smtpUrl, requireTls: this.requireTls };
  }

  private from(): string {
    return this.opts.fromOf?.() ?? this.opts.from;
  }

  private currentTransport() {
    const smtp = this.smtp();
    if (!smtp) throw new MailError('no SMTP server is configured');
    return this.connection.for(smtp);
  }

  /**
   * "Send test email" on the settings page: one message straight to `to` with the server
   * configured now, bypassing the outbox, and what went wrong in words when it failed.
   */
  async sendTest(to: string, subject: string, text: string): Promise<{ ok: true } | { ok: false; error: string }> {
    if (!this.smtp()) return { ok: false, error: 'no SMTP server is configured' };
    try {
      await this.currentTransport().sendMail({ from: this.from(), to, subject, text, headers: { 'Auto-Submitted': 'auto-generated' } });
      return { ok: true };
    } catch (e) {
      return { ok: false, error: describeSmtpError(e) };
    }
  }

  /** True when no SMTP server is configured: mail is kept for the instance owner to read. */
  get devMode(): boolean {
    return this.outbox.devMode;
  }

  /**
   * Queues one message and returns its outbox id. Inside an open transaction the row joins it,
   * so a service call that rolls back sends nothing.
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
    body: Pick<StoredMailRow, 'subject' | 'text_body' | 'html_body' | 'params'>,
  ): string {
    // Time-ordered: outbox rows arrive in bursts (a registration rush) and the id is internal.
    const id = timeOrderedId(this.opts.now());
    this.outbox.enqueue({ id, org_id: m.orgId ?? null, template: m.template, to_address: m.to, ...body, attachments: JSON.stringify(m.attachments ?? []) }, { template: m.template });
    return id;
  }

  /**
   * Sends one message now, without the outbox: only for alerts about a state in which nothing can
   * be written (a full disk, a failed sync). Without SMTP the technical log is all there is.
   */
  async sendNow(msg: OutgoingMail): Promise<boolean> {
    if (this.smtp() === undefined) return false;
    const res = await this.sendTest(msg.to, msg.subject, msg.text);
    if (!res.ok) this.opts.log.error({ template: msg.template, error: res.error }, 'direct mail failed');
    return res.ok;
  }

  /** The message as it goes out: a template row is rendered from its parameters now. */
  private rendered(row: StoredMailRow): OutboxRow {
    const { params, ...rest } = row;
    if (params === null) return { ...rest, subject: rest.subject ?? '', text_body: rest.text_body ?? '' };
    if (!isTemplateName(row.template)) throw new MailError(`unknown mail template ${row.template}`);
    let values = JSON.parse(params) as Record<string, unknown>;
    const ref = values[REGISTRATION_PARAM];
    if (typeof ref === 'string') {
      const found = this.opts.registrations?.params(row.template, ...refParts(ref));
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
        const ics = this.opts.eventIcs?.(...refParts(a.eventIcs));
        // The event is gone: the mail still goes, without a calendar for it.
        if (ics === undefined) continue;
        content = Buffer.from(ics, 'utf8');
      } else if (a.qrText !== undefined || a.ticketQr !== undefined) {
        const text = a.ticketQr !== undefined ? this.opts.registrations?.ticketLink(...refParts(a.ticketQr)) : a.qrText;
        if (text === undefined) continue;
        content = await QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 320 });
      } else content = Buffer.from(a.content ?? '', 'utf8');
      out.push({ filename: a.filename, contentType: a.contentType, content });
    }
    return out;
  }

  /** Delivers every due, durable message; returns how many were sent. */
  processOutbox(): Promise<number> {
    return this.outbox.process();
  }

  /** Starts the delivery loop. In dev mode there is nothing to deliver, so nothing starts. */
  start(): void {
    this.outbox.start();
  }

  /** Stops the loop and waits for a batch in progress. */
  async stop(): Promise<void> {
    await this.outbox.stop();
    this.connection.close();
  }

  /** Messages kept because no SMTP server is configured, newest first, for the owner's admin page. */
  devOutbox(limit = 50): OutboxRow[] {
    return this.outbox.devRows(limit).map((r) => this.shown(r));
  }

  get(id: string): OutboxRow | undefined {
    const row = this.outbox.get(id);
    return row && this.shown(row);
  }

  /** Rendered for reading; a row that cannot be rendered says so instead of failing the page. */
  private shown(row: StoredMailRow): OutboxRow {
    try {
      return this.rendered(row);
    } catch (e) {
      const { params: _params, ...rest } = row;
      return { ...rest, subject: `(cannot render ${row.template})`, text_body: e instanceof Error ? e.message : String(e), html_body: null };
    }
  }

  /** Deletes finished messages older than `maxAgeMs` (they hold addresses and one-time links). */
  purgeFinished(maxAgeMs: number): Promise<number> {
    return this.outbox.purgeFinished(maxAgeMs);
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
