import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * data/tessera.pid: which process owns the data directory. The server holds it while it runs and
 * key rotations hold it while they rewrite keys, so neither can start under the other. It is
 * advisory and simple on purpose: a file naming a process that no longer exists is stale and is
 * treated as absent, so a crash never locks an operator out.
 */
const lockSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.iso.datetime(),
  /** Kernel start time of the process (Linux), so a recycled pid is not mistaken for the holder. */
  procStart: z.string().regex(/^\d+$/).optional(),
  command: z.string().max(100),
});
export type LockInfo = z.infer<typeof lockSchema>;

export class InstanceLockedError extends Error {
  override name = 'InstanceLockedError';
}

export function lockPath(dataDir: string): string {
  return path.join(dataDir, 'tessera.pid');
}

function procStartOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces and parentheses, so count from its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else; that still counts as alive.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.procStart === undefined) return true;
  const now = procStartOf(info.pid);
  return now === undefined || now === info.procStart;
}

export function readLock(dataDir: string): LockInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockPath(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = lockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The live process holding the data dir, if any (this process included). */
export function liveHolder(dataDir: string): LockInfo | undefined {
  const info = readLock(dataDir);
  return info && isAlive(info) ? info : undefined;
}

/** A live holder other than this process: someone whose work must not be disturbed. */
export function otherLiveHolder(dataDir: string): LockInfo | undefined {
  const info = liveHolder(dataDir);
  return info && info.pid !== process.pid ? info : undefined;
}

export function describeHolder(info: LockInfo): string {
  return `pid ${info.pid}, \`tessera ${info.command}\` since ${info.startedAt}`;
}

export interface InstanceLock {
  readonly file: string;
  release(): void;
}

/**
 * Creates the pid file atomically (hard link of a complete temp file, which fails if one exists),
 * so two starters can never both think they won; a stale file is removed and the link retried.
 */
export function acquireInstanceLock(dataDir: string, command: string): InstanceLock {
  const file = lockPath(dataDir);
  const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), procStart: procStartOf(process.pid), command };
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  fs.writeFileSync(tmp, JSON.stringify(info) + '\n', { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
      }
      const holder = liveHolder(dataDir);
      if (holder) throw new InstanceLockedError(`${dataDir} is in use by another Tessera process (${describeHolder(holder)}); stop it first`);
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      // Only remove our own file: never one a later process wrote after ours was judged stale.
      if (readLock(dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
