import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { generateTotpSecret, qrSvg, totpCodeAt, totpStep, totpUri, verifyTotp } from './totp.ts';

// RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const STEP = 30_000;
const NOW = 1_760_000_015_000; // 15 s into a step
const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('generateTotpSecret', () => {
  it('returns at least 20 random bytes as base32', () => {
    const a = generateTotpSecret();
    expect(a).toMatch(/^[A-Z2-7]{32,}$/);
    expect(Math.floor((a.length * 5) / 8)).toBeGreaterThanOrEqual(20);
    expect(generateTotpSecret()).not.toBe(a);
  });
});

describe('totpCodeAt', () => {
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1234567890, '005924'],
    [2000000000, '279037'],
  ])('matches the RFC 6238 test vector at T=%i', (seconds, code) => {
    expect(totpCodeAt(RFC_SECRET, seconds * 1000)).toBe(code);
  });
});

describe('totpUri', () => {
  it('is an otpauth URI that authenticator apps read as SHA1, 6 digits, 30 s', () => {
    const uri = new URL(totpUri({ secret, account: 'ada@example.org', issuer: 'Tessera Events' }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Tessera Events:ada@example.org');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('issuer')).toBe('Tessera Events');
    // Absent means the Key URI format defaults, which are exactly these.
    expect(uri.searchParams.get('algorithm') ?? 'SHA1').toBe('SHA1');
    expect(uri.searchParams.get('digits') ?? '6').toBe('6');
    expect(uri.searchParams.get('period') ?? '30').toBe('30');
  });
});

describe('qrSvg', () => {
  it('renders an SVG QR code of the text', async () => {
    const text = totpUri({ secret, account: 'ada@example.org', issuer: 'Tessera' });
    const svg = await qrSvg(text);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toMatch(/<script/i);
    // The symbol size for this text, plus the 4-module quiet zone on each side.
    const size = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules.size + 8;
    expect(svg).toContain(`viewBox="0 0 ${size} ${size}"`);
    expect(await qrSvg(text)).toBe(svg);
    expect(await qrSvg(`${text}x`)).not.toBe(svg);
  });
});

describe('verifyTotp', () => {
  const step = totpStep(NOW);
  const codeFor = (offset: number) => totpCodeAt(secret, NOW + offset * STEP);

  it('accepts the current, previous and next step and returns the matched step', () => {
    for (const offset of [-1, 0, 1]) {
      expect(verifyTotp(secret, codeFor(offset), { lastUsedStep: null, now: NOW })).toEqual({ ok: true, step: step + offset });
    }
  });

  it('holds at the edges of a step', () => {
    const start = step * STEP;
    for (const now of [start, start + STEP - 1]) {
      const s = totpStep(now);
      expect(verifyTotp(secret, totpCodeAt(secret, now - STEP), { lastUsedStep: null, now })).toEqual({ ok: true, step: s - 1 });
      expect(verifyTotp(secret, totpCodeAt(secret, now + STEP), { lastUsedStep: null, now })).toEqual({ ok: true, step: s + 1 });
      expect(verifyTotp(secret, totpCodeAt(secret, now - 2 * STEP), { lastUsedStep: null, now })).toEqual({ ok: false, reason: 'invalid' });
      expect(verifyTotp(secret, totpCodeAt(secret, now + 2 * STEP), { lastUsedStep: null, now })).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses codes two steps away', () => {
    for (const offset of [-2, 2]) {
      expect(verifyTotp(secret, codeFor(offset), { lastUsedStep: null, now: NOW })).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses a code used before, and earlier codes, as replayed', () => {
    const first = verifyTotp(secret, codeFor(0), { lastUsedStep: null, now: NOW });
    expect(first).toEqual({ ok: true, step });
    expect(verifyTotp(secret, codeFor(0), { lastUsedStep: step, now: NOW + 5_000 })).toEqual({ ok: false, reason: 'replayed' });
    expect(verifyTotp(secret, codeFor(-1), { lastUsedStep: step, now: NOW })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('accepts a later code after a used one', () => {
    expect(verifyTotp(secret, codeFor(1), { lastUsedStep: step, now: NOW })).toEqual({ ok: true, step: step + 1 });
    expect(verifyTotp(secret, totpCodeAt(secret, NOW + STEP), { lastUsedStep: step, now: NOW + STEP })).toEqual({
      ok: true,
      step: step + 1,
    });
  });

  it('strips spaces and refuses anything but six digits', () => {
    const code = codeFor(0);
    expect(verifyTotp(secret, ` ${code.slice(0, 3)} ${code.slice(3)} `, { lastUsedStep: null, now: NOW })).toMatchObject({ ok: true });
    for (const bad of ['', '12345', '1234567', 'abcdef', `${code.slice(0, 5)}x`, `${code}0`, `-${code.slice(1)}`]) {
      expect(verifyTotp(secret, bad, { lastUsedStep: null, now: NOW })).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses a wrong code and a code for another secret', () => {
    // Fixed secret and time, so these cannot collide by chance with a code in the window.
    const wrong = String((Number(codeFor(0)) + 1) % 1_000_000).padStart(6, '0');
    expect(verifyTotp(secret, wrong, { lastUsedStep: null, now: NOW })).toEqual({ ok: false, reason: 'invalid' });
    const other = totpCodeAt(RFC_SECRET, NOW);
    expect(verifyTotp(secret, other, { lastUsedStep: null, now: NOW })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('uses the real clock when no time is given', () => {
    const s = generateTotpSecret();
    const result = verifyTotp(s, totpCodeAt(s, Date.now()), { lastUsedStep: null });
    expect(result).toMatchObject({ ok: true });
    if (result.ok) expect(Math.abs(result.step - totpStep(Date.now()))).toBeLessThanOrEqual(1);
  });
});
