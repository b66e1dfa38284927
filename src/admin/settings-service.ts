import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { ThrottleRules } from '../auth/throttle.ts';
import type { Config, SettingName } from '../config/config.ts';
import { settingsRepo } from '../config/repo.ts';
import { isLoopbackHost, plaintextEndpointError, smtpRequiresTls } from '../config/transport.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Keyring } from '../keys/keyring.ts';
import { ipAllowed } from '../orgs/ip-allowlist.ts';
import type { TwilioCompatibleOptions } from '../sms/sender.ts';
import { FIELDS, type FieldDef, type SectionId, type SettingValue, fieldsOf } from './settings-fields.ts';
import { SecretBox } from './secret-box.ts';

export interface InstanceSettingsDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  keyring: Keyring;
  cfg: Config;
  now: () => number;
}

/** One field as the page shows it: never a secret's value, only whether one is set. */
export interface FieldView {
  def: FieldDef;
  /** The form text for the field ('' for secrets). */
  text: string;
  secretSet: boolean;
  /** "set by TESSERA_SMTP_URL" when a flag or env var decides it. */
  lockedBy?: string;
}

export type SaveResult = { ok: true; changed: string[] } | { ok: false; errors: Record<string, string>; values: Record<string, string> };

const KEY_PREFIX = 'instance.';
const MASK = '(secret)';

/**
 * Instance settings kept in the database and edited on /admin/settings. Precedence: a flag or
 * env var given at start wins (the page shows the field locked and names it), then the stored
 * value, then the default. The running services ask here on each use, so a saved change applies
 * at once without a restart.
 */
export class InstanceSettings {
  private readonly repo;
  private readonly box: SecretBox;
  /** Stored values, secrets opened; dropped on every save. The process is the only writer. */
  private cache: Map<string, SettingValue> | undefined;

  constructor(private readonly d: InstanceSettingsDeps) {
    this.repo = settingsRepo(d.db);
    this.box = new SecretBox(d.keyring);
  }

  /** The flag or env var that decides the field, if one was given. */
  lockReason(def: FieldDef): string | undefined {
    for (const n of def.lockedBy) {
      const src = this.d.cfg.explicit[n];
      if (src) return `set by ${src}`;
    }
    return undefined;
  }

  private stored(): Map<string, SettingValue> {
    if (this.cache) return this.cache;
    const out = new Map<string, SettingValue>();
    for (const f of FIELDS) {
      const raw = this.repo.get(KEY_PREFIX + f.name);
      if (raw === undefined) continue;
      const v = JSON.parse(raw) as SettingValue;
      out.set(f.name, f.input === 'secret' && typeof v === 'string' ? this.box.open(f.name, v) : v);
    }
    this.cache = out;
    return out;
  }

  /** The value in force: the flag/env value when locked, else the stored one, else the default. */
  value(name: string): SettingValue {
    const def = FIELDS.find((f) => f.name === name);
    if (!def) throw new Error(`unknown setting ${name}`);
    if (this.lockReason(def)) return this.fromConfig(def);
    const s = this.stored();
    return s.has(name) ? s.get(name) : def.default;
  }

  private fromConfig(def: FieldDef): SettingValue {
    const cfg = this.d.cfg;
    if (def.section === 'mail' && def.name !== 'mailFrom' && cfg.smtpUrl) {
      const u = new URL(cfg.smtpUrl);
      const parts: Record<string, SettingValue> = {
        smtpHost: u.hostname,
        smtpPort: Number(u.port || (u.protocol === 'smtps:' ? 465 : 587)),
        smtpTls: u.protocol === 'smtps:' ? 'tls' : smtpRequiresTls(cfg) ? 'starttls' : 'none',
        smtpUser: u.username ? decodeURIComponent(u.username) : undefined,
        smtpPassword: u.password ? decodeURIComponent(u.password) : undefined,
      };
      return parts[def.name];
    }
    return (cfg as unknown as Record<string, SettingValue>)[def.name as SettingName];
  }

