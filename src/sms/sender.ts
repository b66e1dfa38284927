import { z } from 'zod';
import type { Config } from '../config/config.ts';

/** Hands one SMS to a provider. Implementations throw SmsError, whose message is safe to log. */
export interface SmsSender {
  send(to: string, body: string): Promise<{ providerId: string }>;
}

export class SmsError extends Error {
  override name = 'SmsError';
  constructor(
    message: string,
    /** HTTP status of the provider's answer; undefined when none came (network, timeout). */
    readonly status?: number,
    /** The provider's numeric error code, when it sent one. */
    readonly code?: number,
    /** True when retrying this message cannot help (the recipient number itself was refused). */
    readonly permanent = false,
  ) {
    super(message);
  }
}

export interface TwilioCompatibleOptions {
  /** The Messages endpoint, e.g. https://api.twilio.com/2010-04-01/Accounts/AC…/Messages.json. */
  url: string;
  accountSid: string;
  authToken: string;
  /** E.164 sender number, or a messaging service SID (MG…) that picks the sender itself. */
  from: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** A Messages answer is a few hundred bytes; a misconfigured URL must not make us buffer a page. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/**
 * Twilio errors that condemn the recipient number rather than our settings: invalid number (21211),
 * unsubscribed via STOP (21610), not a mobile number (21614). Others, auth errors included, are
 * retried like mail so the owner has time to fix the configuration.
 */
const PERMANENT_CODES = new Set([21211, 21610, 21614]);

const successSchema = z.object({ sid: z.string().regex(/^[A-Za-z0-9_-]{2,64}$/) });
const errorSchema = z.object({ code: z.number().int().nonnegative().max(1e9) });
const TOKEN = /^[A-Z0-9_]{1,32}$/i;

/**
 * A Twilio-compatible Messages API client (Twilio itself and the providers that copy its API).
 * Errors say only what is safe to store and log: the HTTP status and the provider's numeric code,
 * never the provider's text, which quotes the number ("The 'To' number +41… is not valid").
 */
export class TwilioCompatibleSender implements SmsSender {
  private readonly url: string;
  private readonly authorization: string;
  private readonly from: string;
  private readonly timeoutMs: number;

  constructor(opts: TwilioCompatibleOptions) {
    this.url = opts.url;
    this.authorization = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`, 'utf8').toString('base64')}`;
    this.from = opts.from;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(to: string, body: string): Promise<{ providerId: string }> {
    const form = new URLSearchParams({ To: to, [this.from.startsWith('MG') ? 'MessagingServiceSid' : 'From']: this.from, Body: body });
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        // The endpoint never redirects; following one would carry a code to wherever it points.
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new SmsError(describeFetchError(e, this.timeoutMs));
    }
    let json: unknown;
    try {
      json = JSON.parse(await readCapped(res, MAX_RESPONSE_BYTES));
    } catch (e) {
      if (e instanceof SmsError) throw e;
      if (isTimeout(e)) throw new SmsError(`HTTP ${res.status} timeout after ${this.timeoutMs} ms`, res.status);
      json = undefined;
    }
    if (res.ok) {
      const ok = successSchema.safeParse(json);
      if (!ok.success) throw new SmsError(`HTTP ${res.status} without a message sid`, res.status);
      return { providerId: ok.data.sid };
    }
    const err = errorSchema.safeParse(json);
    const code = err.success ? err.data.code : undefined;
    throw new SmsError(
      code === undefined ? `HTTP ${res.status}` : `HTTP ${res.status} code ${code}`,
      res.status,
      code,
      res.status >= 400 && res.status < 500 && code !== undefined && PERMANENT_CODES.has(code),
    );
  }
}

/** The configured provider, or undefined when SMS_URL is unset (messages stay in the dev outbox). */
export function smsSenderFromConfig(cfg: Pick<Config, 'smsUrl' | 'smsAccountSid' | 'smsAuthToken' | 'smsFrom'>): SmsSender | undefined {
  if (cfg.smsUrl === undefined) return undefined;
  // loadConfig already refuses a URL without the other three; this guards hand-built configs.
  if (cfg.smsAccountSid === undefined || cfg.smsAuthToken === undefined || cfg.smsFrom === undefined) {
    throw new SmsError('SMS provider configured without account SID, auth token or sender');
  }
  return new TwilioCompatibleSender({ url: cfg.smsUrl, accountSid: cfg.smsAccountSid, authToken: cfg.smsAuthToken, from: cfg.smsFrom });
}

function isTimeout(e: unknown): boolean {
  return e instanceof Error && (e.name === 'TimeoutError' || (e.name === 'AbortError' && e.cause instanceof Error && e.cause.name === 'TimeoutError'));
}

/** fetch failures as a token such as "network ECONNREFUSED": the error texts can contain the URL. */
function describeFetchError(e: unknown, timeoutMs: number): string {
  if (isTimeout(e)) return `timeout after ${timeoutMs} ms`;
  const cause = e instanceof Error ? e.cause : undefined;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && TOKEN.test(code)) return `network ${code}`;
  if (cause instanceof Error && /redirect/i.test(cause.message)) return 'redirect refused';
  return 'network error';
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    // Leaving the loop by throwing cancels the stream, so the rest is never downloaded.
    if (size > max) throw new SmsError(`HTTP ${res.status} response larger than ${max} bytes`, res.status);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
