import { z } from 'zod';
import type { SettingName } from '../config/config.ts';
import { defaultZone } from '../events/event-form.ts';
import { isTimeZone } from '../events/zoned-time.ts';
import { parseCidrList } from '../orgs/ip-allowlist.ts';
import { E164_PATTERN } from '../sms/phone.ts';
import { PASSWORD_MIN_LENGTH } from '../auth/password-policy.ts';

/**
 * Every setting the instance settings page edits: its section, its form control, how its form
 * text is parsed, its default, and the flags or env vars that override it. The service, the page
 * and the audit trail all read this one table.
 */
export const SECTIONS = ['general', 'mail', 'sms', 'security'] as const;
export type SectionId = (typeof SECTIONS)[number];
export const SECTION_TITLES: Record<SectionId, string> = { general: 'General', mail: 'Mail', sms: 'SMS provider', security: 'Security' };

export type SettingValue = string | number | boolean | string[] | undefined;
type Input = 'text' | 'number' | 'checkbox' | 'select' | 'secret' | 'textarea';

export interface FieldDef {
  name: string;
  section: SectionId;
  label: string;
  help?: string;
  input: Input;
  options?: readonly (readonly [string, string])[];
  /** Parses the submitted text ('' = unset; a checkbox sends 'on' or nothing). */
  schema: z.ZodType<SettingValue>;
  default: SettingValue;
  /** Flags/env vars that, when given, decide this value instead (the first one given is named on the page). */
  lockedBy: readonly SettingName[];
  /**
   * What the audit row keeps of a change: the values, only that it changed (values that can be
   * personal data, such as an address), or nothing but "replaced" for secrets.
   */
  audit: 'value' | 'changed' | 'secret';
}

/** '' means unset; anything else must pass `inner`. */
const optional = (inner: z.ZodType<SettingValue, string>): z.ZodType<SettingValue> =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      if (v === '') return undefined;
      const r = inner.safeParse(v);
      if (r.success) return r.data;
      ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'Invalid value.' });
      return z.NEVER;
    });
const int = (min: number, max: number, what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `Enter a whole number of ${what}.`)
    .transform(Number)
    .pipe(z.number().min(min, `Enter at least ${min} ${what}.`).max(max, `Enter at most ${max} ${what}.`));
