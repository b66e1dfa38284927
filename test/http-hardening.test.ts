import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/** One raw request on its own connection: what the server answers to bytes fetch would not send. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end(bytes));
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(out) : reject(e)));
  });
}

describe('HTTP hardening', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('sends a CSP that blocks plugins and base-tag injection, and no CORS grant to any origin', async () => {
    const r = await fetch(`${s.url}/`, { headers: { Origin: 'https://evil.example' } });
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/unsafe-eval|unsafe-inline'?\s*;?\s*script/);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    const pre = await fetch(`${s.url}/login`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('labels every HTML and JSON body with its charset', async () => {
    for (const path of ['/', '/login', '/no/such/page']) {
      const r = await fetch(`${s.url}${path}`);
      expect(r.headers.get('content-type')).toMatch(/^text\/html; ?charset=utf-8$/i);
    }
    // JSON has no charset parameter: RFC 8259 makes UTF-8 the only encoding.
    const j = await fetch(`${s.url}/healthz`);
    expect(j.headers.get('content-type')).toMatch(/^application\/json\b/);
  });

  it('serves no source control metadata, no directory listing, no TRACE, and no path traversal', async () => {
    for (const path of ['/.git/config', '/.git/HEAD', '/.env', '/static/', '/static', '/static/..%2f..%2fpackage.json', '/static/%2e%2e/%2e%2e/package.json']) {
      const r = await fetch(`${s.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(await r.text(), path).not.toMatch(/"dependencies"|\[core\]|Index of/);
    }
    const trace = await rawRequest(s.port, 'TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Secret: echo-me\r\nConnection: close\r\n\r\n');
    // Refused like any unsafe method without a CSRF token, and never echoed back.
    expect(trace).toMatch(/^HTTP\/1\.1 (403|404|405)/);
    expect(trace).not.toContain('echo-me');
  });

  it('refuses a request that declares both Transfer-Encoding and Content-Length (request smuggling)', async () => {
    const smuggle = await rawRequest(
      s.port,
      'POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    expect(smuggle).toMatch(/^HTTP\/1\.1 400/);
    // The smuggled second request never reached a handler.
    expect(smuggle.match(/HTTP\/1\.1 /g)?.length ?? 0).toBe(1);
  });

  it('keeps post-login redirects on this site', async () => {
    const { user, password } = await createUser(s, { email: testEmail('hard-next') });
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
      const c = new Client(s.url, { 'sec-fetch-site': 'same-origin' });
      const login = await c.get(`/login?next=${encodeURIComponent(next)}`);
      expect(login.status).toBe(200);
      const r = await c.post(`/login?next=${encodeURIComponent(next)}`, { email: user.email, password });
      expect(r.status, next).toBe(303);
      expect(r.location ?? '', next).toMatch(/^\/(?![/\\])/);
    }
  });

  it('offers a visible sign-out on every signed-in page', async () => {
    const { user } = await createUser(s, { email: testEmail('hard-logout'), totp: true });
    const c = await signedInClient(s, user);
    for (const path of ['/orgs', '/account', '/account/sessions']) {
      const r = await c.get(path);
      expect(r.status, path).toBe(200);
      expect(r.text, path).toMatch(/<form method="post" action="\/logout"[^>]*>.*?Sign out/s);
    }
  });

  it('ignores prototype-polluting form fields', async () => {
    const c = new Client(s.url, { 'sec-fetch-site': 'same-origin' });
    const r = await c.post('/login', { email: 'x@example.org', password: 'whatever', '__proto__[polluted]': 'yes', 'constructor[prototype][polluted]': 'yes' });
    expect(r.status).toBeLessThan(500);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('has no test or debug routes in a server started as in production', async () => {
    // This server was started without the test harness's extendApp hook.
    for (const [method, path] of [['GET', '/__test'], ['POST', '/__test/mutate'], ['GET', '/debug'], ['GET', '/__debug'], ['GET', '/_profile']] as const) {
      const r = await fetch(`${s.url}${path}`, { method, headers: { 'sec-fetch-site': 'same-origin' } });
      expect([403, 404], `${method} ${path}`).toContain(r.status);
    }
    expect([...s.routes.declared.keys()].filter((k) => /__test|debug/i.test(k))).toEqual([]);
  });

  it('clears what the browser kept of signed-in pages at sign-out', async () => {
    const { user } = await createUser(s, { email: testEmail('hard-bye'), totp: true });
    const c = await signedInClient(s, user);
    expect((await c.get('/account')).headers.get('cache-control')).toBe('no-store');
    const bye = await c.post('/logout', {});
    expect(bye.status).toBe(303);
    expect(bye.headers.get('clear-site-data')).toBe('"cache", "storage"');
    expect(bye.headers.get('set-cookie') ?? '').toMatch(/__Host-tessera_session=;/);
    expect((await c.get('/account')).status).toBe(303);
  });
});
