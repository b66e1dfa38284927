import { type KeyObject, createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../keys/keyring.ts';

/**
 * Links and tickets handed to attendees are derived, not stored: HMAC-SHA256 under the keyring's
 * token-signing key over (purpose, registration id, token version). Nothing in the database can
 * be replayed as a ticket, a lost link can be re-sent, and bumping the version revokes both.
 */
export type TokenPurpose = 'ticket' | 'manage' | 'confirm';

const mac = (key: KeyObject, parts: string[]) => createHmac('sha256', key).update(parts.join('\u0000')).digest().subarray(0, 24).toString('base64url');

export class AttendeeTokens {
  constructor(private readonly keyring: Keyring) {}

  private key(): KeyObject {
    return this.keyring.hmacKey(this.keyring.active('token'));
  }

  make(purpose: TokenPurpose, regId: string, version: number): string {
    return `${regId}.${mac(this.key(), [purpose, regId, String(version)])}`;
  }

  /** The registration id a token names, before its MAC is checked against the stored version. */
  static idOf(token: string): string | undefined {
    const m = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{32})$/.exec(token);
    return m?.[1];
  }

  /** Links made before a token-key rotation stay valid: retired token keys are tried too. */
  private keys(): KeyObject[] {
    const retired = this.keyring
      .list()
      .filter((k) => k.purpose === 'token' && k.status === 'retired')
      .flatMap((k) => {
        const key = this.keyring.byId(k.id);
        return key ? [this.keyring.hmacKey(key)] : [];
      });
    return [this.key(), ...retired];
  }

  verify(purpose: TokenPurpose, token: string, regId: string, version: number): boolean {
    const got = Buffer.from(token);
    return this.keys().some((key) => {
      const expected = Buffer.from(`${regId}.${mac(key, [purpose, regId, String(version)])}`);
      return expected.length === got.length && timingSafeEqual(expected, got);
    });
  }

  /** A signed, expiring grant that lets a browser see a protected event (passcode or share link). */
  grant(eventId: string, source: string, expiresAt: number): string {
    return `${expiresAt}.${source}.${mac(this.key(), ['event-access', eventId, source, String(expiresAt)])}`;
  }

  checkGrant(value: string | undefined, eventId: string, now: number): { source: string } | undefined {
    const m = /^(\d{13})\.([A-Za-z0-9:_-]{1,80})\.([A-Za-z0-9_-]{32})$/.exec(value ?? '');
    if (!m) return undefined;
    const [, exp, source, sig] = m as unknown as [string, string, string, string];
    if (Number(exp) <= now) return undefined;
    const got = Buffer.from(sig);
    const ok = this.keys().some((key) => {
      const expected = Buffer.from(mac(key, ['event-access', eventId, source, exp]));
      return expected.length === got.length && timingSafeEqual(expected, got);
    });
    return ok ? { source } : undefined;
  }
}
