import fs from 'node:fs';
import path from 'node:path';
import { type Opened, openInstance } from '../bootstrap.ts';
import type { Config } from '../config/config.ts';
import { acquireInstanceLock } from '../db/instance-lock.ts';
import { currentVersion, latestVersion } from '../db/migrate.ts';
import { type DB, databasePath } from '../db/open.ts';
import { kekId, keyringPath, purposes } from '../keys/keyring.ts';
import { KeyError, describeSource, masterKeySource, parseMasterKey } from '../keys/master-key.ts';
import { NEW_GENERATION_MARKER, type RotationContext, rotateDataKey, rotateDbKey, rotateMasterKey } from '../keys/rotation.ts';
import { startServer } from '../http/server.ts';
import { plaintextTransports } from '../config/transport.ts';
import type { AppContext } from '../app-context.ts';
import { AccessLogWriter } from '../audit/access-log.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { Metrics } from '../http/metrics.ts';
import { createLogger } from '../log.ts';
import { buildContext } from '../services.ts';
import { seatCountersRepo } from '../registrations/repo.ts';
import { CliError } from './errors.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function serveCommand(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const server = await startServer(cfg, { masterKeyFlagGiven });
  out(`Tessera is running at ${server.url}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.ctx.log.info({ signal }, 'shutting down');
      server.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

export async function init(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, masterKeyFlagGiven, createKey: true });
  opened.db.close();
  out(opened.created ? `initialised ${cfg.dataDir} (master key: ${describeSource(opened.source)})` : `${cfg.dataDir} is already initialised; nothing changed`);
  return 0;
}

export async function migrateCommand(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const opened = await openInstance(cfg, { allowCreate: false, migrate: true, masterKeyFlagGiven });
  const v = currentVersion(opened.db);
  opened.db.close();
  out(opened.migrated.length ? `applied ${opened.migrated.join(', ')}; schema version ${v}` : `schema is up to date (version ${v})`);
  return 0;
}

export async function keysStatus(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const opened = await openInstance(cfg, { allowCreate: false, migrate: false, masterKeyFlagGiven });
  opened.db.close();
  printRecovered(opened);
  out(`master key: ${describeSource(opened.source)} (id ${kekId(opened.master)})`);
  out(`keyring:    ${keyringPath(cfg.dataDir)} (wrapped with master key ${kekId(opened.master)}, the current one)`);
  const order = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));
  const keys = [...opened.keyring.list()].sort((a, b) => purposes.indexOf(a.purpose) - purposes.indexOf(b.purpose) || order(a.id) - order(b.id));
  for (const k of keys) {
    const note = k.status === 'retired' ? ` retired ${k.retired ?? 'before rotation dates were kept'}` : k.status === 'pending' ? ' (an unfinished rotation)' : '';
    out(`  ${k.id.padEnd(10)} ${k.purpose.padEnd(7)} ${k.status.padEnd(8)} created ${k.created}${note}`);
  }
  return 0;
}

function printRecovered(opened: Opened): void {
  for (const line of opened.recovered) process.stderr.write(`tessera: note: ${line}\n`);
}

/**
 * Rotations take the data dir's pid file first, so they refuse while the server runs (and a
 * server cannot start halfway through one); the instance is opened only after that.
 */
async function withRotation<T>(cfg: Config, masterKeyFlagGiven: boolean, what: string, fn: (ctx: RotationContext, opened: Opened) => T): Promise<T> {
  const lock = fs.existsSync(keyringPath(cfg.dataDir)) ? acquireInstanceLock(cfg.dataDir, `keys ${what}`) : undefined;
  try {
    const opened = await openInstance(cfg, { allowCreate: false, migrate: false, masterKeyFlagGiven });
    printRecovered(opened);
    try {
      return fn({ db: opened.db, keyring: opened.keyring, audit: opened.audit, master: opened.master, actor: cliContext(`keys ${what}`) }, opened);
    } catch (e) {
      if (e instanceof KeyError) throw new CliError(e.message);
      throw e;
    } finally {
      opened.db.close();
    }
  } finally {
    lock?.release();
  }
}

export interface RotateMasterOptions {
  newMasterKeyFile?: string;
  generate?: boolean;
}

export async function keysRotateMaster(cfg: Config, masterKeyFlagGiven: boolean, opts: RotateMasterOptions): Promise<number> {
  if ((opts.newMasterKeyFile === undefined) === (opts.generate !== true)) {
    throw new CliError('give either --new-master-key-file <file> or --generate', 2);
  }
  const source = masterKeySource(cfg, process.env, masterKeyFlagGiven);
  let newMaster: Buffer | undefined;
  let newFile: string | undefined;
  if (opts.newMasterKeyFile !== undefined) {
    newFile = path.resolve(opts.newMasterKeyFile);
    if (newFile.startsWith(cfg.dataDir + path.sep)) throw new CliError('the new master key file must not be inside the data directory', 2);
    let st: fs.Stats;
    try {
      st = fs.statSync(newFile);
    } catch (e) {
      throw new CliError(`cannot read the new master key ${newFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
    }
    if (st.mode & 0o077) throw new CliError(`${newFile} is readable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 first`, 2);
    try {
      newMaster = parseMasterKey(fs.readFileSync(newFile, 'utf8'), newFile);
    } catch (e) {
      throw new CliError((e as Error).message, 2);
    }
  } else if (source.kind !== 'file' || source.origin === 'systemd credential') {
    throw new CliError(`--generate replaces the current key file, but the master key comes from ${describeSource(source)}: put a new key where that source reads it and pass it with --new-master-key-file`, 2);
  }
  return withRotation(cfg, masterKeyFlagGiven, 'rotate-master', (ctx) => {
    const keyFile = source.kind === 'file' ? source.path : '';
    const r = rotateMasterKey(ctx, newMaster ? { newMaster } : { generateInto: keyFile });
    out(`master key rotated: ${r.oldId} -> ${r.newId}; ${ctx.keyring.list().length} data keys rewrapped; the old master key no longer opens this keyring`);
    if (r.oldKeyFile) {
      out(`new master key: ${keyFile} (mode 600)`);
      out(`old master key: ${r.oldKeyFile}`);
      out('WARNING: back up the new master key now, apart from the data directory (password manager, sealed envelope, KMS).');
      out('         Then destroy the old key file: until it is gone it still opens copies of the keyring made before this rotation.');
    } else {
      out(`WARNING: from now on start Tessera with the new key (${newFile}): point ${source.kind === 'file' ? describeSource(source) : '--master-key-command'} at it.`);
      out('         Back it up apart from the data directory, then destroy the old key.');
    }
    return 0;
  });
}

