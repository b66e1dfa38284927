import type { Context } from 'hono';
import { z } from 'zod';
import { CONTROL_CHARS } from '../http/forms.ts';
import type { AppEnv } from '../http/types.ts';
import type { OrgRole } from '../orgs/permissions.ts';
import type { EventRow } from './repo.ts';
import { parseLocal, resolveLocal } from './zoned-time.ts';

/** Shared by the organizer's event route files (`routes.tsx`, `access-routes.tsx`, `form-routes.tsx`). */
export type C = Context<AppEnv>;
export type Values = Record<string, string>;

export const read = { kind: 'org', permission: 'events.read' } as const;
export const write = { kind: 'org', permission: 'events.write' } as const;
export const eventsUrl = (c: C) => `/orgs/${c.get('org').slug}/events`;
export const eventUrl = (c: C, e: EventRow) => `${eventsUrl(c)}/${e.id}`;

// ---- input rules -------------------------------------------------------------------------------------

/** Multi-line text keeps newlines and tabs; other control characters are refused. */
export const MULTILINE_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
export const bad = 'Contains characters that are not allowed.';
export const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), bad);
export const line = (max: number) => z.string().trim().max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), bad).default('');
export const multiline = (max: number) =>
  z
    .string()
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().max(max, `At most ${max} characters.`).refine((v) => !MULTILINE_BAD.test(v), bad))
    .default('');
export const checkbox = z.literal('on', 'Invalid value.').optional().transform((v) => v === 'on');
export const localTime = z.string().trim().min(1, 'Required.').refine((v) => parseLocal(v) !== undefined, 'Enter a date and time (YYYY-MM-DD HH:MM).');
export const optionalLocal = z.string().trim().refine((v) => v === '' || parseLocal(v) !== undefined, 'Enter a date and time (YYYY-MM-DD HH:MM), or leave it empty.').default('');

/** Parsed form data back as form values (checkboxes as 'on'), to show the form again. */
export const asValues = (d: Record<string, unknown>): Values => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'on' : '') : String(v ?? '')]));

export const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Future expiry in the event's zone (passcodes, share links); empty means none. */
export function expirySchema(e: EventRow, now: number) {
  return optionalLocal.transform((v, ctx) => {
    if (v === '') return null;
    const utc = resolveLocal(v, e.timezone).utc;
    if (Date.parse(utc) <= now) {
      ctx.addIssue({ code: 'custom', message: 'Choose a time in the future, or leave it empty.' });
      return z.NEVER;
    }
    return utc;
  });
}

export function roleOf(c: C): OrgRole {
  const m = c.get('membership');
  if (!m) throw new Error('org route without membership');
  return m.role;
}
