import { describe, expect, it } from 'vitest';
import { checkPassword, commonPasswords, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-policy.ts';

const COMMON_MESSAGE = 'This password is one of the most commonly used passwords; choose another.';

describe('the shipped common-password list', () => {
  it('has at least the 10,000 most common passwords, lowercase, and is loaded once', () => {
    const list = commonPasswords();
    expect(list.size).toBeGreaterThanOrEqual(10_000);
    for (const top of ['123456', 'password', 'qwerty', 'letmein', 'iloveyou']) expect(list.has(top)).toBe(true);
    expect([...list].every((p) => p === p.toLowerCase() && p.trim() === p && p !== '')).toBe(true);
    expect(commonPasswords()).toBe(list);
  });

  it('has at least 3,000 entries long enough to pass the length rule (ASVS V6.2.4)', () => {
    const long = [...commonPasswords()].filter((p) => [...p].length >= PASSWORD_MIN_LENGTH);
    expect(long.length).toBeGreaterThanOrEqual(3_000);
  });
});

describe('checkPassword', () => {
  it('accepts a long random passphrase', () => {
    expect(checkPassword('violet kettle harbour seventy')).toEqual({ ok: true });
    expect(checkPassword('x7#Lq!vR2m@Pz9Wd', { email: 'ada@example.org', name: 'Ada Lovelace' })).toEqual({ ok: true });
  });

  it.each(['qwerty123456', '1qaz2wsx3edc', 'passwordpassword', 'iloveyou1234', 'QWERTY123456', 'PasswordPassword'])(
    'refuses the common password %s, whatever its case',
    (pw) => {
      expect(checkPassword(pw)).toEqual({ ok: false, message: COMMON_MESSAGE });
    },
  );

  it('refuses short common passwords for their length first', () => {
    const result = checkPassword('password');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/at least 12 characters \(this password has 8\)/);
  });

  it('counts Unicode code points, not UTF-16 units', () => {
    const twelve = 'Zq7 kettle 4';
    expect(twelve).toHaveLength(12);
    expect(checkPassword(twelve.slice(0, 11))).toMatchObject({ ok: false });
    expect(checkPassword(twelve)).toEqual({ ok: true });
    // 11 emoji are 22 UTF-16 units but 11 characters: too short.
    const emoji11 = '🔑'.repeat(11);
    expect(emoji11.length).toBe(22);
    expect(checkPassword(emoji11)).toMatchObject({ ok: false });
    // 11 letters + 1 emoji = 12 characters (13 UTF-16 units): long enough.
    expect(checkPassword(`abcdefghijk🔑`)).toEqual({ ok: true });
    // 256 emoji (512 units) fit under the maximum.
    expect(checkPassword('🔑'.repeat(PASSWORD_MAX_LENGTH))).toEqual({ ok: true });
  });

  it('refuses more than 256 characters', () => {
    expect(checkPassword('b'.repeat(PASSWORD_MAX_LENGTH))).toEqual({ ok: true });
    const result = checkPassword('b'.repeat(PASSWORD_MAX_LENGTH + 1));
    expect(result).toEqual({ ok: false, message: 'Use at most 256 characters (this password has 257).' });
  });

  it('imposes no composition rules', () => {
    expect(checkPassword('onlylowercaseletters').ok).toBe(true);
    expect(checkPassword('   spaces   count   ').ok).toBe(true);
    expect(checkPassword('мойдлинныйпароль').ok).toBe(true);
  });

  it('refuses the email address or its local part, in any case', () => {
    const email = 'Margaret.Hamilton@example.org';
    for (const pw of ['margaret.hamilton@example.org', 'MARGARET.HAMILTON', 'Margaret.Hamilton']) {
      const result = checkPassword(pw, { email });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toMatch(/email address/);
    }
    // The local part is a context word: it does not count towards the length (issue 23).
    expect(checkPassword('margaret.hamilton.apollo', { email }).ok).toBe(false);
    expect(checkPassword('margaret.hamilton wrote the apollo guidance code', { email }).ok).toBe(true);
  });

  it('refuses the person’s name', () => {
    const result = checkPassword('Margaret Hamilton', { name: 'margaret hamilton' });
    expect(result).toEqual({ ok: false, message: 'Do not use your name as your password; choose something else.' });
    expect(checkPassword('margarethamilton', { name: 'Margaret Hamilton' }).ok).toBe(false);
  });

  it('writes messages as sentences for a person', () => {
    for (const pw of ['short', 'x'.repeat(300), 'qwerty123456']) {
      const result = checkPassword(pw);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toMatch(/^[A-Z].*[.;]?\.$/);
    }
  });
});

describe('context words (ASVS V6.2.11)', () => {
  const ctx = { email: 'marguerite.example@example.org', name: 'M P', contextWords: ['tessera', 'Acme Conference Club', 'Winterfest'] };

  it('refuses passwords built around a context word: the context word does not count towards the length', () => {
    for (const pw of ['Tessera2026!!', 'tessera tessera tessera', 'acmeconferenceclub1', 'WINTERFEST 2026!', 'marguerite.example99', 'Acme Conference 2026']) {
      const r = checkPassword(pw, ctx);
      expect(r.ok, pw).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/^Do not build your password around /);
    }
  });

  it('accepts long passphrases that merely mention one', () => {
    for (const pw of ['my tessera has purple goats in it', 'winterfest under seven violet lanterns']) expect(checkPassword(pw, ctx), pw).toEqual({ ok: true });
  });

  it('ignores words shorter than four letters and empty names', () => {
    expect(checkPassword('abc abc abc abc', { contextWords: ['abc', '', '  '] })).toEqual({ ok: true });
  });
});
