/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { PrivacyNotice } from '../../src/privacy/notice.ts';

/** The generated notice: what is asked and why, what is sensitive, until when, who is responsible. */
export function NoticeBlock({ notice, privacyLink }: { notice: PrivacyNotice; privacyLink?: string | undefined }) {
  return (
    <details class="privacy-notice" data-testid="privacy-notice">
      <summary>How we handle your data</summary>
      <p>For {notice.event} we ask:</p>
      <ul>
        {notice.fields.map((f) => (
          <li>
            <strong>{f.label}</strong>
            {f.required ? ' (required)' : ' (optional)'}
            {f.sensitive ? ' — sensitive: shown to staff only on purpose, each time recorded' : ''}
            {f.purpose ? `: ${f.purpose}` : f.personal ? '' : ' (not personal data)'}
          </li>
        ))}
      </ul>
      <p>
        {notice.erasureDate
          ? `Your personal data for this event is erased on ${notice.erasureDate}.`
          : "Your personal data for this event is erased after the event under the organization's retention policy; the data controller below tells you when."}{' '}
        You can see, download and erase what we hold about you at any time{privacyLink ? <> on <a href={privacyLink}>your privacy page</a></> : null}.
      </p>
      {notice.controller ? <p>Data controller: {notice.controller}</p> : null}
      {notice.organizerText ? <p>{notice.organizerText}</p> : null}
    </details>
  );
}
