import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { SESSION_COOKIE, readCookie, setSessionCookie } from '../src/http/cookies.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { type TestServer, startTestServer } from './support/server.ts';

describe('browser harness', () => {
  let s: TestServer;
  let browser: Browser;
  let launchMs = 0;
  beforeAll(async () => {
    s = await startTestServer(
      {},
      {
        extendApp: (app) => {
          app.get('/__test/set-cookie', (c) => {
            setSessionCookie(c, 'cookie-value-123');
            return c.text('set');
          });
          app.get('/__test/read-cookie', (c) => c.text(`session=${readCookie(c, SESSION_COOKIE) ?? 'none'}`));
        },
      },
    );
    const started = performance.now();
    browser = await launchBrowser();
    launchMs = Math.round(performance.now() - started);
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    console.info(`chromium ${browser?.version() ?? '?'}: prepared in ${process.env.TESSERA_CHROMIUM_PREPARE_MS ?? '?'} ms (global setup), launched in ${launchMs} ms`);
  });

  it('renders the home page with htmx loaded, no console errors or CSP violations, and no serious a11y issue', async () => {
    const page = await newPage(browser, s.url);
    const res = await page.goto('/');
    expect(res?.status()).toBe(200);
    expect(await page.title()).toContain('Tessera');
    await page.waitForLoadState('load');
    // Deferred scripts have run by `load`; htmx defines a global object.
    expect(await page.evaluate(() => typeof Reflect.get(window, 'htmx'))).toBe('object');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Tessera');
    await screenshot(page, 'smoke-home');
    await checkA11y(page, 'home page');
    expect(pageProblems(page)).toEqual([]);
  });

  it('renders the 404 page accessibly', async () => {
    const page = await newPage(browser, s.url);
    const res = await page.goto('/no-such-page');
    expect(res?.status()).toBe(404);
    await expect(page.getByRole('link', { name: 'Back to the start page' }).count()).resolves.toBe(1);
    await screenshot(page, 'smoke-404');
    await checkA11y(page, '404 page');
    // Chromium reports the 404 document itself as a failed resource; nothing else may go wrong.
    expect(pageProblems(page)).toEqual([expect.stringContaining('status of 404 (Not Found)')]);
  });

  it('notices CSP violations and serious accessibility problems (the harness can fail)', async () => {
    const page = await newPage(browser, s.url);
    await page.goto('/');
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('script'), { textContent: 'void 0' })));
    await expect.poll(() => pageProblems(page).join('\n')).toContain('CSP violation: script-src-elem blocked inline');
    await page.evaluate(() => document.querySelector('main')?.append(document.createElement('button')));
    await expect(checkA11y(page, 'broken page')).rejects.toThrow(/button-name \(critical\)/);
  });

  it('treats http://127.0.0.1 as a secure context, so __Host- cookies round-trip', async () => {
    const page = await newPage(browser, s.url);
    await page.goto('/');
    expect(await page.evaluate(() => window.isSecureContext)).toBe(true);
    await page.goto('/__test/set-cookie');
    const cookie = (await page.context().cookies()).find((c) => c.name === SESSION_COOKIE);
    expect(cookie).toMatchObject({ value: 'cookie-value-123', secure: true, httpOnly: true, sameSite: 'Lax', path: '/' });
    // The browser sends it back (the app may then clear it as an unknown session, which is fine).
    await page.goto('/__test/read-cookie');
    expect(await page.textContent('body')).toBe('session=cookie-value-123');
  });

  it('keeps the same-origin policy on (the package flag --disable-web-security is dropped)', async () => {
    // A second loopback origin without CSP, in a plain context (newPage would abort its requests).
    const other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const page = await browser.newPage();
    try {
      const messages: string[] = [];
      page.on('console', (m) => messages.push(m.text()));
      await page.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
      expect(await tryRead(page, `${s.url}/healthz`)).toBe('blocked');
      expect(messages.join('\n')).toContain("has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header");
    } finally {
      await page.context().close();
      other.close();
    }
  });

  it('aborts and reports any request that leaves the server under test', async () => {
    const page = await newPage(browser, s.url);
    await page.goto('/');
    expect(await tryRead(page, '/')).toBe('read');
    await page.goto('about:blank');
    expect(await tryRead(page, 'http://203.0.113.7/')).toBe('blocked');
    expect(pageProblems(page)).toContain('request to another origin blocked: http://203.0.113.7/');
  });
});

function tryRead(page: Page, url: string): Promise<'read' | 'blocked'> {
  return page.evaluate(
    (u) =>
      fetch(u).then(
        () => 'read' as const,
        () => 'blocked' as const,
      ),
    url,
  );
}
