import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultKind, WritesRefusedError } from '../src/db/faults.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const refuse = (kind: FaultKind) => {
  throw new WritesRefusedError({ kind, since: Date.now(), message: `${kind} at /srv/data/tessera.db-wal` });
};

describe('a write refused because of a fault', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(
      {},
      {
        extendApp: (app) => {
          app.post('/__test/save/disk-full', () => refuse('disk-full'));
          app.post('/__test/save/wal-sync-failed', () => refuse('wal-sync-failed'));
          app.post('/api/v1/__test/save', () => refuse('disk-full'));
        },
      },
    );
  });
  afterAll(async () => {
    await s?.close();
  });

  const post = (kind: FaultKind, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/__test/save/${kind}`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: 'name=x' });

  it('disk full: 503, Retry-After, and a page that says nothing was saved and to try again shortly', async () => {
    const r = await post('disk-full');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('30');
    expect(r.headers.get('content-type')).toContain('text/html');
    const body = await r.text();
    expect(body.startsWith('<!doctype html>')).toBe(true);
    expect(body).toContain('Changes cannot be saved right now');
    expect(body).toContain('disk is full');
    expect(body).toContain('try again in a minute or two');
    expect(body).toContain('Nothing you submitted was saved');
    expect(body).toContain(r.headers.get('x-request-id'));
    // Neither the internal message nor a stack trace reaches the page.
    expect(body).not.toContain('/srv/data');
    expect(body).not.toContain('WritesRefusedError');
    expect(body).not.toMatch(/\.ts:\d+/);
  });

  it('failed disk sync: 503, a longer Retry-After, and the administrator has been alerted', async () => {
    const r = await post('wal-sync-failed');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('300');
    const body = await r.text();
    expect(body).toContain('stopped saving changes after a disk error');
    expect(body).toContain('administrator has been alerted');
    expect(body).not.toContain('disk is full');
    expect(body).not.toContain('/srv/data');
  });

  it('an htmx request gets a small notice instead of a whole page', async () => {
    const r = await post('disk-full', { 'hx-request': 'true' });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('30');
    const body = await r.text();
    expect(body).not.toContain('<html');
    expect(body).toMatch(/^<div class="flash error" role="alert">/);
    expect(body).toContain('Not saved:');
    expect(body).toContain('disk is full');
  });

  it('an API client gets JSON', async () => {
    const r = await fetch(`${s.url}/api/v1/__test/save`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('30');
    expect(await r.json()).toMatchObject({ error: 'Changes cannot be saved right now', requestId: r.headers.get('x-request-id') });
  });

  it('is not logged as a failed request (the fault is a state, reported where it was raised)', async () => {
    await post('disk-full');
    expect(fs.readFileSync(s.logFile, 'utf8')).not.toContain('request failed');
  });
});
