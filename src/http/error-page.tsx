/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ErrorPage } from '../../views/errors.tsx';
import type { AppEnv } from './types.ts';

export function ErrorBody(p: { status: number; title: string; message: string; requestId: string }) {
  return <ErrorPage {...p} />;
}

/** A friendly error page (HTML) or a small JSON error for API clients. */
export function errorResponse(c: Context<AppEnv>, status: ContentfulStatusCode, title: string, message: string, json = false): Response | Promise<Response> {
  if (json) return c.json({ error: title, message, requestId: c.get('requestId') }, status);
  return c.html(<ErrorPage status={status} title={title} message={message} requestId={c.get('requestId')} />, status);
}
