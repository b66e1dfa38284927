/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { AlertRow } from '../../src/audit/alerts-repo.ts';
import type { Thresholds } from '../../src/audit/alert-rules.ts';
import type { IncidentView } from '../../src/audit/incidents.ts';
import { clockText } from './incidents.tsx';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { Csrf, Field } from '../components/form.tsx';
import { when } from '../components/when.ts';

export function SecurityPage(p: { org: OrgRow; role: OrgRole; csrf: string; alerts: AlertRow[]; thresholds: Thresholds; canSettings: boolean; incidents: IncidentView[]; flash?: FlashMsg | undefined; errors?: Record<string, string> }) {
  const t = p.thresholds;
  const e = p.errors ?? {};
  return (
    <>
      <h1>Security</h1>
      <FlashBox flash={p.flash} />
      <section aria-labelledby="incidents-heading">
        <h2 id="incidents-heading">Incidents</h2>
        {p.incidents.length === 0 ? <p>No incidents declared.</p> : (
          <ul data-testid="incidents">
            {p.incidents.map((i) => (
              <li>
                <a href={`/orgs/${p.org.slug}/security/incidents/${i.id}`}>{i.title}</a> — {clockText(i)}
              </li>
            ))}
          </ul>
        )}
        {p.canSettings ? <p><a href={`/orgs/${p.org.slug}/security/incidents/new`}>Declare an incident</a></p> : null}
      </section>
      <h2>Alerts</h2>
      <p>Alerts raised for this organization, newest first. Owners and admins get each by email; several of one kind within 15 minutes arrive as one message.</p>
      <div class="table-scroll" tabindex={0} role="region" aria-label="Table, scrolls sideways">
        <table data-testid="alerts">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Alert</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {p.alerts.length === 0 ? (
              <tr>
                <td colspan={3}>No alerts.</td>
              </tr>
            ) : (
              p.alerts.map((a) => (
                <tr data-rule={a.rule}>
                  <td>{when(a.created_at)}</td>
                  <td>{a.title}</td>
                  <td>
                    {(JSON.parse(a.lines) as string[]).join(' ')}
                    {p.canSettings ? <> <a href={`/orgs/${p.org.slug}/security/incidents/new?alert=${a.id}`}>Declare an incident</a></> : null}
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {p.canSettings ? (
        <article>
          <h2>Thresholds</h2>
          <form method="post" action={`/orgs/${p.org.slug}/security/thresholds`}>
            <Csrf token={p.csrf} />
            <fieldset>
              <legend>Failed sign-ins to one member account</legend>
              <Field name="failed_n" label="Alert after this many" type="number" inputmode="numeric" value={String(t.failedLogins.n)} error={e.failed_n} />
              <Field name="failed_minutes" label="within minutes" type="number" inputmode="numeric" value={String(t.failedLogins.minutes)} error={e.failed_minutes} />
            </fieldset>
            <fieldset>
              <legend>Attendee records one member reads or exports</legend>
              <Field name="reads_n" label="Alert above this many" type="number" inputmode="numeric" value={String(t.personalReads.n)} error={e.reads_n} />
              <Field name="reads_minutes" label="within minutes" type="number" inputmode="numeric" value={String(t.personalReads.minutes)} error={e.reads_minutes} />
            </fieldset>
            <button type="submit">Save thresholds</button>
          </form>
          <p>
            <small>Always on: sign-ins of owners and admins from a new network, two-factor authentication turned off for an owner or admin, and access refused by the IP allowlist. Backup failures, failed restore tests and a broken audit chain go to the instance owners.</small>
          </p>
        </article>
      ) : null}
    </>
  );
}
