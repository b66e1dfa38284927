import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Rules about the code itself that a reviewer would otherwise check by eye: where randomness,
 * ciphers, hashes and TLS settings may appear. Each names the places allowed and why, so a new
 * use fails here and gets a reason written down or is fixed.
 */
const root = path.resolve(import.meta.dirname, '..');

function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(rel, exts));
    else if (exts.some((e) => entry.name.endsWith(e)) && !/\.test\.tsx?$/.test(entry.name)) out.push(rel);
  }
  return out;
}

const sources = [...files('src', ['.ts', '.tsx']), ...files('views', ['.tsx']), ...files('static', ['.js'])];

/** Every line matching `pattern`, as "file:line: text", minus the allowed files. */
function uses(pattern: RegExp, allowed: Record<string, string> = {}): string[] {
  const hits: string[] = [];
  for (const f of sources) {
    if (f in allowed) continue;
    fs.readFileSync(path.join(root, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line) && !/^\s*(\/\/|\*)/.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe('source rules', () => {
  it('reads the whole tree (the scan is not vacuous)', () => {
    expect(sources.length).toBeGreaterThan(100);
    expect(sources).toContain(path.join('src', 'db', 'writer.ts'));
  });

  it('draws every secret, id and code from the CSPRNG: Math.random only for retry jitter', () => {
    expect(uses(/Math\.random\s*\(/, { [path.join('src', 'backup', 'shipper.ts')]: 'jitter of the retry delay, not a secret' })).toEqual([]);
  });

  it('never evaluates strings as code', () => {
    expect(uses(/\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['"`]/)).toEqual([]);
  });

  it('encrypts only with AES-256-GCM (authenticated), never another mode', () => {
    const ciphers = uses(/create(De)?[cC]ipheriv\s*\(/);
    expect(ciphers.length).toBeGreaterThan(0);
    for (const line of ciphers) expect(line).toMatch(/create(De)?[cC]ipheriv\s*\(\s*'aes-256-gcm'/);
  });

  it('uses MD5 and SHA-1 only where a protocol requires them (S3 Content-MD5, RFC 6238 TOTP)', () => {
    expect(
      uses(/['"](md5|sha1|sha-1)['"]/i, {
        [path.join('src', 'backup', 'targets', 's3.ts')]: 'Content-MD5 header that S3 requires for DeleteObjects',
        [path.join('src', 'auth', 'totp.ts')]: 'RFC 6238 TOTP, which authenticator apps implement with HMAC-SHA1',
      }),
    ).toEqual([]);
  });

  it('never turns off TLS certificate checks', () => {
    expect(uses(/rejectUnauthorized\s*:\s*false|NODE_TLS_REJECT_UNAUTHORIZED/)).toEqual([]);
  });

  it('opens outbound connections only to the operator-configured SMTP, SMS, S3 and syslog endpoints', () => {
    expect(
      uses(/\bfetch\(|\bhttps?\.(request|get)\(|\b(net|tls)\.connect\(|createConnection\(|createTransport\(/, {
        [path.join('src', 'sms', 'sender.ts')]: 'the configured SMS provider URL',
        [path.join('src', 'mail', 'smtp-transport.ts')]: 'the configured SMTP server',
        [path.join('src', 'backup', 'targets', 's3.ts')]: 'the configured S3 endpoint',
        [path.join('src', 'logship', 'syslog.ts')]: 'the configured syslog collector (TLS only)',
        [path.join('static', 'checkin.js')]: 'browser code: same-origin requests only (CSP connect-src self)',
        [path.join('static', 'app.js')]: 'browser code: same-origin requests only (CSP connect-src self)',
      }),
    ).toEqual([]);
  });

  it('keeps nothing in browser storage: no localStorage, sessionStorage, IndexedDB or script-set cookies', () => {
    expect(uses(/localStorage|sessionStorage|indexedDB|document\.cookie/)).toEqual([]);
  });

  it('type-checks strictly as part of npm test', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, noUncheckedIndexedAccess: true, noImplicitOverride: true });
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^npm run lint && /);
    expect(pkg.scripts.lint).toContain('tsc --noEmit');
  });

  it('deserializes untrusted data only as JSON: no vm, v8.deserialize, YAML or pickle-like formats', () => {
    expect(uses(/from 'node:(vm|v8)'|\bv8\.deserialize\(|\bvm\.run|from '(js-yaml|yaml|node-serialize|serialize-javascript)'/)).toEqual([]);
  });

  it('takes cryptography only from validated implementations: node:crypto (OpenSSL), SQLCipher, and aws4fetch for SigV4', () => {
    expect(uses(/from '(crypto-js|tweetnacl|node-forge|bcryptjs|js-sha\d*|sjcl|elliptic|aes-js|hash\.js)'/)).toEqual([]);
    expect(uses(/from 'crypto'/)).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const cryptoLike = Object.keys(pkg.dependencies).filter((d) => /crypt|cipher|sha|aes|nacl|forge|argon|bcrypt/i.test(d));
    expect(cryptoLike.sort()).toEqual(['@oslojs/crypto', 'better-sqlite3-multiple-ciphers'].sort());
  });

  it('never gives the logger a format string: values go into fields, messages carry no %-specifiers', () => {
    // pino interpolates %s/%d/%j/%o only in the message of a call that passes more arguments.
    expect(uses(/\b(log|logger)\b[\w.?()]*\.(trace|debug|info|warn|error|fatal)\([^;]*['"`][^'"`]*%[sdifjoO]/)).toEqual([]);
    expect(uses(/\b(log|logger)\b[\w.?()]*\.(trace|debug|info|warn|error|fatal)\(\s*['"`][^'"`]*['"`]\s*,/)).toEqual([]);
  });
});
