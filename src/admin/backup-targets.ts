import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import { configuredTargets } from '../backup/config.ts';
import { probeTarget } from '../backup/probe.ts';
import { DirTarget } from '../backup/targets/dir.ts';
import { S3Target, s3ConfigSchema } from '../backup/targets/s3.ts';
import type { BackupTarget } from '../backup/targets/target.ts';
import { type Config, settings } from '../config/config.ts';
import { settingsRepo } from '../config/repo.ts';
import { plaintextEndpointError } from '../config/transport.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { SecretBox } from './secret-box.ts';

/** One settings row holds the list: a target is added or removed as a whole, never edited in place. */
const KEY = 'backup.targets';
const MASK = '(secret)';
/** A target that does not answer within this time counts as unreachable. */
export const PROBE_TIMEOUT_MS = 15_000;

const storedSchema = z.array(
  z.discriminatedUnion('kind', [
    z.object({ id: z.string(), kind: z.literal('dir'), path: z.string(), addedAt: z.string() }),
    z.object({ id: z.string(), kind: z.literal('s3'), endpoint: z.string(), region: z.string(), bucket: z.string(), prefix: z.string(), accessKeyId: z.string(), secret: z.string(), pathStyle: z.boolean(), addedAt: z.string() }),
  ]),
);
type Stored = z.infer<typeof storedSchema>[number];

const printable = (max: number, what: string) => z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `Enter the ${what} (1–${max} printable characters, no spaces).`);
const s3FormSchema = z.object({
  endpoint: z.union([z.literal(''), z.url({ protocol: /^https?$/, hostname: /^\S+$/, error: 'Enter an http:// or https:// URL, or leave it empty for AWS S3 in the region.' })]),
  region: z.string().regex(/^[a-z0-9-]{1,40}$/, 'Enter a region name such as eu-central-1 (auto for Cloudflare R2).'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'Enter a bucket name: 3–63 lowercase letters, digits, dots and hyphens.'),
  prefix: z
    .string()
    .transform((v) => v.trim().replace(/^\/+|\/+$/g, ''))
    .pipe(z.string().regex(/^(?:[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)?$/, 'A prefix may hold letters, digits, . _ - and / between parts.')),
  accessKeyId: printable(128, 'access key id'),
  secretAccessKey: printable(256, 'secret access key'),
  pathStyle: z.boolean(),
});
const dirFormSchema = z.object({ path: z.string().min(1, 'Enter the directory.').max(1024, 'At most 1024 characters.').refine((p) => path.isAbsolute(p), 'Enter an absolute path, such as /mnt/backup/tessera.').refine((p) => !/[\r\n\0]/.test(p), 'One line, please.') });

/** A target as the settings page lists it: never its secret. */
export interface TargetView {
  id: string;
  kind: 'dir' | 's3';
  label: string;
  /** endpoint and region for S3, for telling two buckets apart */
  detail?: string;
  /** "set by TESSERA_BACKUP_S3_URL": a flag or env var, so the page cannot remove it */
  lockedBy?: string;
  /** in use by the running server, or only from the next start (added), or until then (removed) */
  state: 'active' | 'next-start';
}

export type AddResult = { ok: true; id: string } | { ok: false; errors: Record<string, string>; values: Record<string, string> };
export type ProbeResult = { label: string; error?: string };

export interface BackupTargetSettingsDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  keyring: Keyring;
  cfg: Config;
  now: () => number;
  log: Logger;
}

/**
 * Backup targets added on /admin/settings, beside the ones given by flag or env var (which the
 * page shows locked). The list is read once, at start: the replicator, the log shipper, the
 * erasure ledger and the pre-upgrade snapshot each build their per-target state then (a new
 * target needs a new generation, starting with a snapshot), so a change applies at the next
 * start and the page says so. An S3 secret key is sealed with the settings' SecretBox and never
 * leaves this class except into the S3 client.
 */
export class BackupTargetSettings {
  private readonly repo;
  private readonly box: SecretBox;
  /** the ids the running server ships to (flag targets and stored ones read at start) */
  private readonly runningIds: Set<string>;
  /** the targets read at start, in the order the replicator got them */
  readonly running: readonly BackupTarget[];

  constructor(private readonly d: BackupTargetSettingsDeps) {
    this.repo = settingsRepo(d.db);
    this.box = new SecretBox(d.keyring);
    const stored = this.stored();
    this.running = [...configuredTargets(d.cfg), ...this.build(stored)];
    this.runningIds = new Set([...this.flagViews().map((v) => v.id), ...stored.map((s) => s.id)]);
  }

  private build(stored: Stored[]): BackupTarget[] {
    return buildTargets(stored, this.box, this.d.log);
  }

  private stored(): Stored[] {
    return readStored(this.repo.get(KEY));
  }

