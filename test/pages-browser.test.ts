import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setSessionCookie } from '../src/http/cookies.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, addMember, createUser } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type Tenant, createTenant, newRegistration } from './support/tenant.ts';

/** Signed-in pages that are documents to print or save, deliberately without the app shell. */
const PRINTABLE = new Set(['orgs-orgSlug-security-incidents-incidentId-report']);

/**
 * Every page of the route table, at a phone's width and a laptop's, as someone who may see it,
 * with seeded data: answers with its status, passes axe (no serious or critical violation), does
 * not overflow sideways, logs no console error and no CSP violation. Screenshots land in
 * test-artifacts/screenshots/page-<name>-<width>.png for people to look at.
 *
 * The list is checked against the route table: a new GET route fails this test until it is
 * listed here, as a page to visit or with the reason it is not a page.
 */
const WIDTHS = [390, 1280] as const;
type Who = 'visitor' | 'staff' | 'pending' | 'enrolling';
type Visit = { name: string; url: () => string; who: Who; status?: number };

let s: TestServer;
let browser: Browser;
let t: Tenant;
let staff: TestUser;
let manageUrl = '';
let confirmUrl = '';

const sys = { actor: { type: 'system' as const } };
const ev = () => `/orgs/${t.org.slug}/events/${t.event.id}`;
const org = () => `/orgs/${t.org.slug}`;
const firstAuditSeq = () => String(s.ctx.db.prepare('SELECT min(seq) FROM audit_log WHERE org_id = ?').pluck().get(t.org.id));

