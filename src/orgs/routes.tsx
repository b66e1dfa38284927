/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { OrgDashboard } from '../../views/orgs/dashboard.tsx';
import { OrgsPage } from '../../views/orgs/list.tsx';
import { MembersPage } from '../../views/orgs/members.tsx';
import { PermissionsPage } from '../../views/orgs/permissions.tsx';
import { SettingsPage } from '../../views/orgs/settings.tsx';
import { TokensPage } from '../../views/orgs/tokens.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { CONTROL_CHARS, parseForm } from '../http/forms.ts';
import { auditCtx, guard } from '../http/guard.ts';
import { retryAfterSeconds } from '../http/rate-limit.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { SESSION_POLICY_BOUNDS } from './session-policy.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { parseCidrList } from './ip-allowlist.ts';
import { type OrgRole, type Permission, assignableRoles, orgRoles, permissions, roleHas } from './permissions.ts';
import { allowlistOf } from './service.ts';

type C = Context<AppEnv>;

const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), 'Contains characters that are not allowed.');
const email = z.string().trim().max(254, 'At most 254 characters.').pipe(z.email('Enter a valid email address.'));
const role = z.enum(orgRoles, 'Choose a role.');
const permissionNames = Object.keys(permissions) as [Permission, ...Permission[]];

/** Words that would read like app pages rather than an organization's address. */
const RESERVED_SLUGS = new Set(['new', 'admin', 'api', 'orgs', 'org', 'create', 'settings', 'account', 'login', 'logout', 'invite', 'static', 'www', 'app', 'help', 'about', 'system', 'root']);
const slug = z
  .string()
  .trim()
  .regex(/^[a-z0-9](?:[a-z0-9-]{1,38}[a-z0-9])$/, '3–40 lowercase letters, digits and hyphens, not starting or ending with a hyphen.')
  .refine((v) => !RESERVED_SLUGS.has(v), 'This address is reserved; choose another.');

/**
 * Defaults for new events, with the event form's lengths so every default is a valid event value.
 * The contact is one line; the notice and controller contact keep newlines and nothing else.
 */
const ANY_CONTROL = /[\u0000-\u001F\u007F]/;
const MULTILINE_CONTROL = /[\u0000-\u0009\u000B-\u001F\u007F]/;
const notAllowed = 'Contains characters that are not allowed.';
const oneLine = (max: number) => z.string().trim().max(max, `At most ${max} characters.`).refine((v) => !ANY_CONTROL.test(v), notAllowed).default('');
const multiLine = (max: number) =>
  z
    .string()
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().max(max, `At most ${max} characters.`).refine((v) => !MULTILINE_CONTROL.test(v), notAllowed))
    .default('');
const privacyDefaults = z.object({ organizer_contact: oneLine(300), privacy_notice: multiLine(5000), controller_contact: multiLine(1000) });

const userIdParam = z.string().min(1).max(64);

/** Current member's role: the org guard always sets the membership on `/orgs/:orgSlug` routes. */
function roleOf(c: C): OrgRole {
  const m = c.get('membership');
  if (!m) throw new Error('org route without membership');
  return m.role;
}

const statusFor = (error: string): ContentfulStatusCode => (error === 'forbidden' || error === 'role' ? 403 : error === 'unknown' ? 404 : 409);

const memberFlashes: Record<string, string> = {
  invited: 'Invitation sent.',
  role: 'Role changed. Their API tokens were revoked.',
  disabled: 'Member disabled. Their API tokens for this organization were revoked.',
  enabled: 'Member enabled again.',
  removed: 'Member removed.',
  'invitation-revoked': 'Invitation revoked.',
  scope: 'Event access saved.',
};

const settingsFlashes: Record<string, string> = {
  '2fa-on': 'Two-factor authentication is now required for members.',
  '2fa-off': 'Two-factor authentication is no longer required.',
  ip: 'Allowed addresses saved.',
  privacy: 'Defaults for new events saved. Existing events keep their own texts.',
  sessions: 'Session lengths saved. They apply from the next request of each member.',
  accent: 'Accent colour saved. Your public pages use it now.',
  'accent-reset': 'Accent colour reset to the default.',
  logo: 'Logo saved. Your public pages show it now.',
  'logo-removed': 'Logo removed.',
};