  private flagViews(): TargetView[] {
    const cfg = this.d.cfg;
    const src = (n: keyof typeof settings) => `set by ${cfg.explicit[n] ?? settings[n].env}`;
    const out: TargetView[] = [];
    if (cfg.backupDir) out.push({ id: 'flag-dir', kind: 'dir', label: `dir:${path.resolve(cfg.backupDir)}`, lockedBy: src('backupDir'), state: 'active' });
    if (cfg.backupS3Url) out.push({ id: 'flag-s3', kind: 's3', label: cfg.backupS3Url.replace(/\/+$/, ''), detail: `${cfg.backupS3Endpoint ?? 'AWS S3'}, ${cfg.backupS3Region}`, lockedBy: src('backupS3Url'), state: 'active' });
    return out;
  }

  /** Every target: flag/env ones first (locked), then the saved ones, then those removed but still running. */
  list(): TargetView[] {
    const stored = this.stored();
    const views: TargetView[] = [
      ...this.flagViews(),
      ...stored.map((s): TargetView => ({ id: s.id, kind: s.kind, label: s.kind === 'dir' ? `dir:${s.path}` : s3Label(s), ...(s.kind === 's3' ? { detail: `${s.endpoint}, ${s.region}` } : {}), state: this.runningIds.has(s.id) ? 'active' : 'next-start' })),
    ];
    return views;
  }

  /** Saved targets the running server still ships to although they were removed (until the next start). */
  removedButRunning(): string[] {
    const now = new Set(this.stored().map((s) => s.id));
    const flags = new Set(this.flagViews().map((v) => v.id));
    return [...this.runningIds].filter((id) => !now.has(id) && !flags.has(id));
  }

  /** Whether the saved list differs from what the server started with. */
  restartPending(): boolean {
    return this.list().some((v) => v.state === 'next-start') || this.removedButRunning().length > 0;
  }

  /**
   * Validates the form, tests the target with a real write/read/delete and saves it only when
   * that works: a target that cannot take a backup is worse than none (it would also stop the
   * next upgrade, which snapshots to every target first). The typed secret is never returned.
   */
  async add(kind: 'dir' | 's3', form: Record<string, string>, ctx: AuditContext): Promise<AddResult> {
    const values = Object.fromEntries(Object.entries(form).filter(([k]) => k !== 'secretAccessKey' && k !== '_csrf'));
    const fail = (errors: Record<string, string>) => ({ ok: false as const, errors, values });
    let entry: Stored;
    let target: BackupTarget;
    const id = randomBytes(8).toString('hex');
    const addedAt = new Date(this.d.now()).toISOString();
    if (kind === 'dir') {
      const p = dirFormSchema.safeParse({ path: (form.path ?? '').trim() });
      if (!p.success) return fail({ path: p.error.issues[0]?.message ?? 'Invalid value.' });
      const dir = path.resolve(p.data.path);
      const inData = path.relative(this.d.cfg.dataDir, dir);
      if (!inData.startsWith('..') && !path.isAbsolute(inData)) return fail({ path: 'A backup inside the data directory is lost with it: choose a directory on another disk or mount.' });
      entry = { id, kind: 'dir', path: dir, addedAt };
      target = new DirTarget(dir);
    } else {
      const p = s3FormSchema.safeParse({ ...form, endpoint: (form.endpoint ?? '').trim(), region: (form.region ?? '').trim() || 'us-east-1', bucket: (form.bucket ?? '').trim(), prefix: form.prefix ?? '', accessKeyId: form.accessKeyId ?? '', secretAccessKey: form.secretAccessKey ?? '', pathStyle: form.pathStyle === 'on' });
      if (!p.success) return fail(Object.fromEntries(p.error.issues.map((i) => [String(i.path[0]), i.message])));
      const endpoint = p.data.endpoint || `https://s3.${p.data.region}.amazonaws.com`;
      const tls = plaintextEndpointError(endpoint, 's3', this.d.cfg);
      if (tls) return fail({ endpoint: `The endpoint ${tls}.` });
      const cfg = s3ConfigSchema.parse({ ...p.data, endpoint });
      entry = { id, kind: 's3', endpoint, region: cfg.region, bucket: cfg.bucket, prefix: cfg.prefix, accessKeyId: cfg.accessKeyId, secret: this.box.seal(secretName(id), cfg.secretAccessKey), pathStyle: cfg.pathStyle, addedAt };
      target = new S3Target(cfg);
    }
    const all = this.list();
    if (all.some((v) => v.label === target.label)) return fail({ [kind === 'dir' ? 'path' : 'bucket']: `${target.label} is already a backup target.` });
    const probe = await this.probe(target);
    if (probe.error !== undefined) {
      this.d.audit.record(ctx, 'settings.backup_target_added', { type: 'backup_target', id }, 'failure', { target: describe(entry), error: probe.error });
      return fail({ [kind === 'dir' ? 'path' : 'connection']: `Not saved: the connection test failed: ${probe.error}` });
    }
    this.d.writer.tx(() => {
      this.repo.put(KEY, JSON.stringify([...this.stored(), entry]), addedAt);
      this.d.audit.record(ctx, 'settings.backup_target_added', { type: 'backup_target', id }, 'success', { before: null, after: describe(entry) });
    });
    return { ok: true, id };
  }

