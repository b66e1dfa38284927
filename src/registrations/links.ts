import type { DB } from '../db/open.ts';
import type { EventRow } from '../events/repo.ts';
import { AttendeeTokens } from '../events/tokens.ts';
import { eventStart as formatWhen } from '../events/when.ts';
import type { RegistrationMailSource } from '../mail/service.ts';
import type { TemplateName } from '../mail/templates.ts';
import { type RegistrationRow, registrationsRepo } from './repo.ts';

export type LinkKind = 'ticket' | 'manage' | 'confirm';

export interface LinkDeps {
  db: DB;
  tokens: AttendeeTokens;
  baseUrl: () => string;
  /** the event a registration belongs to, as it is now */
  eventById: (orgId: string, eventId: string) => EventRow | undefined;
}

/**
 * An attendee's links (ticket, manage, confirm) and what they resolve to. Built before the mailer,
 * which asks it at delivery for a registration mail's parameters and ticket link: the mail then
 * carries the registration as it is when sent, and the outbox keeps no copy of personal data.
 */
export class AttendeeLinks implements RegistrationMailSource {
  private readonly repo;

  constructor(private readonly d: LinkDeps) {
    this.repo = registrationsRepo(d.db);
  }

  /** The ticket token (QR content), or the absolute manage / confirm link. */
  link(reg: Pick<RegistrationRow, 'id' | 'token_version'>, kind: LinkKind): string {
    const token = this.d.tokens.make(kind, reg.id, reg.token_version);
    if (kind === 'ticket') return token;
    return `${this.d.baseUrl()}/r/${token}${kind === 'confirm' ? '/confirm' : ''}`;
  }

  /** The manage link as a path on this server (for redirects after registering). */
  managePath(reg: Pick<RegistrationRow, 'id' | 'token_version'>): string {
    return this.link(reg, 'manage').replace(this.d.baseUrl(), '');
  }

  /** Resolves a link token (manage, confirm) or a ticket to its registration and event. */
  byToken(purpose: LinkKind, token: string): { reg: RegistrationRow; event: EventRow } | undefined {
    const id = AttendeeTokens.idOf(token);
    if (!id) return undefined;
    const orgId = this.repo.orgOfRegistration(id);
    const row = orgId && this.repo.regByIdAnyEvent(orgId, id);
    if (!row || !this.d.tokens.verify(purpose, token, row.id, row.token_version)) return undefined;
    const event = this.d.eventById(row.org_id, row.event_id);
    return event ? { reg: row, event } : undefined;
  }

  /** A status mail's parameters as the registration and its event are now; undefined once either is gone. */
  params(template: TemplateName, orgId: string, registrationId: string): Record<string, unknown> | undefined {
    const reg = this.repo.regByIdAnyEvent(orgId, registrationId);
    const e = reg && this.d.eventById(orgId, reg.event_id);
    if (!reg || !e) return undefined;
    const base = { name: reg.name, event: e.title };
    switch (template) {
      case 'registrationConfirmed':
        return { ...base, when: formatWhen(e), where: e.venue || e.online_url, code: reg.attendee_code, manageLink: this.link(reg, 'manage') };
      case 'registrationWaitlisted':
      case 'registrationDuplicate':
        return { ...base, manageLink: this.link(reg, 'manage') };
      case 'registrationPending':
        return { ...base, confirmLink: this.link(reg, 'confirm') };
      case 'registrationCancelled':
        return base;
      default:
        return undefined;
    }
  }

  /** The ticket token a ticket QR code carries, as the registration is now. */
  ticketLink(orgId: string, registrationId: string): string | undefined {
    const reg = this.repo.regByIdAnyEvent(orgId, registrationId);
    return reg && this.link(reg, 'ticket');
  }
}
