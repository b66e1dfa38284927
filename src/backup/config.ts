import path from 'node:path';
import { type Config, ConfigError, settings } from '../config/config.ts';
import { DirTarget } from './targets/dir.ts';
import { S3Target, s3ConfigSchema } from './targets/s3.ts';
import type { BackupTarget } from './targets/target.ts';

/** The settings-table entries that configure backups, for the CLI commands that need them. */
export const backupSettingNames = [
  'backupDir', 'backupS3Url', 'backupS3Endpoint', 'backupS3Region', 'backupS3AccessKeyId', 'backupS3SecretAccessKey', 'backupS3PathStyle',
] as const;
export const replicatorSettingNames = ['backupSyncIntervalMs', 'backupSnapshotHours', 'backupRetentionDays'] as const;

const flagOf = (n: keyof typeof settings) => `--${settings[n].flag} (${settings[n].env})`;

/** s3://bucket/prefix with the endpoint, region, keys and path style from the settings. */
export function s3TargetFor(cfg: Config, url: string): S3Target {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError(`invalid value for --backup-s3-url: ${url} is not s3://bucket/prefix`);
  const missing = (['backupS3AccessKeyId', 'backupS3SecretAccessKey'] as const).filter((n) => cfg[n] === undefined);
  if (missing.length) throw new ConfigError(`invalid value for --backup-s3-url: also set ${missing.map(flagOf).join(', ')}`);
  const parsed = s3ConfigSchema.safeParse({
    endpoint: cfg.backupS3Endpoint ?? `https://s3.${cfg.backupS3Region}.amazonaws.com`,
    region: cfg.backupS3Region,
    bucket: m[1],
    prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, ''),
    accessKeyId: cfg.backupS3AccessKeyId,
    secretAccessKey: cfg.backupS3SecretAccessKey,
    pathStyle: cfg.backupS3PathStyle,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`invalid value for --backup-s3-url: ${issue?.path.join('.') ?? 'value'} ${issue?.message ?? 'is invalid'}`);
  }
  return new S3Target(parsed.data);
}

/** Where the replicator ships to: the directory, the bucket, or both. Empty = replication off. */
export function configuredTargets(cfg: Config): BackupTarget[] {
  const out: BackupTarget[] = [];
  if (cfg.backupDir) out.push(new DirTarget(path.resolve(cfg.backupDir)));
  if (cfg.backupS3Url) out.push(s3TargetFor(cfg, cfg.backupS3Url));
  return out;
}

/** `--from`: a directory path or s3://bucket/prefix; without it, the first configured target. */
export function sourceTarget(cfg: Config, from: string | undefined): BackupTarget {
  if (from) return from.startsWith('s3://') ? s3TargetFor(cfg, from) : new DirTarget(path.resolve(from));
  const t = configuredTargets(cfg)[0];
  if (!t) throw new ConfigError(`no backup location: pass --from <dir or s3://bucket/prefix>, or set ${flagOf('backupDir')} or ${flagOf('backupS3Url')}`);
  return t;
}
