import nodemailer from 'nodemailer';

export function createSmtpTransport(url: string, requireTls: boolean) {
  return nodemailer.createTransport({
    url,
    // Without it nodemailer upgrades only when the server offers STARTTLS, so anyone on the path
    // who strips the offer reads the mail and the SMTP password (ASVS V12.3.1). The URL cannot
    // override this: loadConfig refuses TLS options in it.
    requireTLS: requireTls,
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
export type SmtpTransport = ReturnType<typeof createSmtpTransport>;

/** The pooled transport for the SMTP server configured now; a changed server (settings page) gets a new one. */
export class SmtpConnection {
  private current: { key: string; transport: SmtpTransport } | undefined;

  for(smtp: { url: string; requireTls: boolean }): SmtpTransport {
    const key = `${smtp.requireTls}|${smtp.url}`;
    if (this.current?.key !== key) {
      this.current?.transport.close();
      this.current = { key, transport: createSmtpTransport(smtp.url, smtp.requireTls) };
    }
    return this.current.transport;
  }

  close(): void {
    this.current?.transport.close();
    this.current = undefined;
  }
}
