/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Answers, answerText } from '../../src/events/fields.ts';
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { Counts as RegistrationCounts } from '../../src/registrations/attendees.ts';
import type { RegistrationRow, RegistrationStatus } from '../../src/registrations/repo.ts';

/** What sensitive answers look like wherever their value must not appear. */
export const MASK = '•••';

export const statuses: readonly RegistrationStatus[] = ['confirmed', 'waitlisted', 'pending', 'cancelled'];

/** The attendee list's filter as it travels in the query string (and in hidden fields). */
export interface ListState {
  q: string;
  status: '' | RegistrationStatus;
  checked: '' | 'yes' | 'no';
  /** `fieldKey:value`, for select and checkbox fields. */
  answer: string;
}

/** The attendee counts with the event's capacity beside them. */
export type Counts = RegistrationCounts & { capacity: number | null };

export interface AnswerFilterGroup {
  label: string;
  options: { value: string; label: string }[];
}

/**
 * Query string for the list (page 1 is implied); empty values are left out to keep URLs short.
 * The search text is never put in it: it may be a name or an address (the search form POSTs).
 */
export function listQuery(s: ListState, page = 1): string {
  const p = new URLSearchParams();
  if (s.status) p.set('status', s.status);
  if (s.checked) p.set('checked', s.checked);
  if (s.answer) p.set('answer', s.answer);
  if (page > 1) p.set('page', String(page));
  const out = p.toString();
  return out ? `?${out}` : '';
}

export const eventBase = (org: OrgRow, e: EventRow) => `/orgs/${org.slug}/events/${e.id}`;


/** The attendee list's columns besides the name and the form's own fields; each can be hidden. */
export const fixedListColumns = [
  ['email', 'Email'],
  ['code', 'Code'],
  ['status', 'Status'],
  ['checked_in', 'Checked in'],
] as const;

export function CountsLine({ counts }: { counts: Counts }) {
  return (
    <p class="attendee-counts" data-testid="counts">
      <strong>{counts.confirmed}</strong> confirmed{counts.capacity !== null ? ` of ${counts.capacity} seats` : ''} · <strong>{counts.waitlisted}</strong> waitlisted · <strong>{counts.pending}</strong> awaiting
      email confirmation · <strong>{counts.cancelled}</strong> cancelled · <strong>{counts.checkedIn}</strong> checked in
    </p>
  );
}

/** Answer as shown to staff: sensitive fields masked unless the page was explicitly revealed. */
export function shown(f: FieldRow, reg: RegistrationRow, answers: Answers, reveal: boolean): string {
  if (f.builtin === 'email') return reg.email;
  if (f.builtin === 'name') return reg.name;
  if (f.sensitive && !reveal) return MASK;
  return answerText(answers[f.key]);
}

export function parseAnswersJson(reg: RegistrationRow): Answers {
  try {
    return JSON.parse(reg.answers) as Answers;
  } catch {
    return {};
  }
}
