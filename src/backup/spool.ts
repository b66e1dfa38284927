import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseKey } from './layout.ts';

/** An object waiting for its targets: in the spool (file) or, while memory allows, in memory (data). */
export interface SpoolItem {
  key: string;
  file?: string;
  data?: Buffer[];
  size: number;
  kind: 'snapshot' | 'segment' | 'keyring';
  /** the object's point in time (from its name) */
  time: number;
  /**
   * Segments captured by this process: when the sync step before the one that captured it
   * started. Every change in the segment was committed after it, so `stored - after` bounds
   * how long a COMMIT waited to be safe (the RPO actually achieved).
   */
  after?: number;
}

/**
 * data/backup-spool/: encrypted objects waiting for their targets, under the same names they
 * get there. Snapshots always pass through it; segments stay in memory while the targets keep
 * up and land here when they fall behind (or at shutdown), so a target that is down never holds
 * up the WAL (checkpoints go on) and never fills memory. Whatever is here at the next start is
 * shipped then. An object leaves once every target has it.
 */
export class Spool {
  constructor(readonly dir: string) {}

  init(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  fileFor(key: string): string {
    return path.join(this.dir, ...key.split('/'));
  }

  /** Writes through a temp name, so a half-written object is never picked up. */
  async write(key: string, produce: (out: Writable) => Promise<void>): Promise<SpoolItem> {
    const p = parseKey(key);
    if (!p) throw new Error(`not a backup object name: ${key}`);
    const file = this.fileFor(key);
    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await produce(fs.createWriteStream(tmp, { mode: 0o600 }));
      await fs.promises.rename(tmp, file);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
    const size = (await fs.promises.stat(file)).size;
    return { key, file, size, kind: p.kind, time: p.time };
  }

  async writeBuffers(key: string, parts: Buffer[]): Promise<SpoolItem> {
    return this.write(key, (out) => pipeline(Readable.from(parts), out));
  }

  /** What a previous run left unshipped; half-written temp files are removed. */
  scan(): SpoolItem[] {
    const out: SpoolItem[] = [];
    if (!fs.existsSync(this.dir)) return out;
    for (const e of fs.readdirSync(this.dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const full = path.join(e.parentPath, e.name);
      if (e.name.startsWith('.') && e.name.endsWith('.tmp')) {
        fs.rmSync(full, { force: true });
        continue;
      }
      const key = path.relative(this.dir, full).split(path.sep).join('/');
      const p = parseKey(key);
      if (!p) continue;
      out.push({ key, file: full, size: fs.statSync(full).size, kind: p.kind, time: p.time });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(item: SpoolItem): Promise<void> {
    if (!item.file) return;
    await fs.promises.rm(item.file, { force: true });
    // Empty generation folders go too; the spool root stays.
    let d = path.dirname(item.file);
    while (d.startsWith(this.dir + path.sep)) {
      try {
        await fs.promises.rmdir(d);
      } catch {
        break;
      }
      d = path.dirname(d);
    }
  }
}
