import { type KeyObject, createHmac, createSecretKey, hkdfSync } from 'node:crypto';
import type { Keyring } from '../keys/keyring.ts';

/**
 * A person's pseudonym in the audit log: HMAC-SHA256 over the organization id and the normalized
 * email, under a subkey of the audit-chain key. Audit rows name an attendee by it (details.subject),
 * never by email, so an erasure leaves the log untouched and a search by email still finds the
 * history. Per organization on purpose: the same person in two organizations has two pseudonyms,
 * so one organization's log cannot be joined with another's.
 *
 * The audit key rotates: a row keeps the pseudonym of the key that was active when it was
 * written, so a search asks for the person under every audit key (`personPseudonyms`).
 */
const INFO = 'tessera person pseudonym v1';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Pseudonyms under the keyring's audit keys. HKDF per call costs about as much as writing an
 * audit row, so each key's subkey is derived once and kept for the life of the keyring, as a
 * KeyObject: given a Buffer, createHmac builds one per call, which took 5× the HMAC itself and
 * 7% of a registration's main-thread time.
 */
export class Pseudonyms {
  private readonly subkeys = new Map<string, KeyObject>();
  constructor(private readonly keyring: Keyring) {}

  private under(keyId: string, orgId: string, email: string): string {
    let sub = this.subkeys.get(keyId);
    if (!sub) {
      // A subkey of its own (HKDF), so a pseudonym can never collide with a chain MAC or an anchor.
      sub = createSecretKey(Buffer.from(hkdfSync('sha256', this.keyring.byId(keyId)!.key, Buffer.alloc(0), INFO, 32)));
      this.subkeys.set(keyId, sub);
    }
    return createHmac('sha256', sub).update(orgId).update('\u0000').update(normalizeEmail(email)).digest('base64url').slice(0, 32);
  }

  /** The pseudonym new rows carry: under the active audit key. */
  current(orgId: string, email: string): string {
    return this.under(this.keyring.active('audit').id, orgId, email);
  }

  /** Every pseudonym the person may appear under in this organization's log (one per audit key). */
  all(orgId: string, email: string): string[] {
    return this.keyring
      .list()
      .filter((k) => k.purpose === 'audit' && k.status !== 'pending')
      .map((k) => this.under(k.id, orgId, email));
  }
}
