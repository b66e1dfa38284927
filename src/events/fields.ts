import { z } from 'zod';
import { CONTROL_CHARS } from '../http/forms.ts';
import type { FieldRow, FieldType } from './repo.ts';

export const fieldTypes: Record<FieldType, string> = {
  short_text: 'Short text',
  long_text: 'Long text',
  email: 'Email address',
  phone: 'Phone number',
  number: 'Number',
  date: 'Date',
  single_select: 'Single choice',
  multi_select: 'Multiple choice',
  checkbox: 'Checkbox',
  consent: 'Consent',
};

export const selectTypes: readonly FieldType[] = ['single_select', 'multi_select'];
export const fieldKeyPattern = /^[a-z][a-z0-9_]{0,39}$/;

/** Long text keeps line breaks and tabs; everything else in the C0 range is refused. */
const LONG_TEXT_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * A consent answer keeps the text shown and when it was given; a withdrawal keeps both and says
 * when and by whom: the attendee, or staff acting on the attendee's request (who, recorded).
 */
export type ConsentGiven = { accepted: true; text: string; at: string };
export type ConsentWithdrawn = { accepted: false; text: string; at: string; withdrawn_at: string; withdrawn_by: 'attendee' | 'staff'; staff_id?: string | null };
export type AnswerValue = string | number | boolean | string[] | ConsentGiven | ConsentWithdrawn;
export type Answers = Record<string, AnswerValue>;

export function fieldOptions(f: Pick<FieldRow, 'options'>): string[] {
  try {
    const v = JSON.parse(f.options) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

const required = 'This field is required.';

/** The zod schema for one field's submitted value (form values arrive as strings or string arrays). */
function valueSchema(f: FieldRow, now: () => string): z.ZodType<AnswerValue | undefined> {
  const opt = <T extends z.ZodType>(schema: T) =>
    z.preprocess((v) => (v === '' || v === undefined || (Array.isArray(v) && v.length === 0) ? undefined : v), f.required ? schema : schema.optional()) as unknown as z.ZodType<AnswerValue | undefined>;
  const single = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  switch (f.type) {
    case 'short_text':
      return opt(z.preprocess(single, z.string({ error: required }).trim().min(1, required).max(200, 'At most 200 characters.').refine((v) => !CONTROL_CHARS.test(v), 'Contains characters that are not allowed.')));
    case 'long_text':
      return opt(z.preprocess(single, z.string({ error: required }).trim().min(1, required).max(5000, 'At most 5000 characters.').refine((v) => !LONG_TEXT_BAD.test(v), 'Contains characters that are not allowed.')));
    case 'email':
      return opt(z.preprocess(single, z.string({ error: required }).trim().max(254, 'At most 254 characters.').pipe(z.email('Enter a valid email address.'))));
    case 'phone':
      return opt(
        z.preprocess(
          single,
          z
            .string({ error: required })
            .trim()
            .regex(/^\+?[0-9 ()./-]{6,32}$/, 'Enter a phone number with digits, optionally starting with +.')
            .refine((v) => v.replace(/\D/g, '').length >= 6, 'Enter a phone number with at least 6 digits.'),
        ),
      );
    case 'number':
      return opt(
        z.preprocess(
          single,
          z
            .string({ error: required })
            .trim()
            .regex(/^-?\d{1,12}(?:[.,]\d{1,6})?$/, 'Enter a number.')
            .transform((v) => Number(v.replace(',', '.'))),
        ),
      );
    case 'date':
      return opt(
        z.preprocess(
          single,
          z
            .string({ error: required })
            .regex(/^\d{4}-\d{2}-\d{2}$/, 'Enter a date as YYYY-MM-DD.')
            .refine((v) => {
              const d = new Date(`${v}T00:00:00Z`);
              return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
            }, 'This date does not exist.'),
        ),
      );
    case 'single_select': {
      const options = fieldOptions(f);
      return opt(z.preprocess(single, z.string({ error: required }).refine((v) => options.includes(v), 'Choose one of the listed options.')));
    }
    case 'multi_select': {
      const options = fieldOptions(f);
      return opt(
        z
          .preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string()).min(1, required).max(options.length || 1))
          .refine((vs) => vs.every((v) => options.includes(v)), 'Choose only listed options.')
          .transform((vs) => [...new Set(vs)]),
      );
    }
    case 'checkbox': {
      const checked = z.preprocess(single, z.enum(['on', 'true', '1', 'yes'], { error: f.required ? 'Please tick this box.' : 'Tick the box or leave it empty.' }).transform(() => true));
      return f.required
        ? (checked as unknown as z.ZodType<AnswerValue>)
        : (z.preprocess((v) => (v === undefined || v === '' ? false : v), z.union([z.literal(false), checked], { error: 'Tick the box or leave it empty.' })) as unknown as z.ZodType<AnswerValue>);
    }
    case 'consent': {
      const accepted = z.preprocess(single, z.enum(['on', 'true', '1', 'yes'], { error: 'Please give your consent to continue.' }).transform(() => ({ accepted: true as const, text: f.consent_text, at: now() })));
      return f.required ? (accepted as unknown as z.ZodType<AnswerValue>) : (accepted.optional() as unknown as z.ZodType<AnswerValue | undefined>);
    }
  }
}

