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

/**
 * Context-specific words (ASVS V6.1.2, V6.2.11): the first things an attacker tries against this
 * instance. The caller passes "tessera", the instance name and the person's organization names;
 * the email's local part is added here. Each name counts whole and word by word (words of four
 * letters or more), case and spaces ignored.
 */
export const BASE_CONTEXT_WORDS = ['tessera'] as const;
const MIN_CONTEXT_WORD = 4;

const squash = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');

function contextTerms(words: readonly string[]): string[] {
  const terms = new Set<string>();
  for (const w of words) {
    for (const part of [w, ...w.split(/[\s._@+-]+/)]) {
      const t = squash(part);
      if ([...t].length >= MIN_CONTEXT_WORD) terms.add(t);
    }
  }
  // Longest first, so "acmeconference" goes before "acme".
  return [...terms].sort((a, b) => b.length - a.length);
}

/** The password with every context term removed: what an attacker who starts from those words still has to guess. */
function withoutContext(password: string, terms: readonly string[]): { rest: string; hit: string | undefined } {
  let rest = squash(password);
  let hit: string | undefined;
  for (const t of terms) {
    if (rest.includes(t)) {
      hit ??= t;
      rest = rest.split(t).join('');
    }
  }
  return { rest, hit };
}

/** `minLength`: the instance's minimum (settings page), never below PASSWORD_MIN_LENGTH. */
export function checkPassword(password: string, ctx?: { email?: string; name?: string; contextWords?: readonly string[]; minLength?: number }): PasswordCheck {
  const normalized = normalizePassword(password);
  const min = Math.max(PASSWORD_MIN_LENGTH, ctx?.minLength ?? PASSWORD_MIN_LENGTH);
  // Code points, not UTF-16 units: an emoji or a CJK extension character is one character to a person.
  const length = [...normalized].length;
  if (length < min) {
    return {
      ok: false,
      message: `Use at least ${min} characters (this password has ${length}). A few unrelated words make a long password easy to remember.`,
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
  const local = ctx?.email ? ctx.email.slice(0, Math.max(ctx.email.lastIndexOf('@'), 0)) : '';
  const terms = contextTerms([...(ctx?.contextWords ?? []), local]);
  const { rest, hit } = withoutContext(normalized, terms);
  if (hit !== undefined && [...rest].length < min) {
    return {
      ok: false,
      message: `Do not build your password around “${hit}” (the name of this service, your organization or your email address): it is among the first things an attacker tries. Add more unrelated words.`,
    };
  }
  return { ok: true };
}
