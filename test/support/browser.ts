import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AxeResults, RunOptions } from 'axe-core';
import sparticuz from '@sparticuz/chromium';
import { type Browser, type Page, chromium } from 'playwright-core';

/**
 * Flags from @sparticuz/chromium that we drop. They suit a Lambda scraper, but here they would
 * hide exactly the bugs browser journeys exist to catch, or override Playwright's own flags:
 * - --disable-web-security / --allow-running-insecure-content / --disable-site-isolation-trials:
 *   turn off the same-origin policy, mixed-content blocking and site isolation.
 * - --disable-features / --enable-features: Chromium keeps only the last copy of a switch, so
 *   these would replace Playwright's lists (which stop startup calls to Google services) and
 *   turn SharedArrayBuffer on without cross-origin isolation.
 * - --single-process / --no-zygote: only needed where prctl is forbidden (Lambda); a renderer
 *   crash would otherwise take the whole browser down, and pages would share one process.
 * - --headless='shell': Playwright's `headless: true` already adds --headless (the package has
 *   no separate `headless` export any more; the binary is chrome-headless-shell either way).
 * - --use-gl / --use-angle / --enable-unsafe-swiftshader / --ignore-gpu-blocklist /
 *   --in-process-gpu: WebGL through SwiftShader, which no Tessera page uses. Compositing every
 *   frame through it cost about 3.5 times the CPU of Chromium's own software compositor
 *   (6 × page load + full-page screenshot + axe: 28.7 s of CPU with them, 10.2 s without), the
 *   largest single cost of the suite; pages and screenshots look the same.
 */
const dropped = [
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--disable-site-isolation-trials',
  '--disable-features',
  '--enable-features',
  '--single-process',
  '--no-zygote',
  '--headless',
  '--use-gl',
  '--use-angle',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--in-process-gpu',
];

/** Keep the test browser from talking to anything but the server under test. */
const offline = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/**
 * No flag is needed for secure-context features: http://127.0.0.1 is "potentially trustworthy"
 * (Secure Contexts spec), so window.isSecureContext is true and Chromium stores and sends
 * `__Host-`/Secure cookies over it. --unsafely-treat-insecure-origin-as-secure is therefore not
 * used; test/browser-smoke.test.ts proves both.
 */
export function launchArgs(): string[] {
  const kept = sparticuz.args.filter((arg) => !dropped.some((d) => arg === d || arg.startsWith(`${d}=`)));
  return [...new Set([...kept, '--no-sandbox', ...offline])];
}

export async function launchBrowser(): Promise<Browser> {
  const failure = process.env.TESSERA_CHROMIUM_ERROR;
  if (failure) throw new Error(failure);
  const executablePath = process.env.TESSERA_CHROMIUM_PATH;
  if (!executablePath) throw new Error('TESSERA_CHROMIUM_PATH is not set: run browser tests through vitest so test/global-setup.ts prepares Chromium');
  const fontconfig = process.env.TESSERA_CHROMIUM_FONTCONFIG;
  return chromium.launch({
    executablePath,
    args: launchArgs(),
    headless: true,
    env: fontconfig ? { ...process.env, FONTCONFIG_FILE: fontconfig } : process.env,
  });
}

/** How long one browser step (click, fill, navigation, wait) may hang before it fails. */
export const BROWSER_STEP_TIMEOUT_MS = 120_000;

const problemsByPage = new WeakMap<Page, string[]>();

/**
 * A page in a fresh context (own cookies) whose relative URLs resolve against the server.
 * Everything that should never happen on a Tessera page is recorded for `pageProblems`:
 * console errors, uncaught exceptions, CSP violations and requests to any other origin
 * (those are also aborted, so a test can never reach the internet).
 */
export async function newPage(browser: Browser, baseUrl: string): Promise<Page> {
  const origin = new URL(baseUrl).origin;
  const context = await browser.newContext({ baseURL: baseUrl });
  // Playwright's 30 s default for an action or a navigation is a speed claim that a shared
  // 2-core machine under load misses (a click waits for the server's answer); this is a hang
  // guard, and a passing step takes only as long as it needs.
  context.setDefaultTimeout(BROWSER_STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(BROWSER_STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const problems: string[] = [];
  problemsByPage.set(page, problems);
  await context.route(
    (url) => url.origin !== origin && url.protocol !== 'data:' && url.href !== 'about:blank',
    (route) => {
      problems.push(`request to another origin blocked: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );
  // Init scripts run through DevTools, not the page, so the CSP does not block this listener.
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message}`));
  return page;
}

/** What went wrong on this page so far (see `newPage`); tests usually expect an empty list. */
export function pageProblems(page: Page): string[] {
  const problems = problemsByPage.get(page);
  if (!problems) throw new Error('pageProblems: this page was not created with newPage()');
  return [...problems];
}

export const screenshotDir = path.resolve('test-artifacts', 'screenshots');

/** Full-page PNG at test-artifacts/screenshots/<name>.png, for humans reviewing a run. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const safe = name.replace(/[^\w.-]+/g, '-');
  const file = path.join(screenshotDir, `${safe}.png`);
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** axe-core's own minified build of the installed release: the same rules, less to send over. */
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Passes and incomplete results are never read here, and axe builds a selector for every node of them. */
const axeOptions: RunOptions = { resultTypes: ['violations'] };
type AxeWindow = { axe?: { run(context: Document, options: RunOptions): Promise<AxeResults> } };

/**
 * Runs axe on the current page and fails on any serious or critical violation.
 *
 * axe runs in the page itself (axe.run, what @axe-core/playwright calls legacy mode), loaded into
 * each document once: sending its 650 KB source to the page is most of a check's cost, and
 * @axe-core/playwright sent it twice on every call (about 200 ms each on this machine, 540 ms a
 * check against 340 ms). Its default mode, axe.runPartial per frame and finishing in a second
 * blank tab, exists only to reach cross-origin frames: Tessera pages have none, and newPage()
 * blocks every other origin anyway. Same-origin frames get axe too, as axe.run reaches into them.
 */
export async function checkA11y(page: Page, label: string): Promise<void> {
  for (const frame of page.frames()) {
    const loaded = await frame.evaluate(() => typeof (window as AxeWindow).axe?.run === 'function');
    if (!loaded) await frame.evaluate(axeSource);
  }
  const results = await page.evaluate((options) => {
    const axe = (window as AxeWindow).axe;
    if (!axe) throw new Error('axe is not loaded');
    return axe.run(document, options);
  }, axeOptions);
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length === 0) return;
  const lines = bad.map((v) => `- ${v.id} (${v.impact}): ${v.help}; at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  throw new Error(`accessibility violations on ${label} (${page.url()}):\n${lines.join('\n')}`);
}
