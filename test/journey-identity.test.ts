import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../src/auth/totp.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { Clock } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/**
 * The identity journey in a real browser: setup → enrol TOTP → sign out → sign in with TOTP →
 * create an organization → invite a member → the member accepts through the emailed link →
 * the owner disables the member → the member's open session is rejected.
 */
describe('identity journey (Chromium)', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let browser: Browser;
  const clock = new Clock();
  const ownerPassword = 'journey owner passphrase 2026';
  const memberPassword = 'journey member passphrase 2026';

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await sink?.close();
  });

  const code = (secret: string) => {
    clock.advance(30_000); // each TOTP step is accepted once; move to a fresh one
    return totpCodeAt(secret, clock.now());
  };

  async function check(page: Page, name: string) {
    await screenshot(page, `identity-${name}`);
    await checkA11y(page, name);
  }

  // A hang guard only: many page loads, ten times slower on a shared 2-core machine under load.
  it('runs end to end', { timeout: 600_000 }, async () => {
    const owner = await newPage(browser, s.url);
    const setupPath = /(\/setup\?token=[A-Za-z0-9_-]+)/.exec(s.announced.join('\n'))![1]!;

    // 1. Setup: create the owner.
    await owner.goto(setupPath);
    await check(owner, '01-setup');
    await owner.getByLabel('Your name').fill('Olga Pseudonymova');
    await owner.getByLabel('Email address').fill(testEmail('journey-owner'));
    await owner.getByLabel('Password').fill(ownerPassword);
    await owner.getByRole('button', { name: 'Create owner account' }).click();

    // 2. Forced TOTP enrolment.
    await owner.waitForURL('**/account/2fa/setup');
    await check(owner, '02-enrol');
    const secret = (await owner.getByTestId('totp-secret').textContent())!.trim();
    await owner.getByLabel('Code from the app').fill(code(secret));
    await owner.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await expect.poll(() => owner.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await check(owner, '03-recovery-codes');
    await owner.getByRole('button', { name: 'I have stored them, continue' }).click();

    // 3. Sign out, sign in again with password + TOTP.
    await owner.getByRole('button', { name: 'Sign out' }).click();
    await owner.waitForURL('**/login?bye=1');
    await owner.getByLabel('Email address').fill(testEmail('journey-owner'));
    await owner.getByLabel('Password').fill(ownerPassword);
    await owner.getByRole('button', { name: 'Sign in' }).click();
    await owner.waitForURL('**/login/2fa');
    await check(owner, '04-second-factor');
    await owner.getByLabel('Code').fill(code(secret));
    await owner.getByRole('button', { name: 'Verify' }).click();
    await owner.waitForURL('**/orgs');

    // 4. Create an organization.
    await check(owner, '05-orgs');
    await owner.getByLabel('Name').fill('Journey Conference');
    await owner.getByLabel('Address').fill('journey-conf');
    await owner.getByRole('button', { name: 'Create organization' }).click();
    await owner.waitForURL('**/orgs/journey-conf');
    await check(owner, '06-org-dashboard');

    // 5. Invite a member.
    await owner.goto('/orgs/journey-conf/members');
    await owner.getByLabel('Email address').fill(testEmail('journey-member'));
    await owner.getByLabel('Role', { exact: true }).selectOption('organizer');
    await owner.getByRole('button', { name: 'Send invitation' }).click();
    await check(owner, '07-members');
    const mail = await sink.waitFor((m) => m.to.includes(testEmail('journey-member')));
    const link = /https?:\/\/\S+\/invite\?token=[A-Za-z0-9_-]+/.exec(mail.text)![0];

    // 6. The member accepts through the emailed link, creating an account.
    const member = await newPage(browser, s.url);
    await member.goto(link.replace(/^https?:\/\/[^/]+/, ''));
    await check(member, '08-invitation');
    await member.getByLabel('Your name').fill('Mila Pseudonymova');
    await member.getByLabel('Password').fill(memberPassword);
    await member.getByRole('button', { name: 'Create account and join' }).click();
    // New organizations require two-factor sign-in by default: the member enrols first.
    await member.waitForURL('**/account/2fa/setup');
    const memberSecret = (await member.getByTestId('totp-secret').textContent())!.trim();
    await member.getByLabel('Code from the app').fill(code(memberSecret));
    await member.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    await expect.poll(() => member.getByTestId('recovery-codes').locator('li').count()).toBe(10);
    await member.getByRole('button', { name: 'I have stored them, continue' }).click();
    await member.goto('/orgs/journey-conf');
    await expect.poll(() => member.getByRole('heading', { level: 1 }).textContent()).toContain('Journey Conference');
    await check(member, '09-member-dashboard');

    // 7. The owner disables the member's account (re-authentication first).
    owner.on('dialog', (d) => void d.accept());
    await owner.goto('/admin/users');
    await check(owner, '10-admin-users');
    const row = owner.getByRole('row').filter({ hasText: testEmail('journey-member') });
    await row.getByRole('button', { name: 'Disable' }).click();
    if (owner.url().includes('/account/reauth')) {
      await owner.getByLabel('Password').fill(ownerPassword);
      await owner.getByLabel('Authenticator code or recovery code').fill(code(secret));
      await owner.getByRole('button', { name: 'Confirm' }).click();
      await owner.goto('/admin/users');
      await owner.getByRole('row').filter({ hasText: testEmail('journey-member') }).getByRole('button', { name: 'Disable' }).click();
    }
    await expect.poll(() => owner.getByRole('row').filter({ hasText: testEmail('journey-member') }).textContent()).toContain('disabled');

    // 8. The member's open session is rejected at the next request.
    await member.goto('/orgs/journey-conf');
    expect(new URL(member.url()).pathname).toBe('/login');
    await check(member, '11-member-rejected');

    expect(pageProblems(owner).filter((p) => !p.includes('status of 4'))).toEqual([]);
    expect(pageProblems(member).filter((p) => !p.includes('status of 4'))).toEqual([]);
  });
});
