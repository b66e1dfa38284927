/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { actionLabel } from '../../src/audit/actions.ts';
import { type Names, actorText } from '../../src/audit/names.ts';
import type { AuditRow } from '../../src/audit/repo.ts';
import { when } from '../components/when.ts';

/** "Who accessed this attendee's data": staff reads and exports of one registration, from the audit log. */
export function AttendeeAccesses({ rows, names, auditBase }: { rows: AuditRow[]; names: Names; auditBase: string }) {
  return (
    <article aria-labelledby="accesses">
      <h2 id="accesses">Who accessed this attendee’s data</h2>
      {rows.length === 0 ? (
        <p>No staff member has opened or exported this record yet.</p>
      ) : (
        <div class="overflow-auto" tabindex={0} role="region" aria-label="Accesses to this attendee (scrolls sideways)">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-action={r.action}>
                  <td>
                    <a href={`${auditBase}/entries/${r.seq}`}>{when(r.at)}</a>
                  </td>
                  <td>{actorText(r, names)}</td>
                  <td>{r.action === 'attendee.exported' ? `${actionLabel(r.action)} (the whole event’s list)` : actionLabel(r.action)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p>
        <small>Opening this page is recorded too.</small>
      </p>
    </article>
  );
}
