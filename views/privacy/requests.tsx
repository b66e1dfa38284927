/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { ErasureReceipt } from '../../src/privacy/erasure-port.ts';
import type { RequestView } from '../../src/privacy/requests.ts';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { Check, Csrf, Field, Select, TextArea } from '../components/form.tsx';
import { when } from '../components/when.ts';

const typeLabel = { access: 'Access (copy of the data)', erasure: 'Erasure', correction: 'Correction' } as const;

function Status({ r }: { r: RequestView }) {
  if (r.status === 'completed') return <>completed {when(r.completed_at)}</>;
  return r.overdue ? <strong class="overdue">overdue (due {r.deadline_at.slice(0, 10)})</strong> : <>open, due {r.deadline_at.slice(0, 10)}</>;
}

export function RequestsPage(p: { org: OrgRow; role: OrgRole; csrf: string; rows: RequestView[]; canSettings: boolean; flash?: FlashMsg | undefined; errors?: Record<string, string>; values?: Record<string, string> }) {
  const base = `/orgs/${p.org.slug}/privacy`;
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  return (
    <>
      <h1>Data requests</h1>
      <FlashBox flash={p.flash} />
      <p>Every request to see, correct or erase personal data, however it arrived. Each must be answered within one month (GDPR Art. 12(3)); overdue ones are marked. Attendees make requests themselves at <a href={`/o/${p.org.slug}/privacy`}>/o/{p.org.slug}/privacy</a>.</p>
      <div class="table-scroll" tabindex={0} role="region" aria-label="Table, scrolls sideways">
        <table data-testid="requests">
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Type</th>
              <th scope="col">How</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.length === 0 ? (
              <tr>
                <td colspan={4}>No requests yet.</td>
              </tr>
            ) : (
              p.rows.map((r) => (
                <tr data-request={r.id} class={r.overdue ? 'overdue' : undefined}>
                  <td>
                    <a href={`${base}/requests/${r.id}`}>{when(r.received_at)}</a>
                  </td>
                  <td>{typeLabel[r.type]}</td>
                  <td>{r.channel === 'self-service' ? 'self-service' : 'recorded by staff'}</td>
                  <td>
                    <Status r={r} />
                  </td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <article>
        <h2>Record a request made another way</h2>
        <p>
          <small>For a person who asked by email, letter or phone. Check their identity first. Access: the request is recorded and you download their data from it. Erasure: their data is erased at once and they get the receipt by email. Correction: recorded as open until you mark it done.</small>
        </p>
        <form method="post" action={`${base}/requests`}>
          <Csrf token={p.csrf} />
          <Select name="type" label="Request" options={Object.entries(typeLabel)} selected={values.type ?? 'access'} error={errors.type} />
          <Field name="email" label="The person's email address" type="email" value={values.email ?? ''} error={errors.email} maxlength={254} required />
          <TextArea name="message" label="What they asked (optional)" value={values.message ?? ''} error={errors.message} rows={2} maxlength={2000} />
          <button type="submit">Record the request</button>
        </form>
      </article>
      {p.canSettings ? (
        <article>
          <h2>What attendees see</h2>
          <form method="post" action={`${base}/settings`}>
            <Csrf token={p.csrf} />
            <Check name="show_staff_names" label="Name staff members in “who has seen my data”" checked={p.org.privacy_show_staff_names === 1} help="Off: attendees see the role (organizer, check-in…) and the time of each read, not the name." />
            <button type="submit" class="secondary">
              Save
            </button>
          </form>
        </article>
      ) : null}
    </>
  );
}

export function RequestDetailPage(p: { org: OrgRow; role: OrgRole; csrf: string; r: RequestView; flash?: FlashMsg | undefined }) {
  const { r } = p;
  const self = `/orgs/${p.org.slug}/privacy/requests/${r.id}`;
  let receipt: ErasureReceipt | undefined;
  if (r.type === 'erasure' && r.outcome.startsWith('{')) receipt = JSON.parse(r.outcome) as ErasureReceipt;
  return (
    <>
      <h1>{typeLabel[r.type]} request</h1>
      <p>
        <a href={`/orgs/${p.org.slug}/privacy/requests`}>← All requests</a>
      </p>
      <FlashBox flash={p.flash} />
      <dl>
        <dt>Status</dt>
        <dd data-testid="request-status">
          <Status r={r} />
        </dd>
        <dt>Received</dt>
        <dd>
          {when(r.received_at)} ({r.channel === 'self-service' ? 'self-service' : 'recorded by staff'})
        </dd>
        <dt>Answer due by</dt>
        <dd>{r.deadline_at.slice(0, 10)}</dd>
        <dt>Person</dt>
        <dd>{r.email || 'erased (the address is not kept after an erasure)'}</dd>
        {r.message ? (
          <>
            <dt>What they asked</dt>
            <dd>{r.message}</dd>
          </>
        ) : null}
      </dl>
      {receipt ? (
        <article>
          <h2>Erasure receipt</h2>
          <p>
            {receipt.erasedRegistrations} registration(s) erased on {when(receipt.at)}: {receipt.erased.join(', ') || 'nothing held'}.
          </p>
          {receipt.kept.length ? <p>Kept: {receipt.kept.join('; ')}</p> : null}
          {receipt.held.length ? (
            <ul>
              {receipt.held.map((h) => (
                <li>
                  On hold: {h.eventTitle}: {h.reason}
                </li>
              ))}
            </ul>
          ) : null}
          <p>{receipt.backupsExpireBy ? `Backups holding the data expire by ${when(receipt.backupsExpireBy)}.` : 'No backups hold the data.'}</p>
        </article>
      ) : r.outcome ? (
        <p>Outcome: {r.outcome}</p>
      ) : null}
      {r.type === 'access' && r.email ? (
        <p>
          <a href={`${self}/export.json`} download>
            Download the person's data (JSON)
          </a>{' '}
          <small>Each download is recorded in the audit log.</small>
        </p>
      ) : null}
      {r.status === 'open' ? (
        <form method="post" action={`${self}/complete`}>
          <Csrf token={p.csrf} />
          <TextArea name="outcome" label="What was done" rows={2} maxlength={2000} required />
          <button type="submit">Mark as done</button>
        </form>
      ) : null}
    </>
  );
}
