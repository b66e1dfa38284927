import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from './types.ts';

export type FieldErrors = Record<string, string>;
export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors; values: Record<string, string> };

/** Rejects control characters (other than tab/newline) that have no business in form text. */
export const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * Parses a urlencoded/multipart form with a zod schema. Errors come back per field, with the
 * submitted values so the page can be shown again with the input kept.
 */
export async function parseForm<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<FormResult<z.output<S>>> {
  const body = await c.req.parseBody({ all: true });
  const values: Record<string, string> = {};
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '_csrf') continue;
    if (Array.isArray(v)) {
      raw[k] = v.filter((x): x is string => typeof x === 'string');
      values[k] = (raw[k] as string[]).join(',');
    } else if (typeof v === 'string') {
      raw[k] = v;
      values[k] = v;
    }
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, data: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? '_form');
    errors[key] ??= issue.message;
  }
  // Never echo secrets back into the page.
  for (const k of Object.keys(values)) if (/password|code|token/i.test(k)) values[k] = '';
  return { ok: false, errors, values };
}

/** Only same-site relative paths are allowed as post-login destinations (no open redirects). */
export function safeNext(next: string | undefined, fallback = '/'): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || next.length > 500) return fallback;
  return next;
}

/** Form bodies as the answer parser wants them: strings, or arrays for repeated keys. */
export async function answerFormBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === '_csrf') continue;
    out[k] = Array.isArray(v) ? v.filter((x) => typeof x === 'string') : typeof v === 'string' ? v : undefined;
  }
  return out;
}

export function asValues(raw: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' || Array.isArray(v)) out[k] = v as string | string[];
  return out;
}
