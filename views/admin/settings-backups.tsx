/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TargetView } from '../../src/admin/backup-targets.ts';
import { ActionButton, Check, Csrf, Field, FieldError } from '../components/form.tsx';
import { TableBox } from '../components/table.tsx';
import { when } from '../components/when.ts';

/** A refused "add target" form: its messages and what was typed (never the secret). */
export interface TargetFormState {
  kind: 'dir' | 's3';
  errors: Record<string, string>;
  values: Record<string, string>;
}

/** What the Backups section shows: the targets, the intervals (flags/env) and the replicator's state. */
export interface BackupSummary {
  targets: TargetView[];
  /** saved targets removed since the start: still shipped to until the next start */
  removedRunning: number;
  restartPending: boolean;
  intervals: { label: string; value: string; source: string }[];
  lagSeconds?: number | undefined;
  position?: string | undefined;
  lastRestoreTest?: { at: string; ok: boolean | undefined } | undefined;
  /** whether the running server replicates at all (a target was configured at start) */
  running: boolean;
}

function TargetRow({ t, csrf }: { t: TargetView; csrf: string }) {
  return (
    <tr data-target={t.label} data-target-id={t.id}>
      <td>
        {t.label}
        {t.detail ? (
          <>
            <br />
            <small>{t.detail}</small>
          </>
        ) : null}
      </td>
      <td>{t.lockedBy ? <span data-locked="true">Locked: {t.lockedBy}</span> : 'Saved on this page'}</td>
      <td>{t.state === 'active' ? 'In use' : 'From the next start'}</td>
      <td>
        <ActionButton action="/admin/settings/backups/targets/test" label="Test connection" csrf={csrf} hidden={{ target: t.id }} />
        {t.lockedBy ? null : (
          <details class="remove-target">
            <summary>Remove…</summary>
            <p>
              <small>
                The objects already stored in {t.label} are kept: nothing there is deleted, and you can still restore from them with <code>tessera restore --from</code>. The server stops shipping to it
                at its next start.
              </small>
            </p>
            <ActionButton action="/admin/settings/backups/targets/remove" label={`Remove ${t.label}`} csrf={csrf} variant="contrast" hidden={{ target: t.id }} />
          </details>
        )}
      </td>
    </tr>
  );
}

function AddS3Form({ csrf, state }: { csrf: string; state?: TargetFormState | undefined }) {
  const e = state?.kind === 's3' ? state.errors : {};
  const v = state?.kind === 's3' ? state.values : {};
  return (
    <details open={state?.kind === 's3'} id="add-s3">
      <summary>Add an S3-compatible bucket</summary>
      <form method="post" action="/admin/settings/backups/targets/s3" novalidate>
        <Csrf token={csrf} />
        <FieldError id="f-connection" error={e.connection} />
        <Field name="endpoint" label="Endpoint" value={v.endpoint ?? ''} error={e.endpoint} help="For example https://s3.eu-central-003.backblazeb2.com; leave empty for AWS S3 in the region." maxlength={400} />
        <Field name="region" label="Region" value={v.region ?? 'us-east-1'} error={e.region} help="auto for Cloudflare R2." maxlength={40} />
        <Field name="bucket" label="Bucket" value={v.bucket ?? ''} error={e.bucket} maxlength={63} />
        <Field name="prefix" label="Prefix (optional)" value={v.prefix ?? ''} error={e.prefix} help="A folder inside the bucket, such as prod." maxlength={400} />
        <Field name="accessKeyId" label="Access key id" value={v.accessKeyId ?? ''} error={e.accessKeyId} autocomplete="off" maxlength={128} />
        <Field name="secretAccessKey" label="Secret access key" type="password" autocomplete="new-password" error={e.secretAccessKey} help="Stored encrypted; never shown again." maxlength={256} />
        <Check name="pathStyle" label="Path-style URLs (MinIO, Garage and most self-hosted servers)" checked={v.pathStyle === 'on'} />
        <button type="submit">Test and add bucket</button>
      </form>
    </details>
  );
}

function AddDirForm({ csrf, state }: { csrf: string; state?: TargetFormState | undefined }) {
  const e = state?.kind === 'dir' ? state.errors : {};
  const v = state?.kind === 'dir' ? state.values : {};
  return (
    <details open={state?.kind === 'dir'} id="add-dir">
      <summary>Add a directory</summary>
      <form method="post" action="/admin/settings/backups/targets/dir" novalidate>
        <Csrf token={csrf} />
        <Field name="path" label="Directory" value={v.path ?? ''} error={e.path} help="An existing directory on another disk or a mount (NFS, a volume), such as /mnt/backup/tessera." maxlength={1024} />
        <button type="submit">Test and add directory</button>
      </form>
    </details>
  );
}

/** The Backups section of /admin/settings. */
export function BackupsSection({ csrf, b, form }: { csrf: string; b: BackupSummary; form?: TargetFormState | undefined }) {
  return (
    <section id="backups" aria-labelledby="h-backups">
      <h2 id="h-backups">Backups</h2>
      <p>
        Targets given by a flag or environment variable are locked here. Targets you add are tested first (a small object is written, read back and deleted) and saved only when that works.{' '}
        <strong>Adding or removing a target takes effect at the next start of the server</strong>: every target begins with a full snapshot, which the running replication cannot start
        midway.
      </p>
      {b.restartPending ? (
        <p class="notice" role="status" data-restart-pending>
          The saved target list differs from the one in use: restart the server to apply it
          {b.removedRunning ? ` (${b.removedRunning} removed target${b.removedRunning === 1 ? ' is' : 's are'} still shipped to until then)` : ''}.
        </p>
      ) : null}
      <TableBox label="Backup targets">
        <table>
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Set by</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {b.targets.length === 0 ? (
              <tr>
                <td colspan={4}>No backup target: nothing leaves this machine.</td>
              </tr>
            ) : (
              b.targets.map((t) => <TargetRow t={t} csrf={csrf} />)
            )}
          </tbody>
        </table>
      </TableBox>
      <AddS3Form csrf={csrf} state={form} />
      <AddDirForm csrf={csrf} state={form} />
      <dl>
        {b.intervals.map((i) => (
          <>
            <dt>{i.label}</dt>
            <dd>
              {i.value} <small>({i.source})</small>
            </dd>
          </>
        ))}
        <dt>Lag</dt>
        <dd data-lag>{b.lagSeconds === undefined ? '–' : `${Math.round(b.lagSeconds)} s`}</dd>
        <dt>Last shipped position</dt>
        <dd>{b.position ?? '–'}</dd>
        <dt>Last restore test</dt>
        <dd>{b.lastRestoreTest ? `${when(b.lastRestoreTest.at)}: ${b.lastRestoreTest.ok === undefined ? 'skipped' : b.lastRestoreTest.ok ? 'ok' : 'FAILED'}` : 'never'}</dd>
      </dl>
      {b.running ? (
        <>
          <form method="post" action="/admin/settings/backups/test" class="inline-action">
            <Csrf token={csrf} />
            <button type="submit" class="secondary">
              Test every target in use
            </button>
          </form>
          <form method="post" action="/admin/backups/restore-test" class="inline-action">
            <Csrf token={csrf} />
            <button type="submit" class="secondary">
              Run restore test now
            </button>
          </form>{' '}
        </>
      ) : (
        <p>
          <small>No target is in use, so there is no replication to test and no restore test to run.</small>
        </p>
      )}
      <a href="/admin/backups">Backup details</a>
    </section>
  );
}
