/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { actionLabel, actionOptions } from '../../src/audit/actions.ts';
import { type Names, actorText, targetText } from '../../src/audit/names.ts';
import type { AuditRow } from '../../src/audit/repo.ts';
import { type AuditFilter, filterQuery } from '../../src/audit/search.ts';
import type { FieldErrors } from '../../src/http/forms.ts';
import { Csrf, FieldError } from '../components/form.tsx';
import { when } from '../components/when.ts';

export interface AuditSearchProps {
  /** the page's address: /orgs/<slug>/audit or /admin/audit */
  base: string;
  csrf: string;
  filter: AuditFilter;
  rows: AuditRow[];
  next: number | null;
  names: Names;
  errors?: FieldErrors | undefined;
  /** instance admins: the organizations to scope to */
  scopes?: { id: string; name: string }[];
  /** organization names per id (instance view) */
  showOrg?: boolean;
}

const resultWords = { success: 'success', failure: 'failure', denied: 'refused' } as const;

function Input(p: { name: string; label: string; value: string; type?: string; help?: string; error?: string | undefined; autocomplete?: string }) {
  const id = `f-${p.name}`;
  const described = [p.help ? `${id}-help` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <label for={id}>
      {p.label}
      <input id={id} name={p.name} type={p.type ?? 'text'} value={p.value} autocomplete={p.autocomplete ?? 'off'} aria-invalid={p.error ? 'true' : undefined} aria-describedby={described} />
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

/**
 * The filter form posts (method=post): a person's email typed here travels in the body only, is
 * turned into its pseudonym by the server, and never appears in a URL, the browser history or
 * the access log. Paging links carry the pseudonym, not the email.
 */
export function AuditFilterForm(p: AuditSearchProps) {
  const f = p.filter;
  const e = p.errors ?? {};
  return (
    <form method="post" action={p.base} class="audit-filter" aria-label="Filter the audit log">
      <Csrf token={p.csrf} />
      {f.subject.map((s) => (
        <input type="hidden" name="subject" value={s} />
      ))}
      <fieldset>
        <legend>Filter</legend>
        <div class="grid">
          <Input name="person" label="Person (attendee email)" type="email" value="" help={f.subject.length ? 'Filtering by a person now (by pseudonym). Type another email to change, or clear the filter.' : 'Turned into a pseudonym; the email is not kept.'} error={e.person} />
          <Input name="actor" label="Actor (staff email or id)" value={f.actor} error={e.actor} />
        </div>
        <div class="grid">
          <div>
            <label for="f-action">Action</label>
            <select id="f-action" name="action" aria-invalid={e.action ? 'true' : undefined}>
              <option value="">Any action</option>
              {actionOptions().map((g) => (
                <optgroup label={g.group}>
                  {g.options.map(([v, t]) => (
                    <option value={v} selected={f.action === v}>
                      {t}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
            <FieldError id="f-action" error={e.action} />
          </div>
          <Input name="target" label="Target id" value={f.target} error={e.target} />
          <Input name="ip" label="IP address" value={f.ip} error={e.ip} />
        </div>
        <div class="grid">
          <Input name="from" label="From (UTC)" type="datetime-local" value={f.from} error={e.from} />
          <Input name="to" label="To (UTC)" type="datetime-local" value={f.to} error={e.to} />
          <div>
            <label for="f-result">Result</label>
            <select id="f-result" name="result">
              <option value="">Any result</option>
              {(['success', 'failure', 'denied'] as const).map((r) => (
                <option value={r} selected={f.result === r}>
                  {resultWords[r]}
                </option>
              ))}
            </select>
          </div>
          {p.scopes ? (
            <div>
              <label for="f-scope">Scope</label>
              <select id="f-scope" name="scope">
                <option value="">Everything</option>
                <option value="instance" selected={f.scope === 'instance'}>
                  Instance security log (no organization)
                </option>
                {p.scopes.map((o) => (
                  <option value={o.id} selected={f.scope === o.id}>
                    {o.name}
                  </option>
                ))}
              </select>
              <FieldError id="f-scope" error={e.scope} />
            </div>
          ) : null}
        </div>
      </fieldset>
      <button type="submit">Search</button> <a href={p.base}>Clear the filter</a>
    </form>
  );
}

/** The results region: replaced as a whole by htmx when paging (hx-target="#audit-results"). */
export function AuditResults(p: AuditSearchProps) {
  const f = p.filter;
  const older = p.next ? `${p.base}${filterQuery({ ...f, before: undefined }, { before: String(p.next) })}` : undefined;
  return (
    <div id="audit-results">
      <p>
        {p.rows.length === 0 ? 'No entries match.' : `${p.rows.length} entries${f.before ? ` older than entry ${f.before}` : ''}, newest first.`}{' '}
        Export this view: <a href={`${p.base}/export.csv${filterQuery({ ...f, before: undefined })}`}>CSV</a> · <a href={`${p.base}/export.json${filterQuery({ ...f, before: undefined })}`}>JSON</a>
      </p>
      <div class="overflow-auto" tabindex={0} role="region" aria-label="Audit entries (scrolls sideways)">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              {p.showOrg ? <th scope="col">Organization</th> : null}
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Result</th>
              <th scope="col">IP</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r) => (
              <tr data-action={r.action} data-seq={r.seq}>
                <td>
                  <a href={`${p.base}/entries/${r.seq}`}>{when(r.at)}</a>
                </td>
                {p.showOrg ? <td>{r.org_id ? (p.names.get(`organization:${r.org_id}`) ?? r.org_id.slice(0, 8)) : 'instance'}</td> : null}
                <td>{actorText(r, p.names)}</td>
                <td>{actionLabel(r.action)}</td>
                <td>{targetText(r, p.names)}</td>
                <td>{resultWords[r.result]}</td>
                <td>{r.ip ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav aria-label="Audit log pages">
        <ul>
          {f.before ? (
            <li>
              <a href={`${p.base}${filterQuery({ ...f, before: undefined })}`} hx-get={`${p.base}${filterQuery({ ...f, before: undefined })}`} hx-target="#audit-results" hx-swap="outerHTML" hx-push-url="true">
                Newest entries
              </a>
            </li>
          ) : null}
          {older ? (
            <li>
              <a href={older} hx-get={older} hx-target="#audit-results" hx-swap="outerHTML" hx-push-url="true" rel="next">
                Older entries
              </a>
            </li>
          ) : null}
        </ul>
      </nav>
    </div>
  );
}