  /** Removes a saved target from the list. Its objects stay where they are; a flag/env target cannot be removed here. */
  remove(id: string, ctx: AuditContext): 'removed' | 'locked' | 'not-found' {
    if (this.flagViews().some((v) => v.id === id)) return 'locked';
    const stored = this.stored();
    const gone = stored.find((s) => s.id === id);
    if (!gone) return 'not-found';
    this.d.writer.tx(() => {
      this.repo.put(KEY, JSON.stringify(stored.filter((s) => s.id !== id)), new Date(this.d.now()).toISOString());
      this.d.audit.record(ctx, 'settings.backup_target_removed', { type: 'backup_target', id }, 'success', { before: describe(gone), after: null });
    });
    return 'removed';
  }

  /** "Test connection" of one listed target (flag or saved), audited; undefined when there is no such target. */
  async test(id: string, ctx: AuditContext): Promise<ProbeResult | undefined> {
    const view = this.list().find((v) => v.id === id);
    if (!view) return undefined;
    const target = view.lockedBy ? configuredTargets(this.d.cfg).find((t) => t.label === view.label) : this.build(this.stored().filter((s) => s.id === id))[0];
    if (!target) return { label: view.label, error: 'its saved secret key cannot be opened: remove it and add it again' };
    const res = await this.probe(target);
    this.d.audit.record(ctx, 'settings.backup_targets_tested', { type: 'backup_target', id }, res.error === undefined ? 'success' : 'failure', { targets: [{ target: res.label, ok: res.error === undefined }] });
    return res;
  }

  /** Every target the running server ships to, tested in parallel. */
  testRunning(): Promise<ProbeResult[]> {
    return Promise.all(this.running.map((t) => this.probe(t)));
  }

  private async probe(t: BackupTarget): Promise<ProbeResult> {
    try {
      await probeTarget(t, PROBE_TIMEOUT_MS, this.d.now);
      return { label: t.label };
    } catch (e) {
      // TargetError messages are written to be shown: they name the target, never a secret.
      return { label: t.label, error: e instanceof Error ? e.message : 'failed' };
    }
  }
}

/** Stored targets as BackupTargets; one that cannot be built (its secret unreadable) is left out and logged. */
function buildTargets(stored: Stored[], box: SecretBox, log: Logger): BackupTarget[] {
  const out: BackupTarget[] = [];
  for (const s of stored) {
    if (s.kind === 'dir') {
      out.push(new DirTarget(s.path));
      continue;
    }
    const secret = box.open(secretName(s.id), s.secret);
    if (secret === undefined) {
      log.error({ target: s3Label(s) }, 'backup: the saved secret key of this target cannot be opened; the target is left out (remove it and add it again on /admin/settings)');
      continue;
    }
    out.push(new S3Target({ endpoint: s.endpoint, region: s.region, bucket: s.bucket, prefix: s.prefix, accessKeyId: s.accessKeyId, secretAccessKey: secret, pathStyle: s.pathStyle }));
  }
  return out;
}

/** A damaged row counts as no saved target: start-up goes on with the flag/env targets. */
function readStored(raw: string | undefined): Stored[] {
  if (raw === undefined) return [];
  try {
    const parsed = storedSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/**
 * The saved targets, read before the migrations of an upgrade run (for the snapshot taken
 * first). A database too old to have the settings table has none.
 */
export function savedBackupTargets(a: { db: DB; keyring: Keyring; log: Logger }): BackupTarget[] {
  let raw: string | undefined;
  try {
    raw = settingsRepo(a.db).get(KEY);
  } catch {
    return [];
  }
  return buildTargets(readStored(raw), new SecretBox(a.keyring), a.log);
}

const secretName = (id: string) => `backupTarget:${id}`;
const s3Label = (s: { bucket: string; prefix: string }) => `s3://${s.bucket}${s.prefix ? `/${s.prefix}` : ''}`;

/** What the audit row keeps of a target: where it is, which key id, and the secret only as a mask. */
function describe(s: Stored): Record<string, unknown> {
  if (s.kind === 'dir') return { kind: 'dir', path: s.path };
  return { kind: 's3', endpoint: s.endpoint, region: s.region, bucket: s.bucket, prefix: s.prefix, pathStyle: s.pathStyle, accessKeyId: s.accessKeyId, secretAccessKey: MASK };
}
