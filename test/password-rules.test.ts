import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const browser = { 'sec-fetch-site': 'same-origin' };

describe('password rules', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('changes a password only with the right current one, and refuses a missing or wrong one', async () => {
    const { user, password } = await createUser(s, { email: testEmail('pw-change'), totp: true });
    const c = await signedInClient(s, user);
    const next = 'a fresh passphrase for the test 42';
    const missing = await c.post('/account/password', { password: next });
    expect(missing.status).toBe(400);
    const wrong = await c.post('/account/password', { current: `${password}x`, password: next });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('Your current password is not correct.');
    // Nothing changed: the old password still signs in, the new one does not.
    expect((await new Client(s.url, browser).post('/login', { email: user.email, password: next })).status).not.toBe(303);
    const ok = await c.post('/account/password', { current: password, password: next });
    expect(ok.status).toBe(303);
    expect((await new Client(s.url, browser).post('/login', { email: user.email, password: next })).status).toBe(303);
  });

  it('compares the password exactly: a case-changed or truncated one is refused', async () => {
    const { user, password } = await createUser(s, { email: testEmail('pw-exact') });
    for (const attempt of [password.toUpperCase(), password.slice(0, -1), ` ${password}`]) {
      const r = await new Client(s.url, browser).post('/login', { email: user.email, password: attempt });
      expect(r.status, attempt).not.toBe(303);
    }
    expect((await new Client(s.url, browser).post('/login', { email: user.email, password })).status).toBe(303);
  });

  it('masks password fields, lets password managers fill them, and never blocks paste', async () => {
    const pages = [await new Client(s.url, browser).get('/login'), await (await signedInClient(s, (await createUser(s, { email: testEmail('pw-form'), totp: true })).user)).get('/account')];
    for (const page of pages) {
      const inputs = [...page.text.matchAll(/<input[^>]*name="(password|current)"[^>]*>/g)].map((m) => m[0]);
      expect(inputs.length).toBeGreaterThan(0);
      for (const input of inputs) {
        expect(input).toContain('type="password"');
        expect(input).toMatch(/autocomplete="(current|new)-password"/);
      }
      expect(page.text).not.toMatch(/onpaste|oncopy|autocomplete="off"[^>]*type="password"/i);
    }
  });
});
