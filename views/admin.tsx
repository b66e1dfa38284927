/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { UserRow } from '../src/auth/repo.ts';
import type { RestoreTestResult } from '../src/backup/restore-test-repo.ts';
import type { BackupStatus } from '../src/backup/status-file.ts';
import type { OutboxRow } from '../src/mail/service.ts';
import { ActionButton, Flash, FlashBox } from './components.tsx';
import { type FlashMsg, when } from './components.tsx';
import { PermissionsTable } from './orgs.tsx';

export function AdminNav() {
  return (
    <nav aria-label="Administration pages">
      <ul>
        <li>
          <a href="/admin/users">Users</a>
        </li>
        <li>
          <a href="/admin/mail">Mail</a>
        </li>
        <li>
          <a href="/admin/permissions">Roles and permissions</a>
        </li>
        <li>
          <a href="/admin/backups">Backups</a>
        </li>
      </ul>
    </nav>
  );
}

export interface AdminUserView {
  user: UserRow;
  locked: boolean;
}

export function AdminUsersPage({ csrf, users, viewerId, flash }: { csrf: string; users: AdminUserView[]; viewerId: string; flash?: FlashMsg | undefined }) {
  return (
    <>
      <h1>Users</h1>
      <AdminNav />
      <FlashBox flash={flash} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Instance role</th>
            <th scope="col">2FA</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map(({ user: u, locked }) => {
            const status = [u.disabled_at ? 'disabled' : 'active', locked ? 'locked' : ''].filter(Boolean).join(', ');
            return (
              <tr data-user={u.id}>
                <td>
                  {u.name}
                  {u.id === viewerId ? ' (you)' : ''}
                </td>
                <td>{u.email}</td>
                <td>{u.instance_role ?? '–'}</td>
                <td>{u.totp_secret ? 'on' : 'off'}</td>
                <td>{status}</td>
                <td>
                  {u.id === viewerId ? null : u.disabled_at ? (
                    <ActionButton action={`/admin/users/${u.id}/enable`} label="Enable" csrf={csrf} />
                  ) : (
                    <ActionButton action={`/admin/users/${u.id}/disable`} label="Disable" csrf={csrf} variant="contrast" confirm={`Disable ${u.name}? All their sessions and API tokens end now.`} />
                  )}
                  {locked ? <ActionButton action={`/admin/users/${u.id}/unlock`} label="Unlock sign-in" csrf={csrf} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

export function AdminMailPage({ devMode, messages }: { devMode: boolean; messages: OutboxRow[] }) {
  return (
    <>
      <h1>Mail</h1>
      <AdminNav />
      {devMode ? (
        <>
          <Flash kind="error">No SMTP server is configured: mail is not sent but kept here, so you can open the links yourself. Set --smtp-url (or TESSERA_SMTP_URL) to send it.</Flash>
          {messages.length === 0 ? <p>No messages yet.</p> : null}
          {messages.map((m) => (
            <article data-mail={m.id}>
              <header>
                <strong>{m.subject}</strong>
                <br />
                <small>
                  To {m.to_address} · {when(m.created_at)}
                </small>
              </header>
              <pre>{m.text_body}</pre>
            </article>
          ))}
        </>
      ) : (
        <p>An SMTP server is configured: mail is delivered, and not kept here.</p>
      )}
    </>
  );
}

export function AdminPermissionsPage() {
  return (
    <>
      <h1>Roles and permissions</h1>
      <AdminNav />
      <p>What each organization role may do. The same table applies in every organization.</p>
      <PermissionsTable />
    </>
  );
}

function verdict(r: RestoreTestResult): string {
  return r.ok === undefined ? 'skipped' : r.ok ? 'ok' : 'FAILED';
}

/** Backup status (from the running replicator) and the last restore tests. */
export function AdminBackupsPage({ csrf, status, running, results, flash }: { csrf: string; status: BackupStatus | undefined; running: boolean; results: RestoreTestResult[]; flash?: FlashMsg | undefined }) {
  return (
    <>
      <h1>Backups</h1>
      <AdminNav />
      <FlashBox flash={flash} />
      {status ? (
        <>
          <section aria-labelledby="backup-status">
            <h2 id="backup-status">Continuous backup</h2>
            <dl>
              <dt>Lag</dt>
              <dd data-lag>{Math.round(status.lagSeconds)} s</dd>
              <dt>Generation</dt>
              <dd>{status.generation ?? '–'}</dd>
              <dt>Position</dt>
              <dd>{status.position ? `WAL ${status.position.walIndex}, frame ${status.position.frame}, next segment ${status.position.nextSegment}` : '–'}</dd>
              <dt>Last snapshot</dt>
              <dd>{status.lastSnapshot ? `${status.lastSnapshot.key} (${when(status.lastSnapshot.time)})` : '–'}</dd>
              <dt>Last segment</dt>
              <dd>{status.lastSegment ? `${status.lastSegment.key} (${when(status.lastSegment.time)})` : '–'}</dd>
            </dl>
            <table>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Lag</th>
                  <th scope="col">Waiting objects</th>
                  <th scope="col">Last shipped</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {status.targets.map((t) => (
                  <tr data-target={t.target}>
                    <td>{t.target}</td>
                    <td>{Math.round(t.lagSeconds)} s</td>
                    <td>{t.pendingObjects}</td>
                    <td>{t.lastShipped ? `${t.lastShipped.key} (${when(t.lastShipped.at)})` : '–'}</td>
                    <td>{t.lastError ?? '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section aria-labelledby="restore-tests">
            <h2 id="restore-tests">Restore tests</h2>
            <p>Every day the newest backup is restored into a temporary directory and compared, table by table, with live data at the same position. A failure emails the instance owners.</p>
            {running ? <p role="status">A restore test is running.</p> : <ActionButton action="/admin/backups/restore-test" label="Run a restore test now" csrf={csrf} />}
            {results.length === 0 ? (
              <p>No restore test has run yet.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Finished</th>
                    <th scope="col">Result</th>
                    <th scope="col">Restored to</th>
                    <th scope="col">Tables compared</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {results.map((r) => (
                    <tr data-restore-test={r.id} data-ok={verdict(r)}>
                      <td>{when(r.finishedAt)}</td>
                      <td>{verdict(r)}</td>
                      <td>{r.restoredTo ? when(r.restoredTo) : '–'}</td>
                      <td>{r.tablesCompared}</td>
                      <td>{(r.durationMs / 1000).toFixed(1)} s</td>
                      <td>{[r.error, r.mismatches.length ? `differs: ${r.mismatches.join(', ')}` : ''].filter(Boolean).join(' · ') || '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      ) : (
        <p>No backup target is configured, so nothing is backed up and there is nothing to test. Set --backup-dir or --backup-s3-url (see the README, "Backups and restore").</p>
      )}
    </>
  );
}
