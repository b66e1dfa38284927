import type { BackupTarget } from '../backup/targets/target.ts';
import type { Logger } from '../log.ts';
import { type LedgerCrypto, type LedgerEntry, LedgerFile, ledgerObjectKey } from './ledger.ts';

async function readText(src: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('utf8');
}

/** Entries from one backup target's `erasures/` objects. */
export async function readTargetLedger(target: BackupTarget, crypto: LedgerCrypto): Promise<{ entries: LedgerEntry[]; rejected: number }> {
  const entries: LedgerEntry[] = [];
  let rejected = 0;
  for (const o of await target.list('erasures/')) {
    const e = crypto.open((await readText(await target.get(o.key))).trim());
    // The name repeats the id: an object copied under another name is not trusted.
    if (e && ledgerObjectKey(e) === o.key) entries.push(e);
    else rejected++;
  }
  return { entries, rejected };
}

/** Union by id, oldest first. */
export function mergeEntries(...lists: LedgerEntry[][]): LedgerEntry[] {
  const byId = new Map<string, LedgerEntry>();
  for (const l of lists) for (const e of l) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
}

/**
 * Where the ledger lives outside the database: the file beside the keyring (written before the
 * erasure commits, fsynced) and one object per entry on every backup target (shipped after, and
 * re-shipped at start for anything a target missed).
 */
export class LedgerStore {
  readonly file: LedgerFile;
  private shipping = new Set<Promise<void>>();

  constructor(
    private readonly opts: { crypto: LedgerCrypto; file: string; targets: BackupTarget[]; log: Logger },
  ) {
    this.file = new LedgerFile(opts.file, opts.crypto);
  }

  /** Sends entries (already in the file) to every target, in the background. */
  shipOnly(entries: LedgerEntry[]): void {
    if (entries.length && this.opts.targets.length) this.track(this.ship(entries));
  }

  private track(p: Promise<void>): void {
    this.shipping.add(p);
    void p.finally(() => this.shipping.delete(p));
  }

  private async ship(entries: LedgerEntry[], targets = this.opts.targets): Promise<void> {
    for (const t of targets) {
      for (const e of entries) {
        try {
          await t.put(ledgerObjectKey(e), { data: [Buffer.from(`${this.opts.crypto.seal(e)}\n`)] });
        } catch (err) {
          // The file keeps it; the next start ships what a target is missing.
          this.opts.log.warn({ target: t.label, entry: e.id, err: (err as Error).message }, 'erasure ledger: could not ship an entry to a backup target');
          break;
        }
      }
    }
  }

  /** Ships every local entry a target does not have yet; returns the targets' entries (for replay). */
  async syncTargets(): Promise<{ entries: LedgerEntry[]; rejected: number; shipped: number }> {
    const local = this.file.read().entries;
    const remote: LedgerEntry[] = [];
    let rejected = 0;
    let shipped = 0;
    for (const t of this.opts.targets) {
      try {
        const r = await readTargetLedger(t, this.opts.crypto);
        remote.push(...r.entries);
        rejected += r.rejected;
        const have = new Set(r.entries.map((e) => e.id));
        const missing = local.filter((e) => !have.has(e.id));
        if (missing.length) {
          await this.ship(missing, [t]);
          shipped += missing.length;
        }
      } catch (err) {
        this.opts.log.warn({ target: t.label, err: (err as Error).message }, 'erasure ledger: backup target not readable');
      }
    }
    return { entries: remote, rejected, shipped };
  }

  /** Resolves when every shipment started so far has ended. */
  async settled(): Promise<void> {
    while (this.shipping.size) await Promise.allSettled([...this.shipping]);
  }
}
