/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { AccessLogEntry } from '../../src/audit/access-log.ts';

export interface AccessLogFilter {
  day: string;
  status: string;
  route: string;
  user: string;
  skip: number;
}

const query = (f: AccessLogFilter, skip: number) => {
  const p = new URLSearchParams({ day: f.day });
  if (f.status) p.set('status', f.status);
  if (f.route) p.set('route', f.route);
  if (f.user) p.set('user', f.user);
  if (skip) p.set('skip', String(skip));
  return `?${p.toString()}`;
};

/** The HTTP access log (files beside the database), one day at a time, newest first. */
export function AccessLogPage({ filter, days, entries, more, retentionDays, pageSize }: { filter: AccessLogFilter; days: string[]; entries: AccessLogEntry[]; more: boolean; retentionDays: number; pageSize: number }) {
  const f = filter;
  return (
    <>
      <h1>Access log</h1>
      <p>
        One line per request: time, status, route pattern (never the query string), user id, IP and request id. Kept for {retentionDays} days in <code>access-log/</code> beside the database. A
        request id leads to the audit entries of the same request.
      </p>
      <form method="get" action="/admin/access-log" aria-label="Filter the access log">
        <div class="grid">
          <div>
            <label for="f-day">Day (UTC)</label>
            <select id="f-day" name="day">
              {(days.length ? days : [f.day]).map((d) => (
                <option value={d} selected={d === f.day}>
                  {d}
                </option>
              ))}
            </select>
          </div>
          <label for="f-status">
            Status
            <input id="f-status" name="status" value={f.status} placeholder="404 or 4xx" pattern="[1-5]([0-9]{2}|xx)" />
          </label>
          <label for="f-route">
            Route contains
            <input id="f-route" name="route" value={f.route} />
          </label>
          <label for="f-user">
            User id
            <input id="f-user" name="user" value={f.user} />
          </label>
        </div>
        <button type="submit">Show</button>
      </form>
      <div id="access-results">
        <p>{entries.length === 0 ? 'No requests match.' : `Requests ${f.skip + 1}–${f.skip + entries.length}, newest first.`}</p>
        <div class="overflow-auto" tabindex={0} role="region" aria-label="Requests (scrolls sideways)">
          <table>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Status</th>
                <th scope="col">Method</th>
                <th scope="col">Route</th>
                <th scope="col">User id</th>
                <th scope="col">IP</th>
                <th scope="col">ms</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr data-status={e.status}>
                  <td>{e.time.slice(11, 23)}</td>
                  <td>{e.status}</td>
                  <td>{e.method}</td>
                  <td>
                    <code>{e.route}</code>
                  </td>
                  <td>{e.userId ?? '–'}</td>
                  <td>{e.ip ?? '–'}</td>
                  <td>{e.durationMs}</td>
                  <td>
                    <code>{e.requestId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <nav aria-label="Access log pages">
          <ul>
            {f.skip > 0 ? (
              <li>
                <a href={`/admin/access-log${query(f, Math.max(0, f.skip - pageSize))}`}>Newer</a>
              </li>
            ) : null}
            {more ? (
              <li>
                <a href={`/admin/access-log${query(f, f.skip + pageSize)}`} rel="next">
                  Older
                </a>
              </li>
            ) : null}
          </ul>
        </nav>
      </div>
    </>
  );
}
