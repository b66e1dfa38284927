import { randomBytes } from 'node:crypto';
import type { EventInput } from '../../src/events/service.ts';
import type { EventRow } from '../../src/events/repo.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { TestServer } from './server.ts';

const sys = { actor: { type: 'system' as const } };

/** A published public event with the default form (email + name), created through the service. */
export function createEvent(s: TestServer, org: OrgRow, over: Partial<EventInput> & { publish?: boolean } = {}): EventRow {
  const start = new Date(s.ctx.now() + 30 * 86_400_000);
  const { publish = true, ...rest } = over;
  const input: EventInput = {
    slug: `ev-${randomBytes(4).toString('hex')}`,
    title: 'Test Conference',
    description_md: 'A **test** event.',
    starts_at: start.toISOString(),
    ends_at: new Date(start.getTime() + 8 * 3600_000).toISOString(),
    timezone: 'Europe/Zurich',
    venue: 'Hall 1',
    online_url: '',
    capacity: null,
    registration_opens_at: null,
    registration_closes_at: null,
    waitlist_enabled: false,
    duplicate_policy: 'reject',
    double_opt_in: false,
    // Most tests read the code and links from the confirmation page; the discreet default
    // (nothing on the page) has its own tests in test/privacy-by-design.test.ts.
    show_ticket: true,
    organizer_contact: 'organizer@example.test',
    privacy_notice: 'We use your data only for this event.',
    controller_contact: 'Test Org, Example Street 1',
    access_mode: 'public',
    ...rest,
  };
  const r = s.ctx.events.create(org, input, sys);
  if (!r.ok) throw new Error(r.message);
  if (publish) {
    const p = s.ctx.events.setStatus(org, r.event, 'published', sys);
    if (!p.ok) throw new Error(p.message);
  }
  return s.ctx.events.get(org, r.event.id)!;
}
