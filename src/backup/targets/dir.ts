import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TargetError } from '../errors.ts';
import type { BackupTarget, ObjectBody, ObjectInfo } from './target.ts';

/**
 * A local or mounted directory. Objects are written to a dot-named temp file, fsynced, renamed
 * into place and the directory fsynced, so a crash leaves either the whole object or none (temp
 * files are ignored by listing: their names start with a dot).
 */
export class DirTarget implements BackupTarget {
  readonly label: string;
  constructor(readonly root: string) {
    this.label = `dir:${root}`;
  }

  private pathOf(key: string): string {
    if (key.split('/').some((p) => p === '..' || p === '' || p.startsWith('.'))) throw new Error(`invalid object key ${key}`);
    return path.join(this.root, key);
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    const dest = this.pathOf(key);
    const dir = path.dirname(dest);
    const tmp = path.join(dir, `.${path.basename(dest)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
      if ('file' in body) await fs.promises.copyFile(body.file, tmp);
      const fh = await fs.promises.open(tmp, 'file' in body ? 'r+' : 'wx', 0o600);
      try {
        if ('data' in body) await writeAll(fh, body.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(tmp, dest);
      await syncDir(dir);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
      throw this.wrap(e, `cannot write ${key}`);
    }
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const p = this.pathOf(key);
    try {
      const fh = await fs.promises.open(p, 'r');
      return fh.createReadStream({ highWaterMark: 1 << 20 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        await this.check();
        throw new TargetError('not-found', `${key} does not exist in ${this.label}`);
      }
      throw this.wrap(e, `cannot read ${key}`);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.check();
    const out: ObjectInfo[] = [];
    // Walk only the directory the prefix names, so listing one generation stays cheap.
    const slash = prefix.lastIndexOf('/');
    const start = path.join(this.root, prefix.slice(0, slash + 1));
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(start, { recursive: true, withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw this.wrap(e, `cannot list ${prefix}`);
    }
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.')) continue;
      const full = path.join(e.parentPath, e.name);
      const key = path.relative(this.root, full).split(path.sep).join('/');
      if (!key.startsWith(prefix) || key.split('/').some((p) => p.startsWith('.'))) continue;
      try {
        out.push({ key, size: (await fs.promises.stat(full)).size });
      } catch {
        // Deleted between readdir and stat (retention running): simply not there any more.
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const p = this.pathOf(key);
      await fs.promises.rm(p, { force: true }).catch((e: unknown) => {
        throw this.wrap(e, `cannot delete ${key}`);
      });
      dirs.add(path.dirname(p));
    }
    // Drop directories emptied by retention (a generation's folders), never the root itself.
    for (let d of [...dirs].sort().reverse()) {
      while (d.startsWith(this.root + path.sep)) {
        try {
          await fs.promises.rmdir(d);
        } catch {
          break;
        }
        d = path.dirname(d);
      }
    }
  }

  async check(): Promise<void> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(this.root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new TargetError('not-found', `backup directory ${this.root} does not exist`);
      throw this.wrap(e, 'cannot open the backup directory');
    }
    if (!st.isDirectory()) throw new TargetError('other', `${this.root} is not a directory`);
  }

  /** Creates the root (0700) so the replicator can start on an empty mount. */
  async ensure(): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true, mode: 0o700 });
  }

  private wrap(e: unknown, what: string): TargetError {
    if (e instanceof TargetError) return e;
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    return new TargetError(code === 'EACCES' || code === 'EPERM' ? 'auth' : 'other', `${this.label}: ${what} (${code})`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // Some filesystems (and most network mounts) refuse fsync on a directory; the rename stands.
  } finally {
    await fh.close();
  }
}

/**
 * The parts in as few writev calls as possible: writeFile with an array writes part by part,
 * one thread-pool round trip through a busy event loop each, which made a 40 MB segment take
 * seconds to reach a directory on tmpfs.
 */
async function writeAll(fh: fs.promises.FileHandle, parts: Buffer[]): Promise<void> {
  const IOV_MAX = 1024;
  let at = 0;
  for (let i = 0; i < parts.length; i += IOV_MAX) {
    const batch = parts.slice(i, i + IOV_MAX);
    const want = batch.reduce((n, b) => n + b.length, 0);
    const { bytesWritten } = await fh.writev(batch, at);
    // A short write (rare on regular files) finishes part by part.
    if (bytesWritten < want) {
      let skip = bytesWritten;
      let pos = at + bytesWritten;
      for (const b of batch) {
        const rest = b.subarray(Math.min(skip, b.length));
        skip -= b.length - rest.length;
        for (let done = 0; done < rest.length; ) {
          const n = (await fh.write(rest, done, rest.length - done, pos)).bytesWritten;
          done += n;
          pos += n;
        }
      }
    }
    at += want;
  }
}
