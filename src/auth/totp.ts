import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';
import QRCode from 'qrcode';

/**
 * TOTP second factor (RFC 6238). The parameters are the ones every authenticator app understands
 * (Google Authenticator ignores anything else): HMAC-SHA1, 6 digits, 30-second steps.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
// Steps accepted either side of the server's current step, for phone clocks that drift a little.
export const TOTP_WINDOW_STEPS = 1;
const SECRET_BYTES = 20; // 160 bits, the HMAC-SHA1 block-size recommendation of RFC 4226.

const fixed = { algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS } as const;

/** A new base32 seed from the CSPRNG (ASVS V6.5.3). */
export function generateTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

/** The otpauth:// URI an authenticator app scans; the issuer also prefixes the label. */
export function totpUri(opts: { secret: string; account: string; issuer: string }): string {
  return generateURI({ issuer: opts.issuer, label: opts.account, secret: opts.secret, ...fixed });
}

/** An SVG QR code, rendered on the server so the enrolment page needs no JavaScript. */
export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
}

/** The time step a Unix time in milliseconds falls in. */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code an authenticator shows at `now` (Unix milliseconds, like Date.now()). */
export function totpCodeAt(secret: string, now: number): string {
  return generateSync({ secret, epoch: Math.floor(now / 1000), ...fixed });
}

export type TotpResult = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' };

/**
 * Checks a code typed by a person. `now` is Unix milliseconds from the server clock (default
 * Date.now()). A code is accepted once: the caller stores the returned `step` and passes it back
 * as `lastUsedStep`, and any code from that step or earlier is then refused as `replayed`
 * (ASVS V6.5.1). Throws only if `secret` is not valid base32, which is a bug in the caller.
 */
export function verifyTotp(secret: string, code: string, opts: { lastUsedStep: number | null; now?: number }): TotpResult {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: 'invalid' };
  const base = {
    secret,
    token,
    epoch: Math.floor((opts.now ?? Date.now()) / 1000),
    // A tolerance of one period in seconds covers exactly the previous and next steps.
    epochTolerance: TOTP_WINDOW_STEPS * TOTP_PERIOD_SECONDS,
    ...fixed,
  };
  const last = opts.lastUsedStep;
  // afterTimeStep makes otplib skip used steps, so a (1 in a million) code that happens to match
  // both a used step and a fresh one still counts as the fresh one.
  const fresh = verifySync(last === null ? base : { ...base, afterTimeStep: last });
  // The union also covers HOTP results, which have no time step; TOTP ones always do.
  if (fresh.valid && 'timeStep' in fresh) return { ok: true, step: fresh.timeStep };
  if (last !== null && verifySync(base).valid) return { ok: false, reason: 'replayed' };
  return { ok: false, reason: 'invalid' };
}
