/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { IncidentView } from '../../src/audit/incidents.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { Csrf, Field, TextArea } from '../components/form.tsx';
import { when } from '../components/when.ts';

/** "41 h 12 min left" or "overdue by 3 h 5 min": the Art. 33 clock in words. */
export function clockText(i: IncidentView): string {
  if (i.authority_notified_at !== null) return `authority told ${when(i.authority_notified_at)}`;
  const ms = Math.abs(i.msLeft);
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  return i.msLeft >= 0 ? `${h} h ${m} min left to tell the authority` : `overdue by ${h} h ${m} min`;
}

export function IncidentFormPage(p: { org: OrgRow; role: OrgRole; csrf: string; values: Record<string, string>; errors?: Record<string, string>; computed: number | null }) {
  const e = p.errors ?? {};
  return (
    <>
      <h1>Declare a personal-data incident</h1>
      <form method="post" action={`/orgs/${p.org.slug}/security/incidents`}>
        <Csrf token={p.csrf} />
        {p.values.alert_id ? <input type="hidden" name="alert_id" value={p.values.alert_id} /> : null}
        <Field name="title" label="Title" value={p.values.title ?? ''} error={e.title} maxlength={200} required />
        <TextArea name="what_happened" label="What happened" value={p.values.what_happened ?? ''} error={e.what_happened} rows={4} maxlength={5000} />
        <TextArea name="affected_data" label="Which data is affected" value={p.values.affected_data ?? ''} error={e.affected_data} rows={2} maxlength={2000} />
        <TextArea name="likely_consequences" label="Likely consequences for the people (optional)" value={p.values.likely_consequences ?? ''} error={e.likely_consequences} rows={2} maxlength={5000} />
        <TextArea name="measures_taken" label="Measures taken or proposed (optional)" value={p.values.measures_taken ?? ''} error={e.measures_taken} rows={3} maxlength={5000} />
        <Field name="affected_people" label="How many people are affected (optional)" type="number" inputmode="numeric" value={p.values.affected_people ?? ''} error={e.affected_people} help={p.computed !== null ? `The audit log shows ${p.computed} attendee records opened or exported by the member in the alert.` : 'Leave empty if not known yet.'} />
        <Field name="aware_at" label="Aware since (UTC, YYYY-MM-DD HH:MM)" value={p.values.aware_at ?? ''} error={e.aware_at} help="The 72 hours of GDPR Art. 33 count from here." required />
        <button type="submit">Declare the incident</button>
      </form>
    </>
  );
}

export function IncidentPage(p: { org: OrgRow; role: OrgRole; csrf: string; i: IncidentView; canManage: boolean; flash?: FlashMsg | undefined }) {
  const i = p.i;
  const self = `/orgs/${p.org.slug}/security/incidents/${i.id}`;
  return (
    <>
      <h1>Incident: {i.title}</h1>
      <FlashBox flash={p.flash} />
      <p data-testid="art33-clock">
        <strong class={i.overdue ? 'overdue' : undefined}>{clockText(i)}</strong> (deadline {when(i.deadline)})
      </p>
      <dl>
        <dt>Aware since</dt>
        <dd>{when(i.aware_at)}</dd>
        <dt>What happened</dt>
        <dd>{i.what_happened || '–'}</dd>
        <dt>Data affected</dt>
        <dd>{i.affected_data || '–'}</dd>
        <dt>Likely consequences</dt>
        <dd>{i.likely_consequences || '–'}</dd>
        <dt>Measures taken or proposed</dt>
        <dd>{i.measures_taken || '–'}</dd>
        <dt>People affected</dt>
        <dd>
          {i.affected_people ?? 'not known yet'}
          {i.computed_people !== null ? ` (audit log: ${i.computed_people} attendee records opened or exported)` : ''}
        </dd>
        <dt>Owners and admins told</dt>
        <dd>{i.notified_at ? when(i.notified_at) : 'not yet'}</dd>
      </dl>
      <p>
        Report for the authority: <a href={`${self}/report`}>printable page</a> ·{' '}
        <a href={`${self}/report.json`} download>
          JSON
        </a>
      </p>
      {p.canManage ? (
        <>
          <form method="post" action={`${self}/notify`} class="inline-action">
            <Csrf token={p.csrf} />
            <button type="submit" class="secondary">
              Email the owners and admins
            </button>
          </form>{' '}
          {i.authority_notified_at === null ? (
            <form method="post" action={`${self}/authority`} class="inline-action">
              <Csrf token={p.csrf} />
              <button type="submit">Record: the authority was told</button>
            </form>
          ) : null}
        </>
      ) : null}
    </>
  );
}
