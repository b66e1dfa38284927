/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Names } from '../../src/audit/names.ts';
import type { AuditRow } from '../../src/audit/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { AuditEntry } from '../audit/entry.tsx';
import { type AuditSearchProps, AuditFilterForm, AuditResults } from '../audit/search.tsx';

/** An organization's audit log: filter, results (paged with htmx or plain links), exports. */
export function AuditPage(p: AuditSearchProps & { org: OrgRow; role: OrgRole; retentionDays: number }) {
  return (
    <>
      <h1>Audit log of {p.org.name}</h1>
      <p>
        Everything done in this organization, by whom and from where. Entries are kept for {p.retentionDays} days. Refused attempts by people outside the organization are kept in the
        instance's security log instead.
      </p>
      <AuditFilterForm {...p} />
      <AuditResults {...p} />
    </>
  );
}

export function AuditEntryPage({ org, role, row, names }: { org: OrgRow; role: OrgRole; row: AuditRow; names: Names }) {
  return (
    <>
      <h1>Audit entry {row.seq}</h1>
      <AuditEntry row={row} names={names} back={`/orgs/${org.slug}/audit`} />
    </>
  );
}
