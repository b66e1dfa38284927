/**
 * Every mail Tessera sends, as a typed function from params to content. Keeping them here (not
 * inline in services) means one place to review wording and one place where escaping happens.
 * Names, links and titles are user-controlled: the HTML part escapes every interpolated value.
 */
import { escapeHtml } from '../html-escape.ts';

export interface MailContent {
  subject: string;
  text: string;
  html?: string;
}


/** Header values must stay on one line; a stray newline in a name must not reshape the subject. */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').trim();
}

/** Paragraphs of plain text → the text part and an escaped, minimal HTML part. */
function compose(subject: string, paragraphs: string[], link?: { href: string; label: string }): MailContent {
  const text = [...paragraphs, ...(link ? [`${link.label}:\n${link.href}`] : [])].join('\n\n') + '\n';
  const body = paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`);
  if (link) body.push(`<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>`);
  const html = `<!doctype html><html><body>${body.join('\n')}</body></html>\n`;
  return { subject: oneLine(subject), text, html };
}

export const templates = {
  verifyEmail(p: { name: string; link: string }): MailContent {
    return compose(
      'Confirm your email address',
      [`Hello ${p.name},`, 'please confirm that this is your email address so you can sign in to Tessera.', 'If you did not create an account, you can ignore this message.'],
      { href: p.link, label: 'Confirm my email address' },
    );
  },

  passwordReset(p: { name: string; link: string; minutes: number }): MailContent {
    return compose(
      'Reset your password',
      [
        `Hello ${p.name},`,
        `someone asked to reset the password of your Tessera account. The link below works once and expires in ${p.minutes} minutes.`,
        'If this was not you, ignore this message: your password stays as it is.',
      ],
      { href: p.link, label: 'Choose a new password' },
    );
  },

  invitation(p: { orgName: string; inviterName: string; link: string; role: string }): MailContent {
    return compose(
      `${p.inviterName} invited you to ${p.orgName} on Tessera`,
      [`Hello,`, `${p.inviterName} invited you to join ${p.orgName} on Tessera as ${p.role}.`, 'If you were not expecting this invitation, you can ignore this message.'],
      { href: p.link, label: 'Accept the invitation' },
    );
  },

  registrationConfirmed(p: { name: string; event: string; when: string; where: string; code: string; manageLink: string }): MailContent {
    return compose(
      `Your ticket: ${p.event}`,
      [
        `Hello ${p.name || 'there'},`,
        `you are registered for ${p.event}.`,
        `When: ${p.when}${p.where ? `\nWhere: ${p.where}` : ''}`,
        `Your attendee code: ${p.code}\nYour ticket QR code and a calendar file are attached. Show the QR code (or tell the code) at the entrance.`,
        'You can see, change or cancel your registration with your personal link below. Keep it private: anyone with the link can manage your registration.',
      ],
      { href: p.manageLink, label: 'Manage my registration' },
    );
  },

  registrationWaitlisted(p: { name: string; event: string; manageLink: string }): MailContent {
    return compose(
      `Waiting list: ${p.event}`,
      [`Hello ${p.name || 'there'},`, `${p.event} is full, so we put you on the waiting list. If a seat frees up you get it automatically, in the order people joined, and we email you your ticket.`],
      { href: p.manageLink, label: 'Manage my registration' },
    );
  },

  registrationPending(p: { name: string; event: string; confirmLink: string }): MailContent {
    return compose(
      `Please confirm: ${p.event}`,
      [`Hello ${p.name || 'there'},`, `please confirm your registration for ${p.event}. Your seat is held only once you confirm.`, 'If you did not register, ignore this message and nothing happens.'],
      { href: p.confirmLink, label: 'Confirm my registration' },
    );
  },

  registrationDuplicate(p: { name: string; event: string; manageLink: string }): MailContent {
    return compose(
      `You are already registered: ${p.event}`,
      [
        `Hello ${p.name || 'there'},`,
        `someone (probably you) tried to register this address for ${p.event} again. You are already registered, so nothing changed.`,
        'Your personal link below shows your registration and ticket. If you did not try to register, you can ignore this message.',
      ],
      { href: p.manageLink, label: 'Manage my registration' },
    );
  },

  registrationCancelled(p: { name: string; event: string }): MailContent {
    return compose(`Cancelled: ${p.event}`, [`Hello ${p.name || 'there'},`, `your registration for ${p.event} is cancelled. If this is a mistake, contact the organizer.`]);
  },

  organizerMessage(p: { event: string; subject: string; body: string; manageLink: string }): MailContent {
    return compose(`${p.event}: ${p.subject}`, [p.body, `You receive this because you registered for ${p.event}.`], { href: p.manageLink, label: 'Manage my registration' });
  },

  privacyLink(p: { org: string; link: string; minutes: number }): MailContent {
    return compose(
      `Your data at ${p.org}`,
      [
        'Hello,',
        `someone (probably you) asked to see the data ${p.org} holds about this email address. The link below opens it; it works once and expires in ${p.minutes} minutes.`,
        'There you can download your data, see which staff roles read it, ask for a correction, or have it erased. If you did not ask, ignore this message.',
      ],
      { href: p.link, label: 'See my data' },
    );
  },

  privacyRequestNotice(p: { org: string; type: string; channel: string; received: string; deadline: string; status: string; link: string }): MailContent {
    return compose(
      `Data request (${p.type}) at ${p.org}`,
      [
        `A data-subject request was received for ${p.org}.`,
        `Type: ${p.type}\nReceived: ${p.received} (${p.channel})\nStatus: ${p.status}\nAnswer due by: ${p.deadline}`,
        'The request record says what was asked and what was done. This message holds no personal data on purpose.',
      ],
      { href: p.link, label: 'Open the request' },
    );
  },

  erasureReceipt(p: { org: string; at: string; erased: string[]; kept: string[]; held: string[]; backups: string }): MailContent {
    const list = (xs: string[]) => xs.map((x) => `- ${x}`).join('\n');
    return compose(`Your data at ${p.org} was erased`, [
      'Hello,',
      `as you asked, ${p.org} erased the personal data it held about this email address on ${p.at}.`,
      p.erased.length ? `Erased:\n${list(p.erased)}` : 'We held no personal data about this address.',
      ...(p.kept.length ? [`Kept:\n${list(p.kept)}`] : []),
      ...(p.held.length ? [`Not erased yet, because they are on hold:\n${list(p.held)}`] : []),
      p.backups,
      'This is the last message we send to this address about it.',
    ]);
  },

  securityAlert(p: { title: string; lines: string[] }): MailContent {
    return compose(`Security alert: ${p.title}`, [p.title, p.lines.join('\n'), 'This message was sent automatically by your Tessera instance.']);
  },
} as const;

export type TemplateName = keyof typeof templates;
export type TemplateParams<K extends TemplateName> = Parameters<(typeof templates)[K]>[0];

export function isTemplateName(name: string): name is TemplateName {
  return Object.hasOwn(templates, name);
}

/** Renders a template and tags the result with its name, ready to spread into Mailer.enqueue. */
export function renderMail<K extends TemplateName>(template: K, params: TemplateParams<K>): MailContent & { template: K } {
  const render = templates[template] as (p: TemplateParams<K>) => MailContent;
  return { template, ...render(params) };
}
