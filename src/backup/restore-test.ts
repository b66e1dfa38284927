import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { AppContext } from '../app-context.ts';
import { systemContext } from '../audit/service.ts';
import { type DB, openDatabase } from '../db/open.ts';
import { keyringPath } from '../keys/keyring.ts';
import { type Fingerprint, diffFingerprints, fingerprintPausing } from './fingerprint.ts';
import { restoreBackup } from './restore.ts';
import { type RestoreTestPosition, RestoreTestRepo, type RestoreTestResult } from './restore-test-repo.ts';
import type { BackupService } from './service.ts';
import { readShmHeader } from './wal.ts';

/**
 * Tables left out of the comparison. Live data is fingerprinted at exactly the WAL position the
 * restore reaches (see attempt()), so every other table — audit log, sessions, outboxes — must
 * match. Only the test's own results differ: each run writes its row after comparing, and an
 * older row may sit in live data while the backup being restored is from before it was written.
 */
export const RESTORE_TEST_EXCLUDED_TABLES = ['backup_restore_tests'];

const MAX_ATTEMPTS = 3;
export const BUSY_MESSAGE = 'busy: could not get a quiet moment';

type Outcome =
  | { kind: 'ok'; restoredTo: Date; position: RestoreTestPosition; tablesCompared: number }
  | { kind: 'failed'; error: string; mismatches?: string[]; restoredTo?: Date; position?: RestoreTestPosition; tablesCompared?: number }
  | { kind: 'skipped'; error: string };

/** Errors are stored and mailed: one line, bounded; they name objects and targets, never rows. */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, ' ').trim().slice(0, 300) || 'unknown error';
}

function withoutExcluded(fp: Fingerprint): Fingerprint {
  return Object.fromEntries(Object.entries(fp).filter(([name]) => !RESTORE_TEST_EXCLUDED_TABLES.includes(name)));
}

export interface RestoreTesterOptions {
  ctx: AppContext;
  dbFile: string;
  /** undefined when no backup target is configured: runs do nothing */
  backup: BackupService | undefined;
  /** how long the targets may take to hold everything captured (default 5 min) */
  shipTimeoutMs?: number;
  /** where the temp restore directories go (default the OS temp dir) */
  tempRoot?: string;
}

/**
 * The daily restore test: restores the newest backup into a temp directory and compares it with
 * live data at the same WAL position, so "the backups work" is checked, not assumed.
 */
export class RestoreTester {
  readonly repo: RestoreTestRepo;
  private running: Promise<RestoreTestResult | undefined> | undefined;

  constructor(private readonly opts: RestoreTesterOptions) {
    this.repo = new RestoreTestRepo(opts.ctx.db);
  }

  get configured(): boolean {
    return this.opts.backup !== undefined;
  }

