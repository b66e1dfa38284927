import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { withoutRepeatedTitle } from '../views/events/public.tsx';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('public event page and confirmation', () => {
  let s: TestServer;
  let org: OrgRow;
  beforeAll(async () => {
    s = await startTestServer();
    const owner = await createUser(s, { email: testEmail('pub-owner') });
    org = createOrg(s, owner.user, uniqueSlug('pub'), 'Harbour Events Club');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('drops a first heading that only repeats the title, and keeps any other', () => {
    expect(withoutRepeatedTitle('<h1>Spring  Meetup</h1>\n<p>Hello</p>', 'Spring Meetup')).toBe('<p>Hello</p>');
    expect(withoutRepeatedTitle('<h2>Tom &amp; Jerry</h2><p>x</p>', 'Tom & Jerry')).toBe('<p>x</p>');
    expect(withoutRepeatedTitle('<h2>Programme</h2><p>x</p>', 'Spring Meetup')).toBe('<h2>Programme</h2><p>x</p>');
    expect(withoutRepeatedTitle('<p>Spring Meetup</p>', 'Spring Meetup')).toBe('<p>Spring Meetup</p>');
  });

  it('names the organization, shows the title once and date, place and seats in one card', async () => {
    const e = createEvent(s, org, { title: 'Spring Meetup', description_md: '# Spring Meetup\n\nTalks and coffee.', capacity: 40, venue: 'Pier 4' });
    const page = await new Client(s.url).get(`/e/${e.slug}`);
    expect(page.status).toBe(200);
    // In the header, linking to the organization's page; no logo or accent stylesheet until one is set.
    expect(page.text).toContain(`<a class="brand org-brand" href="/o/${org.slug}"><span>Harbour Events Club</span></a>`);
    expect(page.text).not.toContain('brand.css');
    expect(count(page.text, '>Spring Meetup</h')).toBe(1);
    expect(page.text).toContain('Talks and coffee.');
    const card = /<section class="event-summary"[\s\S]*?<\/section>/.exec(page.text)?.[0] ?? '';
    expect(card).toContain('Pier 4');
    expect(card).toContain('40 left');
    expect(card).toMatch(/<dt>When<\/dt>/);
  });

  it('says "You are registered" once on the confirmation page', async () => {
    const e = createEvent(s, org, { title: 'Autumn Talk' });
    // A browser marks its own form posts same-origin; an anonymous form carries no token.
    const done = await new Client(s.url, { 'sec-fetch-site': 'same-origin' }).post(`/e/${e.slug}/register`, { email: testEmail('pub-guest'), name: 'Guest' });
    expect(done.status).toBe(201);
    expect(count(done.text, 'You are registered')).toBe(1);
    expect(done.text).toContain('Your seat is confirmed.');
  });
});