  private str = (n: string) => this.value(n) as string | undefined;
  private num = (n: string) => this.value(n) as number;

  instanceName = (): string => this.str('instanceName') ?? '';
  publicUrl = (): string | undefined => this.str('publicUrl')?.replace(/\/+$/, '');
  timeZone = (): string => this.str('timeZone') ?? 'UTC';
  mailFrom = (): string => this.str('mailFrom') ?? 'Tessera <tessera@localhost>';
  passwordMinLength = (): number => this.num('passwordMinLength');
  newOrgRequire2fa = (): boolean => this.value('newOrgRequire2fa') === true;
  adminNetworks = (): string[] => (this.value('adminNetworks') as string[] | undefined) ?? [];
  sessionPolicy = () => ({ idleMs: this.num('sessionIdleMinutes') * 60_000, absoluteMs: this.num('sessionAbsoluteHours') * 3_600_000 });
  /** The hard sign-in lock per account and network (auth/throttle.ts lockRules), with the thresholds set here. */
  lockRules = (): ThrottleRules => {
    const n = this.num('loginLockAfter');
    return { freeFailures: n, baseDelayMs: 0, maxDelayMs: 0, lockAfter: n, lockMs: this.num('loginLockMinutes') * 60_000 };
  };

  /** The SMTP server in force as a URL for nodemailer, or undefined (mail stays in the dev outbox). */
  smtp(): { url: string; requireTls: boolean } | undefined {
    const cfg = this.d.cfg;
    if (this.lockReason(FIELDS.find((f) => f.name === 'smtpHost')!)) return cfg.smtpUrl ? { url: cfg.smtpUrl, requireTls: smtpRequiresTls(cfg) } : undefined;
    const host = this.str('smtpHost');
    if (!host) return undefined;
    const tls = this.str('smtpTls');
    const user = this.str('smtpUser');
    const pass = this.str('smtpPassword');
    const auth = user ? `${encodeURIComponent(user)}${pass ? `:${encodeURIComponent(pass)}` : ''}@` : '';
    return { url: `${tls === 'tls' ? 'smtps' : 'smtp'}://${auth}${host}:${this.num('smtpPort')}`, requireTls: tls === 'starttls' };
  }

  /** The SMS provider in force, or undefined (SMS stay in the dev outbox). */
  smsProvider(): TwilioCompatibleOptions | undefined {
    const url = this.str('smsUrl');
    const accountSid = this.str('smsAccountSid');
    const authToken = this.str('smsAuthToken');
    const from = this.str('smsFrom');
    return url && accountSid && authToken && from ? { url, accountSid, authToken, from } : undefined;
  }

  /** Every field of a section as the page shows it. */
  view(section: SectionId): FieldView[] {
    return fieldsOf(section).map((def) => {
      const v = this.value(def.name);
      const lockedBy = this.lockReason(def);
      return { def, text: def.input === 'secret' ? '' : toText(v), secretSet: def.input === 'secret' && v !== undefined, ...(lockedBy ? { lockedBy } : {}) };
    });
  }

