import { describe, expect, it } from 'vitest';
import { isLoopback } from './client-info.ts';

describe('isLoopback', () => {
  it('knows the loopback forms Node hands over, without being fooled by look-alikes', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '128.0.0.1', '1.127.0.0', '::ffff:10.0.0.1', '::2', 'fe80::1', '127.0.0.1.evil', 'localhost', '', null]) expect(isLoopback(a), String(a)).toBe(false);
  });
});
