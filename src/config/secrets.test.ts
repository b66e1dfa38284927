import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { ConfigError, loadConfig } from './config.ts';

const SMS = {
  TESSERA_SMS_URL: 'https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json',
  TESSERA_SMS_ACCOUNT_SID: 'AC0123',
  TESSERA_SMS_FROM: '+15005550006',
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

function secretFile(name: string, text: string, dir = tempDir()): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
}

describe('secrets from a file, a systemd credential or a command (ASVS V13.3.1)', () => {
  it('reads the SMS token from a file, trimming the final newline', () => {
    const f = secretFile('sms-token', 'token-from-a-file\n');
    expect(loadConfig({ smsAuthTokenFile: f }, SMS).smsAuthToken).toBe('token-from-a-file');
    expect(loadConfig({}, { ...SMS, TESSERA_SMS_AUTH_TOKEN_FILE: f }).smsAuthToken).toBe('token-from-a-file');
  });

  it('reads secrets from $CREDENTIALS_DIRECTORY/tessera-<flag> (systemd LoadCredential=)', () => {
    const creds = tempDir();
    secretFile('tessera-sms-auth-token', 'token-from-systemd\n', creds);
    secretFile('tessera-backup-s3-secret-access-key', 's3-secret-from-systemd', creds);
    secretFile('tessera-metrics-token', 'metrics-token-from-systemd', creds);
    const cfg = loadConfig({}, { ...SMS, CREDENTIALS_DIRECTORY: creds });
    expect(cfg.smsAuthToken).toBe('token-from-systemd');
    expect(cfg.backupS3SecretAccessKey).toBe('s3-secret-from-systemd');
    expect(cfg.metricsToken).toBe('metrics-token-from-systemd');
    // A value given directly wins over the credential, as --master-key-file does.
    expect(loadConfig({ smsAuthToken: 'token-given-directly' }, { ...SMS, CREDENTIALS_DIRECTORY: creds }).smsAuthToken).toBe('token-given-directly');
    // No credential file for a secret: nothing is set.
    expect(loadConfig({}, { CREDENTIALS_DIRECTORY: tempDir() }).metricsToken).toBeUndefined();
  });

  it('runs a command without a shell and takes its output', () => {
    expect(loadConfig({ backupS3SecretAccessKeyCommand: 'echo secret-from-a-command' }, {}).backupS3SecretAccessKey).toBe('secret-from-a-command');
    // A shell would expand this; without one it is printed as given.
    expect(loadConfig({ metricsTokenCommand: 'echo $HOME-is-not-expanded' }, {}).metricsToken).toBe('$HOME-is-not-expanded');
  });

  it('puts the SMTP password into the URL, which then names only the user', () => {
    const creds = tempDir();
    secretFile('tessera-smtp-password', 'p@ss word/with:odd#chars\n', creds);
    const cfg = loadConfig({}, { TESSERA_SMTP_URL: 'smtps://mailer@mail.example.org:465', CREDENTIALS_DIRECTORY: creds });
    const u = new URL(cfg.smtpUrl ?? '');
    expect([u.hostname, decodeURIComponent(u.username), decodeURIComponent(u.password)]).toEqual(['mail.example.org', 'mailer', 'p@ss word/with:odd#chars']);
    expect(errorOf(() => loadConfig({ smtpPassword: 'pw' }, { TESSERA_SMTP_URL: 'smtps://mailer:other@mail.example.org:465' })).message).toBe(
      'invalid value for --smtp-password: the SMTP URL already holds a password; give it in one place',
    );
    expect(errorOf(() => loadConfig({ smtpPassword: 'pw' }, { TESSERA_SMTP_URL: 'smtps://mail.example.org:465' })).message).toBe(
      'invalid value for --smtp-password: the SMTP URL needs a user name (smtps://user@host)',
    );
  });

  it('refuses two sources for one secret, and says which', () => {
    const f = secretFile('t', 'token-from-a-file');
    const err = errorOf(() => loadConfig({ smsAuthTokenFile: f }, { ...SMS, TESSERA_SMS_AUTH_TOKEN: 'token-from-env' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('invalid value for --sms-auth-token-file: give only one of --sms-auth-token, --sms-auth-token-file, --sms-auth-token-command');
  });

  it('fails with one line that never echoes the secret', () => {
    const missing = errorOf(() => loadConfig({ smsAuthTokenFile: '/nonexistent/token' }, SMS));
    expect(missing.message).toBe('invalid value for --sms-auth-token-file: cannot read /nonexistent/token (ENOENT)');
    const bad = errorOf(() => loadConfig({}, { ...SMS, TESSERA_SMS_AUTH_TOKEN_FILE: secretFile('t', 'hunter2 has spaces') }));
    expect(bad.message).toMatch(/^invalid value for TESSERA_SMS_AUTH_TOKEN_FILE: must be 8-256 printable characters/);
    expect(bad.message).not.toContain('hunter2');
    const failing = errorOf(() => loadConfig({ smsAuthTokenCommand: 'false hunter2' }, SMS));
    expect(failing.message).toBe('invalid value for --sms-auth-token-command: the command failed (exit 1)');
    const empty = errorOf(() => loadConfig({ metricsTokenCommand: 'true' }, {}));
    expect(empty.message).toBe('invalid value for --metrics-token-command: the command printed nothing');
  });
});