  /**
   * Parses and saves one section's form. Every field is checked first; one bad field saves
   * nothing. Locked fields are left alone. A secret field left empty keeps the secret; its
   * "remove" box clears it. `callerIp` keeps an admin from locking themselves out of /admin.
   */
  save(section: SectionId, form: Record<string, string>, ctx: AuditContext): SaveResult {
    const errors: Record<string, string> = {};
    const next = new Map<string, SettingValue>();
    const fields = fieldsOf(section).filter((f) => !this.lockReason(f));
    for (const f of fields) {
      const raw = form[f.name];
      if (f.input === 'secret' && (raw === undefined || raw === '')) {
        next.set(f.name, form[`${f.name}_clear`] === 'on' ? undefined : this.value(f.name));
        continue;
      }
      const parsed = f.schema.safeParse(f.input === 'checkbox' ? raw : (raw ?? ''));
      if (parsed.success) next.set(f.name, parsed.data);
      else errors[f.name] = parsed.error.issues[0]?.message ?? 'Invalid value.';
    }
    if (Object.keys(errors).length === 0) Object.assign(errors, this.crossCheck(section, (n) => (next.has(n) ? next.get(n) : this.value(n)), ctx));
    const values = Object.fromEntries(fields.filter((f) => f.input !== 'secret').map((f) => [f.name, form[f.name] ?? '']));
    if (Object.keys(errors).length > 0) return { ok: false, errors, values };

    const changes = fields.filter((f) => JSON.stringify(next.get(f.name)) !== JSON.stringify(this.value(f.name)));
    if (changes.length === 0) return { ok: true, changed: [] };
    const at = new Date(this.d.now()).toISOString();
    const details = changes.map((f) => auditChange(f, this.value(f.name), next.get(f.name)));
    this.d.writer.tx(() => {
      for (const f of changes) {
        const v = next.get(f.name);
        if (v === undefined) this.repo.delete(KEY_PREFIX + f.name);
        else this.repo.put(KEY_PREFIX + f.name, JSON.stringify(f.input === 'secret' ? this.box.seal(f.name, v as string) : v), at);
      }
      this.d.audit.record(ctx, 'settings.changed', { type: 'settings', id: section }, 'success', { section, changes: details });
      this.cache = undefined;
    });
    this.cache = undefined;
    return { ok: true, changed: changes.map((f) => f.name) };
  }

  /** Rules that span fields of a section; v gives each field's value as it would be saved. */
  private crossCheck(section: SectionId, v: (n: string) => SettingValue, ctx: AuditContext): Record<string, string> {
    const cfg = this.d.cfg;
    const e: Record<string, string> = {};
    if (section === 'mail') {
      const host = v('smtpHost') as string | undefined;
      if (!host && (v('smtpUser') !== undefined || v('smtpPassword') !== undefined)) e.smtpHost = 'Enter the SMTP host the user and password are for (or clear them).';
      if (v('smtpPassword') !== undefined && v('smtpUser') === undefined) e.smtpUser = 'Enter the user the password belongs to.';
      if (host && v('smtpTls') === 'none' && !isLoopbackHost(host) && !cfg.allowInsecureTransport.includes('smtp')) {
        e.smtpTls = 'Without encryption the password and every message cross the network in plaintext: choose STARTTLS or TLS (only a server on this machine, or --allow-insecure-transport=smtp, may go without).';
      }
    }
    if (section === 'sms') {
      const url = v('smsUrl') as string | undefined;
      if (url) {
        for (const [n, label] of [['smsAccountSid', 'account SID'], ['smsAuthToken', 'auth token'], ['smsFrom', 'sender']] as const) {
          if (v(n) === undefined) e[n] = `Enter the ${label} as well (the endpoint needs it).`;
        }
        const tls = plaintextEndpointError(url, 'sms', cfg);
        if (tls) e.smsUrl = `The endpoint ${tls.replace(/^must/, 'must')}.`;
      }
    }
    if (section === 'security') {
      const nets = v('adminNetworks') as string[];
      if (nets.length > 0 && !ipAllowed(ctx.ip ?? null, nets)) e.adminNetworks = `Your own address (${ctx.ip ?? 'unknown'}) is not in this list: saving it would lock you out of /admin. Add it, or a range holding it.`;
    }
    return e;
  }
}

function toText(v: SettingValue): string {
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.join('\n');
  if (typeof v === 'boolean') return v ? 'on' : '';
  return String(v);
}

/** What the audit row keeps of one change (see FieldDef.audit): never a secret, never an address. */
function auditChange(f: FieldDef, before: SettingValue, after: SettingValue): Record<string, unknown> {
  if (f.audit === 'secret') return { field: f.name, before: before === undefined ? null : MASK, after: after === undefined ? null : before === undefined ? MASK : `${MASK} replaced` };
  if (f.audit === 'changed') return { field: f.name, changed: true };
  return { field: f.name, before: before ?? null, after: after ?? null };
}