export type SettingsExtra = { flash?: FlashMsg; errors?: Record<string, string>; allowlist?: string; privacy?: Record<string, string>; accent?: string };

/** The organization's settings page, also shown again with errors by the branding routes (branding-routes.tsx). */
export function settingsPage(c: C, extra: SettingsExtra = {}, status: ContentfulStatusCode = 200) {
  const ctx = c.get('app');
  const org = ctx.orgs.bySlug(c.get('org').slug) ?? c.get('org');
  const key = c.req.query('done');
  const done: FlashMsg | undefined = key && settingsFlashes[key] ? { kind: 'ok', text: settingsFlashes[key] } : undefined;
  const branding = ctx.branding.of(org.id);
  return render(
    c,
    `Settings · ${org.name}`,
    <SettingsPage
      csrf={c.get('csrfToken')}
      org={org}
      role={roleOf(c)}
      members={ctx.orgs.members(org.id)}
      allowlist={extra.allowlist ?? allowlistOf(org).join('\n')}
      clientIp={c.get('clientIp')}
      privacy={{
        organizer_contact: extra.privacy?.organizer_contact ?? org.organizer_contact,
        privacy_notice: extra.privacy?.privacy_notice ?? org.privacy_notice,
        controller_contact: extra.privacy?.controller_contact ?? org.controller_contact,
      }}
      branding={{ accent: branding.accent, typed: extra.accent, logo: branding.logo ? { ...branding.logo, url: ctx.branding.publicBrand(org).logo!.url } : null }}
      flash={extra.flash ?? done}
      errors={extra.errors}
    />,
    status,
  );
}