  get backup(): BackupService | undefined {
    return this.opts.backup;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** One run at a time: a second call while one runs gets the same result. */
  run(trigger: 'schedule' | 'admin' | 'test' = 'schedule'): Promise<RestoreTestResult | undefined> {
    if (!this.opts.backup) return Promise.resolve(undefined);
    this.running ??= this.runOnce(this.opts.backup, trigger).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Shutdown: lets a running test finish, at most timeoutMs. */
  async settled(timeoutMs: number): Promise<void> {
    const r = this.running;
    if (!r) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.then(() => undefined, () => undefined), new Promise<void>((res) => (timer = setTimeout(res, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async runOnce(backup: BackupService, trigger: string): Promise<RestoreTestResult> {
    const { ctx } = this.opts;
    const startedAt = new Date(ctx.now());
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      outcome = await this.attempts(backup);
    } catch (e) {
      outcome = { kind: 'failed', error: oneLine(e) };
    }
    const result: RestoreTestResult = {
      id: randomUUID(),
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(ctx.now()).toISOString(),
      ok: outcome.kind === 'skipped' ? undefined : outcome.kind === 'ok',
      restoredTo: outcome.kind !== 'skipped' ? outcome.restoredTo?.toISOString() : undefined,
      position: outcome.kind !== 'skipped' ? outcome.position : undefined,
      tablesCompared: outcome.kind !== 'skipped' ? (outcome.tablesCompared ?? 0) : 0,
      mismatches: outcome.kind === 'failed' ? (outcome.mismatches ?? []) : [],
      error: outcome.kind === 'ok' ? undefined : outcome.error,
      durationMs: Math.round(performance.now() - t0),
    };
    this.record(result, backup, trigger);
    return result;
  }

  private record(r: RestoreTestResult, backup: BackupService, trigger: string): void {
    const { ctx } = this.opts;
    const fields = { trigger, ok: r.ok ?? null, durationMs: r.durationMs, tablesCompared: r.tablesCompared, mismatches: r.mismatches, restoredTo: r.restoredTo ?? null, error: r.error ?? null };
    if (r.ok === false) ctx.log.error(fields, 'backup: the restore test failed');
    else if (r.ok === undefined) ctx.log.warn(fields, 'backup: the restore test was skipped');
    else ctx.log.info(fields, 'backup: the restore test passed');
    try {
      this.repo.insert(r);
      ctx.audit.record(systemContext(), 'backup.restore_test', { type: 'backup_restore_test', id: r.id }, r.ok === false ? 'failure' : 'success', fields);
    } catch (e) {
      ctx.log.error({ err: oneLine(e) }, 'backup: cannot record the restore test result');
    }
    if (r.ok !== false) return;
    try {
      ctx.alerts.raise(
        {
          key: 'backup-restore-test',
          title: 'The daily backup restore test failed',
          lines: [
            `Error: ${r.error ?? 'unknown'}`,
            r.mismatches.length ? `Tables that differ: ${r.mismatches.join(', ')}` : '',
            `Backup targets: ${backup.targets.map((t) => t.label).join(', ')}`,
            `Started: ${r.startedAt}`,
            `Details: ${ctx.baseUrl()}/admin/backups`,
          ].filter(Boolean),
        },
        systemContext(),
      );
    } catch (e) {
      ctx.log.error({ err: oneLine(e) }, 'backup: cannot raise the restore test alert');
    }
  }

  private async attempts(backup: BackupService): Promise<Outcome> {
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      const out = await this.attempt(backup);
      if (out !== 'moved') return out;
      this.opts.ctx.log.info({ attempt: i }, 'backup: restore test could not pin a position; retrying');
    }
    return { kind: 'skipped', error: BUSY_MESSAGE };
  }

  /**
   * Pins live data at the replicator's position instead of waiting for writes to stop: in one
   * synchronous section (no app write can run in between; the app's connection is in this
   * thread) it captures every committed frame, checks the WAL ends exactly there and opens a read
   * transaction on a separate connection. That connection then sees the captured position for as
   * long as it is open, whatever is written meanwhile, so this works on a busy server too.
   * 'moved' = the restored position is not the pinned one (another process held the lock, or a
   * later object carries the same millisecond); the caller retries.
   */
  private async attempt(backup: BackupService): Promise<Outcome | 'moved'> {
    const { ctx, dbFile } = this.opts;
    backup.tick();
    await this.waitShipped(backup);

    const reader = openDatabase(dbFile, { key: ctx.keyring.active('db').key });
    let live: Fingerprint;
    let at: number;
    let pinned: { generation: string; walIndex: number; frame: number };
    try {
      reader.pragma('wal_autocheckpoint = 0');
      // ---- synchronous section: nothing else in this process runs until the read transaction holds
      if (ctx.db.inTransaction) return 'moved';
      backup.tick();
      const st = backup.status();
      if (!st.generation || !st.position) return 'moved';
      if (readShmHeader(`${dbFile}-shm`).mxFrame !== st.position.frame) return 'moved';
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM sqlite_schema').get();
      at = ctx.now();
      pinned = { generation: st.generation, walIndex: st.position.walIndex, frame: st.position.frame };
      // ---- end of the synchronous section
      live = await fingerprintPausing(reader, RESTORE_TEST_EXCLUDED_TABLES, () => yieldToEventLoop());
    } finally {
      if (reader.inTransaction) reader.exec('COMMIT');
      reader.close();
    }
    await this.waitShipped(backup);

    for (const target of backup.targets) {
      const dir = fs.mkdtempSync(path.join(this.opts.tempRoot ?? os.tmpdir(), 'tessera-restore-test-'));
      fs.chmodSync(dir, 0o700);
      try {
        const res = await restoreBackup({
          source: target,
          keyring: ctx.keyring,
          keyringFile: keyringPath(ctx.cfg.dataDir),
          to: path.join(dir, 'data'),
          at: new Date(at),
          generation: pinned.generation,
        });
        const p = res.position;
        if (p.generation !== pinned.generation || p.walIndex !== pinned.walIndex || p.frame !== pinned.frame) return 'moved';
        const position = { generation: p.generation, walIndex: p.walIndex, frame: p.frame, segmentIndex: p.segmentIndex };
        const mismatches = diffFingerprints(live, withoutExcluded(res.fingerprint ?? {}));
        if (mismatches.length) {
          return {
            kind: 'failed',
            error: `${target.label}: the restored data differs from live data in ${mismatches.length} table(s) at the same position`,
            mismatches,
            restoredTo: res.restoredTo,
            position,
            tablesCompared: Object.keys(live).length,
          };
        }
        if (target === backup.targets.at(-1)) return { kind: 'ok', restoredTo: res.restoredTo, position, tablesCompared: Object.keys(live).length };
      } catch (e) {
        return { kind: 'failed', error: `${target.label}: ${oneLine(e)}` };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    return { kind: 'failed', error: 'no backup target to restore from' };
  }

  /** Until every target holds everything captured so far. */
  private async waitShipped(backup: BackupService): Promise<void> {
    const timeoutMs = this.opts.shipTimeoutMs ?? 300_000;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = backup.status();
      if (!s.snapshotInProgress && s.staging === 0 && s.targets.every((t) => t.pendingObjects === 0)) return;
      if (performance.now() > deadline) {
        const behind = s.targets.filter((t) => t.pendingObjects > 0).map((t) => `${t.target} (${t.pendingObjects} objects, lag ${Math.round(t.lagSeconds)} s)`);
        throw new Error(`the backup targets did not take the latest changes within ${Math.round(timeoutMs / 1000)} s${behind.length ? `: ${behind.join(', ')}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** For /readyz and /metrics: cheap (one indexed query). */
  summary(): BackupSummary {
    const backup = this.opts.backup;
    if (!backup) return { configured: false };
    const last = this.repo.lastVerdict();
    const success = last?.ok ? last : this.repo.lastSuccess();
    return {
      configured: true,
      lagSeconds: backup.status().lagSeconds,
      lastRestoreTest: last ? { ok: last.ok === true, at: last.finishedAt } : null,
      lastSuccessAt: success?.finishedAt,
    };
  }
}

export type BackupSummary =
  | { configured: false }
  | { configured: true; lagSeconds: number; lastRestoreTest: { ok: boolean; at: string } | null; lastSuccessAt: string | undefined };