/** Route → what to visit. `null` with a reason: not an HTML page (files, JSON, fragments of other pages' scripts). */
const pages: Record<string, Omit<Visit, 'name'>[] | string> = {
  'GET /': [{ url: () => '/', who: 'visitor' }],
  'GET /setup': [{ url: () => '/setup', who: 'visitor', status: 410 }],
  'GET /login': [{ url: () => '/login', who: 'visitor' }],
  'GET /login/2fa': [{ url: () => '/login/2fa', who: 'pending' }],
  'GET /password/forgot': [{ url: () => '/password/forgot', who: 'visitor' }],
  'GET /password/reset': [{ url: () => '/password/reset', who: 'visitor', status: 410 }],
  'GET /email/confirm': [{ url: () => '/email/confirm', who: 'visitor', status: 410 }],
  'GET /account': [{ url: () => '/account', who: 'staff' }],
  'GET /account/reauth': [{ url: () => '/account/reauth', who: 'staff' }],
  'GET /account/2fa/setup': [{ url: () => '/account/2fa/setup', who: 'enrolling' }],
  'GET /account/phone': [{ url: () => '/account/phone', who: 'staff' }],
  'GET /account/sessions': [{ url: () => '/account/sessions', who: 'staff' }],
  'GET /invite': [{ url: () => '/invite', who: 'visitor', status: 410 }],
  'GET /orgs': [{ url: () => '/orgs', who: 'staff' }],
  'GET /orgs/:orgSlug': [{ url: org, who: 'staff' }],
  'GET /orgs/:orgSlug/permissions': [{ url: () => `${org()}/permissions`, who: 'staff' }],
  'GET /orgs/:orgSlug/members': [{ url: () => `${org()}/members`, who: 'staff' }],
  'GET /orgs/:orgSlug/settings': [{ url: () => `${org()}/settings`, who: 'staff' }],
  'GET /orgs/:orgSlug/tokens': [{ url: () => `${org()}/tokens`, who: 'staff' }],
  'GET /orgs/:orgSlug/audit': [{ url: () => `${org()}/audit`, who: 'staff' }],
  'GET /orgs/:orgSlug/events': [{ url: () => `${org()}/events`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/new': [{ url: () => `${org()}/events/new`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId': [{ url: ev, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/edit': [{ url: () => `${ev()}/edit`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/share-links': [{ url: () => `${ev()}/share-links`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/form': [{ url: () => `${ev()}/form`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/form/fields/:fieldId': [{ url: () => `${ev()}/form/fields/${t.field.id}`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/attendees': [{ url: () => `${ev()}/attendees`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/attendees/message': [{ url: () => `${ev()}/attendees/message`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/attendees/:regId': [{ url: () => `${ev()}/attendees/${t.reg.id}`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/checkin': [
    { url: () => `${ev()}/checkin`, who: 'staff' },
    { url: () => `${ev()}/checkin?q=Attendee`, who: 'staff' },
  ],
  'GET /orgs/:orgSlug/events/:eventId/checkin/counts': [{ url: () => `${ev()}/checkin/counts`, who: 'staff' }],
  'GET /admin/users': [{ url: () => '/admin/users', who: 'staff' }],
  'GET /admin/mail': [{ url: () => '/admin/mail', who: 'staff' }],
  'GET /admin/backups': [{ url: () => '/admin/backups', who: 'staff' }],
  'GET /admin/permissions': [{ url: () => '/admin/permissions', who: 'staff' }],
  'GET /o/:orgSlug': [{ url: () => `/o/${t.org.slug}`, who: 'visitor' }],
  'GET /e/:slug': [{ url: () => `/e/${t.event.slug}`, who: 'visitor' }],
  'GET /s/:token': [{ url: () => `/s/${t.link.token}`, who: 'visitor' }],
  'GET /share': [{ url: () => '/share', who: 'visitor' }],
  'GET /r/:token': [{ url: () => manageUrl, who: 'visitor' }],
  'GET /my-registration': [{ url: () => '/my-registration', who: 'visitor' }],
  'GET /r/:token/confirm': [{ url: () => confirmUrl, who: 'visitor' }],
  'GET /my-registration/confirm': [{ url: () => '/my-registration/confirm', who: 'visitor' }],
  // Without a ticket: the "place not found" page (the waiting page itself: test/registration-queue.test.ts).
  'GET /e/:slug/queue': [{ url: () => `/e/${t.event.slug}/queue`, who: 'visitor', status: 404 }],
  'GET /o/:orgSlug/logo': 'an image',
  'GET /o/:orgSlug/brand.css': 'a stylesheet (its pages are visited here, and in light and dark scheme in test/branding-browser.test.ts)',
  'GET /o/:orgSlug/privacy': [{ url: () => `/o/${t.org.slug}/privacy`, who: 'visitor' }],
  'GET /privacy/open': [{ url: () => '/privacy/open', who: 'visitor', status: 404 }],
  'GET /privacy/me': [{ url: () => '/privacy/me', who: 'visitor', status: 404 }],
  'GET /my-registration/privacy': 'the manage link’s data page, opened with its link cookie: visited with axe at both widths in test/journey-privacy.test.ts',
  'GET /privacy/me/export.json': 'a download',
  'GET /privacy/me/export.csv': 'a download',
  'GET /admin/settings': [{ url: () => '/admin/settings', who: 'staff' }],
  'GET /admin/orgs': [{ url: () => '/admin/orgs', who: 'staff' }],
  'GET /admin/audit': [{ url: () => '/admin/audit', who: 'staff' }],
  'GET /admin/audit/entries/:seq': [{ url: () => `/admin/audit/entries/${firstAuditSeq()}`, who: 'staff' }],
  'GET /admin/access-log': [{ url: () => '/admin/access-log', who: 'staff' }],
  'GET /admin/retention': [{ url: () => '/admin/retention', who: 'staff' }],
  'GET /orgs/:orgSlug/audit/entries/:seq': [{ url: () => `${org()}/audit/entries/${firstAuditSeq()}`, who: 'staff' }],
  'GET /orgs/:orgSlug/retention': [{ url: () => `${org()}/retention`, who: 'staff' }],
  'GET /orgs/:orgSlug/events/:eventId/retention': [{ url: () => `${ev()}/retention`, who: 'staff' }],
  'GET /orgs/:orgSlug/privacy/requests': [{ url: () => `${org()}/privacy/requests`, who: 'staff' }],
  'GET /orgs/:orgSlug/privacy/requests/:requestId': [{ url: () => `${org()}/privacy/requests/${t.requestId}`, who: 'staff' }],
  'GET /orgs/:orgSlug/security': [{ url: () => `${org()}/security`, who: 'staff' }],
  'GET /orgs/:orgSlug/security/incidents/new': [{ url: () => `${org()}/security/incidents/new`, who: 'staff' }],
  'GET /orgs/:orgSlug/security/incidents/:incidentId': [{ url: () => `${org()}/security/incidents/${t.incidentId}`, who: 'staff' }],
  'GET /orgs/:orgSlug/security/incidents/:incidentId/report': [{ url: () => `${org()}/security/incidents/${t.incidentId}/report`, who: 'staff' }],
  'GET /orgs/:orgSlug/security/incidents/:incidentId/report.json': 'JSON',
  'GET /orgs/:orgSlug/privacy/requests/:requestId/export.json': 'a download',
  'GET /orgs/:orgSlug/audit/export.csv': 'a download',
  'GET /orgs/:orgSlug/audit/export.json': 'a download',
  'GET /admin/audit/export.csv': 'a download',
  'GET /admin/audit/export.json': 'a download',
  'GET /e/:slug/event.ics': 'a calendar file',
  'GET /r/:token/ticket.svg': 'an image',
  'GET /my-registration/ticket.svg': 'an image',
  'GET /orgs/:orgSlug/events/:eventId/attendees/export.csv': 'a download',
  'GET /orgs/:orgSlug/events/:eventId/attendees/export.json': 'a download',
  'GET /api/v1/orgs/:orgSlug': 'JSON',
  'GET /api/v1/orgs/:orgSlug/members': 'JSON',
  'GET /static/:file': 'static files',
  'GET /healthz': 'a probe',
  'GET /readyz': 'a probe',
  'GET /metrics': 'Prometheus text',
};

function visits(): Visit[] {
  const out: Visit[] = [];
  for (const [key, v] of Object.entries(pages)) {
    if (typeof v === 'string') continue;
    v.forEach((x, i) => out.push({ ...x, name: `${key.slice(4).replace(/[/:]+/g, '-').replace(/^-|-$/g, '') || 'home'}${i ? `-${i}` : ''}` }));
  }
  return out;
}

async function signIn(page: Page, u: TestUser['user'], mfaPending = false): Promise<void> {
  const { token } = s.ctx.sessions.create(u.id, { mfaPending, ip: '127.0.0.1', userAgent: 'test', reauth: true });
  // The server sets the cookie itself: Chromium takes a __Host- cookie only from a response.
  await page.goto(`/__test/session?token=${token}`);
}

beforeAll(async () => {
  s = await startTestServer(
    {},
    {
      extendApp: (app) =>
        app.get('/__test/session', (c) => {
          setSessionCookie(c, c.req.query('token') ?? '');
          return c.text('signed in');
        }),
    },
  );
  browser = await launchBrowser();
  t = await createTenant(s, 'a');
  staff = await createUser(s, { email: testEmail('pages-staff'), name: 'Pat Organizer', instanceRole: 'owner', totp: true });
  addMember(s, t.org, staff.user, 'owner');
  // The organization's colour and logo: every public page below is checked with them, the settings page shows them.
  s.ctx.branding.setAccent(t.org, '#7b1fa2', sys);
  s.ctx.branding.setLogo(t.org, fs.readFileSync(new URL('./fixtures/logos/logo.png', import.meta.url)), sys);
  // Seeded like a real event: more attendees, some checked in, one waiting for confirmation.
  const regs = [t.reg];
  for (let i = 0; i < 8; i++) regs.push(await newRegistration(t));
  for (const r of regs.slice(0, 3)) s.ctx.attendees.checkIn(t.event, r.id, false, sys);
  createEvent(s, t.org, { title: 'Autumn Meetup', publish: false });
  const doi = createEvent(s, t.org, { title: 'Opt-in Day', double_opt_in: true });
  const pending = await s.ctx.registrations.register(doi, { email: testEmail('pages-doi'), name: 'Dana Pending' }, sys);
  if (!pending.ok) throw new Error(pending.message);
  confirmUrl = s.ctx.links.link(pending.reg, 'confirm').replace(s.ctx.baseUrl(), '');
  manageUrl = s.ctx.links.managePath(t.reg);
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('every page at phone and laptop width', () => {
  it('lists every GET route of the route table', () => {
    const gets = [...s.routes.declared.keys()].filter((k) => k.startsWith('GET '));
    expect(gets.filter((k) => !(k in pages))).toEqual([]);
  });

  for (const width of WIDTHS) {
    it(`${width} px: 200 (or the page's own status), axe-clean, no sideways overflow, no console error or CSP violation`, async () => {
      const pagesByWho = new Map<Who, Page>();
      const pageFor = async (who: Who): Promise<Page> => {
        let p = pagesByWho.get(who);
        if (!p) {
          p = await newPage(browser, s.url);
          await p.setViewportSize({ width, height: 800 });
          if (who === 'staff') await signIn(p, staff.user);
          if (who === 'pending') await signIn(p, staff.user, true);
          if (who === 'enrolling') await signIn(p, (await createUser(s, { email: testEmail(`pages-new-owner-${width}`), instanceRole: 'admin' })).user);
          pagesByWho.set(who, p);
        }
        return p;
      };
      const failures: string[] = [];
      // PAGES_ONLY=<regex> narrows a local run to some pages while working on them.
      const only = process.env.PAGES_ONLY ? new RegExp(process.env.PAGES_ONLY) : null;
      for (const v of visits().filter((x) => !only || only.test(x.name))) {
        const t0 = performance.now();
        const page = await pageFor(v.who);
        const before = pageProblems(page).length;
        const res = await page.goto(v.url());
        const expected = v.status ?? 200;
        if (res?.status() !== expected) failures.push(`${v.name}: status ${res?.status()}, expected ${expected}`);
        const overflow = await page.evaluate(() => {
          const by = document.documentElement.scrollWidth - window.innerWidth;
          // Name the culprits: elements whose right edge passes the viewport's (tables scroll in their box).
          const wide = [...document.body.querySelectorAll('*')]
            .filter((el) => !el.closest('.table-box') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 3)
            .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className && typeof el.className === 'string' ? `.${el.className.trim().replace(/\s+/g, '.')}` : ''}`);
          return { by, wide };
        });
        if (overflow.by > 0) failures.push(`${v.name}: ${overflow.by} px wider than the viewport (${overflow.wide.join(', ')})`);
        // Every organizer page is in the app shell, except documents made to be printed (the
        // incident report for the authority); public pages keep their slim frame.
        const inShell = await page.evaluate(() => document.body.classList.contains('app') && !!document.querySelector('.app-top'));
        if (v.who === 'staff' && !inShell && !PRINTABLE.has(v.name)) failures.push(`${v.name}: a signed-in page outside the app shell`);
        if (PRINTABLE.has(v.name) && inShell) failures.push(`${v.name}: a printable document inside the app shell`);
        if (v.who === 'visitor' && inShell) failures.push(`${v.name}: a public page inside the app shell`);
        await screenshot(page, `page-${v.name}-${width}`);
        try {
          await checkA11y(page, v.name);
        } catch (err) {
          failures.push(String(err instanceof Error ? err.message : err));
        }
        const problems = pageProblems(page)
          .slice(before)
          .filter((p) => !(expected !== 200 && p.includes(`status of ${expected}`)));
        failures.push(...problems.map((p) => `${v.name}: ${p}`));
        if (process.env.PAGES_TIMING) console.info(`${v.name} ${width}: ${Math.round(performance.now() - t0)} ms`);
      }
      expect(failures).toEqual([]);
    }, 600_000);
  }
});