export async function keysRotateDb(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  return withRotation(cfg, masterKeyFlagGiven, 'rotate-db', (ctx) => {
    const size = fs.statSync(databasePath(cfg.dataDir)).size;
    const r = rotateDbKey(ctx);
    out(`database key rotated: ${r.oldId} -> ${r.newId} (${(size / 2 ** 20).toFixed(1)} MiB rekeyed in ${r.rekeyMs} ms); ${r.oldId} is retired and kept for restoring older backups`);
    out(`integrity_check: ${r.integrity}`);
    out(`the backup replicator starts a new backup generation before shipping anything else (settings ${NEW_GENERATION_MARKER})`);
    return r.integrity === 'ok' ? 0 : 1;
  });
}

export async function keysRotateBackup(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  return withRotation(cfg, masterKeyFlagGiven, 'rotate-backup', (ctx) => {
    const r = rotateDataKey(ctx, 'backup');
    out(`backup key rotated: ${r.oldId} -> ${r.newId}; new backup objects use ${r.newId}, ${r.oldId} is retired and kept (wrapped) until the last object it protects expires`);
    return 0;
  });
}

type Check = { name: string; status: 'ok' | 'warn' | 'fail'; detail: string };

function modeOf(p: string): number | undefined {
  try {
    return fs.statSync(p).mode & 0o777;
  } catch {
    return undefined;
  }
}

/** The migration that added the event seat counters. */
const SEAT_COUNTERS_SINCE = 16;

