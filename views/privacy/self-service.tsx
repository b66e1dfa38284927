/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { ErasureReceipt } from '../../src/privacy/erasure-port.ts';
import type { PersonView } from '../../src/privacy/self-service.ts';
import { Flash } from '../components/flash.tsx';
import { Csrf, Field, TextArea } from '../components/form.tsx';
import { when } from '../components/when.ts';
import { NoticeBlock } from './notice.tsx';

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** "Email me a link": the first step, the same for every address. */
export function RequestLinkPage(p: { orgName: string; action: string; csrf: string; sent?: boolean; error?: string | undefined; email?: string | undefined }) {
  return (
    <article>
      <h1>Your data at {p.orgName}</h1>
      {p.sent ? (
        <Flash kind="ok">If {p.orgName} holds data about this address, we have emailed it a link. The link works once, for one hour.</Flash>
      ) : (
        <p>See what {p.orgName} holds about you, download it, see which staff roles read it, ask for a correction, or have it erased. Enter the email address you registered with: we email it a link that works once, for one hour.</p>
      )}
      {p.error ? <Flash kind="error">{p.error}</Flash> : null}
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <Field name="email" label="Email address" type="email" value={p.email ?? ''} required maxlength={254} autocomplete="email" />
        <button type="submit">Email me a link</button>
      </form>
    </article>
  );
}

/** The emailed link lands here: a button, so a mail scanner following links does not use it up. */
export function OpenLinkPage(p: { csrf: string; usable: boolean }) {
  return (
    <article>
      <h1>Your data</h1>
      {p.usable ? (
        <form method="post" action="/privacy/open">
          <Csrf token={p.csrf} />
          <p>This link works once. Open your data now; the page stays open for 30 minutes.</p>
          <button type="submit">Show my data</button>
        </form>
      ) : (
        <Flash kind="error">This link was already used or has expired. Ask for a new one on the organization's privacy page.</Flash>
      )}
    </article>
  );
}

export function PersonPage(p: { v: PersonView; csrf: string; notice?: string | undefined }) {
  const { v } = p;
  const scoped = v.subject.registrationId !== null;
  return (
    <article>
      <h1>Your data at {v.org.name}</h1>
      {p.notice ? <Flash kind="ok">{p.notice}</Flash> : null}
      <p>
        {scoped ? 'This registration' : `Everything registered under ${v.subject.email}`}: {v.registrations.length} registration{v.registrations.length === 1 ? '' : 's'}.
      </p>
      <p>
        <a href="/privacy/me/export.json" download>
          Download as JSON
        </a>{' '}
        ·{' '}
        <a href="/privacy/me/export.csv" download>
          Download as CSV
        </a>
      </p>
      {v.registrations.map((r) => (
        <section data-registration={r.id} aria-label={r.event}>
          <h2>{r.event}</h2>
          <p>
            Status: {r.status} · registered {when(r.registeredAt)}
            {r.checkedInAt ? ` · checked in ${when(r.checkedInAt)}` : ''}
          </p>
          {r.holds.length ? (
            <ul data-testid="holds">
              {r.holds.map((h) => (
                <li>
                  <strong>On hold until {h.until.slice(0, 10)}</strong> (kept past its erasure date and past an erasure request). Reason: {h.reason}
                </li>
              ))}
            </ul>
          ) : null}
          <table>
            <tbody>
              {r.answers.map((a) => (
                <tr>
                  <th scope="row">
                    {a.label}
                    {a.sensitive ? <small> (sensitive)</small> : null}
                  </th>
                  <td>{a.value || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.notice ? <NoticeBlock notice={r.notice} /> : null}
        </section>
      ))}
      <section aria-labelledby="reads-heading">
        <h2 id="reads-heading">Who has seen your data</h2>
        {v.reads.length === 0 ? (
          <p data-testid="reads-none">No staff member has opened, listed or exported your data.</p>
        ) : (
          <div class="table-scroll" tabindex={0} role="region" aria-label="Table, scrolls sideways">
          <table data-testid="reads">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Event</th>
              </tr>
            </thead>
            <tbody>
              {v.reads.map((x) => (
                <tr>
                  <td>{when(x.at)}</td>
                  <td>{x.who}</td>
                  <td>{x.what}</td>
                  <td>{x.event}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        )}
      </section>
      {v.requests.length > 0 ? (
        <section aria-labelledby="requests-heading">
          <h2 id="requests-heading">Your requests</h2>
          <ul>
            {v.requests.map((r) => (
              <li>
                {r.type} · received {when(r.received_at)} · {r.status === 'completed' ? `done ${when(r.completed_at)}` : `open, answer due by ${r.deadline_at.slice(0, 10)}`}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="correct-heading">
        <h2 id="correct-heading">Ask for a correction</h2>
        <form method="post" action="/privacy/me/correction">
          <Csrf token={p.csrf} />
          <TextArea name="text" label="What is wrong, and what should it say?" rows={3} maxlength={2000} required />
          <button type="submit" class="secondary">
            Send to the organizer
          </button>
        </form>
      </section>
      <section aria-labelledby="erase-heading">
        <h2 id="erase-heading">Erase my data</h2>
        {scoped ? (
          <form method="post" action="/privacy/me/link">
            <Csrf token={p.csrf} />
            <p>To erase everything held about your address, or to see all your registrations, we email you a link first.</p>
            <button type="submit" class="secondary">
              Email me that link
            </button>
          </form>
        ) : (
          <form method="post" action="/privacy/me/erase">
            <Csrf token={p.csrf} />
            <p>This erases your name, email address and answers from every registration above, at once. Records the organizer must keep (on hold) are listed in the receipt with the reason.</p>
            <label for="f-confirm">
              <input id="f-confirm" type="checkbox" name="confirm" value="yes" required />I understand this cannot be undone
            </label>
            <button type="submit" class="contrast">
              Erase my data
            </button>
          </form>
        )}
      </section>
    </article>
  );
}

export function ErasedPage({ orgName, receipt }: { orgName: string; receipt: ErasureReceipt }) {
  return (
    <article>
      <h1>Your data was erased</h1>
      <Flash kind="ok">
        {orgName} erased {receipt.erasedRegistrations} registration{receipt.erasedRegistrations === 1 ? '' : 's'} on {when(receipt.at)}. A receipt is on its way to your address.
      </Flash>
      {receipt.erased.length ? <p>Erased: {receipt.erased.join(', ')}.</p> : null}
      {receipt.kept.length ? <p>Kept: {receipt.kept.join('; ')}.</p> : null}
      {receipt.held.length ? (
        <section aria-labelledby="held-heading">
          <h2 id="held-heading">On hold, not erased yet</h2>
          <ul data-testid="held">
            {receipt.held.map((h) => (
              <li>
                {h.eventTitle}: {h.reason} (until {day(h.until)})
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <p>{receipt.backupsExpireBy ? `Encrypted backups taken before now still hold the data until ${day(receipt.backupsExpireBy)}.` : 'No backups hold the data.'}</p>
    </article>
  );
}
