import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

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
