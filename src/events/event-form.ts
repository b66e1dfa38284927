import { z } from 'zod';
import { type FieldErrors, parseForm } from '../http/forms.ts';
import type { EventRow } from './repo.ts';
import { type C, type Values, asValues, checkbox, line, localTime, multiline, optionalLocal, text } from './route-helpers.ts';
import type { EventInput } from './service.ts';
import { type LocalTimeKind, isTimeZone, parseLocal, resolveLocal, utcToZoned } from './zoned-time.ts';

/** The event create/edit form: its rules, reading it into an EventInput, and an event back as form values. */

const eventSlug = z
  .string()
  .trim()
  .regex(/^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$/, '3–60 lowercase letters, digits and hyphens, not starting or ending with a hyphen.');

const httpUrl = z
  .string()
  .trim()
  .max(500, 'At most 500 characters.')
  .refine((v) => {
    if (v === '') return true;
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'Enter a full address starting with https:// or http://.')
  .default('');

const capacity = z
  .string()
  .trim()
  .default('')
  .refine((v) => v === '' || (/^\d{1,7}$/.test(v) && Number(v) >= 1 && Number(v) <= 1_000_000), 'Enter a whole number from 1 to 1,000,000, or leave it empty for unlimited.')
  .transform((v) => (v === '' ? null : Number(v)));

const eventSchema = z.object({
  title: text(200),
  slug: eventSlug,
  description_md: multiline(20_000),
  starts_at: localTime,
  ends_at: localTime,
  timezone: z.string().refine(isTimeZone, 'Choose a time zone from the list.'),
  venue: line(300),
  online_url: httpUrl,
  capacity,
  registration_opens_at: optionalLocal,
  registration_closes_at: optionalLocal,
  waitlist_enabled: checkbox,
  duplicate_policy: z.enum(['allow', 'reject'], 'Choose one of the options.').default('reject'),
  double_opt_in: checkbox,
  show_ticket: checkbox,
  organizer_contact: line(300),
  privacy_notice: multiline(5000),
  controller_contact: multiline(1000),
  access_mode: z.enum(['public', 'unlisted', 'passcode'], 'Choose one of the options.').default('public'),
});

export const timeFields = ['starts_at', 'ends_at', 'registration_opens_at', 'registration_closes_at'] as const;
export type TimeField = (typeof timeFields)[number];
export const timeLabels: Record<TimeField, string> = { starts_at: 'start', ends_at: 'end', registration_opens_at: 'registration opening', registration_closes_at: 'registration closing' };

/**
 * The local times of the form, read in its time zone, and the rules between them (end after
 * start, closing after opening). Runs on raw values too, so these errors show up together with
 * every other one.
 */
export function resolveTimes(v: Partial<Record<TimeField | 'timezone', string>>): { utc: Partial<Record<TimeField, string>>; kinds: Partial<Record<TimeField, LocalTimeKind>>; errors: FieldErrors } {
  const utc: Partial<Record<TimeField, string>> = {};
  const kinds: Partial<Record<TimeField, LocalTimeKind>> = {};
  const errors: FieldErrors = {};
  const tz = v.timezone ?? '';
  if (!isTimeZone(tz)) return { utc, kinds, errors };
  for (const f of timeFields) {
    const local = (v[f] ?? '').trim();
    if (local && parseLocal(local) !== undefined) {
      const r = resolveLocal(local, tz);
      utc[f] = r.utc;
      kinds[f] = r.kind;
    }
  }
  if (utc.starts_at && utc.ends_at && Date.parse(utc.ends_at) <= Date.parse(utc.starts_at)) errors.ends_at = 'The end must be after the start.';
  if (utc.registration_opens_at && utc.registration_closes_at && Date.parse(utc.registration_closes_at) <= Date.parse(utc.registration_opens_at)) {
    errors.registration_closes_at = 'Registration must close after it opens.';
  }
  return { utc, kinds, errors };
}

/** Reads the event form: either a complete EventInput, or errors per field with the input kept. */
export async function readEventForm(c: C): Promise<{ ok: true; input: EventInput; dst: string[]; intent: string; values: Values } | { ok: false; errors: FieldErrors; values: Values; intent: string }> {
  const form = await parseForm(c, eventSchema.extend({ intent: z.string().optional() }));
  if (!form.ok) {
    const times = resolveTimes(form.values);
    return { ok: false, errors: { ...times.errors, ...form.errors }, values: form.values, intent: form.values.intent ?? 'save' };
  }
  const d = form.data;
  const values = asValues(d);
  const times = resolveTimes(d);
  if (Object.keys(times.errors).length) return { ok: false, errors: times.errors, values, intent: d.intent ?? 'save' };
  const input: EventInput = {
    slug: d.slug,
    title: d.title,
    description_md: d.description_md,
    starts_at: times.utc.starts_at as string,
    ends_at: times.utc.ends_at as string,
    timezone: d.timezone,
    venue: d.venue,
    online_url: d.online_url,
    capacity: d.capacity,
    registration_opens_at: times.utc.registration_opens_at ?? null,
    registration_closes_at: times.utc.registration_closes_at ?? null,
    waitlist_enabled: d.waitlist_enabled,
    duplicate_policy: d.duplicate_policy,
    double_opt_in: d.double_opt_in,
    show_ticket: d.show_ticket,
    organizer_contact: d.organizer_contact,
    privacy_notice: d.privacy_notice,
    controller_contact: d.controller_contact,
    access_mode: d.access_mode,
  };
  const dst = timeFields.filter((f) => times.kinds[f] === 'skipped' || times.kinds[f] === 'ambiguous').map((f) => `${f}.${times.kinds[f]}`);
  return { ok: true, input, dst, intent: d.intent ?? 'save', values };
}

/** An event as the edit form shows it: stored instants back in the event's wall clock. */
export function valuesOf(e: EventRow): Values {
  const local = (t: string | null) => (t ? utcToZoned(t, e.timezone) : '');
  return {
    title: e.title,
    slug: e.slug,
    description_md: e.description_md,
    starts_at: local(e.starts_at),
    ends_at: local(e.ends_at),
    timezone: e.timezone,
    venue: e.venue,
    online_url: e.online_url,
    capacity: e.capacity === null ? '' : String(e.capacity),
    registration_opens_at: local(e.registration_opens_at),
    registration_closes_at: local(e.registration_closes_at),
    waitlist_enabled: e.waitlist_enabled ? 'on' : '',
    duplicate_policy: e.duplicate_policy,
    double_opt_in: e.double_opt_in ? 'on' : '',
    show_ticket: e.show_ticket ? 'on' : '',
    organizer_contact: e.organizer_contact,
    privacy_notice: e.privacy_notice,
    controller_contact: e.controller_contact,
    access_mode: e.access_mode,
  };
}

export function defaultZone(): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return tz && isTimeZone(tz) ? tz : 'UTC';
}
