/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ShareLinksPage } from '../../views/events/access.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { CONTROL_CHARS, type FieldErrors, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { loadEvent } from './load.ts';
import type { EventRow } from './repo.ts';
import { type C, type Values, bad, eventUrl, expirySchema, roleOf, text, uuid, write } from './route-helpers.ts';

const accessFlashes: Record<string, string> = {
  revoked: 'Share link revoked.',
  'passcode-set': 'Passcode saved.',
  'passcode-removed': 'Passcode removed. Nobody can open this event while its access mode requires a passcode.',
};

/** An event's Access page: its passcode and its share links (passwords for people outside the organization). */
export function eventAccessRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- share links ------------------------------------------------------------------------------------------

  /** The form's state goes to the form that was sent: the passcode's or the new share link's. */
  type Extra = { flash?: FlashMsg; created?: { label: string; url: string }; errors?: FieldErrors; values?: Values; passcode?: { errors?: FieldErrors; values?: Values } };
  const linksPage = (c: C, e: EventRow, extra: Extra = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const done = c.req.query('done') ?? '';
    const flash = extra.flash ?? (accessFlashes[done] ? ({ kind: 'ok', text: accessFlashes[done] } as const) : undefined);
    return render(
      c,
      `Access · ${e.title}`,
      <ShareLinksPage
        csrf={c.get('csrfToken')}
        org={c.get('org')}
        role={roleOf(c)}
        e={e}
        links={ctx.events.shareLinks(e)}
        passcodeState={ctx.events.passcodeState(e)}
        passcodeForm={extra.passcode ?? {}}
        created={extra.created}
        flash={flash}
        errors={extra.errors}
        values={extra.values}
      />,
      status,
    );
  };

  r.get('/orgs/:orgSlug/events/:eventId/share-links', write, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : linksPage(c, l.event);
  });

  r.post('/orgs/:orgSlug/events/:eventId/share-links', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const form = await parseForm(c, z.object({ label: text(80), password: z.string().min(8, 'At least 8 characters.').max(256, 'At most 256 characters.'), expires_at: expirySchema(e, ctx.now()) }));
    if (!form.ok) return linksPage(c, e, { errors: form.errors, values: form.values }, 400);
    const res = await ctx.events.createShareLink(e, { label: form.data.label, password: form.data.password, expiresAt: form.data.expires_at }, auditCtx(c, e.org_id));
    // The secret exists only in this response: it is stored as a hash.
    return linksPage(c, e, { created: { label: form.data.label, url: `${ctx.baseUrl()}/s/${res.token}` } }, 201);
  });

  r.post('/orgs/:orgSlug/events/:eventId/share-links/:linkId/revoke', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const id = c.req.param('linkId') ?? '';
    const ok = uuid.test(id) && c.get('app').events.revokeShareLink(l.event, id, auditCtx(c, l.event.org_id));
    if (!ok) return linksPage(c, l.event, { flash: { kind: 'error', text: 'That share link was already revoked or does not exist.' } }, 404);
    return c.redirect(`${eventUrl(c, l.event)}/share-links?done=revoked`, 303);
  });

  // ---- passcode -------------------------------------------------------------------------------------------

  r.post('/orgs/:orgSlug/events/:eventId/passcode', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const org = c.get('org');
    const form = await parseForm(c, z.object({ passcode: z.string().min(6, 'At least 6 characters.').max(200, 'At most 200 characters.').refine((v) => !CONTROL_CHARS.test(v), bad), expires_at: expirySchema(e, ctx.now()) }));
    if (!form.ok) return linksPage(c, e, { passcode: { errors: form.errors, values: form.values }, flash: { kind: 'error', text: 'The passcode was not saved.' } }, 400);
    await ctx.events.setPasscode(org, e, form.data.passcode, form.data.expires_at, auditCtx(c, org.id));
    return c.redirect(`${eventUrl(c, e)}/share-links?done=passcode-set#passcode`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/passcode/remove', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const org = c.get('org');
    await c.get('app').events.setPasscode(org, l.event, null, null, auditCtx(c, org.id));
    return c.redirect(`${eventUrl(c, l.event)}/share-links?done=passcode-removed#passcode`, 303);
  });

  return app;
}
