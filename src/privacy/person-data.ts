import type { AuditRow } from '../audit/repo.ts';
import { type Answers, answerText } from '../events/fields.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import type { RegistrationRow } from '../registrations/repo.ts';
import type { PrivacyNotice } from './notice.ts';

/** One registration as its person sees it: every answer, labelled as the form asked it. */
export interface PersonRegistration {
  id: string;
  event: string;
  eventStarts: string;
  status: string;
  registeredAt: string;
  checkedInAt: string | null;
  answers: { field: string; label: string; value: string; sensitive: boolean }[];
  notice: PrivacyNotice | null;
}

/** One read of the person's data by staff, as the person is shown it. */
export interface DataRead {
  at: string;
  what: string;
  /** the reader's role now ("former member" when no longer one); the name only if the organization shows names */
  who: string;
  event: string;
}

const readWords: Record<string, string> = {
  'attendee.viewed': 'opened your registration',
  'attendee.sensitive_revealed': 'revealed your sensitive answers',
  'registration.updated': 'changed your registration',
  'registration.consent_withdrawn': 'withdrew a consent at your request',
  'checkin.done': 'checked you in',
  'attendee.exported': 'exported the attendee list (with you on it)',
  'attendee.listed': 'looked at the attendee list (you may have been on the page)',
  'attendee.messaged': 'sent a message to attendees (including you)',
};

export function personRegistration(reg: RegistrationRow, e: EventRow | undefined, fields: FieldRow[], notice: PrivacyNotice | undefined): PersonRegistration {
  let answers: Answers = {};
  try {
    answers = JSON.parse(reg.answers) as Answers;
  } catch {
    answers = {};
  }
  const out: PersonRegistration['answers'] = [];
  for (const f of fields) {
    const value = f.builtin === 'email' ? reg.email : f.builtin === 'name' ? reg.name : answerText(answers[f.key]);
    out.push({ field: f.key, label: f.label, value, sensitive: !!f.sensitive });
  }
  // Answers to fields the form no longer has are still the person's data.
  for (const [k, v] of Object.entries(answers)) if (!fields.some((f) => f.key === k)) out.push({ field: k, label: k, value: answerText(v), sensitive: false });
  return {
    id: reg.id,
    event: e?.title ?? '(event deleted)',
    eventStarts: e?.starts_at ?? '',
    status: reg.status,
    registeredAt: reg.created_at,
    checkedInAt: reg.checked_in_at,
    answers: out,
    notice: notice ?? null,
  };
}

/**
 * The audit rows that touched the person, in words: reads of their registrations, and list
 * views and exports of their events made while they were registered.
 */
export function dataReads(rows: AuditRow[], regs: RegistrationRow[], events: Map<string, EventRow | undefined>, who: (actorType: string, actorId: string | null) => string): DataRead[] {
  const byReg = new Map(regs.map((r) => [r.id, r]));
  const since = new Map<string, string>();
  for (const r of regs) if (!since.has(r.event_id) || r.created_at < since.get(r.event_id)!) since.set(r.event_id, r.created_at);
  const out: DataRead[] = [];
  for (const row of rows) {
    let eventId: string | undefined;
    if (row.target_type === 'registration') eventId = byReg.get(row.target_id ?? '')?.event_id;
    else if (row.target_type === 'event' && row.target_id && since.has(row.target_id) && row.at >= since.get(row.target_id)!) eventId = row.target_id;
    if (!eventId) continue;
    out.push({ at: row.at, what: readWords[row.action] ?? row.action, who: who(row.actor_type, row.actor_id), event: events.get(eventId)?.title ?? '' });
  }
  return out;
}
