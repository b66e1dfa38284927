/**
 * Audit action codes in words, for the audit pages and exports. An unknown code (a capability
 * added later) is shown as itself, never hidden: the dictionary makes the log readable, it does
 * not decide what is in it.
 */
export const actionWords: Record<string, string> = {
  'access.denied': 'Access refused',
  'api_token.auth_failed': 'API token refused',
  'attendee.email_resent': 'Attendee email sent again',
  'attendee.exported': 'Attendee list exported',
  'attendee.listed': 'Attendee list viewed',
  'attendee.message_throttled': 'Attendee message refused (limit)',
  'attendee.messaged': 'Attendees messaged',
  'attendee.sensitive_revealed': 'Sensitive answers revealed',
  'attendee.viewed': 'Attendee record viewed',
  'audit.exported': 'Audit log exported',
  'audit.searched_person': 'Audit log searched for a person',
  'audit.verified': 'Audit chain verified',
  'audit.pruned': 'Old audit entries removed (retention)',
  'access_log.pruned': 'Old access logs removed (retention)',
  'auth.2fa': 'Second factor used',
  'auth.2fa_disabled': 'Two-factor authentication turned off',
  'auth.2fa_enabled': 'Two-factor authentication turned on',
  'auth.2fa_enrol': 'Two-factor enrolment started',
  'auth.2fa_reset': 'Two-factor authentication reset',
  'auth.all_sessions_revoked': 'Everyone signed out',
  'auth.email_change_requested': 'Email change requested',
  'auth.email_changed': 'Email changed',
  'auth.email_verified': 'Email verified',
  'auth.lock_notice': 'Account lock notice sent',
  'auth.login': 'Sign-in',
  'auth.logout': 'Sign-out',
  'auth.password_changed': 'Password changed',
  'auth.password_ok': 'Password accepted',
  'auth.password_reset': 'Password reset',
  'auth.password_reset_requested': 'Password reset requested',
  'auth.reauth': 'Password confirmed again',
  'auth.recovery_codes_regenerated': 'Recovery codes renewed',
  'auth.session_revoked': 'Session ended',
  'auth.sessions_revoked': 'Sessions ended',
  'auth.sms_code_sent': 'SMS code sent',
  'auth.sms_disabled': 'SMS second factor removed',
  'auth.sms_enabled': 'SMS second factor added',
  'auth.sms_enrol': 'SMS enrolment started',
  'auth.unlocked': 'Sign-in unlocked',
  'backup.restore_test': 'Restore test',
  'backup.restored': 'Backup restored',
  'checkin.done': 'Checked in',
  'checkin.undone': 'Check-in undone',
  'event.access_throttled': 'Event access refused (limit)',
  'event.created': 'Event created',
  'event.deleted': 'Event deleted',
  'event.field_added': 'Form field added',
  'event.field_moved': 'Form field moved',
  'event.field_removed': 'Form field removed',
  'event.field_updated': 'Form field changed',
  'event.passcode_removed': 'Event passcode removed',
  'event.passcode_set': 'Event passcode set',
  'event.passcode_used': 'Event passcode used',
  'event.share_link_created': 'Share link created',
  'event.share_link_revoked': 'Share link revoked',
  'event.share_link_used': 'Share link used',
  'event.updated': 'Event changed',
  'instance.created': 'Instance created',
  'instance.upgraded': 'Instance upgraded (migrations applied)',
  'keys.pruned': 'Old keys removed',
  'keys.rotated': 'Key rotated',
  'keys.rotation_recovered': 'Key rotation recovered',
  'keys.unwrap': 'Keys unlocked',
  'member.disabled': 'Member disabled',
  'member.enabled': 'Member enabled',
  'member.invitation_revoked': 'Invitation revoked',
  'member.invite_throttled': 'Invitation refused (limit)',
  'member.invited': 'Member invited',
  'member.joined': 'Member joined',
  'member.removed': 'Member removed',
  'member.role_changed': 'Member role changed',
  'member.scope_changed': 'Member event access changed',
  'org.2fa_policy_changed': 'Two-factor policy changed',
  'org.created': 'Organization created',
  'org.ip_allowlist_changed': 'Allowed networks changed',
  'org.branding_accent_changed': 'Accent colour changed',
  'org.branding_logo_changed': 'Logo changed',
  'org.privacy_defaults_changed': 'Privacy defaults changed',
  'org.renamed': 'Organization renamed',
  'org.owner_added': 'Owner added by an instance admin',
  'org.session_policy_changed': 'Session policy changed',
  'org.suspended': 'Organization suspended',
  'org.unsuspended': 'Organization suspension lifted',
  'registration.cancelled': 'Registration cancelled',
  'registration.confirmed': 'Registration confirmed',
  'registration.created': 'Registration created',
  'registration.promoted': 'Moved up from the waiting list',
  'registration.throttled': 'Registration refused (limit)',
  'registration.updated': 'Registration changed',
  'registration.viewed': 'Registration viewed by the attendee',
  'security.alert': 'Security alert sent',
  'settings.backup_target_added': 'Backup target added',
  'settings.backup_target_removed': 'Backup target removed',
  'settings.backup_targets_tested': 'Backup target connection tested',
  'settings.changed': 'Instance settings changed',
  'settings.mail_test_sent': 'Test email sent',
  'settings.sms_test_sent': 'Test SMS sent',
  'setup.link_issued': 'Setup link issued',
  'token.created': 'API token created',
  'token.revoked': 'API token revoked',
  'user.created': 'Account created',
  'user.disabled': 'Account disabled',
  'user.enabled': 'Account enabled',
  'user.2fa_reset': 'Two-factor authentication reset by an administrator',
  'user.signed_out': 'Signed out everywhere',
};

export const actionCategories: Record<string, string> = {
  access: 'Access',
  attendee: 'Attendee data',
  audit: 'Audit log',
  auth: 'Sign-in and accounts',
  backup: 'Backups',
  checkin: 'Check-in',
  event: 'Events',
  keys: 'Keys',
  member: 'Members',
  org: 'Organization settings',
  registration: 'Registrations',
  security: 'Security',
  token: 'API tokens',
  user: 'Accounts (administration)',
};

export function actionLabel(code: string): string {
  return actionWords[code] ?? code;
}

/** Actions that read or export an attendee's data: "who accessed this attendee's data". */
export const attendeeReadActions = ['attendee.viewed', 'attendee.sensitive_revealed', 'attendee.exported', 'attendee.listed', 'checkin.done', 'checkin.undone', 'registration.updated', 'attendee.email_resent'] as const;

/** The choices of the action filter: categories ("auth.*") then codes, grouped. */
export function actionOptions(): { group: string; options: [string, string][] }[] {
  const groups = new Map<string, [string, string][]>();
  for (const [code, words] of Object.entries(actionWords).sort((a, b) => a[1].localeCompare(b[1]))) {
    const cat = code.split('.')[0]!;
    const list = groups.get(cat) ?? [];
    list.push([code, words]);
    groups.set(cat, list);
  }
  return [...groups.entries()]
    .sort((a, b) => (actionCategories[a[0]] ?? a[0]).localeCompare(actionCategories[b[0]] ?? b[0]))
    .map(([cat, options]) => ({ group: actionCategories[cat] ?? cat, options: [[`${cat}.*`, `All: ${actionCategories[cat] ?? cat}`], ...options] }));
}
