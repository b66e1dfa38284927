/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, scopableRoles } from '../../src/orgs/permissions.ts';
import type { InvitationRow, OrgRow } from '../../src/orgs/repo.ts';
import type { MemberState, MemberWithState } from '../../src/orgs/service.ts';
import { ActionButton, Csrf, Field, FieldError, type FormState } from '../components/form.tsx';
import { Empty, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { TableBox } from '../components/table.tsx';
import { Ago } from '../components/time.tsx';

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

const chosenEvents = (scope: string | null) => new Set<string>(scope ? (JSON.parse(scope) as string[]) : []);

/** Which events an organizer or check-in member may work on, in a few words. */
function EventScopeSummary({ scope }: { scope: string | null }) {
  const n = chosenEvents(scope).size;
  return <small data-testid="event-scope">{scope === null ? 'All events' : `Limited to ${n} event${n === 1 ? '' : 's'}`}</small>;
}

/** The form that narrows an organizer or check-in member to chosen events. */
function EventScope(p: { csrf: string; action: string; name: string; scope: string | null; events: { id: string; title: string }[] }) {
  const chosen = chosenEvents(p.scope);
  return (
    <form method="post" action={p.action} class="row-menu-form">
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
  );
}

const memberStateLabels: Record<MemberState, string> = { active: 'active', disabled: 'disabled', 'account disabled': 'disabled (account)' };

export function MembersPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  viewerId: string;
  members: MemberWithState[];
  invitations: InvitationRow[];
  now: number;
  canManage: boolean;
  /** The roles this viewer may give; members holding another role are shown, not offered a change. */
  assignable: readonly OrgRole[];
  /** The organization's events, for limiting organizer/check-in members to some of them. */
  events?: { id: string; title: string }[] | undefined;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { csrf, org, members, invitations, canManage, assignable, errors = {}, values = {} } = p;
  const activeOwners = members.filter((m) => m.role === 'owner' && m.state === 'active').length;
  const base = `/orgs/${org.slug}`;
  return (
    <>
      <h1>Members of {org.name}</h1>
      <FlashBox flash={p.flash} />
      <TableBox label="Members">
        <table class="members-table">
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              <th scope="col">2FA</th>
              <th scope="col">Status</th>
              {canManage ? (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => {
              const self = m.user_id === p.viewerId;
              const scoped = scopableRoles.includes(m.role);
              const mayChangeRole = canManage && assignable.includes(m.role);
              // Only what the service would allow: admins do not act on owners, nobody on the last owner.
              const mayActOn = !self && assignable.includes(m.role) && !(m.role === 'owner' && activeOwners <= 1);
              const hasMenu = mayChangeRole || scoped || mayActOn;
              return (
                <tr data-member={m.user_id}>
                  <td>
                    <strong>{m.name}</strong>
                    {self ? ' (you)' : ''}
                    <br />
                    <small class="wrap-anywhere">{m.email}</small>
                  </td>
                  <td>
                    {m.role}
                    {scoped ? (
                      <>
                        <br />
                        <EventScopeSummary scope={m.event_scope} />
                      </>
                    ) : null}
                  </td>
                  <td>{m.totp_enabled ? 'on' : 'off'}</td>
                  <td>{memberStateLabels[m.state]}</td>
                  {canManage ? (
                    <td>
                      {hasMenu ? (
                      <details class="row-menu">
                        <summary>
                          Manage<span class="visually-hidden"> {m.name}</span>
                        </summary>
                        <div class="row-menu-body">
                          {mayChangeRole ? (
                            <form method="post" action={`${base}/members/${m.user_id}/role`} class="row-menu-form">
                              <Csrf token={csrf} />
                              <label for={`role-${m.user_id}`}>Role of {m.name}</label>
                              <select id={`role-${m.user_id}`} name="role">
                                {assignable.map((r) => (
                                  <option value={r} selected={r === m.role}>
                                    {r}
                                  </option>
                                ))}
                              </select>
                              <button type="submit">Change role</button>
                            </form>
                          ) : null}
                          {scoped ? <EventScope csrf={csrf} action={`${base}/members/${m.user_id}/scope`} name={m.name} scope={m.event_scope} events={p.events ?? []} /> : null}
                          {mayActOn ? (
                            <div class="row-menu-actions">
                              {m.disabled_at ? (
                                <ActionButton action={`${base}/members/${m.user_id}/enable`} label="Enable" csrf={csrf} />
                              ) : (
                                <ActionButton action={`${base}/members/${m.user_id}/disable`} label="Disable" csrf={csrf} confirm={`Disable ${m.name} in ${org.name}?`} />
                              )}
                              <ActionButton action={`${base}/members/${m.user_id}/remove`} label="Remove" csrf={csrf} variant="contrast" confirm={`Remove ${m.name} from ${org.name}?`} />
                            </div>
                          ) : null}
                        </div>
                      </details>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableBox>

      <h2>Open invitations</h2>
      {invitations.length === 0 ? (
        <Empty>
          <p>No open invitations.</p>
        </Empty>
      ) : (
        <TableBox label="Open invitations">
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
                <td>
                  <Ago t={i.expires_at} now={p.now} />
                </td>
                {canManage ? (
                  <td>
                    <ActionButton action={`${base}/invitations/${i.id}/revoke`} label="Revoke" csrf={csrf} confirm={`Revoke the invitation to ${i.email}?`} />
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        </TableBox>
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
