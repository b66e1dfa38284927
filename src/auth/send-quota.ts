import type { DB } from '../db/open.ts';
import type { AuditContext } from '../audit/service.ts';
import { authRepo } from './repo.ts';
import type { Result } from './service.ts';
import { networkOf } from './throttle.ts';

/**
 * Counting limits on messages Tessera sends on someone's request (password-reset and
 * email-change mail, SMS codes): per recipient, to protect an inbox or phone from being bombed
 * (and SMS budgets from pumping), and per network, generous so a crowd behind one NAT is not
 * shut out. Fixed windows that start with the first send, stored in `auth_throttle` under
 * `quota:` keys (`failures` = sends so far, `next_allowed_at` = end of the window). Keys hold
 * hashes of addresses and numbers, never the values.
 */
export interface SendLimits {
  /** Per recipient (address or number). */
  per15Min: number;
  perDay: number;
  /** Per network (IPv4 address or IPv6 /64), all recipients together. */
  perNetworkHour: number;
}


export interface QuotaRule {
  key: string;
  limit: number;
  windowMs: number;
  /** Which limit this is, so the caller can word the answer. */
  scope: 'recipient' | 'network';
}

export type QuotaVerdict = { ok: true } | { ok: false; scope: QuotaRule['scope']; retryAfterMs: number };

export class SendQuota {
  private readonly repo;
  constructor(
    db: DB,
    private readonly now: () => number,
  ) {
    this.repo = authRepo(db);
  }

  /** All or nothing: when every rule has room, counts one send against each; otherwise counts nothing. Call inside the transaction that sends. */
  take(rules: QuotaRule[]): QuotaVerdict {
    const t = this.now();
    let worst: QuotaVerdict = { ok: true };
    for (const r of rules) {
      const row = this.repo.throttleGet(r.key);
      if (row && t < row.next_allowed_at && row.failures >= r.limit) {
        const wait = row.next_allowed_at - t;
        if (worst.ok || wait > worst.retryAfterMs) worst = { ok: false, scope: r.scope, retryAfterMs: wait };
      }
    }
    if (!worst.ok) return worst;
    for (const r of rules) {
      const row = this.repo.throttleGet(r.key);
      const live = row && t < row.next_allowed_at;
      this.repo.throttlePut({ key: r.key, failures: live ? row.failures + 1 : 1, last_failure_at: live ? row.last_failure_at : t, next_allowed_at: live ? row.next_allowed_at : t + r.windowMs, locked_until: null });
    }
    return { ok: true };
  }
}

/** "15 minutes", "2 hours": the wait in words, rounded up. */
export function waitInWords(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes <= 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hours`;
}

/** Inside the sending transaction: one more message to `recipientHash` from the caller's network, or the human answer. */
export function takeSendQuota(quota: SendQuota, l: SendLimits, channel: 'mail' | 'sms', recipientHash: string, ctx: AuditContext): Result<object, 'limited'> {
  const rules: QuotaRule[] = [
    { key: `quota:${channel}:${recipientHash}:15m`, limit: l.per15Min, windowMs: 15 * 60_000, scope: 'recipient' },
    { key: `quota:${channel}:${recipientHash}:1d`, limit: l.perDay, windowMs: 24 * 3_600_000, scope: 'recipient' },
    { key: `quota:net:${networkOf(ctx.ip)}:1h`, limit: l.perNetworkHour, windowMs: 3_600_000, scope: 'network' },
  ];
  const v = quota.take(rules);
  if (v.ok) return { ok: true };
  const wait = waitInWords(v.retryAfterMs);
  const message =
    v.scope === 'network'
      ? `Many messages were requested from your network recently; wait ${wait} before asking again.`
      : channel === 'mail'
        ? `We've sent several emails to this address recently; wait ${wait} before asking again. Check your spam folder too.`
        : `We've sent several codes to this number recently; wait ${wait} before asking again.`;
  return { ok: false, error: 'limited', message, retryAfterMs: v.retryAfterMs };
}
