import { stringify } from 'csv-stringify/sync';
import { type AnswerValue, type Answers, answerText } from '../events/fields.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import type { RegistrationRow } from './repo.ts';

/** Rows per written chunk: big enough to keep syscalls few, small enough to keep memory flat. */
const CHUNK_ROWS = 200;

export interface ExportColumn {
  key: string;
  label: string;
  field?: FieldRow;
}

const metaColumns: ExportColumn[] = [
  { key: 'attendee_code', label: 'Attendee code' },
  { key: 'status', label: 'Status' },
  { key: 'registered_at', label: 'Registered at' },
  { key: 'checked_in_at', label: 'Checked in at' },
];

/**
 * Which columns an export carries: the registration's own facts, then the chosen form fields in
 * form order. Nothing chosen explicitly (`null`) means every field that is not sensitive.
 */
export function exportColumns(fields: FieldRow[], chosen: string[] | null): ExportColumn[] {
  const picked = fields.filter((f) => (chosen === null ? !f.sensitive : chosen.includes(f.key)));
  return [...metaColumns, ...picked.map((f) => ({ key: f.key, label: f.label, field: f }))];
}

export function exportFileName(e: EventRow, format: 'csv' | 'json', now: number): string {
  return `attendees-${e.slug}-${new Date(now).toISOString().slice(0, 10)}.${format}`;
}

/**
 * Spreadsheets run a cell starting with = + - @ (or a tab/CR that hides one) as a formula: a
 * registration named `=HYPERLINK(...)` would become a live link in the organizer's Excel. A
 * leading apostrophe makes it text (OWASP "CSV injection").
 */
export function csvSafe(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

function parsed(reg: RegistrationRow): Answers {
  try {
    return JSON.parse(reg.answers) as Answers;
  } catch {
    return {};
  }
}

function value(col: ExportColumn, reg: RegistrationRow, answers: Answers): AnswerValue | null {
  switch (col.key) {
    case 'attendee_code':
      return reg.attendee_code;
    case 'status':
      return reg.status;
    case 'registered_at':
      return reg.created_at;
    case 'checked_in_at':
      return reg.checked_in_at;
  }
  const f = col.field;
  if (f?.builtin === 'email') return reg.email;
  if (f?.builtin === 'name') return reg.name;
  return answers[col.key] ?? null;
}

function* chunks<T>(rows: Iterable<T>): Generator<T[]> {
  let batch: T[] = [];
  for (const r of rows) {
    batch.push(r);
    if (batch.length >= CHUNK_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const csvOptions = { cast: { string: csvSafe } };

/** CSV text in chunks: the header first (with a BOM so spreadsheets read UTF-8), then row batches. */
export function* streamCsv(cols: ExportColumn[], rows: Iterable<RegistrationRow>): Generator<string> {
  yield stringify([cols.map((c) => c.label)], { ...csvOptions, bom: true });
  for (const batch of chunks(rows)) {
    yield stringify(
      batch.map((reg) => {
        const answers = parsed(reg);
        return cols.map((c) => {
          const v = value(c, reg, answers);
          return v === null ? '' : answerText(v);
        });
      }),
      csvOptions,
    );
  }
}

/** A JSON array in chunks, one object per registration keyed by field key, answers kept typed. */
export function* streamJson(cols: ExportColumn[], rows: Iterable<RegistrationRow>): Generator<string> {
  yield '[';
  let first = true;
  for (const batch of chunks(rows)) {
    const parts = batch.map((reg) => {
      const answers = parsed(reg);
      return JSON.stringify(Object.fromEntries(cols.map((c) => [c.key, value(c, reg, answers)])));
    });
    yield `${first ? '\n' : ',\n'}${parts.join(',\n')}`;
    first = false;
  }
  yield '\n]\n';
}
