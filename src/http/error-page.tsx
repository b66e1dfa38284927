/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorPage, WritesRefusedNotice, WritesRefusedPage } from '../../views/components/errors.tsx';
import type { WritesRefusedError } from '../db/faults.ts';
import { isHtmx } from './route-permissions.ts';
import type { AppEnv } from './types.ts';

export function ErrorBody(p: { status: number; title: string; message: string; requestId: string }) {
  return <ErrorPage {...p} />;
}

/** A friendly error page (HTML) or a small JSON error for API clients. */
export function errorResponse(c: Context<AppEnv>, status: ContentfulStatusCode, title: string, message: string, json = false): Response | Promise<Response> {
  if (json) return c.json({ error: title, message, requestId: c.get('requestId') }, status);
  return c.html(<ErrorPage status={status} title={title} message={message} requestId={c.get('requestId')} />, status);
}

/**
 * What a person is told when a write was refused because of a fault, and when to try again.
 * A full disk clears by itself once space is freed; a failed disk sync needs the administrator
 * (a restart), so clients are asked to come back much later.
 */
const refusal = {
  'disk-full': { retryAfterS: 30, reason: 'The server’s disk is full, so it cannot store anything new at the moment. Please try again in a minute or two.' },
  'wal-sync-failed': { retryAfterS: 300, reason: 'The server stopped saving changes after a disk error, to protect the data it already holds. The administrator has been alerted; please try again later.' },
} as const;

/** 503 with Retry-After and a readable page (an htmx request gets a small notice, the API JSON). */
export function writesRefusedResponse(c: Context<AppEnv>, err: WritesRefusedError): Response | Promise<Response> {
  const { retryAfterS, reason } = refusal[err.fault.kind];
  c.header('Retry-After', String(retryAfterS));
  const requestId = c.get('requestId') ?? '';
  if (c.req.path.startsWith('/api/')) return c.json({ error: 'Changes cannot be saved right now', message: reason, requestId }, 503);
  if (isHtmx(c)) return c.html(<WritesRefusedNotice reason={reason} requestId={requestId} />, 503);
  return c.html(<WritesRefusedPage reason={reason} requestId={requestId} />, 503);
}
