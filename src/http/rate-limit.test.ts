import { describe, expect, it } from 'vitest';
import { Clock } from '../../test/support/identity.ts';
import { RateLimiter, networkOf, waitText } from './rate-limit.ts';

describe('RateLimiter', () => {
  it('allows max hits per window, refuses the next with the time left, and opens again after the window', () => {
    const clock = new Clock();
    const rl = new RateLimiter(clock.now);
    const limit = { max: 3, windowMs: 60_000 };
    for (let i = 0; i < 3; i++) expect(rl.take([{ key: 'k', limit }]).ok).toBe(true);
    clock.advance(20_000);
    const refused = rl.take([{ key: 'k', limit }]);
    expect(refused).toEqual({ ok: false, key: 'k', retryAfterMs: 40_000, first: true });
    expect(rl.take([{ key: 'k', limit }])).toMatchObject({ ok: false, first: false });
    clock.advance(40_000);
    expect(rl.take([{ key: 'k', limit }]).ok).toBe(true);
  });

  it('a refused request spends no other key, and keys are independent', () => {
    const clock = new Clock();
    const rl = new RateLimiter(clock.now);
    const one = { max: 1, windowMs: 60_000 };
    const two = { max: 2, windowMs: 60_000 };
    expect(rl.take([{ key: 'net', limit: two }, { key: 'a', limit: one }]).ok).toBe(true);
    expect(rl.take([{ key: 'net', limit: two }, { key: 'a', limit: one }]).ok).toBe(false);
    // 'net' was not charged for the refused request: one more fits.
    expect(rl.take([{ key: 'net', limit: two }, { key: 'b', limit: one }]).ok).toBe(true);
    expect(rl.take([{ key: 'net', limit: two }, { key: 'c', limit: one }])).toMatchObject({ ok: false, key: 'net' });
  });

  it('max 0 switches a limit off', () => {
    const rl = new RateLimiter(new Clock().now);
    for (let i = 0; i < 1000; i++) expect(rl.take([{ key: 'k', limit: { max: 0, windowMs: 1000 } }]).ok).toBe(true);
    expect(rl.size).toBe(0);
  });

  it('holds a bounded number of keys under a flood of distinct keys', () => {
    const rl = new RateLimiter(new Clock().now, 1000);
    for (let i = 0; i < 5000; i++) rl.take([{ key: `k${i}`, limit: { max: 1, windowMs: 60_000 } }]);
    expect(rl.size).toBeLessThanOrEqual(1000);
  });
});

describe('networkOf', () => {
  it('keys IPv4 by address and IPv6 by /64; mapped IPv4 is IPv4; junk is null', () => {
    expect(networkOf('192.0.2.7')).toBe('192.0.2.7');
    expect(networkOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(networkOf('2001:db8:1:2:aaaa::1')).toBe(networkOf('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(networkOf('2001:db8:1:2::1')).not.toBe(networkOf('2001:db8:1:3::1'));
    expect(networkOf('not an ip')).toBeNull();
    expect(networkOf(null)).toBeNull();
    expect(networkOf('256.1.1.1')).toBeNull();
    // The limiter's remembering version answers the same.
    const rl = new RateLimiter(new Clock().now);
    for (const ip of ['192.0.2.7', '2001:db8:1:2:aaaa::1', '2001:db8:1:2:aaaa::1', 'junk']) expect(rl.network(ip)).toBe(networkOf(ip));
  });

  it('says how long to wait in words', () => {
    expect(waitText(30_000)).toBe('a minute');
    expect(waitText(5 * 60_000)).toBe('5 minutes');
    expect(waitText(3_600_000)).toBe('an hour');
    expect(waitText(3 * 3_600_000)).toBe('3 hours');
  });
});
