import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { burnPasswordTime, dummyPhcForTests, hashPassword, parsePhc, passwordParams, verifyPassword } from './password.ts';

// Produced by the reference implementation (Debian's `argon2` CLI, phc-winner-argon2), e.g.
// printf %s 'correct horse battery staple' | argon2 tessera-vector-1 -id -t 2 -k 19456 -p 1 -l 32 -e
const REFERENCE = {
  current: '$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS12ZWN0b3ItMQ$vadngrnWzeU6UxGCTOat3cBn73M09XoWgR4M58shR5s',
  weaker: '$argon2id$v=19$m=8192,t=1,p=1$dGVzc2VyYS12ZWN0b3ItMQ$xy+6K2Zibsg51KiVF1NmdS6mOJObzLdLX8a9AwHKahI',
  password: 'correct horse battery staple',
  // The NFC spelling 'Ωmega café' (U+03A9, U+00E9).
  unicode: '$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS12ZWN0b3ItMg$FIHpiJa9Bf0yhPhLuPlfJX5vMdtzBTbLqNmy8myngRw',
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

describe('hashPassword', () => {
  it('produces a PHC string with the current parameters, a 16-byte salt and a 32-byte tag', async () => {
    const phc = await hashPassword('a long enough passphrase');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const parsed = parsePhc(phc);
    expect(parsed?.salt.length).toBe(16);
    expect(parsed?.hash.length).toBe(32);
    expect(passwordParams.memory).toBeGreaterThanOrEqual(19_456);
    expect(passwordParams.passes).toBeGreaterThanOrEqual(2);
  });

  it('uses a fresh salt every time', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
  });
});

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const phc = await hashPassword('tessera rocks 2025');
    expect(await verifyPassword('tessera rocks 2025', phc)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('tessera rocks 2026', phc)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword('Tessera rocks 2025', phc)).toEqual({ ok: false, needsRehash: false });
  });

  it('verifies hashes made by the reference argon2 implementation', async () => {
    expect(await verifyPassword(REFERENCE.password, REFERENCE.current)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword(`${REFERENCE.password}!`, REFERENCE.current)).toEqual({ ok: false, needsRehash: false });
  });

  it('asks for a rehash when the stored parameters are weaker, and only on success', async () => {
    expect(await verifyPassword(REFERENCE.password, REFERENCE.weaker)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('wrong', REFERENCE.weaker)).toEqual({ ok: false, needsRehash: false });
  });

  it('normalises with NFKC, so other spellings of the same visible password match', async () => {
    expect(await verifyPassword('Ωmega café', REFERENCE.unicode)).toMatchObject({ ok: true });
    // Decomposed é (e + U+0301) and the OHM SIGN U+2126 instead of Greek capital omega.
    expect(await verifyPassword('\u2126mega cafe\u0301', REFERENCE.unicode)).toMatchObject({ ok: true });
    expect(await verifyPassword('Ωmega cafe', REFERENCE.unicode)).toMatchObject({ ok: false });
  });

  it.each([
    ['empty', ''],
    ['not PHC', 'hunter2'],
    ['argon2i variant', REFERENCE.current.replace('$argon2id$', '$argon2i$')],
    ['bcrypt', '$2b$12$abcdefghijklmnopqrstuuWcvGgU9cC5mQm7yhVhJXLqgKbL5Z7Xe'],
    ['old Argon2 version', REFERENCE.current.replace('v=19', 'v=16')],
    ['missing hash', REFERENCE.current.slice(0, REFERENCE.current.lastIndexOf('$'))],
    ['padded base64', `${REFERENCE.current}=`],
    ['non-canonical base64 salt', REFERENCE.current.replace('ItMQ$', 'ItMR$')],
    ['extra parameter', REFERENCE.current.replace('p=1$', 'p=1,keyid=abc$')],
    ['absurd memory', REFERENCE.current.replace('m=19456', 'm=4294967295')],
    ['absurd passes', REFERENCE.current.replace('t=2', 't=100000')],
    ['zero parallelism', REFERENCE.current.replace('p=1', 'p=0')],
    ['salt too short', REFERENCE.current.replace('dGVzc2VyYS12ZWN0b3ItMQ', 'c2FsdA')],
    ['tag too short', REFERENCE.current.replace(/\$[^$]+$/, '$AAAAAAAAAAAAAAAAAAAA')],
  ])('refuses a malformed hash (%s) without throwing', async (_label, phc) => {
    // Rejected by the parser, not by running a huge or failing derivation (a wall-clock bound
    // would say the same less surely on a busy machine).
    expect(parsePhc(phc)).toBeUndefined();
    await expect(verifyPassword(REFERENCE.password, phc)).resolves.toEqual({ ok: false, needsRehash: false });
  });
});

describe('burnPasswordTime', () => {
  it('uses a dummy built from the current parameters', () => {
    const dummy = parsePhc(dummyPhcForTests);
    expect(dummy).toMatchObject({
      memory: passwordParams.memory,
      passes: passwordParams.passes,
      parallelism: passwordParams.parallelism,
    });
    expect(dummy?.salt.length).toBe(passwordParams.saltLength);
    expect(dummy?.hash.length).toBe(passwordParams.tagLength);
  });

  // Wall-clock timing on a shared machine: medians of interleaved runs, loose bounds, and a retry
  // so that one burst of background load cannot fail the suite.
  it('takes about as long as a real verification', { retry: 2 }, async () => {
    const phc = await hashPassword('the real password');
    await verifyPassword('warm up', phc);
    const timed = async (f: () => Promise<unknown>) => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    const real: number[] = [];
    const burnt: number[] = [];
    for (let i = 0; i < 9; i++) {
      // Alternate which goes first so that neither always runs on a warmer thread pool.
      const verify = () => verifyPassword('a wrong password', phc);
      const burn = () => burnPasswordTime('a wrong password');
      if (i % 2 === 0) {
        real.push(await timed(verify));
        burnt.push(await timed(burn));
      } else {
        burnt.push(await timed(burn));
        real.push(await timed(verify));
      }
    }
    const ratio = median(burnt) / median(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
