import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../html-escape.ts';
import { renderMail, templates } from './templates.ts';

describe('mail templates', () => {
  it('puts the link in both parts and the name in the greeting', () => {
    const link = 'https://events.example.org/verify?t=abc&u=1';
    const m = renderMail('verifyEmail', { name: 'Ada', link });
    expect(m.template).toBe('verifyEmail');
    expect(m.subject).toBe('Confirm your email address');
    expect(m.text).toContain('Hello Ada,');
    expect(m.text).toContain(link);
    expect(m.html).toContain('href="https://events.example.org/verify?t=abc&amp;u=1"');
  });

  it('escapes every user-controlled value in the HTML part', () => {
    const m = templates.invitation({ orgName: '<script>alert(1)</script>', inviterName: 'Eve "x" & co', link: 'https://e.example/"><img src=x>', role: 'admin' });
    expect(m.html).not.toContain('<script>');
    expect(m.html).not.toContain('<img');
    expect(m.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(m.html).toContain('Eve &quot;x&quot; &amp; co');
    // The text part is plain text: it carries the values as they are.
    expect(m.text).toContain('Eve "x" & co invited you to join <script>alert(1)</script> on Tessera as admin.');
  });

  it('keeps the subject on one line whatever a name contains', () => {
    const m = templates.invitation({ orgName: 'Org\r\nBcc: victim@example.org', inviterName: 'Eve', link: 'https://e.example/i', role: 'viewer' });
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.subject).toBe('Eve invited you to Org Bcc: victim@example.org on Tessera');
  });

  it('states the expiry in a password reset and lists alert lines', () => {
    expect(templates.passwordReset({ name: 'Ada', link: 'https://e.example/r', minutes: 30 }).text).toContain('expires in 30 minutes');
    const alert = templates.securityAlert({ title: '5 failed sign-ins', lines: ['account: u_123', 'from: 203.0.113.7'] });
    expect(alert.subject).toBe('Security alert: 5 failed sign-ins');
    expect(alert.text).toContain('account: u_123\nfrom: 203.0.113.7');
    expect(alert.html).toContain('account: u_123<br>from: 203.0.113.7');
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
