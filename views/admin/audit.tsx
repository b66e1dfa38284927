/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { ChainStatus } from '../../src/audit/chain-status.ts';
import type { DenialRow } from '../../src/audit/denials.ts';
import type { Names } from '../../src/audit/names.ts';
import type { AuditRow } from '../../src/audit/repo.ts';
import { AuditEntry } from '../audit/entry.tsx';
import { type AuditSearchProps, AuditFilterForm, AuditResults } from '../audit/search.tsx';
import { ActionButton } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { when } from '../components/when.ts';

export interface AdminAuditExtra {
  chain: ReturnType<ChainStatus['latest']>;
  checking: boolean;
  retention: { auditDays: number; accessLogDays: number };
  pruned: { seq: number; total: number; lastAt: string } | undefined;
  denials: DenialRow[];
  flash?: FlashMsg | undefined;
}

function ChainSection({ csrf, x }: { csrf: string; x: AdminAuditExtra }) {
  const c = x.chain;
  return (
    <section aria-labelledby="chain-status">
      <h2 id="chain-status">Chain status</h2>
      {c ? (
        <p data-chain-ok={c.ok ? 'yes' : 'no'}>
          {c.ok ? <strong>Intact.</strong> : <strong>Verification FAILED.</strong>} Last checked {when(c.at)} ({c.trigger === 'schedule' ? 'daily check' : c.trigger === 'manual' ? 'on demand' : 'command line'}), {c.rows} entries verified.
        </p>
      ) : (
        <p data-chain-ok="unknown">Not checked yet. The server checks the chain daily.</p>
      )}
      {c && c.findings.length ? (
        <ul>
          {c.findings.map((f) => (
            <li>{f}</li>
          ))}
        </ul>
      ) : null}
      {c && c.warnings.length ? (
        <ul>
          {c.warnings.map((w) => (
            <li>{w}</li>
          ))}
        </ul>
      ) : null}
      {x.checking ? <p>A check is running now.</p> : <ActionButton action="/admin/audit/verify" label="Verify the chain now" csrf={csrf} />}
    </section>
  );
}

function RetentionSection({ x }: { x: AdminAuditExtra }) {
  return (
    <section aria-labelledby="retention">
      <h2 id="retention">Retention</h2>
      <p>
        Audit entries are kept for {x.retention.auditDays} days and access logs for {x.retention.accessLogDays} days (set with <code>--audit-log-retention-days</code> and{' '}
        <code>--access-log-retention-days</code>); older ones are removed daily.
        {x.pruned ? ` ${x.pruned.total} entries up to entry ${x.pruned.seq} (written until ${when(x.pruned.lastAt)}) have been removed; a signed checkpoint keeps the chain verifiable.` : ' Nothing has been removed yet.'}
      </p>
    </section>
  );
}

function DenialsSection({ rows, names }: { rows: DenialRow[]; names: Names }) {
  return (
    <section aria-labelledby="denials">
      <h2 id="denials">Refused requests from outside (last {rows.length})</h2>
      <p>Requests refused to people who are not members of the organization they tried, or not instance administrators: counted per person, page and hour.</p>
      <div class="overflow-auto" tabindex={0} role="region" aria-label="Refused requests (scrolls sideways)">
        <table>
          <thead>
            <tr>
              <th scope="col">Hour (UTC)</th>
              <th scope="col">Actor</th>
              <th scope="col">Page</th>
              <th scope="col">Organization tried</th>
              <th scope="col">Count</th>
              <th scope="col">Last</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr>
                <td>{d.hour.replace('T', ' ')}:00</td>
                <td>{`${d.actor_type === 'api_token' ? 'API token' : d.actor_type} ${names.get(`user:${d.actor_id}`) ?? d.actor_id.slice(0, 8)}`}</td>
                <td>
                  <code>{d.route}</code>
                </td>
                <td>{d.target_org_id ? (names.get(`organization:${d.target_org_id}`) ?? d.target_org_id.slice(0, 8)) : '–'}</td>
                <td>{d.count}</td>
                <td>{when(d.last_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The whole instance's audit log: chain status, retention, outsiders' refusals, then the search. */
export function AdminAuditPage(p: AuditSearchProps & { extra: AdminAuditExtra }) {
  return (
    <>
      <h1>Audit log</h1>
      <FlashBox flash={p.extra.flash} />
      <ChainSection csrf={p.csrf} x={p.extra} />
      <RetentionSection x={p.extra} />
      <AuditFilterForm {...p} />
      <AuditResults {...p} />
      <DenialsSection rows={p.extra.denials} names={p.names} />
    </>
  );
}

export function AdminAuditEntryPage({ row, names }: { row: AuditRow; names: Names }) {
  return (
    <>
      <h1>Audit entry {row.seq}</h1>
      <AuditEntry row={row} names={names} back="/admin/audit" />
    </>
  );
}
