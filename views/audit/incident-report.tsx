/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { IncidentReport, IncidentView } from '../../src/audit/incidents.ts';
import { Document } from '../components/layout.tsx';
import { when } from '../components/when.ts';
import { clockText } from './incidents.tsx';

/** An instant of the report: words for the reader, the exact ISO time in the markup (the JSON's value). */
function At({ iso, none }: { iso: string | null; none: string }) {
  return iso === null ? <>{none}</> : <time datetime={iso}>{when(iso)}</time>;
}

/** Free text as the organization wrote it (line breaks kept), or a plain "not recorded". */
function Text({ v, testid }: { v: string; testid: string }) {
  return v ? (
    <p class="report-text" data-testid={testid}>
      {v}
    </p>
  ) : (
    <p data-testid={testid}>
      <em>Not recorded.</em>
    </p>
  );
}

/**
 * The report for the supervisory authority (GDPR Art. 33) as a standalone page to print or save
 * as PDF: outside the app shell, every fact of the JSON report, in the order Art. 33(3) lists
 * what a notification describes. The same facts in the same words as on screen, so the printed
 * copy is the record.
 */
export function IncidentReportDocument({ r, i, back }: { r: IncidentReport; i: IncidentView; back: string }) {
  const people = r.affectedPeople === null ? 'not known yet' : String(r.affectedPeople);
  return (
    <Document title={`Incident report: ${r.title}`} bodyClass="report-page">
      <main class="container report">
        <p class="no-print">
          <a href={back}>Back to the incident</a> · <a href={`${back}/report.json`}>The same report as JSON</a> · To print or save as PDF, use your browser's Print.
        </p>
        <h1>Personal-data breach report</h1>
        <p>
          For the supervisory authority (GDPR Art. 33). {r.organization}, incident <code data-testid="incident-ref">{r.incident}</code>. Produced <At iso={r.reportAt} none="" /> by Tessera.
        </p>

        <section aria-labelledby="clock-heading" class="report-block">
          <h2 id="clock-heading">The 72-hour clock (Art. 33(1))</h2>
          <dl>
            <dt>Aware since</dt>
            <dd data-testid="aware-at">
              <At iso={r.awareAt} none="–" />
            </dd>
            <dt>The authority must be told by</dt>
            <dd data-testid="deadline">
              <At iso={r.authorityDeadline} none="–" /> (72 hours after)
            </dd>
            <dt>Authority told</dt>
            <dd data-testid="authority-told">
              <At iso={r.authorityNotifiedAt} none="not yet" />
            </dd>
            <dt>Status when this report was produced</dt>
            <dd data-testid="art33-clock" class={i.overdue ? 'overdue' : undefined}>
              <strong>{clockText(i)}</strong>
            </dd>
          </dl>
        </section>

        <section aria-labelledby="incident-heading" class="report-block">
          <h2 id="incident-heading">The incident</h2>
          <dl>
            <dt>Title</dt>
            <dd>{r.title}</dd>
            <dt>Declared in Tessera</dt>
            <dd>
              <At iso={r.declaredAt} none="–" />
            </dd>
            <dt>Raised by security alert</dt>
            <dd data-testid="from-alert">{r.fromAlert === null ? 'no (declared by hand)' : `alert #${r.fromAlert}`}</dd>
            <dt>Organization's owners and admins told</dt>
            <dd>
              <At iso={r.ownersNotifiedAt} none="not yet" />
            </dd>
          </dl>
          <h3>What happened (the nature of the breach)</h3>
          <Text v={r.whatHappened} testid="what-happened" />
        </section>

        <section aria-labelledby="affected-heading" class="report-block">
          <h2 id="affected-heading">Data and people affected (Art. 33(3)(a))</h2>
          <dl>
            <dt>Categories of personal data</dt>
            <dd class="report-text" data-testid="affected-data">
              {r.affectedData || <em>Not recorded.</em>}
            </dd>
            <dt>People affected (approximate)</dt>
            <dd data-testid="affected-people">{people}</dd>
            <dt>Attendee records the audit log shows as opened or exported</dt>
            <dd data-testid="affected-audit">{r.affectedPeopleFromAuditLog === null ? 'not computed (the incident was not declared from a bulk-read alert)' : String(r.affectedPeopleFromAuditLog)}</dd>
          </dl>
        </section>

        <section aria-labelledby="consequences-heading" class="report-block">
          <h2 id="consequences-heading">Likely consequences (Art. 33(3)(c))</h2>
          <Text v={r.likelyConsequences} testid="consequences" />
        </section>

        <section aria-labelledby="measures-heading" class="report-block">
          <h2 id="measures-heading">Measures taken or proposed (Art. 33(3)(d))</h2>
          <Text v={r.measuresTaken} testid="measures" />
        </section>

        <section aria-labelledby="contact-heading" class="report-block">
          <h2 id="contact-heading">Controller and contact point (Art. 33(3)(b))</h2>
          <dl>
            <dt>Controller</dt>
            <dd>{r.organization}</dd>
            <dt>Contact for more information</dt>
            <dd class="report-text" data-testid="contact">
              {r.controllerContact ?? <em>Not set (Organization → Settings → Defaults for new events → "Data controller contact").</em>}
            </dd>
          </dl>
        </section>
      </main>
    </Document>
  );
}
