import { describe, expect, it } from 'vitest';
import { ipAllowed, parseCidrList } from './ip-allowlist.ts';

describe('IP allowlist', () => {
  it('parses addresses and ranges, normalising single addresses to /32 or /128', () => {
    expect(parseCidrList('203.0.113.0/24, 198.51.100.7\n2001:db8::/32')).toEqual({ ok: true, cidrs: ['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32'] });
    expect(parseCidrList('')).toEqual({ ok: true, cidrs: [] });
  });
  it('rejects garbage with a readable message', () => {
    const r = parseCidrList('10.0.0.0/8 nonsense');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('"nonsense" is not an IP address');
    expect(parseCidrList('10.0.0.0/33').ok).toBe(false);
  });
  it('matches IPv4, IPv6 and IPv4-mapped IPv6', () => {
    const list = ['10.0.0.0/8', '2001:db8::/32'];
    expect(ipAllowed('10.1.2.3', list)).toBe(true);
    expect(ipAllowed('::ffff:10.1.2.3', list)).toBe(true);
    expect(ipAllowed('11.0.0.1', list)).toBe(false);
    expect(ipAllowed('2001:db8::1', list)).toBe(true);
    expect(ipAllowed('2001:db9::1', list)).toBe(false);
    expect(ipAllowed(null, list)).toBe(false);
    expect(ipAllowed('anything', [])).toBe(true);
  });
});
