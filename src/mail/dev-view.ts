import type { OutboxRow } from './service.ts';

/**
 * What an instance admin sees of the dev outbox (mail kept because no SMTP server is set). The
 * rows are mostly tenant mail — tickets with working manage links, invitations — and instance
 * admins do not see tenant data (ASVS V8.2.2), so they get the metadata only. The one exception
 * is the instance owner's own mail (the setup and password-reset mail of a fresh install).
 */
export type DevMailView =
  | { id: string; masked: true; template: string; orgId: string | null; status: string; createdAt: string; to: string }
  | { id: string; masked: false; template: string; orgId: string | null; status: string; createdAt: string; to: string; subject: string; text: string };

/** a•••@example.org: enough to tell messages apart, not enough to contact anyone. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return '•••';
  return `${address.slice(0, 1)}•••${address.slice(at)}`;
}

export function devMailView(rows: readonly OutboxRow[], viewer: { email: string; instanceRole: 'owner' | 'admin' | null }): DevMailView[] {
  const own = (to: string) => viewer.instanceRole === 'owner' && to.toLowerCase() === viewer.email.toLowerCase();
  return rows.map((m) => {
    const base = { id: m.id, template: m.template, orgId: m.org_id, status: m.status, createdAt: m.created_at };
    return own(m.to_address)
      ? { ...base, masked: false as const, to: m.to_address, subject: m.subject, text: m.text_body }
      : { ...base, masked: true as const, to: maskAddress(m.to_address) };
  });
}
