import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { Keyring } from '../keys/keyring.ts';
import { AttendeeTokens } from './tokens.ts';

function ring(): Keyring {
  const dir = tempDir('tessera-tokens-');
  return Keyring.create(path.join(dir, 'keyring.json'), randomBytes(32));
}

describe('attendee tokens', () => {
  it('verify only for the same purpose, id and version', () => {
    const t = new AttendeeTokens(ring());
    const id = randomUUID();
    const tok = t.make('manage', id, 1);
    expect(AttendeeTokens.idOf(tok)).toBe(id);
    expect(t.verify('manage', tok, id, 1)).toBe(true);
    expect(t.verify('ticket', tok, id, 1)).toBe(false);
    expect(t.verify('manage', tok, id, 2)).toBe(false);
    expect(t.verify('manage', tok, randomUUID(), 1)).toBe(false);
    expect(t.verify('manage', `${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}`, id, 1)).toBe(false);
    // Made again (remembered or not) it is the same token; another version or purpose is not.
    expect(t.make('manage', id, 1)).toBe(tok);
    expect(t.make('manage', id, 2)).not.toBe(tok);
    expect(t.make('ticket', id, 1)).not.toBe(tok);
    expect(new AttendeeTokens(ring()).make('manage', id, 1)).not.toBe(tok);
  });

  it('links made before a token-key rotation keep working; new ones use the new key', () => {
    const k = ring();
    const t = new AttendeeTokens(k);
    const id = randomUUID();
    const before = t.make('ticket', id, 1);
    const grant = t.grant('ev', 'passcode', Date.now() + 60_000);
    k.rotate('token');
    expect(t.verify('ticket', before, id, 1)).toBe(true);
    expect(t.checkGrant(grant, 'ev', Date.now())).toEqual({ source: 'passcode' });
    const after = t.make('ticket', id, 1);
    expect(after).not.toBe(before);
    expect(t.verify('ticket', after, id, 1)).toBe(true);
  });

  it('grants expire and are bound to their event', () => {
    const t = new AttendeeTokens(ring());
    const g = t.grant('event-a', 'link:abc', Date.now() + 1000);
    expect(t.checkGrant(g, 'event-a', Date.now())).toEqual({ source: 'link:abc' });
    expect(t.checkGrant(g, 'event-b', Date.now())).toBeUndefined();
    expect(t.checkGrant(g, 'event-a', Date.now() + 2000)).toBeUndefined();
    expect(t.checkGrant('garbage', 'event-a', Date.now())).toBeUndefined();
  });
});