const oneLine = (max: number, what: string) => z.string().max(max, `${what} must be at most ${max} characters.`).regex(/^[^\r\n]*$/, `${what} must be one line.`);
const checkbox = z.string().optional().transform((v) => v === 'on');
const printable = (min: number, max: number, what: string) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`), `${what} must be ${min}–${max} printable characters without spaces.`);

export const LANGUAGES = [['en', 'English']] as const;

export const FIELDS: readonly FieldDef[] = [
  {
    name: 'instanceName',
    section: 'general',
    label: 'Instance name',
    help: 'Shown in authenticator apps and emails, e.g. "Example Events".',
    input: 'text',
    schema: z.string().trim().max(60, 'Use at most 60 characters.').regex(/^[^\r\n<>]*$/, 'Use one line without < or >.'),
    default: '',
    lockedBy: ['instanceName'],
    audit: 'value',
  },
  {
    name: 'publicUrl',
    section: 'general',
    label: 'Public URL',
    help: 'The address people use, e.g. https://events.example.org; links in emails start with it. Empty: the address the server listens on.',
    input: 'text',
    schema: optional(z.url({ protocol: /^https?$/, error: 'Enter a full http:// or https:// address, e.g. https://events.example.org.' }).transform((u) => u.replace(/\/+$/, ''))),
    default: undefined,
    lockedBy: ['publicUrl'],
    audit: 'value',
  },
  {
    name: 'timeZone',
    section: 'general',
    label: 'Default time zone',
    help: 'Preselected for new events.',
    input: 'text',
    schema: z.string().trim().refine((v) => v === 'UTC' || isTimeZone(v), 'Enter a time zone name such as Europe/Zurich or UTC.'),
    default: defaultZone(),
    lockedBy: [],
    audit: 'value',
  },
  {
    name: 'language',
    section: 'general',
    label: 'Default language',
    help: 'Pages and emails are in English today; more languages will follow this setting.',
    input: 'select',
    options: LANGUAGES,
    schema: z.enum(LANGUAGES.map(([v]) => v) as [string, ...string[]], 'Choose a language from the list.'),
    default: 'en',
    lockedBy: [],
    audit: 'value',
  },

  {
    name: 'smtpHost',
    section: 'mail',
    label: 'SMTP host',
    help: 'Empty: no mail leaves the server; messages wait in the dev outbox under Mail.',
    input: 'text',
    schema: optional(z.string().max(253, 'Use at most 253 characters.').regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$|^\[[0-9A-Fa-f:.]+\]$/, 'Enter a host name such as mail.example.org or an IP address (IPv6 in brackets).')),
    default: undefined,
    lockedBy: ['smtpUrl'],
    audit: 'value',
  },
  { name: 'smtpPort', section: 'mail', label: 'SMTP port', help: '587 for STARTTLS, 465 for TLS.', input: 'number', schema: int(1, 65535, 'as port'), default: 587, lockedBy: ['smtpUrl'], audit: 'value' },
  {
    name: 'smtpTls',
    section: 'mail',
    label: 'Encryption',
    input: 'select',
    options: [
      ['starttls', 'STARTTLS (required)'],
      ['tls', 'TLS from the first byte (smtps)'],
      ['none', 'None (only to this machine, or with --allow-insecure-transport=smtp)'],
    ],
    schema: z.enum(['starttls', 'tls', 'none'], 'Choose an encryption mode from the list.'),
    default: 'starttls',
    lockedBy: ['smtpUrl'],
    audit: 'value',
  },
  { name: 'smtpUser', section: 'mail', label: 'SMTP user', input: 'text', schema: optional(oneLine(256, 'The user')), default: undefined, lockedBy: ['smtpUrl'], audit: 'changed' },
  { name: 'smtpPassword', section: 'mail', label: 'SMTP password', input: 'secret', schema: optional(oneLine(512, 'The password')), default: undefined, lockedBy: ['smtpUrl', 'smtpPassword'], audit: 'secret' },
  {
    name: 'mailFrom',
    section: 'mail',
    label: 'Sender',
    help: 'e.g. Example Events <events@example.org>',
    input: 'text',
    schema: z.string().trim().min(3, 'Enter a sender such as "Example Events <events@example.org>".').max(320, 'Use at most 320 characters.').regex(/^[^\r\n]*@[^\r\n]*$/, 'Enter a sender such as "Example Events <events@example.org>".'),
    default: 'Tessera <tessera@localhost>',
    lockedBy: ['mailFrom'],
    audit: 'changed',
  },

  {
    name: 'smsUrl',
    section: 'sms',
    label: 'Messages endpoint',
    help: 'Twilio-compatible, e.g. https://api.twilio.com/2010-04-01/Accounts/AC…/Messages.json. Empty: SMS wait in the dev outbox.',
    input: 'text',
    schema: optional(
      z
        .url({ protocol: /^https?$/, hostname: /^\S+$/, error: 'Enter a full https:// address.' })
        .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'Leave credentials out of the address; use the fields below.'),
    ),
    default: undefined,
    lockedBy: ['smsUrl'],
    audit: 'value',
  },
  { name: 'smsAccountSid', section: 'sms', label: 'Account SID', input: 'text', schema: optional(z.string().regex(/^[\x21-\x39\x3b-\x7e]{1,128}$/, 'The account SID must be 1–128 printable characters without spaces or ":".')), default: undefined, lockedBy: ['smsUrl', 'smsAccountSid'], audit: 'value' },
  { name: 'smsAuthToken', section: 'sms', label: 'Auth token', input: 'secret', schema: optional(printable(8, 256, 'The auth token')), default: undefined, lockedBy: ['smsUrl', 'smsAuthToken'], audit: 'secret' },
  {
    name: 'smsFrom',
    section: 'sms',
    label: 'Sender',
    help: 'An E.164 number such as +14155550100, or a messaging service SID (MG…).',
    input: 'text',
    schema: optional(z.string().refine((v) => E164_PATTERN.test(v) || /^MG[0-9a-fA-F]{32}$/.test(v), 'Enter an E.164 number such as +14155550100 or a messaging service SID (MG…).')),
    default: undefined,
    lockedBy: ['smsUrl', 'smsFrom'],
    audit: 'value',
  },

  {
    name: 'passwordMinLength',
    section: 'security',
    label: 'Minimum password length',
    help: `Characters; at least ${PASSWORD_MIN_LENGTH} (the floor this product promises). Applies to every new or changed password.`,
    input: 'number',
    schema: int(PASSWORD_MIN_LENGTH, 128, 'characters'),
    default: PASSWORD_MIN_LENGTH,
    lockedBy: [],
    audit: 'value',
  },
  { name: 'sessionIdleMinutes', section: 'security', label: 'Sign out after inactivity (minutes)', help: 'Organizations may set shorter ones for staff who read attendee data.', input: 'number', schema: int(5, 43_200, 'minutes'), default: 720, lockedBy: ['sessionIdleMinutes'], audit: 'value' },
  { name: 'sessionAbsoluteHours', section: 'security', label: 'Sign out after (hours), whatever the activity', input: 'number', schema: int(1, 8_760, 'hours'), default: 168, lockedBy: ['sessionAbsoluteHours'], audit: 'value' },
  {
    name: 'newOrgRequire2fa',
    section: 'security',
    label: 'New organizations require two-factor sign-in for all members',
    help: 'The starting value of each new organization\u2019s own setting; its owners can change it there.',
    input: 'checkbox',
    schema: checkbox,
    default: true,
    lockedBy: [],
    audit: 'value',
  },
  { name: 'loginLockAfter', section: 'security', label: 'Lock sign-in after this many failed attempts', help: 'Per account and network; the account holder elsewhere is not locked out.', input: 'number', schema: int(3, 100, 'attempts'), default: 10, lockedBy: [], audit: 'value' },
  { name: 'loginLockMinutes', section: 'security', label: 'Lock for (minutes)', input: 'number', schema: int(1, 1440, 'minutes'), default: 15, lockedBy: [], audit: 'value' },
  {
    name: 'adminNetworks',
    section: 'security',
    label: 'Networks allowed to use /admin',
    help: 'IP addresses or CIDR ranges, one per line (e.g. 203.0.113.0/24). Empty: any network.',
    input: 'textarea',
    schema: z.string().transform((v, ctx) => {
      const r = parseCidrList(v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.cidrs;
    }),
    default: [],
    lockedBy: [],
    audit: 'value',
  },
];

export const fieldsOf = (section: SectionId) => FIELDS.filter((f) => f.section === section);
export const fieldByName = (name: string) => FIELDS.find((f) => f.name === name);
