/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { RestoreTestResult } from '../../src/backup/restore-test-repo.ts';
import type { BackupStatus } from '../../src/backup/status-file.ts';
import { ActionButton } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { when } from '../components/when.ts';
import { TableBox } from '../components/table.tsx';

function verdict(r: RestoreTestResult): string {
  return r.ok === undefined ? 'skipped' : r.ok ? 'ok' : 'FAILED';
}

/** Backup status (from the running replicator) and the last restore tests. */
export function AdminBackupsPage({ csrf, status, running, results, flash }: { csrf: string; status: BackupStatus | undefined; running: boolean; results: RestoreTestResult[]; flash?: FlashMsg | undefined }) {
  return (
    <>
      <h1>Backups</h1>
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
            <TableBox label="Backup targets">
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
            </TableBox>
          </section>
          <section aria-labelledby="restore-tests">
            <h2 id="restore-tests">Restore tests</h2>
            <p>Every day the newest backup is restored into a temporary directory and compared, table by table, with live data at the same position. A failure emails the instance owners.</p>
            {running ? <p role="status">A restore test is running.</p> : <ActionButton action="/admin/backups/restore-test" label="Run a restore test now" csrf={csrf} />}
            {results.length === 0 ? (
              <p>No restore test has run yet.</p>
            ) : (
              <TableBox label="Restore tests">
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
              </TableBox>
            )}
          </section>
        </>
      ) : (
        <p>No backup target is configured, so nothing is backed up and there is nothing to test. Set --backup-dir or --backup-s3-url (see the README, "Backups and restore").</p>
      )}
    </>
  );
}
