import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { plaintextTransports, smtpRequiresTls } from './transport.ts';

const SMS = {
  TESSERA_SMS_URL: 'https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages.json',
  TESSERA_SMS_ACCOUNT_SID: 'AC0123',
  TESSERA_SMS_AUTH_TOKEN: 'hunter2-auth-token',
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

describe('loadConfig', () => {
  it('takes a flag over the env var over the default, and treats an empty env var as unset', () => {
    expect(loadConfig({}, {}).port).toBe(8080);
    expect(loadConfig({}, { TESSERA_PORT: '9000' }).port).toBe(9000);
    expect(loadConfig({ port: '9100' }, { TESSERA_PORT: '9000' }).port).toBe(9100);
    expect(loadConfig({}, { TESSERA_PORT: '' }).port).toBe(8080);
    expect(() => loadConfig({}, { TESSERA_PORT: '70000' })).toThrow(/^invalid value for TESSERA_PORT: /);
    expect(() => loadConfig({ port: 'x' }, {})).toThrow(/^invalid value for --port: /);
  });

  it('resolves the data dir and keeps the default key file beside it, not inside', () => {
    const cfg = loadConfig({ dataDir: 'srv/data' }, {});
    expect(cfg.dataDir).toBe(path.resolve('srv/data'));
    expect(cfg.masterKeyFileDefault).toBe(path.resolve('srv/keys/master.key'));
  });

  it('takes a WAL checkpoint threshold between 10 and 1,000,000 frames, default 1000', () => {
    expect(loadConfig({}, {}).walCheckpointFrames).toBe(1000);
    expect(loadConfig({}, { TESSERA_WAL_CHECKPOINT_FRAMES: '4000' }).walCheckpointFrames).toBe(4000);
    for (const bad of ['5', '2000000', '1.5', 'many']) {
      expect(() => loadConfig({ walCheckpointFrames: bad }, {})).toThrow(/^invalid value for --wal-checkpoint-frames: /);
    }
  });

  it('wants both TLS files or neither', () => {
    expect(() => loadConfig({ tlsCert: 'cert.pem' }, {})).toThrow('invalid value for --tls-cert/--tls-key: give both or neither');
  });
});

describe('SMS settings', () => {
  it('leaves SMS off by default and loads a complete provider configuration', () => {
    const off = loadConfig({}, {});
    expect([off.smsUrl, off.smsAccountSid, off.smsAuthToken, off.smsFrom]).toEqual([undefined, undefined, undefined, undefined]);
    expect(loadConfig({}, SMS)).toMatchObject({ smsUrl: SMS.TESSERA_SMS_URL, smsAccountSid: 'AC0123', smsAuthToken: 'hunter2-auth-token', smsFrom: '+15005550006' });
    expect(loadConfig({}, { ...SMS, TESSERA_SMS_FROM: `MG${'a1'.repeat(16)}` }).smsFrom).toBe(`MG${'a1'.repeat(16)}`);
  });

  it('names every option a URL needs but did not get', () => {
    const alone = errorOf(() => loadConfig({}, { TESSERA_SMS_URL: SMS.TESSERA_SMS_URL }));
    expect(alone).toBeInstanceOf(ConfigError);
    expect(alone.message).toBe(
      'invalid value for --sms-url: also set --sms-account-sid (TESSERA_SMS_ACCOUNT_SID), --sms-auth-token (TESSERA_SMS_AUTH_TOKEN), --sms-from (TESSERA_SMS_FROM)',
    );
    const noToken = errorOf(() => loadConfig({}, { ...SMS, TESSERA_SMS_AUTH_TOKEN: '' }));
    expect(noToken.message).toBe('invalid value for --sms-url: also set --sms-auth-token (TESSERA_SMS_AUTH_TOKEN)');
    // Credentials without a URL do nothing and are not an error.
    expect(loadConfig({}, { ...SMS, TESSERA_SMS_URL: '' }).smsUrl).toBeUndefined();
  });

  it('refuses a URL that is not http(s) or carries credentials, without echoing it', () => {
    for (const bad of ['ftp://sms.example.org/hunter2', 'hunter2', 'https://AC0123:hunter2@api.twilio.com/Messages.json']) {
      const err = errorOf(() => loadConfig({}, { ...SMS, TESSERA_SMS_URL: bad }));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/^invalid value for TESSERA_SMS_URL: must/);
      expect(err.message).not.toContain('hunter2');
    }
  });

  it('checks the sender, account SID and token without echoing them', () => {
    expect(() => loadConfig({}, { ...SMS, TESSERA_SMS_FROM: '0041446681800' })).toThrow(/^invalid value for TESSERA_SMS_FROM: must be an E\.164 number/);
    expect(() => loadConfig({ smsFrom: 'MGshort' }, SMS)).toThrow(/^invalid value for --sms-from: /);
    expect(() => loadConfig({}, { ...SMS, TESSERA_SMS_ACCOUNT_SID: 'AC:0123' })).toThrow(/^invalid value for TESSERA_SMS_ACCOUNT_SID: /);
    const token = errorOf(() => loadConfig({}, { ...SMS, TESSERA_SMS_AUTH_TOKEN: 'hunter2 with spaces' }));
    expect(token.message).toMatch(/^invalid value for TESSERA_SMS_AUTH_TOKEN: must be 8-256 printable characters/);
    expect(token.message).not.toContain('hunter2');
  });
});

