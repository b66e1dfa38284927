import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message as the recipient's mail client would show it (MIME decoded). */
export interface ReceivedMail {
  /** Envelope recipients (RCPT TO), what the server was actually asked to deliver to. */
  to: string[];
  /** Envelope sender (MAIL FROM). */
  from: string;
  /** The From header, display name included. */
  fromHeader: string;
  subject: string;
  text: string;
  html: string | undefined;
  messageId: string | undefined;
  headers: Map<string, unknown>;
  /** User name the client authenticated with, if it did. */
  user: string | undefined;
  raw: string;
  attachments: { filename: string; contentType: string; content: Buffer }[];
}

export interface SmtpSinkOptions {
  /** Listen on this port (0 or absent: any free port). */
  port?: number;
  /** Recipients for which RCPT TO is refused with a permanent 550. */
  rejectRecipient?: (address: string) => boolean;
  /** Hold the reply to DATA this long, to keep a send in flight. */
  delayMs?: number;
  /**
   * Asked once per message: the reply to DATA waits for the promise it returns (none: no wait).
   * Keeps a send in flight for exactly as long as a test needs, however slow the machine.
   */
  hold?: () => Promise<void> | undefined;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: ReceivedMail[];
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 that keeps every message in memory. Plain text only (no
 * STARTTLS) and any credentials accepted, so tests exercise the real client protocol path.
 */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    closeTimeout: 1_000,
    logger: false,
    onAuth(auth, _session, cb) {
      cb(null, { user: auth.username ?? 'anonymous' });
    },
    onRcptTo(address, _session, cb) {
      if (opts.rejectRecipient?.(address.address)) {
        cb(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
        return;
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e: Error) => cb(e));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            const mail: ReceivedMail = {
              to: session.envelope.rcptTo.map((a) => a.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              fromHeader: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : undefined,
              messageId: parsed.messageId,
              headers: parsed.headers,
              attachments: parsed.attachments.map((a) => ({ filename: a.filename ?? '', contentType: a.contentType, content: a.content })),
              user: typeof session.user === 'string' ? session.user : undefined,
              raw: raw.toString('utf8'),
            };
            // Recorded when acknowledged: what the sender considers delivered.
            const held = opts.hold?.();
            setTimeout(() => {
              void (held ?? Promise.resolve()).then(() => {
                messages.push(mail);
                cb();
                for (const w of waiters) w();
              });
            }, opts.delayMs ?? 0);
          },
          (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    // The deadline is a hang guard for a loaded machine: a passing wait ends at the message.
    waitFor(pred, timeoutMs = 30_000) {
      return new Promise<ReceivedMail>((resolve, reject) => {
        const check = () => {
          const found = messages.find(pred);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching mail within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
