import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Secrets (SMTP password, SMS token, S3 secret key, metrics token) load like the master key: from
 * the setting itself, a file (`--x-file`), a systemd credential (`$CREDENTIALS_DIRECTORY/tessera-x`,
 * from LoadCredential= or LoadCredentialEncrypted=) or a command (`--x-command`, e.g. a Vault or
 * KMS CLI). A value in a flag shows in `ps`, and one in the environment in /proc/<pid>/environ and
 * in crash reports; a file or credential is readable by the service user alone (ASVS V13.3.1).
 */
export const SECRET_SETTINGS = ['smtpPassword', 'smsAuthToken', 'backupS3SecretAccessKey', 'metricsToken'] as const;
export type SecretSetting = (typeof SECRET_SETTINGS)[number];

/** What was given for one setting and where ('--flag' or 'ENV_VAR'), for error messages. */
export interface Given {
  raw: unknown;
  source: string;
}

export class SecretSourceError extends Error {
  override name = 'SecretSourceError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
  }
}

/** Files and command output end with a newline that is not part of the secret. */
const chomp = (s: string) => s.replace(/\r?\n$/, '');

/**
 * The raw secret and where it came from, or undefined when none is configured. Direct value, file
 * and command are exclusive (two would leave the operator guessing which one is used); a systemd
 * credential is the fallback when neither a value nor a file is given, as for the master key.
 */
export function readSecret(
  given: { direct?: Given | undefined; file?: Given | undefined; command?: Given | undefined },
  flags: { direct: string; file: string; command: string },
  env: NodeJS.ProcessEnv,
): Given | undefined {
  const explicit = [given.direct, given.file, given.command].filter((g): g is Given => g !== undefined);
  if (explicit.length > 1) {
    const second = explicit[1] as Given;
    throw new SecretSourceError(second.source, `give only one of --${flags.direct}, --${flags.file}, --${flags.command}`);
  }
  if (given.direct) return given.direct;
  if (given.file) return { raw: readFile(String(given.file.raw), given.file.source), source: given.file.source };
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    const p = path.join(credDir, `tessera-${flags.direct}`);
    if (fs.existsSync(p)) return { raw: readFile(p, `systemd credential ${p}`), source: `systemd credential ${p}` };
  }
  if (given.command) return { raw: runCommand(String(given.command.raw), given.command.source), source: given.command.source };
  return undefined;
}

function readFile(file: string, source: string): string {
  try {
    return chomp(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SecretSourceError(source, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/**
 * Run without a shell, so the configured string cannot be reinterpreted (split on spaces only,
 * like --master-key-command). Its stdout is the secret and never appears in an error.
 */
function runCommand(command: string, source: string): string {
  const [cmd, ...args] = command.split(/\s+/).filter(Boolean);
  if (!cmd) throw new SecretSourceError(source, 'the command is empty');
  let out: string;
  try {
    out = execFileSync(cmd, args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number | null; signal?: string | null };
    const why = typeof err.status === 'number' ? `exit ${err.status}` : err.signal ? `signal ${err.signal}` : (err.code ?? 'error');
    throw new SecretSourceError(source, `the command failed (${why})`);
  }
  const secret = chomp(out);
  if (secret === '') throw new SecretSourceError(source, 'the command printed nothing');
  return secret;
}

/** smtp(s)://user@host plus a separately loaded password: the URL nodemailer gets. */
export function withSmtpPassword(url: string, password: string, source: string): string {
  const u = new URL(url);
  if (u.password !== '') throw new SecretSourceError(source, 'the SMTP URL already holds a password; give it in one place');
  if (u.username === '') throw new SecretSourceError(source, `the SMTP URL needs a user name (${u.protocol}//user@host)`);
  // The setter percent-encodes; nodemailer decodes the user info again.
  u.password = password;
  return u.toString();
}
