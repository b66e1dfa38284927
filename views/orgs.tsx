/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { AuditRow } from '../src/audit/repo.ts';
import type { FieldErrors } from '../src/http/forms.ts';
import { type OrgRole, type Permission, orgRoles, permissions, roleDescriptions, roleHas, rolePermissions, scopableRoles } from '../src/orgs/permissions.ts';
import type { ApiTokenRow, InvitationRow, MemberView, OrgPrivacyDefaults, OrgRow } from '../src/orgs/repo.ts';
import { ActionButton, Csrf, Field, FieldError, Flash, FlashBox, type FlashMsg, when } from './components.tsx';

type FormState = { errors?: FieldErrors; values?: Record<string, string> };



function RoleSelect({ name, id, label, roles, selected, error }: { name: string; id: string; label: string; roles: readonly OrgRole[]; selected?: string | undefined; error?: string | undefined }) {
  // The select sits outside its label: inside, its current option would become part of the label's name.
  return (
    <>
      <label for={id}>{label}</label>
      <select id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-error` : undefined}>
        {roles.map((r) => (
          <option value={r} selected={r === selected}>
            {r}
          </option>
        ))}
      </select>
      <FieldError id={id} error={error} />
    </>
  );
}

const orgPages: { path: string; label: string; permission: Permission }[] = [
  { path: '', label: 'Dashboard', permission: 'org.read' },
  { path: '/events', label: 'Events', permission: 'events.read' },
  { path: '/members', label: 'Members', permission: 'members.read' },
  { path: '/settings', label: 'Settings', permission: 'org.settings' },
  { path: '/tokens', label: 'API tokens', permission: 'tokens.manage' },
  { path: '/audit', label: 'Audit log', permission: 'audit.read' },
  { path: '/permissions', label: 'Roles and permissions', permission: 'org.read' },
];

/** The organization's sub-navigation: only the pages this role can open. */
export function OrgNav({ org, role }: { org: OrgRow; role: OrgRole }) {
  return (
    <nav aria-label={`${org.name} pages`}>
      <ul>
        {orgPages
          .filter((p) => roleHas(role, p.permission))
          .map((p) => (
            <li>
              <a href={`/orgs/${org.slug}${p.path}`}>{p.label}</a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

// ---- organizations list -------------------------------------------------------------------------

export function OrgsPage({ csrf, orgs, canCreate, errors = {}, values = {} }: { csrf: string; orgs: (OrgRow & { role: OrgRole })[]; canCreate: boolean } & FormState) {
  return (
    <>
      <h1>Your organizations</h1>
      {orgs.length === 0 ? (
        <p>You are not a member of any organization yet. An invitation from an organization's administrator brings you in.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Your role</th>
            </tr>
          </thead>
          <tbody>
            {orgs.map((o) => (
              <tr>
                <td>
                  <a href={`/orgs/${o.slug}`}>{o.name}</a>
                </td>
                <td>{o.role}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canCreate ? (
        <article>
          <h2>Create organization</h2>
          <form method="post" action="/orgs">
            <Csrf token={csrf} />
            <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={120} />
            <Field
              name="slug"
              label="Address"
              value={values.slug}
              error={errors.slug}
              required
              minlength={3}
              maxlength={40}
              pattern="[a-z0-9][a-z0-9\-]{1,38}[a-z0-9]"
              help="Used in links: /orgs/<address>. 3–40 lowercase letters, digits and hyphens."
            />
            <button type="submit">Create organization</button>
          </form>
        </article>
      ) : null}
    </>
  );
}

export function OrgDashboard({ org, role, counts }: { org: OrgRow; role: OrgRole; counts: { members: number; invitations: number } | null }) {
  return (
    <>
      <h1>{org.name}</h1>
      <p>
        Your role: <strong data-testid="my-role">{role}</strong> — {roleDescriptions[role]}
      </p>
      <OrgNav org={org} role={role} />
      {counts ? (
        <p>
          {counts.members} member{counts.members === 1 ? '' : 's'}, {counts.invitations} open invitation{counts.invitations === 1 ? '' : 's'}.
        </p>
      ) : null}
      <ul>
        <li>Two-factor authentication for members: {org.require_2fa ? 'required' : 'not required'}</li>
        <li>Staff network restriction: {org.ip_allowlist === '[]' ? 'none' : 'only allowed addresses'}</li>
      </ul>
    </>
  );
}

// ---- members ------------------------------------------------------------------------------------

/** Which events an organizer or check-in member may work on; a small form for those who manage members. */
function EventScope(p: { csrf: string; action: string; name: string; scope: string | null; events: { id: string; title: string }[]; canManage: boolean }) {
  const chosen = new Set<string>(p.scope ? (JSON.parse(p.scope) as string[]) : []);
  const summary = p.scope === null ? 'All events' : `Limited to ${chosen.size} event${chosen.size === 1 ? '' : 's'}`;
  if (!p.canManage) return <small data-testid="event-scope">{summary}</small>;
  return (
    <details>
      <summary data-testid="event-scope">{summary}</summary>
      <form method="post" action={p.action}>
        <input type="hidden" name="_csrf" value={p.csrf} />
        <fieldset>
          <legend>Events {p.name} may work on</legend>
          <label>
            <input type="radio" name="mode" value="all" checked={p.scope === null} /> All events
          </label>
          <label>
            <input type="radio" name="mode" value="some" checked={p.scope !== null} /> Limited to these events:
          </label>
          {p.events.length === 0 ? <small>No events yet.</small> : null}
          {p.events.map((e) => (
            <label>
              <input type="checkbox" name="events" value={e.id} checked={chosen.has(e.id)} /> {e.title}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="secondary">
          Save event access
        </button>
      </form>
    </details>
  );
}

export function MembersPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  viewerId: string;
  members: MemberView[];
  invitations: InvitationRow[];
  canManage: boolean;
  /** The organization's events, for limiting organizer/check-in members to some of them. */
  events?: { id: string; title: string }[] | undefined;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { csrf, org, role, members, invitations, canManage, errors = {}, values = {} } = p;
  // Only owners may hand out or take away the owner role; the form offers what the service allows.
  const assignable = role === 'owner' ? orgRoles : orgRoles.filter((r) => r !== 'owner');
  const base = `/orgs/${org.slug}`;
  return (
    <>
      <h1>Members of {org.name}</h1>
      <OrgNav org={org} role={role} />
      <FlashBox flash={p.flash} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">2FA</th>
            <th scope="col">Status</th>
            {canManage ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {members.map((m) => {
            const status = m.user_disabled_at ? 'disabled (account)' : m.disabled_at ? 'disabled' : 'active';
            const self = m.user_id === p.viewerId;
            return (
              <tr data-member={m.user_id}>
                <td>
                  {m.name}
                  {self ? ' (you)' : ''}
                </td>
                <td>{m.email}</td>
                <td>
                  {canManage && (role === 'owner' || m.role !== 'owner') ? (
                    <form method="post" action={`${base}/members/${m.user_id}/role`} class="inline-action">
                      <Csrf token={csrf} />
                      <select name="role" aria-label={`Role of ${m.name}`}>
                        {assignable.map((r) => (
                          <option value={r} selected={r === m.role}>
                            {r}
                          </option>
                        ))}
                      </select>
                      <button type="submit" class="secondary">
                        Change role
                      </button>
                    </form>
                  ) : (
                    m.role
                  )}
                  {scopableRoles.includes(m.role) ? <EventScope csrf={csrf} action={`${base}/members/${m.user_id}/scope`} name={m.name} scope={m.event_scope} events={p.events ?? []} canManage={canManage} /> : null}
                </td>
                <td>{m.totp_enabled ? 'on' : 'off'}</td>
                <td>{status}</td>
                {canManage ? (
                  <td>
                    {self ? null : m.disabled_at ? (
                      <ActionButton action={`${base}/members/${m.user_id}/enable`} label="Enable" csrf={csrf} />
                    ) : (
                      <ActionButton action={`${base}/members/${m.user_id}/disable`} label="Disable" csrf={csrf} confirm={`Disable ${m.name} in ${org.name}?`} />
                    )}
                    <ActionButton action={`${base}/members/${m.user_id}/remove`} label="Remove" csrf={csrf} variant="contrast" confirm={`Remove ${m.name} from ${org.name}?`} />
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>

      <h2>Open invitations</h2>
      {invitations.length === 0 ? (
        <p>No open invitations.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              {canManage ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {invitations.map((i) => (
              <tr data-invitation={i.id}>
                <td>{i.email}</td>
                <td>{i.role}</td>
                <td>{when(i.expires_at)}</td>
                {canManage ? (
                  <td>
                    <ActionButton action={`${base}/invitations/${i.id}/revoke`} label="Revoke" csrf={csrf} confirm={`Revoke the invitation to ${i.email}?`} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {canManage ? (
        <article>
          <h2>Invite someone</h2>
          <form method="post" action={`${base}/members/invite`}>
            <Csrf token={csrf} />
            <Field name="email" label="Email address" type="email" value={values.email} error={errors.email} required maxlength={254} help="We email a link that works once, for 7 days." />
            <RoleSelect name="role" id="f-role" label="Role" roles={assignable} selected={values.role ?? 'viewer'} error={errors.role} />
            <button type="submit">Send invitation</button>
          </form>
          <p>
            <a href={`${base}/permissions`}>What each role may do</a>
          </p>
        </article>
      ) : null}
    </>
  );
}

// ---- settings -----------------------------------------------------------------------------------

export function SettingsPage(p: { csrf: string; org: OrgRow; role: OrgRole; members: MemberView[]; allowlist: string; clientIp: string | null; privacy: OrgPrivacyDefaults; flash?: FlashMsg | undefined } & FormState) {
  const { csrf, org, role, members, errors = {} } = p;
  const base = `/orgs/${org.slug}/settings`;
  const without = members.filter((m) => !m.totp_enabled);
  return (
    <>
      <h1>Settings of {org.name}</h1>
      <OrgNav org={org} role={role} />
      <FlashBox flash={p.flash} />
      <article>
        <h2>Two-factor authentication</h2>
        <form method="post" action={`${base}/2fa`}>
          <Csrf token={csrf} />
          <label for="f-require2fa">
            <input id="f-require2fa" type="checkbox" role="switch" name="require2fa" value="on" checked={org.require_2fa === 1} />
            Require two-factor authentication for members
          </label>
          <small>Members without it are sent to set it up before they can open anything else.</small>
          <button type="submit">Save</button>
        </form>
        <h3>Who uses it</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">2FA</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr>
                <td>{m.name}</td>
                <td>{m.totp_enabled ? 'on' : 'off'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>{without.length === 0 ? 'Every member uses two-factor authentication.' : `${without.length} member${without.length === 1 ? '' : 's'} without it.`}</p>
      </article>
      <article>
        <h2>Allowed network addresses</h2>
        <p>
          When this list is not empty, staff of this organization can only connect from these addresses. Your current address is{' '}
          <code data-testid="client-ip">{p.clientIp ?? 'unknown'}</code>.
        </p>
        <form method="post" action={`${base}/ip-allowlist`}>
          <Csrf token={csrf} />
          <label for="f-allowlist">
            IP addresses and ranges, one per line (empty: no restriction)
            <textarea id="f-allowlist" name="allowlist" rows={5} maxlength={5000} aria-invalid={errors.allowlist ? 'true' : undefined} aria-describedby={errors.allowlist ? 'f-allowlist-help f-allowlist-error' : 'f-allowlist-help'}>
              {p.allowlist}
            </textarea>
            <small id="f-allowlist-help">Examples: 203.0.113.0/24, 198.51.100.7, 2001:db8::/32.</small>
            <FieldError id="f-allowlist" error={errors.allowlist} />
          </label>
          <button type="submit">Save allowed addresses</button>
        </form>
      </article>
      <PrivacyDefaults csrf={csrf} action={`${base}/privacy`} values={p.privacy} errors={errors} />
    </>
  );
}

function DefaultText(p: { name: keyof OrgPrivacyDefaults; label: string; help: string; value: string; error?: string | undefined; maxlength: number; rows?: number }) {
  const id = `f-${p.name}`;
  const described = p.error ? `${id}-help ${id}-error` : `${id}-help`;
  return (
    <label for={id}>
      {p.label}
      {p.rows ? (
        <textarea id={id} name={p.name} rows={p.rows} maxlength={p.maxlength} aria-invalid={p.error ? 'true' : undefined} aria-describedby={described}>
          {p.value}
        </textarea>
      ) : (
        <input id={id} name={p.name} type="text" value={p.value} maxlength={p.maxlength} aria-invalid={p.error ? 'true' : undefined} aria-describedby={described} />
      )}
      <small id={`${id}-help`}>{p.help}</small>
      <FieldError id={id} error={p.error} />
    </label>
  );
}

function PrivacyDefaults(p: { csrf: string; action: string; values: OrgPrivacyDefaults; errors: FieldErrors }) {
  const { values, errors } = p;
  return (
    <article>
      <h2>Defaults for new events</h2>
      <p>
        The "New event" form starts with these. Each event keeps its own copy: changing them here does not change events that already exist, so edit those events
        one by one if their text should change too.
      </p>
      {errors.organizer_contact || errors.privacy_notice || errors.controller_contact ? <Flash kind="error">Nothing was saved: please correct the marked fields.</Flash> : null}
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <DefaultText name="organizer_contact" label="Organizer contact (optional)" value={values.organizer_contact} error={errors.organizer_contact} maxlength={300} help="An email address or phone number for questions, on one line." />
        <DefaultText name="privacy_notice" label="Privacy notice (optional)" value={values.privacy_notice} error={errors.privacy_notice} maxlength={5000} rows={4} help="How attendees' data is used and how long it is kept." />
        <DefaultText name="controller_contact" label="Data controller contact (optional)" value={values.controller_contact} error={errors.controller_contact} maxlength={1000} rows={2} help="Who is responsible for the data (name and address)." />
        <button type="submit">Save defaults</button>
      </form>
    </article>
  );
}

// ---- API tokens ---------------------------------------------------------------------------------

export function TokensPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  tokens: ApiTokenRow[];
  owners: Map<string, string>;
  now: number;
  created?: { name: string; token: string } | undefined;
  flash?: FlashMsg | undefined;
  selected?: string[];
} & FormState) {
  const { csrf, org, role, errors = {}, values = {} } = p;
  const base = `/orgs/${org.slug}/tokens`;
  const selected = new Set(p.selected ?? []);
  const statusOf = (t: ApiTokenRow) => (t.revoked_at !== null ? 'revoked' : t.expires_at <= p.now ? 'expired' : 'active');
  return (
    <>
      <h1>API tokens of {org.name}</h1>
      <OrgNav org={org} role={role} />
      <FlashBox flash={p.flash} />
      {p.created ? (
        <article>
          <h2>Token "{p.created.name}" created</h2>
          <Flash kind="ok">Copy it now: it is shown only this once.</Flash>
          <p>
            <code class="token" data-testid="new-token">
              {p.created.token}
            </code>
          </p>
          <p>
            Send it as <code>Authorization: Bearer …</code> to <code>/api/v1/orgs/{org.slug}</code>.
          </p>
        </article>
      ) : null}
      {p.tokens.length === 0 ? (
        <p>No API tokens yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created by</th>
              <th scope="col">Permissions</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.tokens.map((t) => (
              <tr data-token={t.id}>
                <td>{t.name}</td>
                <td>{p.owners.get(t.user_id) ?? 'former member'}</td>
                <td>{(JSON.parse(t.permissions) as string[]).join(', ')}</td>
                <td>{when(t.created_at)}</td>
                <td>{when(t.expires_at)}</td>
                <td>{when(t.last_used_at)}</td>
                <td>{statusOf(t)}</td>
                <td>{statusOf(t) === 'active' ? <ActionButton action={`${base}/${t.id}/revoke`} label="Revoke" csrf={csrf} confirm={`Revoke the token ${t.name}?`} /> : null}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <article>
        <h2>Create a token</h2>
        <p>A token acts for you, with at most the permissions of your role. It stops working when revoked, when it expires, or when your role changes.</p>
        <form method="post" action={base}>
          <Csrf token={csrf} />
          <Field name="name" label="Name" value={values.name} error={errors.name} required maxlength={80} help="What the token is for, e.g. the name of the script that uses it." />
          <fieldset aria-describedby={errors.permissions ? 'f-permissions-error' : undefined}>
            <legend>Permissions</legend>
            {rolePermissions[role].map((perm) => (
              <label for={`f-perm-${perm}`}>
                <input id={`f-perm-${perm}`} type="checkbox" name="permissions" value={perm} checked={selected.has(perm)} />
                <code>{perm}</code> — {permissions[perm]}
              </label>
            ))}
            <FieldError id="f-permissions" error={errors.permissions} />
          </fieldset>
          <Field name="days" label="Valid for (days)" type="number" value={values.days ?? '90'} error={errors.days} required inputmode="numeric" help="1 to 365 days." />
          <button type="submit">Create token</button>
        </form>
      </article>
    </>
  );
}

// ---- permissions and audit ------------------------------------------------------------------------

/** The role → permission table, read-only; the same one the guard enforces. */
export function PermissionsTable() {
  const perms = Object.keys(permissions) as Permission[];
  return (
    <>
      <table>
        <thead>
          <tr>
            <th scope="col">Permission</th>
            {orgRoles.map((r) => (
              <th scope="col">{r}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {perms.map((perm) => (
            <tr>
              <th scope="row">
                <code>{perm}</code>
                <br />
                <small>{permissions[perm]}</small>
              </th>
              {orgRoles.map((r) => (
                <td>{roleHas(r, perm) ? <span aria-label="yes">✓</span> : <span aria-label="no">–</span>}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <dl>
        {orgRoles.map((r) => (
          <>
            <dt>{r}</dt>
            <dd>{roleDescriptions[r]}</dd>
          </>
        ))}
      </dl>
    </>
  );
}

export function PermissionsPage({ org, role }: { org: OrgRow; role: OrgRole }) {
  return (
    <>
      <h1>Roles and permissions</h1>
      <OrgNav org={org} role={role} />
      <p>
        What each role may do in {org.name}. Your role is <strong>{role}</strong>.
      </p>
      <PermissionsTable />
    </>
  );
}

export function AuditPage({ org, role, rows, names }: { org: OrgRow; role: OrgRole; rows: AuditRow[]; names: Map<string, string> }) {
  const actor = (r: AuditRow) => {
    if (r.actor_type === 'system') return 'system';
    const name = r.actor_id ? names.get(`${r.actor_type}:${r.actor_id}`) : undefined;
    return `${r.actor_type === 'api_token' ? 'API token' : r.actor_type} ${name ?? r.actor_id?.slice(0, 8) ?? ''}`.trim();
  };
  return (
    <>
      <h1>Audit log of {org.name}</h1>
      <OrgNav org={org} role={role} />
      <p>The latest {rows.length} entries, newest first.</p>
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-action={r.action}>
              <td>{when(r.at)}</td>
              <td>{actor(r)}</td>
              <td>
                <code>{r.action}</code>
              </td>
              <td>{r.target_type ? `${r.target_type} ${names.get(`${r.target_type}:${r.target_id}`) ?? r.target_id ?? ''}`.trim() : '–'}</td>
              <td>{r.result}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

// ---- invitation acceptance ------------------------------------------------------------------------

export function InviteInvalid() {
  return (
    <article>
      <h1>Invitation not usable</h1>
      <Flash kind="error">This invitation link is invalid, expired, revoked or already used.</Flash>
      <p>Ask the person who invited you to send a new invitation.</p>
    </article>
  );
}

type InviteInfo = { csrf: string; token: string; orgName: string; role: OrgRole; email: string };

export function InviteJoin({ csrf, token, orgName, role }: InviteInfo) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>: {roleDescriptions[role]}
      </p>
      <form method="post" action="/invite">
        <Csrf token={csrf} />
        <input type="hidden" name="token" value={token} />
        <button type="submit">
          Join {orgName} as {role}
        </button>
      </form>
    </article>
  );
}

export function InviteWrongAccount({ csrf, orgName, email, signedInAs }: InviteInfo & { signedInAs: string }) {
  return (
    <article>
      <h1>This invitation is for someone else</h1>
      <p>
        The invitation to {orgName} was sent to <strong>{email}</strong>, but you are signed in as <strong>{signedInAs}</strong>.
      </p>
      <p>Sign out, then open the invitation link again and sign in (or register) with the invited address.</p>
      <ActionButton action="/logout" label="Sign out" csrf={csrf} />
    </article>
  );
}

export function InviteSignIn({ token, orgName, role, email }: InviteInfo) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>. An account for <strong>{email}</strong> already exists: sign in to accept the invitation.
      </p>
      <p>
        <a role="button" href={`/login?next=${encodeURIComponent(`/invite?token=${token}`)}`}>
          Sign in to accept
        </a>
      </p>
    </article>
  );
}

export function InviteRegister({ csrf, token, orgName, role, email, errors = {}, values = {} }: InviteInfo & FormState) {
  return (
    <article>
      <h1>Join {orgName}</h1>
      <p>
        You were invited to {orgName} as <strong>{role}</strong>. Create your account to accept.
      </p>
      <form method="post" action="/invite">
        <Csrf token={csrf} />
        <input type="hidden" name="token" value={token} />
        <label for="f-email">
          Email address
          <input id="f-email" type="email" value={email} readonly aria-describedby="f-email-help" />
          <small id="f-email-help">The address the invitation was sent to.</small>
        </label>
        <Field name="name" label="Your name" value={values.name} error={errors.name} required autocomplete="name" maxlength={120} />
        <Field
          name="password"
          label="Password"
          type="password"
          error={errors.password}
          required
          autocomplete="new-password"
          minlength={12}
          maxlength={256}
          help="At least 12 characters. A few unrelated words make a strong, memorable password."
        />
        <button type="submit">Create account and join</button>
      </form>
    </article>
  );
}
