import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';
import { waitFor } from './support/wait.ts';

/** The access-log line of one request, once the writer's stream has put it on disk. */
async function accessLogLine(dataDir: string, requestId: string | null): Promise<Record<string, unknown>> {
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  const dir = path.join(dataDir, 'access-log');
  return waitFor(
    () =>
      fs
        .readdirSync(dir)
        .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === requestId),
    { what: `the access-log line of request ${requestId}` },
  );
}

describe('HTTP skeleton', () => {
  let s: TestServer;
  let release: () => void = () => {};
  const slowGate = new Promise<void>((r) => (release = r));
  let slowArrived: () => void = () => {};
  const slowStarted = new Promise<void>((r) => (slowArrived = r));
  beforeAll(async () => {
    s = await startTestServer(
      { metricsToken: 'metrics-token-0123456789', bodyLimitKb: 4 },
      {
        extendApp: (app) => {
          app.get('/__test/throw', () => {
            throw new Error('internal detail SECRET_SAUCE at /srv/x.ts:12');
          });
          app.post('/__test/echo', async (c) => c.text(String((await c.req.text()).length)));
          app.get('/__test/slow', async (c) => {
            slowArrived();
            await slowGate;
            return c.text('finished');
          });
          app.get('/__test/e/:slug', (c) => c.text(`event ${c.req.param('slug')}`));
        },
      },
    );
  });
  afterAll(async () => {
    release();
    await s?.close();
  });

  it('serves the home page with security headers and no-store', async () => {
    const r = await fetch(`${s.url}/`);
    expect(r.status).toBe(200);
    const body = await r.text();
    expect(body.startsWith('<!doctype html>')).toBe(true);
    expect(body).toContain('setup link');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('same-origin');
    expect(r.headers.get('permissions-policy')).toContain('geolocation=()');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Plain HTTP: no HSTS (browsers ignore it there and it would pin a dev host).
    expect(r.headers.get('strict-transport-security')).toBeNull();
    // No inline scripts anywhere in the page.
    expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves static files under hashed names with long caching and ETags', async () => {
    const page = await (await fetch(`${s.url}/`)).text();
    const htmx = /\/static\/htmx\.[0-9a-f]{10}\.js/.exec(page)?.[0];
    const css = /\/static\/pico\.[0-9a-f]{10}\.css/.exec(page)?.[0];
    expect(htmx && css).toBeTruthy();
    const r = await fetch(`${s.url}${htmx}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('javascript');
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect((await r.text()).length).toBeGreaterThan(10_000);
    const again = await fetch(`${s.url}${htmx}`, { headers: { 'If-None-Match': r.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
    expect((await fetch(`${s.url}/static/htmx.0000000000.js`)).status).toBe(404);
  });

  it('answers unknown paths with a friendly 404 page', async () => {
    const r = await fetch(`${s.url}/no/such/page`);
    expect(r.status).toBe(404);
    const body = await r.text();
    expect(body).toContain('Page not found');
    expect(body).toContain(r.headers.get('x-request-id'));
  });

  it('never shows a stack trace: errors show the request id only', async () => {
    const r = await fetch(`${s.url}/__test/throw`);
    expect(r.status).toBe(500);
    const body = await r.text();
    expect(body).toContain('Something went wrong');
    expect(body).toContain(r.headers.get('x-request-id'));
    expect(body).not.toContain('SECRET_SAUCE');
    expect(body).not.toContain('.ts:');
    expect(fs.readFileSync(s.logFile, 'utf8')).toContain('SECRET_SAUCE');
  });

  it('limits request bodies', async () => {
    const client = new Client(s.url);
    await client.get('/login');
    const ok = await client.request('POST', '/__test/echo', { body: 'x'.repeat(1000), headers: { 'x-csrf-token': client.csrf } });
    expect(ok.text).toBe('1000');
    const big = await fetch(`${s.url}/__test/echo`, { method: 'POST', body: 'x'.repeat(5 * 1024) });
    expect(big.status).toBe(413);
    expect(await big.text()).toContain('Request too large');
  });

  it('health and readiness', async () => {
    expect(await (await fetch(`${s.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  it('without a token, /metrics is served to loopback only', async () => {
    const bare = await startTestServer();
    try {
      const r = await fetch(`${bare.url}/metrics`);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('tessera_db_size_bytes');
    } finally {
      await bare.close();
    }
  });

  it('metrics need the bearer token and count by route pattern', async () => {
    await fetch(`${s.url}/__test/e/secret-event-slug`);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const r = await fetch(`${s.url}/metrics`, { headers: { Authorization: 'Bearer metrics-token-0123456789' } });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toMatch(/tessera_http_requests_total\{method="GET",route="\/__test\/e\/:slug",status="200"\} 1/);
    expect(text).toContain('tessera_http_request_duration_seconds_bucket');
    expect(text).toContain('tessera_nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/tessera_db_size_bytes \d+/);
    expect(text).not.toContain('secret-event-slug');
  });

  it('writes one JSON access-log line per request, apart from the database, without query strings', async () => {
    const res = await fetch(`${s.url}/__test/e/my-event?token=super-secret-token`);
    s.ctx.accessLog.flush();
    await accessLogLine(s.dataDir, res.headers.get('x-request-id'));
    const dir = path.join(s.dataDir, 'access-log');
    const files = fs.readdirSync(dir);
    expect(files.every((f) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))).toBe(true);
    const lines = files.flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const hit = lines.find((l) => l.route === '/__test/e/:slug' && l.status === 200);
    expect(hit).toMatchObject({ method: 'GET', ip: '127.0.0.1', userId: null });
    expect(typeof hit?.durationMs).toBe('number');
    expect(hit?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(lines)).not.toContain('super-secret-token');
  });

  it('prunes access-log days past retention', async () => {
    const dir = path.join(s.dataDir, 'access-log');
    fs.writeFileSync(path.join(dir, '2001-01-01.jsonl'), '{}\n');
    const recent = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
    fs.writeFileSync(path.join(dir, `${recent}.jsonl`), '{}\n');
    const removed = s.ctx.accessLog.prune(90);
    expect(removed).toEqual(['2001-01-01.jsonl']);
    expect(fs.existsSync(path.join(dir, `${recent}.jsonl`))).toBe(true);
  });

  it('ignores X-Forwarded-For unless --trust-proxy is set', async () => {
    const res = await fetch(`${s.url}/__test/e/xff-check`, { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' } });
    s.ctx.accessLog.flush();
    expect(await accessLogLine(s.dataDir, res.headers.get('x-request-id'))).toMatchObject({ ip: '127.0.0.1' });
    const log = fs.readdirSync(path.join(s.dataDir, 'access-log')).map((f) => fs.readFileSync(path.join(s.dataDir, 'access-log', f), 'utf8')).join('');
    expect(log).not.toContain('203.0.113.9');
  });

  it('graceful shutdown finishes in-flight requests, then closes the database', async () => {
    const inflight = fetch(`${s.url}/__test/slow`).then((r) => r.text());
    await slowStarted;
    const closing = s.close();
    // Closing has begun once new connections are refused; the in-flight request still holds the database.
    await waitFor(() => fetch(`${s.url}/healthz`).then(() => false, () => true), { what: 'the server to stop accepting' });
    expect(s.ctx.db.open).toBe(true);
    release();
    expect(await inflight).toBe('finished');
    await closing;
    expect(s.ctx.db.open).toBe(false);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});

describe('behind a proxy', () => {
  let p: TestServer;
  beforeAll(async () => {
    p = await startTestServer({ trustProxy: 'true' });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('takes the scheme the proxy appended (right-most X-Forwarded-Proto), not one the client sent', async () => {
    const hsts = async (proto: string) => (await fetch(`${p.url}/healthz`, { headers: { 'X-Forwarded-Proto': proto } })).headers.get('strict-transport-security');
    // The client claimed https, our proxy appended http: the request was plaintext.
    expect(await hsts('https, http')).toBeNull();
    expect(await hsts('http, https')).toContain('max-age=');
    expect(await hsts('https')).toContain('max-age=');
  });

  it('serves /metrics and the /readyz details only to loopback clients: a proxied stranger gets neither', async () => {
    const stranger = { 'X-Forwarded-For': '203.0.113.7' };
    const m = await fetch(`${p.url}/metrics`, { headers: stranger });
    expect(m.status).toBe(403);
    expect(await m.text()).not.toContain('tessera_');
    const r = await fetch(`${p.url}/readyz`, { headers: stranger });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready' });
    // The proxy's own connection comes from loopback, but that does not make the client local;
    // a forged left-most entry does not either.
    expect((await fetch(`${p.url}/metrics`, { headers: { 'X-Forwarded-For': '127.0.0.1, 203.0.113.7' } })).status).toBe(403);
    // A proxy that forwarded without X-Forwarded-For (only X-Real-IP or Forwarded) hides the client: not local.
    expect((await fetch(`${p.url}/metrics`, { headers: { 'X-Real-IP': '203.0.113.7' } })).status).toBe(403);
    expect((await fetch(`${p.url}/metrics`, { headers: { Forwarded: 'for=203.0.113.7' } })).status).toBe(403);
    // A client on the proxy host itself (the proxy appended 127.0.0.1) is local.
    const local = await fetch(`${p.url}/metrics`, { headers: { 'X-Forwarded-For': '127.0.0.1' } });
    expect(local.status).toBe(200);
    expect(await local.text()).toContain('tessera_db_size_bytes');
    expect(await (await fetch(`${p.url}/readyz`, { headers: { 'X-Forwarded-For': '::1' } })).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  it('takes the client address and scheme from the proxy headers and sends HSTS for https', async () => {
    const s = await startTestServer({ trustProxy: 'true' });
    try {
      const r = await fetch(`${s.url}/healthz`, { headers: { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7', 'X-Forwarded-Proto': 'https' } });
      expect(r.headers.get('strict-transport-security')).toContain('max-age=');
      s.ctx.accessLog.flush();
      expect(await accessLogLine(s.dataDir, r.headers.get('x-request-id'))).toMatchObject({ ip: '203.0.113.7' });
    } finally {
      await s.close();
    }
  });
});

describe('built-in TLS', () => {
  let s: TestServer;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    s = await startTestServer({ tlsCert: path.join(dir, 'cert.pem'), tlsKey: path.join(dir, 'key.pem'), redirectPort: 0 });
  });
  afterAll(async () => {
    await s?.close();
  });

  const get = (url: string, opts: https.RequestOptions = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      https.get(url, { ca: fs.readFileSync(path.join(dir, 'cert.pem')), ...opts }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      }).on('error', reject);
    });

  it('serves HTTPS with HSTS', async () => {
    expect(s.url.startsWith('https://')).toBe(true);
    const r = await get(`${s.url}/healthz`);
    expect(r.status).toBe(200);
    expect(String(r.headers['strict-transport-security'])).toContain('max-age=63072000');
    expect(String(r.headers['strict-transport-security'])).toContain('includeSubDomains');
  });

  it('refuses TLS 1.1 and accepts TLS 1.2', async () => {
    const attempt = (version: tls.SecureVersion) =>
      new Promise<string>((resolve) => {
        const sock = tls.connect({ host: '127.0.0.1', port: s.port, minVersion: version, maxVersion: version, rejectUnauthorized: false }, () => {
          resolve(sock.getProtocol() ?? 'none');
          sock.end();
        });
        sock.on('error', () => resolve('refused'));
      });
    expect(await attempt('TLSv1.1')).toBe('refused');
    expect(await attempt('TLSv1.2')).toBe('TLSv1.2');
  });

  it('negotiates only forward-secret AEAD cipher suites, and refuses a static-RSA CBC one', async () => {
    const cipher = (opts: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const sock = tls.connect({ host: '127.0.0.1', port: s.port, rejectUnauthorized: false, ...opts }, () => {
          resolve(sock.getCipher().name);
          sock.end();
        });
        sock.on('error', () => resolve('refused'));
      });
    expect(await cipher({ maxVersion: 'TLSv1.2' })).toMatch(/^ECDHE-(RSA|ECDSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
    expect(await cipher({})).toMatch(/^TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)$/);
    expect(await cipher({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' })).toBe('refused');
  });

  it('plain HTTP listener only redirects to HTTPS', async () => {
    const r = await fetch(`http://127.0.0.1:${s.redirectPort}/e/x?y=1`, { redirect: 'manual' });
    expect(r.status).toBe(308);
    expect(r.headers.get('location')).toBe(`https://127.0.0.1:${s.port}/e/x?y=1`);
  });

  it('plain HTTP listener refuses API and metrics paths instead of redirecting them', async () => {
    // A machine client would follow the redirect silently after already sending its token in
    // plaintext; a refusal makes the misconfiguration visible (ASVS V4.1.2).
    for (const p of ['/api/v1/events', '/api', '/metrics', '/API/x']) {
      const r = await fetch(`http://127.0.0.1:${s.redirectPort}${p}`, { redirect: 'manual', headers: { Authorization: 'Bearer x' } });
      expect(r.status, p).toBe(403);
      expect(r.headers.get('location'), p).toBeNull();
      expect(await r.text()).toContain('HTTPS');
    }
  });
});
