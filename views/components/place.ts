import { type OrgRole, type Permission, roleHas } from '../../src/orgs/permissions.ts';

/**
 * Where a signed-in page sits in the app: which organization, which of its sections, which event
 * and which of the event's sections. The app shell draws the navigation, the marked current
 * place and the breadcrumbs from this, so page bodies never draw navigation of their own.
 */
export type OrgSection = 'dashboard' | 'events' | 'members' | 'settings' | 'privacy' | 'retention' | 'security' | 'audit' | 'tokens' | 'permissions';
export type EventSection = 'overview' | 'registrations' | 'form' | 'access' | 'checkin' | 'settings';
export type AdminSection = 'settings' | 'users' | 'orgs' | 'mail' | 'permissions' | 'backups' | 'retention' | 'audit' | 'access-log';

export interface NavItem<S extends string> {
  section: S;
  path: string;
  label: string;
  permission: Permission;
}

export const orgSections: NavItem<OrgSection>[] = [
  { section: 'dashboard', path: '', label: 'Dashboard', permission: 'org.read' },
  { section: 'events', path: '/events', label: 'Events', permission: 'events.read' },
  { section: 'members', path: '/members', label: 'Members', permission: 'members.read' },
  { section: 'settings', path: '/settings', label: 'Settings', permission: 'org.settings' },
  { section: 'privacy', path: '/privacy/requests', label: 'Data requests', permission: 'privacy.requests' },
  { section: 'retention', path: '/retention', label: 'Retention', permission: 'org.settings' },
  { section: 'audit', path: '/audit', label: 'Audit log', permission: 'audit.read' },
  { section: 'security', path: '/security', label: 'Security', permission: 'audit.read' },
  { section: 'tokens', path: '/tokens', label: 'API tokens', permission: 'tokens.manage' },
  { section: 'permissions', path: '/permissions', label: 'Roles', permission: 'org.read' },
];

export const eventSections: NavItem<EventSection>[] = [
  { section: 'overview', path: '', label: 'Overview', permission: 'events.read' },
  { section: 'registrations', path: '/attendees', label: 'Registrations', permission: 'attendees.read' },
  { section: 'form', path: '/form', label: 'Form', permission: 'events.read' },
  { section: 'access', path: '/share-links', label: 'Access', permission: 'events.write' },
  { section: 'checkin', path: '/checkin', label: 'Check-in', permission: 'checkin.perform' },
  { section: 'settings', path: '/edit', label: 'Settings', permission: 'events.write' },
];

export const adminSections: { section: AdminSection; path: string; label: string }[] = [
  { section: 'settings', path: '/admin/settings', label: 'Settings' },
  { section: 'users', path: '/admin/users', label: 'Users' },
  { section: 'orgs', path: '/admin/orgs', label: 'Organizations' },
  { section: 'mail', path: '/admin/mail', label: 'Mail' },
  { section: 'permissions', path: '/admin/permissions', label: 'Roles' },
  { section: 'backups', path: '/admin/backups', label: 'Backups' },
  { section: 'retention', path: '/admin/retention', label: 'Retention' },
  { section: 'audit', path: '/admin/audit', label: 'Audit log' },
  { section: 'access-log', path: '/admin/access-log', label: 'Access log' },
];

/** The sections this role may open (the route table refuses the others anyway). */
export const visible = <S extends string>(items: NavItem<S>[], role: OrgRole) => items.filter((i) => roleHas(role, i.permission));

export interface PathPlace {
  orgSection?: OrgSection;
  eventSection?: EventSection;
  adminSection?: AdminSection;
}

const orgPart: Record<string, OrgSection> = { '': 'dashboard', events: 'events', members: 'members', invitations: 'members', settings: 'settings', privacy: 'privacy', retention: 'retention', security: 'security', audit: 'audit', tokens: 'tokens', permissions: 'permissions' };
const eventPart: Record<string, EventSection> = { '': 'overview', attendees: 'registrations', form: 'form', 'share-links': 'access', passcode: 'access', checkin: 'checkin', edit: 'settings', delete: 'settings', retention: 'settings', 'attendee-columns': 'registrations', status: 'overview' };

/** The sections a request path belongs to, e.g. `/orgs/acme/events/<id>/attendees/<reg>` → events › registrations. */
export function placeOfPath(path: string): PathPlace {
  const admin = /^\/admin\/([^/]+)/.exec(path);
  if (admin) {
    const hit = adminSections.find((s) => s.path === `/admin/${admin[1]}`);
    return hit ? { adminSection: hit.section } : {};
  }
  const m = /^\/orgs\/[^/]+(?:\/([^/]+))?(?:\/([0-9a-f-]{36}))?(?:\/([^/]+))?/.exec(path);
  if (!m) return {};
  const orgSection = orgPart[m[1] ?? ''];
  if (!orgSection) return {};
  if (orgSection !== 'events' || !m[2]) return { orgSection };
  const eventSection = eventPart[m[3] ?? ''];
  return eventSection ? { orgSection, eventSection } : { orgSection };
}
