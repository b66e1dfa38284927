/**
 * The instance's fault states: conditions under which it must refuse writes rather than crash or
 * pretend. The durable-write module, the checkpointer and the backup raise and clear them;
 * /readyz, /metrics, the write-refusal page and the owners' alert read them.
 *
 * - `wal-sync-failed` is final: after a failed fsync the kernel may have dropped dirty pages, so
 *   nothing written since the last good sync can be trusted to be on disk. Only a restart (which
 *   re-reads the WAL from disk) clears it.
 * - `disk-full` clears itself once a write or checkpoint succeeds again.
 */
export const FAULT_KINDS = ['wal-sync-failed', 'disk-full'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** ms since epoch when it was raised */
  since: number;
  /** one line an operator can act on; never personal data */
  message: string;
}

export type FaultListener = (event: { type: 'raised' | 'cleared'; fault: Fault }) => void;

const FINAL: ReadonlySet<FaultKind> = new Set(['wal-sync-failed']);

export class Faults {
  private readonly active = new Map<FaultKind, Fault>();
  private readonly listeners: FaultListener[] = [];

  constructor(private readonly now: () => number) {}

  /** Raises a fault (once: a second raise of an active kind changes nothing). */
  raise(kind: FaultKind, message: string): void {
    if (this.active.has(kind)) return;
    const fault = { kind, since: this.now(), message };
    this.active.set(kind, fault);
    this.emit({ type: 'raised', fault });
  }

  /** Clears a fault that can clear (a failed sync never does). */
  clear(kind: FaultKind): void {
    const fault = this.active.get(kind);
    if (!fault || FINAL.has(kind)) return;
    this.active.delete(kind);
    this.emit({ type: 'cleared', fault });
  }

  has(kind: FaultKind): boolean {
    return this.active.has(kind);
  }

  list(): Fault[] {
    return [...this.active.values()];
  }

  /** Writes may proceed only when no fault is active. */
  get writable(): boolean {
    return this.active.size === 0;
  }

  /** The first active fault, for a refusal message. */
  first(): Fault | undefined {
    return this.active.values().next().value;
  }

  subscribe(listener: FaultListener): void {
    this.listeners.push(listener);
  }

  private emit(e: Parameters<FaultListener>[0]): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener (an alert mail) failing must not turn a fault into a crash.
      }
    }
  }
}

/** SQLite's "the disk is full" (SQLITE_FULL) or the OS's ENOSPC/EDQUOT. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT' || (typeof code === 'string' && code.startsWith('SQLITE_IOERR') && /no space|disk is full/i.test(String((e as Error).message)));
}

/** Thrown instead of writing while a fault is active: answered with 503 and a clear page. */
export class WritesRefusedError extends Error {
  override name = 'WritesRefusedError';
  constructor(readonly fault: Fault) {
    super(fault.kind === 'disk-full' ? 'the disk is full: changes cannot be saved right now' : 'the server stopped saving changes after a disk error');
  }
}
