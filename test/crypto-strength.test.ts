import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../src/auth/token.ts';
import { type TestServer, startTestServer } from './support/server.ts';

describe('cryptographic strength', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('uses 256-bit data keys for every purpose', () => {
    for (const purpose of ['db', 'backup', 'audit', 'token'] as const) {
      expect(s.ctx.keyring.active(purpose).key.length, purpose).toBe(32);
    }
  });

  it('protects integrity with 256-bit MACs and hashes: the audit chain, token hashes and attendee links', () => {
    s.ctx.audit.record({ actor: { type: 'system' } }, 'test.strength', { type: 'test' });
    const row = s.ctx.db.prepare('SELECT mac, prev_mac FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { mac: Buffer; prev_mac: Buffer };
    expect(row.mac.length).toBe(32);
    expect(row.prev_mac.length).toBe(32);
    expect(hashToken('x').length).toBe(32);
    // An attendee link carries HMAC-SHA256 truncated to 192 bits (it is typed into scanners and
    // printed as QR codes): still well above the 128-bit floor for forging one.
    const token = s.ctx.links.link({ id: '00000000-0000-4000-8000-000000000000', token_version: 1 }, 'ticket');
    const mac = token.split('.').at(-1) ?? '';
    expect(Buffer.from(mac, 'base64url').length * 8).toBe(192);
  });
});