export interface ParsedRegistration {
  email: string;
  name: string;
  answers: Answers;
}

export type AnswerCheck = { ok: true; value: ParsedRegistration } | { ok: false; errors: Record<string, string> };

/**
 * Validates a submission against the event's form, server side. Unknown keys are refused so a
 * crafted request cannot store data the organizer never asked for (data minimisation).
 */
/** A form's field schemas, built once per form version (building zod schemas is not free). */
export interface CompiledForm {
  fields: FieldRow[];
  known: Set<string>;
  schemas: z.ZodType<AnswerValue | undefined>[];
  clock: { now: () => string };
}

export function compileForm(fields: FieldRow[]): CompiledForm {
  const clock = { now: () => new Date().toISOString() };
  return { fields, known: new Set(fields.map((f) => f.key)), schemas: fields.map((f) => valueSchema(f, () => clock.now())), clock };
}

export function parseAnswers(fields: FieldRow[] | CompiledForm, raw: Record<string, unknown>, now: () => string, opts: { allowUnknown?: readonly string[] } = {}): AnswerCheck {
  const form = Array.isArray(fields) ? compileForm(fields) : fields;
  form.clock.now = now;
  const errors: Record<string, string> = {};
  for (const k of Object.keys(raw)) {
    if (!form.known.has(k) && !(opts.allowUnknown ?? []).includes(k)) errors[k] = 'This form has no such field.';
  }
  const answers: Answers = {};
  let email = '';
  let name = '';
  for (const [i, f] of form.fields.entries()) {
    const r = form.schemas[i]!.safeParse(raw[f.key]);
    if (!r.success) {
      errors[f.key] = r.error.issues[0]?.message ?? 'Invalid value.';
      continue;
    }
    if (r.data === undefined) continue;
    if (f.builtin === 'email') email = String(r.data).toLowerCase();
    else if (f.builtin === 'name') name = String(r.data);
    else answers[f.key] = r.data;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: { email, name, answers } };
}

/** The two fields every new event starts with. */
export function defaultFields(): Pick<FieldRow, 'key' | 'type' | 'label' | 'help' | 'required' | 'personal' | 'sensitive' | 'purpose' | 'builtin'>[] {
  return [
    { key: 'email', type: 'email', label: 'Email address', help: 'We send your ticket and updates about this event here.', required: 1, personal: 1, sensitive: 0, purpose: 'Sending the ticket and event updates', builtin: 'email' },
    { key: 'name', type: 'short_text', label: 'Name', help: '', required: 1, personal: 1, sensitive: 0, purpose: 'Name badge and attendee list', builtin: 'name' },
  ];
}

/** How an answer reads in lists, exports and emails. */
export function answerText(v: AnswerValue | undefined): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return v.accepted ? `accepted ${v.at.slice(0, 10)}` : `withdrawn ${v.withdrawn_at.slice(0, 10)}${v.withdrawn_by === 'staff' ? " by staff at the attendee's request" : ''}`;
  return String(v);
}
