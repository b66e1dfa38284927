/**
 * The one table that says what each role may do. Routes name a permission; nothing else in the
 * code compares role names. The settings page shows this table read-only.
 */
export const permissions = {
  'org.read': 'See the organization and its dashboard',
  'org.settings': 'Change organization settings (2FA policy, IP allowlist, defaults for new events)',
  'members.read': 'See members and invitations',
  'members.manage': 'Invite, change roles, disable and remove members',
  'tokens.manage': 'Create and revoke API tokens',
  'audit.read': "Read the organization's audit log",
  'events.read': 'See events',
  'events.write': 'Create, edit, publish and delete events',
  'attendees.read': "See attendees' personal data",
  'attendees.write': 'Edit, cancel and message attendees',
  'attendees.export': 'Export attendee data',
  'checkin.perform': 'Look up tickets and check attendees in',
  'privacy.requests': "Handle attendees' data requests: access, correction and erasure",
} as const;

export type Permission = keyof typeof permissions;
export const orgRoles = ['owner', 'admin', 'organizer', 'checkin', 'viewer'] as const;
export type OrgRole = (typeof orgRoles)[number];

const all = Object.keys(permissions) as Permission[];

export const rolePermissions: Record<OrgRole, readonly Permission[]> = {
  owner: all,
  admin: all,
  organizer: ['org.read', 'members.read', 'events.read', 'events.write', 'attendees.read', 'attendees.write', 'attendees.export', 'checkin.perform'],
  checkin: ['org.read', 'events.read', 'checkin.perform'],
  viewer: ['org.read', 'events.read'],
};

export const roleDescriptions: Record<OrgRole, string> = {
  owner: 'Full control, including other owners. The last owner cannot be removed.',
  admin: 'Full control of the organization except removing owners.',
  organizer: 'Runs events and their attendees; can be limited to chosen events.',
  checkin: 'Check-in staff: looks up tickets and checks people in; can be limited to chosen events.',
  viewer: 'Sees the organization and its events, no personal data.',
};

export function roleHas(role: OrgRole, perm: Permission): boolean {
  return rolePermissions[role].includes(perm);
}

/** Roles whose access can be narrowed to chosen events. */
export const scopableRoles: readonly OrgRole[] = ['organizer', 'checkin'];

/** The roles a member with this role may give or take away: only owners touch the owner role. */
export function assignableRoles(actorRole: OrgRole): readonly OrgRole[] {
  return actorRole === 'owner' ? orgRoles : orgRoles.filter((r) => r !== 'owner');
}
