/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { ActionButton, Csrf } from '../components/form.tsx';
import { type AnswerFilterGroup, type Counts, CountsLine, fixedListColumns, type ListState, eventBase, listQuery, parseAnswersJson, shown, statuses } from './shared.tsx';
import { TableBox } from '../components/table.tsx';
import { At } from '../components/time.tsx';

export interface ResultsProps {
  org: OrgRow;
  event: EventRow;
  fields: FieldRow[];
  rows: RegistrationRow[];
  total: number;
  page: number;
  pageSize: number;
  state: ListState;
  canWrite: boolean;
  csrf: string;
  /** The optional columns this staff member chose to see; null or absent: all of them. */
  columns?: string[] | null | undefined;
}

/**
 * The filter as hidden fields, for the POST forms that carry a search. Search text is a name or
 * an address: it travels in request bodies, never in an address, the history or a Referer.
 */
function FilterFields({ s, page }: { s: ListState; page?: number }) {
  return (
    <>
      <input type="hidden" name="q" value={s.q} />
      <input type="hidden" name="status" value={s.status} />
      <input type="hidden" name="checked" value={s.checked} />
      <input type="hidden" name="answer" value={s.answer} />
      {page ? <input type="hidden" name="page" value={String(page)} /> : null}
    </>
  );
}

