import { readAsset } from '../assets.ts';
import { normalizePassword } from './password.ts';

/**
 * What a new password must satisfy (OWASP ASVS 5.0 V6.2): a minimum length, a generous maximum,
 * no composition rules (V6.2.5), and not a commonly used or context-specific password (V6.2.4,
 * V6.2.11, V6.2.12). Passwords are measured after the same NFKC normalisation the hash uses.
 */
export const PASSWORD_MIN_LENGTH = 12;
// Far above the 64 that V6.2.9 requires; the cap only keeps a request from hashing megabytes.
export const PASSWORD_MAX_LENGTH = 256;

export const COMMON_PASSWORDS_ASSET = 'assets/common-passwords.txt';

let common: ReadonlySet<string> | undefined;

/** The shipped common-password list, read once on first use (most processes never need it). */
export function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    const text = readAsset(COMMON_PASSWORDS_ASSET).toString('utf8');
    const set = new Set<string>();
    for (const line of text.split('\n')) {
      const pw = line.trim();
      if (pw) set.add(pw);
    }
    common = set;
  }
  return common;
}

export type PasswordCheck = { ok: true } | { ok: false; message: string };

const fold = (s: string) => s.normalize('NFKC').trim().toLowerCase();

export function checkPassword(password: string, ctx?: { email?: string; name?: string }): PasswordCheck {
  const normalized = normalizePassword(password);
  // Code points, not UTF-16 units: an emoji or a CJK extension character is one character to a person.
  const length = [...normalized].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return {
      ok: false,
      message: `Use at least ${PASSWORD_MIN_LENGTH} characters (this password has ${length}). A few unrelated words make a long password easy to remember.`,
    };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, message: `Use at most ${PASSWORD_MAX_LENGTH} characters (this password has ${length}).` };
  }
  const folded = normalized.toLowerCase();
  if (commonPasswords().has(folded)) {
    return { ok: false, message: 'This password is one of the most commonly used passwords; choose another.' };
  }
  if (ctx?.email) {
    const email = fold(ctx.email);
    const local = email.slice(0, Math.max(email.lastIndexOf('@'), 0));
    if (folded === email || (local !== '' && folded === local)) {
      return { ok: false, message: 'Do not use your email address as your password; choose something else.' };
    }
  }
  if (ctx?.name) {
    const name = fold(ctx.name);
    if (name !== '' && (folded === name || folded.replace(/\s+/g, '') === name.replace(/\s+/g, ''))) {
      return { ok: false, message: 'Do not use your name as your password; choose something else.' };
    }
  }
  return { ok: true };
}
