/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { actionLabel } from '../../src/audit/actions.ts';
import { type Names, actorText, targetText } from '../../src/audit/names.ts';
import type { AuditRow } from '../../src/audit/repo.ts';
import { when } from '../components/when.ts';

function prettyDetails(details: string): string {
  try {
    return JSON.stringify(JSON.parse(details), null, 2);
  } catch {
    return details;
  }
}

/** One audit entry with everything it holds (ids and pseudonyms only, never personal data). */
export function AuditEntry({ row, names, back }: { row: AuditRow; names: Names; back: string }) {
  return (
    <article>
      <header>
        <h2>
          {actionLabel(row.action)} <small>entry {row.seq}</small>
        </h2>
      </header>
      <dl class="audit-entry">
        <dt>Time</dt>
        <dd>
          <time datetime={row.at}>{row.at}</time> ({when(row.at)})
        </dd>
        <dt>Action</dt>
        <dd>
          {actionLabel(row.action)} (<code>{row.action}</code>)
        </dd>
        <dt>Result</dt>
        <dd>{row.result}</dd>
        <dt>Actor</dt>
        <dd>
          {actorText(row, names)} {row.actor_id ? <code>{row.actor_id}</code> : null}
        </dd>
        <dt>Target</dt>
        <dd>
          {targetText(row, names)} {row.target_id ? <code>{row.target_id}</code> : null}
        </dd>
        <dt>Organization</dt>
        <dd>{row.org_id ? `${names.get(`organization:${row.org_id}`) ?? ''} ${row.org_id}`.trim() : 'none (instance)'}</dd>
        <dt>IP address</dt>
        <dd>{row.ip ?? '–'}</dd>
        <dt>User agent</dt>
        <dd>{row.user_agent ?? '–'}</dd>
        <dt>Request id</dt>
        <dd>{row.request_id ? <code>{row.request_id}</code> : '–'}</dd>
        <dt>Signed with</dt>
        <dd>
          <code>{row.key_id}</code>
        </dd>
      </dl>
      <h3>Details</h3>
      <pre tabindex={0} aria-label="Details of the entry">
        <code>{prettyDetails(row.details)}</code>
      </pre>
      <footer>
        <a href={back}>← Back to the audit log</a>
      </footer>
    </article>
  );
}