/** Recounts every event's seats; drifted counters are set right (the one write doctor makes). */
function seatCounterCheck(db: DB): Check {
  const fixed = seatCountersRepo(db).repair();
  if (fixed.length === 0) return { name: 'seat counters', status: 'ok', detail: 'every event matches a recount' };
  const first = fixed[0];
  const example = first ? ` (e.g. event ${first.event_id}: confirmed ${first.stored_confirmed ?? 'none'} → ${first.confirmed})` : '';
  return { name: 'seat counters', status: 'warn', detail: `${fixed.length} event(s) drifted from a recount and were repaired${example}` };
}

/** Read-mostly health check for operators (it repairs drifted seat counters); exit 1 when any check fails. */
export async function doctor(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const checks: Check[] = [];
  const src = masterKeySource(cfg, process.env, masterKeyFlagGiven);
  if (src.kind === 'file') {
    const m = modeOf(src.path);
    if (m === undefined) checks.push({ name: 'master key file', status: 'fail', detail: `${src.path} is missing` });
    else if (m & 0o077) checks.push({ name: 'master key file', status: 'fail', detail: `${src.path} is readable by others (mode ${m.toString(8)}); run chmod 600` });
    else checks.push({ name: 'master key file', status: 'ok', detail: `${describeSource(src)} (mode ${m.toString(8)})` });
    if (path.resolve(src.path).startsWith(cfg.dataDir + path.sep)) checks.push({ name: 'key separation', status: 'fail', detail: 'the master key is inside the data directory' });
  } else {
    checks.push({ name: 'master key source', status: 'ok', detail: 'command' });
  }
  const dm = modeOf(cfg.dataDir);
  if (dm === undefined) checks.push({ name: 'data directory', status: 'fail', detail: `${cfg.dataDir} does not exist` });
  else checks.push({ name: 'data directory', status: dm & 0o077 ? 'warn' : 'ok', detail: `${cfg.dataDir} (mode ${dm.toString(8)})${dm & 0o077 ? '; chmod 700 recommended' : ''}` });

  try {
    const opened = await openInstance(cfg, { allowCreate: false, migrate: false, masterKeyFlagGiven });
    checks.push({ name: 'keyring', status: 'ok', detail: `${opened.keyring.list().length} data keys unwrapped` });
    checks.push({ name: 'database opens', status: 'ok', detail: databasePath(cfg.dataDir) });
    const integrity = opened.db.pragma('integrity_check', { simple: true });
    checks.push({ name: 'integrity_check', status: integrity === 'ok' ? 'ok' : 'fail', detail: String(integrity) });
    const v = currentVersion(opened.db);
    const latest = latestVersion();
    checks.push({ name: 'schema version', status: v === latest ? 'ok' : v < latest ? 'warn' : 'fail', detail: v === latest ? `${v}` : v < latest ? `${v}, ${latest} available: run tessera migrate` : `${v} is newer than this binary (${latest})` });
    if (v >= SEAT_COUNTERS_SINCE) checks.push(seatCounterCheck(opened.db));
    opened.db.close();
  } catch (e) {
    checks.push({ name: 'database opens', status: 'fail', detail: (e as Error).message });
  }

  try {
    const st = fs.statfsSync(fs.existsSync(cfg.dataDir) ? cfg.dataDir : path.dirname(cfg.dataDir));
    const free = st.bavail * st.bsize;
    const gib = free / 2 ** 30;
    checks.push({ name: 'free disk', status: gib < 1 ? 'warn' : 'ok', detail: `${gib.toFixed(1)} GiB free` });
  } catch (e) {
    checks.push({ name: 'free disk', status: 'warn', detail: (e as Error).message });
  }
  for (const [name, f] of [['TLS certificate', cfg.tlsCert], ['TLS key', cfg.tlsKey], ['syslog CA', cfg.syslogCa], ['syslog client certificate', cfg.syslogCert], ['syslog client key', cfg.syslogKey]] as const) {
    if (!f) continue;
    try {
      fs.accessSync(f, fs.constants.R_OK);
      checks.push({ name, status: 'ok', detail: f });
    } catch {
      checks.push({ name, status: 'fail', detail: `${f} is not readable` });
    }
  }
  const plain = plaintextTransports(cfg);
  if (plain.length === 0) checks.push({ name: 'outbound TLS', status: 'ok', detail: 'no plaintext channel configured' });
  for (const p of plain) {
    const how = p.channel === 'smtp' ? 'may run without TLS' : 'is plain HTTP';
    checks.push(
      p.loopback
        ? { name: 'outbound TLS', status: 'ok', detail: `${p.channel} to ${p.target} ${how} on loopback (never leaves this machine)` }
        : { name: 'outbound TLS', status: 'warn', detail: `${p.channel} to ${p.target} ${how} (allowed by --allow-insecure-transport=${p.channel})` },
    );
  }
  for (const c of checks) out(`${c.status.toUpperCase().padEnd(4)} ${c.name}: ${c.detail}`);
  return checks.some((c) => c.status === 'fail') ? 1 : 0;
}