/** Organizations, their members, settings and API tokens, and the JSON API. Accepting an invitation (`/invite`) is in `invite-routes.tsx`. */
export function orgRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  const flashFrom = (c: C, table: Record<string, string>): FlashMsg | undefined => {
    const key = c.req.query('done');
    return key && table[key] ? { kind: 'ok', text: table[key] } : undefined;
  };

  // ---- organizations -------------------------------------------------------------------------

  const orgsPage = (c: C, extra: { errors?: Record<string, string>; values?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) => {
    const user = c.get('user')!;
    return render(c, 'Organizations', <OrgsPage csrf={c.get('csrfToken')} orgs={c.get('app').orgs.forUser(user.id)} canCreate={user.instance_role !== null} {...extra} />, status);
  };

  r.get('/orgs', { kind: 'user' }, (c) => orgsPage(c));

  r.post('/orgs', { kind: 'instance-admin' }, async (c) => {
    const form = await parseForm(c, z.object({ name: text(120), slug }));
    if (!form.ok) return orgsPage(c, { errors: form.errors, values: form.values }, 400);
    const res = c.get('app').orgs.createOrg(c.get('user')!, form.data, auditCtx(c));
    if (!res.ok) return orgsPage(c, { errors: { slug: res.message }, values: form.data }, 409);
    return c.redirect(`/orgs/${res.org.slug}`, 303);
  });

  r.get('/orgs/:orgSlug', { kind: 'org', permission: 'org.read' }, (c) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const myRole = roleOf(c);
    const data = ctx.dashboard.build(org, c.get('membership')!);
    return render(c, org.name, <OrgDashboard org={org} role={myRole} data={data} now={ctx.now()} canReadAttendees={roleHas(myRole, 'attendees.read')} />);
  });

  r.get('/orgs/:orgSlug/permissions', { kind: 'org', permission: 'org.read' }, (c) => render(c, 'Roles and permissions', <PermissionsPage org={c.get('org')} role={roleOf(c)} />));

  // ---- members -------------------------------------------------------------------------------

  const membersPage = (c: C, extra: { flash?: FlashMsg; errors?: Record<string, string>; values?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const myRole = roleOf(c);
    return render(
      c,
      `Members · ${org.name}`,
      <MembersPage
        csrf={c.get('csrfToken')}
        org={org}
        role={myRole}
        viewerId={c.get('user')!.id}
        members={ctx.orgs.members(org.id)}
        invitations={ctx.orgs.openInvitations(org.id)}
        now={ctx.now()}
        canManage={roleHas(myRole, 'members.manage')}
        assignable={assignableRoles(myRole)}
        events={roleHas(myRole, 'members.manage') ? ctx.events.list(org, null).map((e) => ({ id: e.id, title: e.title })) : undefined}
        flash={extra.flash ?? flashFrom(c, memberFlashes)}
        errors={extra.errors}
        values={extra.values}
      />,
      status,
    );
  };
  const membersUrl = (c: C, done?: string) => `/orgs/${c.get('org').slug}/members${done ? `?done=${done}` : ''}`;
  const failed = (c: C, res: { error: string; message: string }) => membersPage(c, { flash: { kind: 'error', text: res.message } }, statusFor(res.error));

  r.get('/orgs/:orgSlug/members', { kind: 'org', permission: 'members.read' }, (c) => membersPage(c));

  r.post('/orgs/:orgSlug/members/invite', { kind: 'org', permission: 'members.manage' }, async (c) => {
    const org = c.get('org');
    const form = await parseForm(c, z.object({ email, role }));
    if (!form.ok) return membersPage(c, { errors: form.errors, values: form.values }, 400);
    const res = c.get('app').orgs.invite(org, c.get('user')!, roleOf(c), form.data, auditCtx(c, org.id));
    if (!res.ok) {
      if (res.error === 'throttled') {
        if (res.retryAfterMs) c.header('Retry-After', retryAfterSeconds(res.retryAfterMs));
        return membersPage(c, { flash: { kind: 'error', text: res.message }, values: form.data }, 429);
      }
      const errors: Record<string, string> = res.error === 'member' ? { email: res.message } : { role: res.message };
      return membersPage(c, { errors, values: form.data }, statusFor(res.error));
    }
    return c.redirect(membersUrl(c, 'invited'), 303);
  });

  r.post('/orgs/:orgSlug/members/:userId/role', { kind: 'org', permission: 'members.manage' }, async (c) => {
    const redirect = requireRecentAuth(c, membersUrl(c));
    if (redirect) return redirect;
    const org = c.get('org');
    const form = await parseForm(c, z.object({ role }));
    if (!form.ok) return membersPage(c, { flash: { kind: 'error', text: 'Choose a valid role.' } }, 400);
    const res = c.get('app').orgs.changeRole(org, roleOf(c), userIdParam.parse(c.req.param('userId')), form.data.role, auditCtx(c, org.id));
    return res.ok ? c.redirect(membersUrl(c, 'role'), 303) : failed(c, res);
  });

  r.post('/orgs/:orgSlug/members/:userId/scope', { kind: 'org', permission: 'members.manage' }, async (c) => {
    const redirect = requireRecentAuth(c, membersUrl(c));
    if (redirect) return redirect;
    const org = c.get('org');
    const form = await parseForm(c, z.object({ mode: z.enum(['all', 'some']), events: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(64)).max(1000)) }));
    if (!form.ok) return membersPage(c, { flash: { kind: 'error', text: 'Choose "all events" or some events.' } }, 400);
    const ids = form.data.mode === 'all' ? null : form.data.events;
    if (ids !== null && ids.length === 0) return membersPage(c, { flash: { kind: 'error', text: 'Choose at least one event, or "all events".' } }, 400);
    if (ids?.some((id) => !/^[0-9a-f-]{36}$/.test(id) || !c.get('app').events.get(org, id))) return membersPage(c, { flash: { kind: 'error', text: 'One of the chosen events does not exist.' } }, 400);
    const res = c.get('app').orgs.setEventScope(org, userIdParam.parse(c.req.param('userId')), ids, auditCtx(c, org.id));
    if (!res.ok) return membersPage(c, { flash: { kind: 'error', text: res.message } }, res.error === 'unknown' ? 404 : 409);
    return c.redirect(membersUrl(c, 'scope'), 303);
  });

  for (const action of ['disable', 'enable'] as const) {
    r.post(`/orgs/:orgSlug/members/:userId/${action}`, { kind: 'org', permission: 'members.manage' }, (c) => {
      if (action === 'disable') {
        const redirect = requireRecentAuth(c, membersUrl(c));
        if (redirect) return redirect;
      }
      const org = c.get('org');
      const res = c.get('app').orgs.setMemberDisabled(org, c.get('user')!, roleOf(c), userIdParam.parse(c.req.param('userId')), action === 'disable', auditCtx(c, org.id));
      return res.ok ? c.redirect(membersUrl(c, `${action}d`), 303) : failed(c, res);
    });
  }

  r.post('/orgs/:orgSlug/members/:userId/remove', { kind: 'org', permission: 'members.manage' }, (c) => {
    const redirect = requireRecentAuth(c, membersUrl(c));
    if (redirect) return redirect;
    const org = c.get('org');
    const userId = userIdParam.parse(c.req.param('userId'));
    const res = c.get('app').orgs.removeMember(org, roleOf(c), userId, auditCtx(c, org.id));
    if (!res.ok) return failed(c, res);
    // Someone who removed themselves can no longer see the members page.
    return c.redirect(userId === c.get('user')!.id ? '/orgs' : membersUrl(c, 'removed'), 303);
  });

  r.post('/orgs/:orgSlug/invitations/:id/revoke', { kind: 'org', permission: 'members.manage' }, (c) => {
    const org = c.get('org');
    const ok = c.get('app').orgs.revokeInvitation(org, userIdParam.parse(c.req.param('id')), auditCtx(c, org.id));
    if (!ok) return membersPage(c, { flash: { kind: 'error', text: 'That invitation was already used, revoked or does not exist.' } }, 404);
    return c.redirect(membersUrl(c, 'invitation-revoked'), 303);
  });

  // ---- settings --------------------------------------------------------------------------------

  r.get('/orgs/:orgSlug/settings', { kind: 'org', permission: 'org.settings' }, (c) => settingsPage(c));

  r.post('/orgs/:orgSlug/settings/2fa', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const form = await parseForm(c, z.object({ require2fa: z.literal('on').optional() }));
    if (!form.ok) return settingsPage(c, { flash: { kind: 'error', text: 'The form could not be read; try again.' } }, 400);
    const on = form.data.require2fa === 'on';
    c.get('app').orgs.setRequire2fa(org, on, auditCtx(c, org.id));
    return c.redirect(`/orgs/${org.slug}/settings?done=${on ? '2fa-on' : '2fa-off'}`, 303);
  });

  r.post('/orgs/:orgSlug/settings/ip-allowlist', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const form = await parseForm(c, z.object({ allowlist: z.string().max(5000, 'At most 5000 characters.').default('') }));
    if (!form.ok) return settingsPage(c, { errors: form.errors, allowlist: (form.values.allowlist ?? '').slice(0, 5000) }, 400);
    const parsed = parseCidrList(form.data.allowlist);
    if (!parsed.ok) return settingsPage(c, { errors: { allowlist: parsed.message }, allowlist: form.data.allowlist }, 400);
    const res = c.get('app').orgs.setAllowlist(org, parsed.cidrs, c.get('clientIp'), auditCtx(c, org.id));
    if (!res.ok) return settingsPage(c, { errors: { allowlist: res.message }, allowlist: form.data.allowlist }, 409);
    return c.redirect(`/orgs/${org.slug}/settings?done=ip`, 303);
  });

  r.post('/orgs/:orgSlug/settings/privacy', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const form = await parseForm(c, privacyDefaults);
    if (!form.ok) {
      const v = form.values;
      const kept = { organizer_contact: v.organizer_contact ?? '', privacy_notice: v.privacy_notice ?? '', controller_contact: v.controller_contact ?? '' };
      return settingsPage(c, { errors: form.errors, privacy: kept }, 400);
    }
    c.get('app').orgs.setPrivacyDefaults(org, form.data, auditCtx(c, org.id));
    return c.redirect(`/orgs/${org.slug}/settings?done=privacy`, 303);
  });

  r.post('/orgs/:orgSlug/settings/sessions', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const org = c.get('org');
    const [idleMin, idleMax] = SESSION_POLICY_BOUNDS.idleMinutes;
    const [absMin, absMax] = SESSION_POLICY_BOUNDS.absoluteHours;
    const whole = (min: number, max: number, unit: string) => z.coerce.number('Enter a number.').int('Enter a whole number.').min(min, `At least ${min} ${unit}.`).max(max, `At most ${max} ${unit}.`);
    const form = await parseForm(c, z.object({ idle_minutes: whole(idleMin, idleMax, 'minutes'), absolute_hours: whole(absMin, absMax, 'hours') }));
    if (!form.ok) return settingsPage(c, { errors: form.errors }, 400);
    c.get('app').orgs.setSessionPolicy(org, { idleMinutes: form.data.idle_minutes, absoluteHours: form.data.absolute_hours }, auditCtx(c, org.id));
    return c.redirect(`/orgs/${org.slug}/settings?done=sessions`, 303);
  });

  // ---- API tokens ------------------------------------------------------------------------------

  const tokensPage = (
    c: C,
    extra: { flash?: FlashMsg; created?: { name: string; token: string }; errors?: Record<string, string>; values?: Record<string, string>; selected?: string[] } = {},
    status: ContentfulStatusCode = 200,
  ) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const owners = new Map(ctx.orgs.members(org.id).map((m) => [m.user_id, m.name]));
    return render(
      c,
      `API tokens · ${org.name}`,
      <TokensPage
        csrf={c.get('csrfToken')}
        org={org}
        role={roleOf(c)}
        tokens={ctx.orgs.tokens(org.id)}
        now={ctx.now()}
        owners={owners}
        created={extra.created}
        flash={extra.flash ?? flashFrom(c, { revoked: 'Token revoked.' })}
        errors={extra.errors}
        values={extra.values}
        selected={extra.selected ?? []}
      />,
      status,
    );
  };

  r.get('/orgs/:orgSlug/tokens', { kind: 'org', permission: 'tokens.manage' }, (c) => tokensPage(c));

  r.post('/orgs/:orgSlug/tokens', { kind: 'org', permission: 'tokens.manage' }, async (c) => {
    const org = c.get('org');
    const redirect = requireRecentAuth(c, `/orgs/${org.slug}/tokens`);
    if (redirect) return redirect;
    const form = await parseForm(
      c,
      z.object({
        name: text(80),
        permissions: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.enum(permissionNames, 'Unknown permission.')).min(1, 'Choose at least one permission.')),
        days: z.coerce.number('Enter a number of days.').int('Enter whole days.').min(1, 'At least 1 day.').max(365, 'At most 365 days.'),
      }),
    );
    if (!form.ok) return tokensPage(c, { errors: form.errors, values: form.values, selected: (form.values.permissions ?? '').split(',') }, 400);
    const res = c.get('app').orgs.createToken(org, c.get('user')!, roleOf(c), form.data, auditCtx(c, org.id));
    if (!res.ok) return tokensPage(c, { errors: { permissions: res.message }, values: { name: form.data.name, days: String(form.data.days) } }, 403);
    return tokensPage(c, { created: { name: form.data.name, token: res.token } }, 201);
  });

  r.post('/orgs/:orgSlug/tokens/:id/revoke', { kind: 'org', permission: 'tokens.manage' }, (c) => {
    const org = c.get('org');
    const redirect = requireRecentAuth(c, `/orgs/${org.slug}/tokens`);
    if (redirect) return redirect;
    const ok = c.get('app').orgs.revokeToken(org, z.string().min(1).max(64).parse(c.req.param('id')), auditCtx(c, org.id));
    if (!ok) return tokensPage(c, { flash: { kind: 'error', text: 'That token was already revoked or does not exist.' } }, 404);
    return c.redirect(`/orgs/${org.slug}/tokens?done=revoked`, 303);
  });

  // The audit pages are in src/audit/routes.tsx.

  // ---- JSON API --------------------------------------------------------------------------------

  r.get('/api/v1/orgs/:orgSlug', { kind: 'org', permission: 'org.read', api: true }, (c) => {
    const org = c.get('org');
    return c.json({ id: org.id, slug: org.slug, name: org.name });
  });

  r.get('/api/v1/orgs/:orgSlug/members', { kind: 'org', permission: 'members.read', api: true }, (c) => {
    const members = c.get('app').orgs.members(c.get('org').id);
    return c.json(
      members.map((m) => ({ userId: m.user_id, name: m.name, email: m.email, role: m.role, status: m.disabled_at || m.user_disabled_at ? 'disabled' : 'active' })),
    );
  });

  return app;
}
