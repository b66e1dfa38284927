/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { SecurityPage } from '../../views/audit/security.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { parseForm } from '../http/forms.ts';
import { auditCtx, guard } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import { routes } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { roleHas } from '../orgs/permissions.ts';

type C = Context<AppEnv>;
const whole = (min: number, max: number) => z.coerce.number({ error: `A whole number from ${min} to ${max}.` }).int(`A whole number from ${min} to ${max}.`).min(min, `At least ${min}.`).max(max, `At most ${max}.`);

/** The organization's Security page: its alerts, and the thresholds of the rules that raise them. */
export function securityRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = routes(app, guard);
  const page = (c: C, extra: { flash?: FlashMsg | undefined; errors?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const role = c.get('membership')!.role;
    ctx.audit.record(auditCtx(c, org.id), 'security.alerts_viewed', { type: 'organization', id: org.id });
    return render(c, 'Security', <SecurityPage org={org} role={role} csrf={c.get('csrfToken') ?? ''} alerts={ctx.alerts.list(org.id)} thresholds={ctx.alertRules.thresholds(org.id)} canSettings={roleHas(role, 'org.settings')} {...extra} />, status);
  };

  r.get('/orgs/:orgSlug/security', { kind: 'org', permission: 'audit.read' }, (c) => page(c, { flash: c.req.query('done') === 'saved' ? { kind: 'ok', text: 'Thresholds saved.' } : undefined }));

  r.post('/orgs/:orgSlug/security/thresholds', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const form = await parseForm(c, z.object({ failed_n: whole(2, 1000), failed_minutes: whole(1, 1440), reads_n: whole(10, 1_000_000), reads_minutes: whole(1, 1440) }));
    if (!form.ok) return page(c, { errors: form.errors, flash: { kind: 'error', text: 'Nothing was saved: correct the marked fields.' } }, 400);
    const ctx = c.get('app');
    const org = c.get('org');
    const d = form.data;
    ctx.writer.tx(() => {
      ctx.alertRules.setThresholds(org.id, { failedLogins: { n: d.failed_n, minutes: d.failed_minutes }, personalReads: { n: d.reads_n, minutes: d.reads_minutes } });
      ctx.audit.record(auditCtx(c, org.id), 'security.thresholds_changed', { type: 'organization', id: org.id }, 'success', { ...d });
    });
    return c.redirect(`/orgs/${org.slug}/security?done=saved`, 303);
  });

  return app;
}
