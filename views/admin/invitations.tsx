/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { PendingInvitationRow } from '../../src/orgs/repo.ts';
import { ActionButton } from '../components/form.tsx';
import { when } from '../components/when.ts';

export type PendingInvitationView = PendingInvitationRow;

/** Open invitations of every organization, each with "Resend" (a new link; the old one stops working). */
export function PendingInvitations({ csrf, invitations }: { csrf: string; invitations: PendingInvitationView[] }) {
  return (
    <section aria-labelledby="pending-invitations">
      <h2 id="pending-invitations">Pending invitations</h2>
      {invitations.length === 0 ? (
        <p>No open invitations.</p>
      ) : (
        <div class="overflow-auto">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Organization</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {invitations.map((i) => (
              <tr data-invitation={i.id}>
                <td>{i.email}</td>
                <td>{i.org_name}</td>
                <td>{i.role}</td>
                <td>{when(i.expires_at)}</td>
                <td>
                  <ActionButton action={`/admin/invitations/${i.id}/resend`} label="Resend invitation" csrf={csrf} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}
