/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { AuditRow } from '../../src/audit/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { TableBox } from '../components/table.tsx';
import { Ago } from '../components/time.tsx';

export function AuditPage({ org, rows, names, now }: { org: OrgRow; role: OrgRole; rows: AuditRow[]; names: Map<string, string>; now: number }) {
  const actor = (r: AuditRow) => {
    if (r.actor_type === 'system') return 'system';
    const name = r.actor_id ? names.get(`${r.actor_type}:${r.actor_id}`) : undefined;
    return `${r.actor_type === 'api_token' ? 'API token' : r.actor_type} ${name ?? r.actor_id?.slice(0, 8) ?? ''}`.trim();
  };
  return (
    <>
      <h1>Audit log of {org.name}</h1>
      <p>The latest {rows.length} entries, newest first.</p>
      <TableBox label="Audit log entries" tall>
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr data-action={r.action}>
              <td>
                  <Ago t={r.at} now={now} />
                </td>
              <td>{actor(r)}</td>
              <td>
                <code>{r.action}</code>
              </td>
              <td>{r.target_type ? `${r.target_type} ${names.get(`${r.target_type}:${r.target_id}`) ?? r.target_id ?? ''}`.trim() : '–'}</td>
              <td>{r.result}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </TableBox>
    </>
  );
}
