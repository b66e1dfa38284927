import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the provider saw it. */
export interface RecordedSms {
  to: string | undefined;
  /** From, or MessagingServiceSid when the sender is a messaging service. */
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
  /** Basic-auth credentials sent, if any. */
  auth: { user: string; pass: string } | undefined;
  contentType: string | undefined;
  method: string;
  path: string;
  /** What the stub answered. */
  status: number;
  /** The message sid handed out (accepted requests only). */
  sid: string | undefined;
}

export interface SmsStubOptions {
  /** Listen on this port (0 or absent: any free port). */
  port?: number;
  /** Start with the port closed: requests fail with ECONNREFUSED until up(). */
  down?: boolean;
  /** Answer the first N requests with 500. */
  failNext?: number;
  /** Numbers refused as invalid (400, Twilio code 21211). */
  rejectNumber?: (to: string) => boolean;
  /** Hold every answer this long, to keep a send in flight. */
  delayMs?: number;
  /**
   * Asked once per request: the answer waits for the promise it returns (none: no wait). Keeps a
   * send in flight for exactly as long as a test needs, however slow the machine.
   */
  hold?: () => Promise<void> | undefined;
}

export interface SmsStub {
  /** The Messages endpoint, in Twilio's shape. */
  url: string;
  port: number;
  /** The account SID and auth token the stub accepts. */
  sid: string;
  token: string;
  requests: RecordedSms[];
  /** Answers the next n requests with `status` (default 500). */
  failNext(n: number, status?: number): void;
  /** Starts listening (again) on the same port. */
  up(): Promise<void>;
  /** Stops listening; the port refuses connections until up(). */
  down(): Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function parseBasic(header: string | undefined): RecordedSms['auth'] {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/**
 * A local stand-in for Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`: checks Basic
 * auth, parses the form, records every request, answers like Twilio. Error answers quote the
 * recipient number in their message, as real providers do, so tests can prove we never keep it.
 */
export async function startSmsStub(opts: SmsStubOptions = {}): Promise<SmsStub> {
  const sid = `AC${hex(16)}`;
  const token = hex(16);
  const path = `/2010-04-01/Accounts/${sid}/Messages.json`;
  const requests: RecordedSms[] = [];
  const waiters = new Set<() => void>();
  let failures = opts.failNext ?? 0;
  let failStatus = 500;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const auth = parseBasic(req.headers.authorization);
      const to = form.get('To') ?? undefined;
      const record: RecordedSms = {
        to,
        from: form.get('From') ?? form.get('MessagingServiceSid') ?? undefined,
        messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
        body: form.get('Body') ?? undefined,
        auth,
        contentType: req.headers['content-type'],
        method: req.method ?? '',
        path: req.url ?? '',
        status: 0,
        sid: undefined,
      };
      const answer = (status: number, json: object) => {
        record.status = status;
        // Recorded when answered: what the client considers handled.
        const held = opts.hold?.();
        setTimeout(() => {
          void (held ?? Promise.resolve()).then(() => {
            requests.push(record);
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(json));
            for (const w of waiters) w();
          });
        }, opts.delayMs ?? 0);
      };
      const error = (status: number, code: number, message: string) =>
        answer(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });

      if (req.method !== 'POST' || req.url !== path) return error(404, 20404, 'The requested resource was not found');
      if (auth?.user !== sid || auth.pass !== token) return error(401, 20003, 'Authenticate');
      if (failures > 0) {
        failures--;
        return error(failStatus, 20500, `Internal error while sending to ${to}`);
      }
      if (!to || !record.from || !record.body) return error(400, 21604, 'A required parameter is missing');
      if (opts.rejectNumber?.(to)) return error(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      record.sid = `SM${hex(16)}`;
      answer(201, { sid: record.sid, status: 'queued', to, body: record.body });
    });
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  // Bind once to learn a free port even when starting down, so the URL stays the same.
  await listen(opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  if (opts.down) await stop();

  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    sid,
    token,
    requests,
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    up: () => (server.listening ? Promise.resolve() : listen(port)),
    down: stop,
    // The deadline is a hang guard for a loaded machine: a passing wait ends at the request.
    waitFor(count, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} SMS requests within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: stop,
  };
}
