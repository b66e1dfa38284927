import { z } from 'zod';

const DAY = 86_400_000;

/** The instance's retention rule: a default and the range every other level must stay in. */
export const instanceRetentionSchema = z
  .object({
    defaultDays: z.number().int().min(0).max(36500),
    minDays: z.number().int().min(0).max(36500),
    maxDays: z.number().int().min(0).max(36500),
    /** owners and admins are warned this many days before an event's data is erased */
    warnDays: z.number().int().min(1).max(90),
  })
  .refine((p) => p.minDays <= p.maxDays, { message: 'The minimum must not be above the maximum.', path: ['minDays'] })
  .refine((p) => p.defaultDays >= p.minDays && p.defaultDays <= p.maxDays, { message: 'The default must lie between the minimum and the maximum.', path: ['defaultDays'] });
export type InstanceRetention = z.infer<typeof instanceRetentionSchema>;

export const defaultInstanceRetention: InstanceRetention = { defaultDays: 90, minDays: 0, maxDays: 3650, warnDays: 7 };

export const clampDays = (p: InstanceRetention, days: number) => Math.min(p.maxDays, Math.max(p.minDays, days));

/** The chain instance → organization → event, clamped to the instance's range. */
export function eventRetentionDays(p: InstanceRetention, orgDays: number | null, eventDays: number | null): { days: number; from: 'instance' | 'organization' | 'event' } {
  if (eventDays !== null) return { days: clampDays(p, eventDays), from: 'event' };
  if (orgDays !== null) return { days: clampDays(p, orgDays), from: 'organization' };
  return { days: clampDays(p, p.defaultDays), from: 'instance' };
}

/** A field may be erased sooner than the rest of the registration, never later. */
export function fieldRetentionDays(p: InstanceRetention, eventDays: number, fieldDays: number): number {
  return Math.min(eventDays, clampDays(p, fieldDays));
}

/**
 * When data is due: `days` after the event ends, but never before the owners' warning has had
 * its `warnDays` (an instance upgraded with old events warns first, then erases).
 */
export function dueAt(endsAt: string, days: number, warnedAt: string | null, warnDays: number): number {
  const byPolicy = Date.parse(endsAt) + days * DAY;
  const warned = warnedAt ? Date.parse(warnedAt) + warnDays * DAY : Number.POSITIVE_INFINITY;
  return warnedAt ? Math.max(byPolicy, warned) : byPolicy;
}

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