/** The part of the list page that htmx replaces when the filter or page changes. */
export function AttendeeResults(p: ResultsProps) {
  const base = eventBase(p.org, p.event);
  const listUrl = `${base}/attendees`;
  const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
  const shows = (key: string) => !p.columns || p.columns.includes(key);
  const extra = p.fields.filter((f) => !f.builtin && shows(f.key));
  const hasName = p.fields.some((f) => f.builtin === 'name');
  const showEmail = !hasName || shows('email');
  const first = p.total === 0 ? 0 : (p.page - 1) * p.pageSize + 1;
  const last = Math.min(p.total, p.page * p.pageSize);
  // Without a search the filter holds no personal data and pages are plain links; with one, a
  // page is a POST that carries the search in its body.
  const pageLink = (n: number, label: string, rel: string) =>
    p.state.q ? (
      <form method="post" action={listUrl} hx-post={listUrl} hx-target="#attendee-results" hx-swap="innerHTML" class="inline-action">
        <Csrf token={p.csrf} />
        <FilterFields s={p.state} page={n} />
        <button type="submit" class="secondary outline" data-rel={rel}>
          {label}
        </button>
      </form>
    ) : (
      <a href={`${listUrl}${listQuery(p.state, n)}`} hx-get={`${listUrl}${listQuery(p.state, n)}`} hx-target="#attendee-results" hx-swap="innerHTML" hx-push-url="true" rel={rel}>
        {label}
      </a>
    );
  return (
    <>
      <p data-testid="result-summary">
        {p.total === 0 ? 'No attendee matches.' : `Showing ${first}–${last} of ${p.total} matching attendee${p.total === 1 ? '' : 's'}.`}
        {p.canWrite && p.total > 0 ? (
          <>
            {' '}
            {p.state.q ? (
              <form method="post" action={`${base}/attendees/message`} class="inline-action">
                <Csrf token={p.csrf} />
                <FilterFields s={p.state} />
                <input type="hidden" name="compose" value="1" />
                <button type="submit" class="secondary outline">
                  Message these attendees
                </button>
              </form>
            ) : (
              <a href={`${base}/attendees/message${listQuery(p.state)}`}>Message these attendees</a>
            )}
          </>
        ) : null}
      </p>
      {p.rows.length > 0 ? (
        <TableBox label="Attendees" tall>
          <table class="striped attendee-table">
            <thead>
              <tr>
                {hasName ? <th scope="col">Name</th> : null}
                {showEmail ? <th scope="col">Email</th> : null}
                {shows('code') ? <th scope="col">Code</th> : null}
                {shows('status') ? <th scope="col">Status</th> : null}
                {shows('checked_in') ? <th scope="col">Checked in</th> : null}
                {extra.map((f) => (
                  <th scope="col">
                    {f.label}
                    {f.sensitive ? <small> (sensitive)</small> : null}
                  </th>
                ))}
                {p.canWrite ? (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r) => {
                const answers = parseAnswersJson(r);
                const link = <a href={`${base}/attendees/${r.id}`}>{r.name || r.attendee_code}</a>;
                return (
                  <tr data-reg={r.id}>
                    {hasName ? <td>{link}</td> : null}
                    {showEmail ? <td>{hasName ? r.email : <a href={`${base}/attendees/${r.id}`}>{r.email}</a>}</td> : null}
                    {shows('code') ? (
                      <td>
                        <code>{r.attendee_code}</code>
                      </td>
                    ) : null}
                    {shows('status') ? <td>{r.status}</td> : null}
                    {shows('checked_in') ? (
                      <td>
                        <At t={r.checked_in_at} tz={p.event.timezone} empty="no" />
                      </td>
                    ) : null}
                    {extra.map((f) => (
                      <td class={f.sensitive ? 'masked' : undefined}>{shown(f, r, answers, false)}</td>
                    ))}
                    {p.canWrite ? (
                      <td>
                        <RowMenu base={`${base}/attendees/${r.id}`} reg={r} csrf={p.csrf} />
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableBox>
      ) : null}
      {pages > 1 ? (
        <nav aria-label="Pages" class="pager">
          <ul>
            <li>{p.page > 1 ? pageLink(p.page - 1, '← Previous', 'prev') : null}</li>
            <li>
              Page {p.page} of {pages}
            </li>
            <li>{p.page < pages ? pageLink(p.page + 1, 'Next →', 'next') : null}</li>
          </ul>
        </nav>
      ) : null}
    </>
  );
}

/** A registration's actions, folded into one small menu so a row stays one line of data. */
function RowMenu({ base, reg, csrf }: { base: string; reg: RegistrationRow; csrf: string }) {
  const who = reg.name || reg.attendee_code;
  return (
    <details class="row-menu">
      <summary>
        Actions<span class="visually-hidden"> for {who}</span>
      </summary>
      <div class="row-menu-body">
        <a href={base}>Open record</a>
        <ActionButton action={`${base}/resend`} label="Resend email" csrf={csrf} variant="outline" />
        {reg.status === 'cancelled' ? null : <ActionButton action={`${base}/cancel`} label="Cancel registration" csrf={csrf} variant="contrast" confirm={`Cancel the registration of ${who}?`} />}
      </div>
    </details>
  );
}

/** Which columns the list shows; remembered on the server for this person and event. */
function ColumnChooser({ action, fields, columns, csrf }: { action: string; fields: FieldRow[]; columns: string[] | null | undefined; csrf: string }) {
  const options: (readonly [string, string])[] = [...fixedListColumns, ...fields.filter((f) => !f.builtin).map((f) => [f.key, f.label] as const)];
  return (
    <details class="columns-menu">
      <summary>Columns</summary>
      <form method="post" action={action}>
        <Csrf token={csrf} />
        <fieldset>
          <legend>Columns to show (the name is always shown)</legend>
          {options.map(([key, label]) => (
            <label for={`col-${key}`}>
              <input id={`col-${key}`} type="checkbox" name="columns" value={key} checked={!columns || columns.includes(key)} />
              {label}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="secondary">
          Show these columns
        </button>
      </form>
    </details>
  );
}

export interface ListPageProps extends ResultsProps {
  counts: Counts;
  answerFilters: AnswerFilterGroup[];
  canExport: boolean;
  flash?: FlashMsg | undefined;
}

export function AttendeesPage(p: ListPageProps) {
  const base = eventBase(p.org, p.event);
  const listUrl = `${base}/attendees`;
  const s = p.state;
  return (
    <>
      <h1>Attendees of {p.event.title}</h1>
      <FlashBox flash={p.flash} />
      <CountsLine counts={p.counts} />
      {/* POST: the search text (a name, an address) stays out of the address bar, the history,
          proxy logs and the Referer. */}
      <form method="post" action={listUrl} hx-post={listUrl} hx-target="#attendee-results" hx-swap="innerHTML" hx-trigger="submit, input changed delay:300ms" class="attendee-filter">
        <Csrf token={p.csrf} />
        <label for="f-q">
          Search
          <input id="f-q" type="search" name="q" value={s.q} maxlength={100} placeholder="Name, email or attendee code" />
        </label>
        <div class="grid">
          <label for="f-status">
            Status
            <select id="f-status" name="status">
              <option value="" selected={s.status === ''}>
                Any
              </option>
              {statuses.map((st) => (
                <option value={st} selected={s.status === st}>
                  {st}
                </option>
              ))}
            </select>
          </label>
          <label for="f-checked">
            Checked in
            <select id="f-checked" name="checked">
              <option value="" selected={s.checked === ''}>
                Any
              </option>
              <option value="yes" selected={s.checked === 'yes'}>
                Checked in
              </option>
              <option value="no" selected={s.checked === 'no'}>
                Not checked in
              </option>
            </select>
          </label>
          {p.answerFilters.length > 0 ? (
            <label for="f-answer">
              Answer
              <select id="f-answer" name="answer">
                <option value="" selected={s.answer === ''}>
                  Any
                </option>
                {p.answerFilters.map((g) => (
                  <optgroup label={g.label}>
                    {g.options.map((o) => (
                      <option value={o.value} selected={s.answer === o.value}>
                        {o.label}
                      </option>
                    ))}
                  </optgroup>
                ))}
              </select>
            </label>
          ) : null}
        </div>
        <button type="submit">Apply</button>
      </form>
      <ColumnChooser action={`${base}/attendee-columns`} fields={p.fields} columns={p.columns} csrf={p.csrf} />
      <div id="attendee-results" aria-live="polite">
        <AttendeeResults {...p} />
      </div>
      {p.canExport ? <ExportForm org={p.org} event={p.event} fields={p.fields} /> : null}
    </>
  );
}

function ExportForm({ org, event, fields }: { org: OrgRow; event: EventRow; fields: FieldRow[] }) {
  const base = `${eventBase(org, event)}/attendees`;
  return (
    <article>
      <h2>Export</h2>
      <form method="get" action={`${base}/export.csv`}>
        <input type="hidden" name="choose" value="1" />
        <fieldset>
          <legend>Fields to include (attendee code, status and dates are always included)</legend>
          {fields.map((f) => (
            <label for={`x-${f.key}`}>
              <input id={`x-${f.key}`} type="checkbox" name="fields" value={f.key} checked={!f.sensitive} />
              {f.label}
              {f.sensitive ? ' (sensitive: exported only when ticked, and the export is recorded as including it)' : null}
            </label>
          ))}
        </fieldset>
        <label for="x-status">
          Status
          <select id="x-status" name="status">
            <option value="">All</option>
            {statuses.map((st) => (
              <option value={st}>{st}</option>
            ))}
          </select>
        </label>
        <small>Every export is recorded in the audit log. Files may hold personal data: store them safely and delete them when done.</small>
        <div class="grid">
          <button type="submit">Download CSV</button>
          <button type="submit" class="secondary" formaction={`${base}/export.json`}>
            Download JSON
          </button>
        </div>
      </form>
    </article>
  );
}

// ---- detail ---------------------------------------------------------------------------------------