/** Opens the instance for a one-off CLI action with the full service wiring, then closes it. */
export async function withServices<T>(cfg: Config, masterKeyFlagGiven: boolean, fn: (ctx: AppContext) => T | Promise<T>): Promise<T> {
  const opened = await openInstance(cfg, { allowCreate: false, migrate: true, masterKeyFlagGiven });
  const log = createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel);
  const ctx = buildContext(
    { cfg, db: opened.db, keyring: opened.keyring, audit: opened.audit, log, metrics: new Metrics(() => 0), accessLog: new AccessLogWriter(cfg.dataDir), now: Date.now },
    () => cfg.publicUrl?.replace(/\/$/, '') ?? `http://${cfg.host}:${cfg.port}`,
  );
  try {
    return await fn(ctx);
  } finally {
    await ctx.accessLog.close();
    opened.db.close();
  }
}

export const cliContext = (what: string) => ({ actor: { type: 'system' as const, id: `cli:${what}` }, userAgent: `tessera-cli (${process.env.USER ?? 'unknown user'})` });

export async function userReset2fa(cfg: Config, masterKeyFlagGiven: boolean, email: string): Promise<number> {
  return withServices(cfg, masterKeyFlagGiven, (ctx) => {
    const res = ctx.totp.resetTwoFactorByEmail(email, cliContext('user reset-2fa'));
    if (!res.ok) throw new CliError(res.message);
    out(`two-factor authentication removed and all sessions ended for user ${res.userId}; they must set it up again at their next sign-in`);
    return 0;
  });
}

export async function userUnlock(cfg: Config, masterKeyFlagGiven: boolean, email: string): Promise<number> {
  return withServices(cfg, masterKeyFlagGiven, (ctx) => {
    const user = ctx.auth.userByEmail(email);
    if (!user) throw new CliError('no account with that email address');
    ctx.userAdmin.unlock(user.id, cliContext('user unlock'));
    out(`sign-in unlocked for user ${user.id}`);
    return 0;
  });
}

export async function userList(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  return withServices(cfg, masterKeyFlagGiven, (ctx) => {
    for (const u of ctx.userAdmin.listUsers(10_000)) {
      out(`${u.id}  ${(u.instance_role ?? '-').padEnd(5)}  2fa:${u.totp_secret ? 'on ' : 'off'}  ${u.disabled_at ? 'disabled' : 'active  '}  ${u.email}`);
    }
    return 0;
  });
}

export async function auditVerify(cfg: Config, masterKeyFlagGiven: boolean): Promise<number> {
  const opened = await openInstance(cfg, { allowCreate: false, migrate: false, masterKeyFlagGiven });
  try {
    // openInstance has just appended this command's own unwrap entry: it lies after the anchored
    // head, and rows after the anchor are fine (the anchor vouches for a prefix of the chain).
    const report = verifyAuditLog(opened.audit, opened.keyring, cfg.dataDir);
    for (const w of report.warnings) process.stderr.write(`tessera: warning: ${w}\n`);
    for (const f of report.findings) process.stderr.write(`tessera: ${f.message}\n`);
    if (report.findings.length === 0) {
      const a = report.anchor;
      out(`audit chain intact: ${report.rows} rows verified${a.state === 'ok' ? `; anchored head row ${a.record.seq} (written ${a.record.at}) is present` : ''}`);
    }
    return report.exitCode;
  } finally {
    opened.db.close();
  }
}