describe('outbound transport needs TLS (ASVS V12.3.1)', () => {
  const S3 = { TESSERA_BACKUP_S3_URL: 's3://tessera-backups/site', TESSERA_BACKUP_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE', TESSERA_BACKUP_S3_SECRET_ACCESS_KEY: 'hunter2-secret' };

  it('refuses http:// SMS and S3 endpoints on another host with a one-line error naming the flag', () => {
    const sms = errorOf(() => loadConfig({}, { ...SMS, TESSERA_SMS_URL: 'http://sms.example.org/Messages.json' }));
    expect(sms).toBeInstanceOf(ConfigError);
    expect(sms.message).toBe('invalid value for TESSERA_SMS_URL: must be https:// (http:// sends the auth token and sign-in codes in plaintext); for a provider without TLS add --allow-insecure-transport=sms');
    const s3 = errorOf(() => loadConfig({ backupS3Endpoint: 'http://minio.internal:9000' }, S3));
    expect(s3.message).toBe('invalid value for --backup-s3-endpoint: must be https:// (http:// sends the signed backup requests in plaintext); for a server without TLS add --allow-insecure-transport=s3');
  });

  it('accepts them with the flag, and lists every plaintext channel for the start-up warning and doctor', () => {
    const cfg = loadConfig({ backupS3Endpoint: 'http://minio.internal:9000' }, { ...SMS, ...S3, TESSERA_SMS_URL: 'http://sms.example.org/M.json', TESSERA_SMTP_URL: 'smtp://u:hunter2@mail.example.org:587', TESSERA_ALLOW_INSECURE_TRANSPORT: 'sms, s3,smtp' });
    expect(cfg.allowInsecureTransport).toEqual(['sms', 's3', 'smtp']);
    const plain = plaintextTransports(cfg);
    expect(plain).toEqual([
      { channel: 'smtp', target: 'mail.example.org:587', loopback: false },
      { channel: 'sms', target: 'sms.example.org', loopback: false },
      { channel: 's3', target: 'minio.internal:9000', loopback: false },
    ]);
    expect(JSON.stringify(plain)).not.toContain('hunter2');
    expect(smtpRequiresTls(cfg)).toBe(false);
  });

  it('requires STARTTLS for smtp:// to another host, not for smtps:// (TLS from the first byte)', () => {
    const starttls = loadConfig({}, { TESSERA_SMTP_URL: 'smtp://u:p@mail.example.org:587' });
    expect(smtpRequiresTls(starttls)).toBe(true);
    expect(plaintextTransports(starttls)).toEqual([]);
    expect(smtpRequiresTls(loadConfig({}, { TESSERA_SMTP_URL: 'smtps://u:p@mail.example.org:465' }))).toBe(false);
    expect(plaintextTransports(loadConfig({}, { TESSERA_SMTP_URL: 'smtps://u:p@mail.example.org:465' }))).toEqual([]);
  });

  it('lets loopback endpoints speak plaintext without the flag: the traffic never leaves the machine', () => {
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.0.0.53']) {
      const cfg = loadConfig({ backupS3Endpoint: `http://${host}:9000` }, { ...SMS, ...S3, TESSERA_SMS_URL: `http://${host}:8080/M.json`, TESSERA_SMTP_URL: `smtp://${host}:2525` });
      expect(smtpRequiresTls(cfg), host).toBe(false);
      expect(plaintextTransports(cfg).map((p) => [p.channel, p.loopback])).toEqual([['smtp', true], ['sms', true], ['s3', true]]);
    }
    // A name that only starts like loopback is another host.
    expect(() => loadConfig({}, { ...SMS, TESSERA_SMS_URL: 'http://127.0.0.1.example.org/M.json' })).toThrow(/must be https:\/\//);
    expect(() => loadConfig({}, { ...SMS, TESSERA_SMS_URL: 'http://localhost.example.org/M.json' })).toThrow(/must be https:\/\//);
  });

  it('refuses an unknown channel in --allow-insecure-transport', () => {
    expect(() => loadConfig({ allowInsecureTransport: 'smtp,ftp' }, {})).toThrow(/^invalid value for --allow-insecure-transport: must be a comma-separated list of smtp, sms, s3$/);
    expect(loadConfig({}, {}).allowInsecureTransport).toEqual([]);
  });
});
