/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type OrgRole, scopableRoles } from '../../src/orgs/permissions.ts';
import type { InvitationRow, OrgRow } from '../../src/orgs/repo.ts';
import type { MemberState, MemberWithState } from '../../src/orgs/service.ts';
import { ActionButton, Csrf, Field, FieldError, type FormState } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
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
  const { csrf, org, role, members, invitations, canManage, assignable, errors = {}, values = {} } = p;
  const base = `/orgs/${org.slug}`;
  return (
    <>
      <h1>Members of {org.name}</h1>
      <FlashBox flash={p.flash} />
      <TableBox label="Members">
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
            const self = m.user_id === p.viewerId;
            return (
              <tr data-member={m.user_id}>
                <td>
                  {m.name}
                  {self ? ' (you)' : ''}
                </td>
                <td>{m.email}</td>
                <td>
                  {canManage && assignable.includes(m.role) ? (
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
                <td>{memberStateLabels[m.state]}</td>
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
      </TableBox>

      <h2>Open invitations</h2>
      {invitations.length === 0 ? (
        <p>No open invitations.</p>
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
