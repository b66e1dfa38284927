import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPage, pageProblems } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { addMember, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };

/** What the page's htmx exposes that this test drives. */
type Htmx = { trigger: (elt: Element, event: string, detail?: object, bubbles?: boolean) => void };
type Counters = { started: number; done: number };

describe('check-in desk counts', () => {
  let s: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('a counts poll answered before a check-in cannot overwrite the newer count after it', async () => {
    const owner = await createUser(s, { email: testEmail('race-owner', 'a') });
    const org = createOrg(s, owner.user, uniqueSlug('race'));
    const event = createEvent(s, org);
    const desk = await createUser(s, { email: testEmail('race-desk', 'a') });
    addMember(s, org, desk.user, 'checkin');
    const regs = [];
    for (const who of ['race-1', 'race-2']) {
      const r = await s.ctx.registrations.register(event, { email: testEmail(who, 'a'), name: `Racer ${who} ${PERSON_SURNAME}` }, sys);
      if (!r.ok) throw new Error(r.message);
      regs.push(r.reg);
    }
    const reg = regs[0]!;
    const base = `/orgs/${org.slug}/events/${event.id}/checkin`;

    const page = await newPage(browser, s.url);
    await page.goto(`/login?next=${encodeURIComponent(`${base}?reg=${reg.id}`)}`);
    await page.getByLabel('Email address').fill(desk.user.email);
    await page.getByLabel('Password').fill(desk.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Check in' }).waitFor();
    await expect.poll(() => page.evaluate(() => typeof Reflect.get(window, 'htmx'))).toBe('object');
    expect(await page.getByTestId('checked-in').textContent()).toBe('0');

    // Count the counts element's requests, to know when htmx is done with each of them, and
    // record every number it shows: the real 10 s poll may also run during the test (a busy
    // machine), and a later fresh poll could hide a stale swap from a look at the end.
    await page.evaluate(() => {
      const n: Counters = { started: 0, done: 0 };
      Reflect.set(window, '__counts', n);
      const shown: string[] = [];
      Reflect.set(window, '__shown', shown);
      const counts = document.getElementById('checkin-counts')!;
      new MutationObserver(() => shown.push(counts.querySelector('[data-testid="checked-in"]')?.textContent ?? '')).observe(counts, { childList: true, subtree: true, characterData: true });
      const fromCounts = (e: Event) => (e as CustomEvent<{ ctx?: { sourceElement?: Element } }>).detail?.ctx?.sourceElement?.id === 'checkin-counts';
      document.addEventListener('htmx:before:request', (e) => void (fromCounts(e) && n.started++));
      document.addEventListener('htmx:finally:request', (e) => void (fromCounts(e) && n.done++));
    });

    // The first poll is answered by the server at once (0 checked in) but delivered to the page
    // only when the test says: the network delay that lets it arrive after the check-in.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let answered!: () => void;
    const stale = new Promise<void>((r) => (answered = r));
    let delivered!: () => void;
    const done = new Promise<void>((r) => (delivered = r));
    let held = false;
    await page.route(`**${base}/counts`, async (route) => {
      if (held) return route.continue();
      held = true;
      const response = await route.fetch();
      answered();
      await gate;
      // If the page gave up on the request (the fix), there is nothing to deliver any more.
      await route.fulfill({ response }).catch(() => undefined);
      delivered();
    });

    // What the 10 s interval does, without waiting 10 s for it.
    await page.evaluate(() => (Reflect.get(window, 'htmx') as Htmx).trigger(document.getElementById('checkin-counts')!, 'every', {}, false));
    await stale;

    await page.getByRole('button', { name: 'Check in' }).click();
    await page.getByText(`Checked in: ${reg.name}.`).waitFor();
    await expect.poll(() => page.getByTestId('checked-in').textContent()).toBe('1');

    // Now the old answer arrives. Wait until htmx has finished with every counts request it sent.
    release();
    await done;
    await expect
      .poll(() => page.evaluate(() => Reflect.get(window, '__counts') as Counters))
      .toSatisfy((n: Counters) => n.started > 0 && n.done === n.started);
    const shown = (await page.evaluate(() => Reflect.get(window, '__shown'))) as string[];
    // Once the check-in showed 1, the count never went back to the old 0.
    expect(shown.slice(shown.indexOf('1'))).not.toContain('0');
    expect(await page.getByTestId('checked-in').textContent()).toBe('1');
    expect(s.ctx.registrations.get(event, reg.id)!.checked_in_at).not.toBeNull();

    // Polling still works after the race: the next poll shows a check-in made elsewhere.
    expect(s.ctx.attendees.checkIn(event, regs[1]!.id, false, sys).ok).toBe(true);
    await page.evaluate(() => (Reflect.get(window, 'htmx') as Htmx).trigger(document.getElementById('checkin-counts')!, 'every', {}, false));
    await expect.poll(() => page.getByTestId('checked-in').textContent()).toBe('2');
    expect(pageProblems(page)).toEqual([]);
  });
});
