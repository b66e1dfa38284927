import { argon2, randomBytes, timingSafeEqual, type Argon2Parameters } from 'node:crypto';

/**
 * Password storage: argon2id (OWASP ASVS 5.0 V11.4.2 / OWASP password storage cheat sheet minimum:
 * m=19 MiB, t=2, p=1) kept as a PHC string so every hash carries its own parameters and they can
 * be raised later without invalidating stored hashes (`needsRehash` tells the caller to upgrade
 * after a successful login).
 */
export const passwordParams = Object.freeze({
  memory: 19_456, // KiB
  passes: 2,
  parallelism: 1,
  saltLength: 16,
  tagLength: 32,
});

export type PasswordParams = typeof passwordParams;

// Node implements Argon2 version 1.3 only (0x13 = 19).
const ARGON2_VERSION = 19;

// Upper bounds on what a stored string may ask for. A tampered or corrupted row must not be able to
// make one login allocate gigabytes or spin for minutes.
const LIMITS = { memory: 1_048_576, passes: 64, parallelism: 16, minSalt: 8, maxSalt: 64, minTag: 16, maxTag: 64 };

interface ParsedPhc {
  memory: number;
  passes: number;
  parallelism: number;
  salt: Buffer;
  hash: Buffer;
}

/**
 * NIST SP 800-63B asks for Unicode normalisation (NFKC or NFKD) of passwords before hashing: ASVS
 * lets people use any Unicode character, and the same visible password can arrive as different
 * code points (é composed or decomposed, full-width digits from a CJK input method, a different
 * OS keyboard). Without normalising, a user could be locked out on their next device. NFKC also
 * folds compatibility characters, which only removes distinctions a person cannot see.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

function derive(password: string, salt: Buffer, p: Omit<ParsedPhc, 'salt' | 'hash'>, tagLength: number): Promise<Buffer> {
  const parameters: Argon2Parameters = {
    message: Buffer.from(normalizePassword(password), 'utf8'),
    nonce: salt,
    parallelism: p.parallelism,
    tagLength,
    memory: p.memory,
    passes: p.passes,
  };
  return new Promise((resolve, reject) => {
    argon2('argon2id', parameters, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

// PHC strings use standard base64 without padding.
const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

function decodeB64(s: string): Buffer | undefined {
  const buf = Buffer.from(s, 'base64');
  // Buffer's decoder is lenient; insist on the canonical form so one hash has exactly one spelling.
  return b64(buf) === s ? buf : undefined;
}

function formatPhc(p: Omit<ParsedPhc, 'salt' | 'hash'>, salt: Buffer, hash: Buffer): string {
  return `$argon2id$v=${ARGON2_VERSION}$m=${p.memory},t=${p.passes},p=${p.parallelism}$${b64(salt)}$${b64(hash)}`;
}

const PHC_RE = /^\$argon2id\$v=(\d{1,3})\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Parses an argon2id PHC string we are willing to verify; undefined for anything else. */
export function parsePhc(phc: string): ParsedPhc | undefined {
  const m = PHC_RE.exec(phc);
  if (!m) return undefined;
  const [, v, mem, t, par, saltB64, hashB64] = m;
  if (Number(v) !== ARGON2_VERSION) return undefined;
  const memory = Number(mem);
  const passes = Number(t);
  const parallelism = Number(par);
  if (parallelism < 1 || parallelism > LIMITS.parallelism) return undefined;
  if (passes < 1 || passes > LIMITS.passes) return undefined;
  if (memory < 8 * parallelism || memory > LIMITS.memory) return undefined;
  const salt = decodeB64(saltB64 ?? '');
  const hash = decodeB64(hashB64 ?? '');
  if (!salt || salt.length < LIMITS.minSalt || salt.length > LIMITS.maxSalt) return undefined;
  if (!hash || hash.length < LIMITS.minTag || hash.length > LIMITS.maxTag) return undefined;
  return { memory, passes, parallelism, salt, hash };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(passwordParams.saltLength);
  const hash = await derive(password, salt, passwordParams, passwordParams.tagLength);
  return formatPhc(passwordParams, salt, hash);
}

function isWeakerThanCurrent(p: ParsedPhc): boolean {
  return (
    p.memory < passwordParams.memory ||
    p.passes < passwordParams.passes ||
    p.salt.length < passwordParams.saltLength ||
    p.hash.length < passwordParams.tagLength ||
    // Parallelism is not "stronger" when higher, but a change of policy should reach every hash.
    p.parallelism !== passwordParams.parallelism
  );
}

/**
 * Checks a password against a stored PHC string. Never throws: a malformed or unsupported string
 * is simply not a match. `needsRehash` is only meaningful (and only true) when `ok` is.
 */
export async function verifyPassword(password: string, phc: string): Promise<{ ok: boolean; needsRehash: boolean }> {
  const parsed = parsePhc(phc);
  if (!parsed) return { ok: false, needsRehash: false };
  let candidate: Buffer;
  try {
    candidate = await derive(password, parsed.salt, parsed, parsed.hash.length);
  } catch {
    return { ok: false, needsRehash: false };
  }
  // Same length by construction (tagLength = stored length), so timingSafeEqual cannot throw.
  const ok = timingSafeEqual(candidate, parsed.hash);
  return { ok, needsRehash: ok && isWeakerThanCurrent(parsed) };
}

// Built from the current parameters so the dummy always costs exactly what a real hash costs, even
// after the parameters are raised. The all-zero tag matches no password (probability 2^-256).
const DUMMY_PHC = formatPhc(
  passwordParams,
  Buffer.from('tessera-dummy-salt').subarray(0, passwordParams.saltLength),
  Buffer.alloc(passwordParams.tagLength),
);

/**
 * Spends one verification's worth of work, for the "no such account" path of a login, so that its
 * response time does not reveal whether an email address is registered (ASVS V6.3.8 / V6.3.3).
 */
export async function burnPasswordTime(password: string): Promise<void> {
  await verifyPassword(password, DUMMY_PHC);
}

/** Exposed for tests: the dummy must stay parseable and use the current parameters. */
export const dummyPhcForTests = DUMMY_PHC;
