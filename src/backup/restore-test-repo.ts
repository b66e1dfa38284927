import { z } from 'zod';
import type { DB } from '../db/open.ts';

export const restoreTestPositionSchema = z.object({ generation: z.string(), walIndex: z.number().int(), frame: z.number().int(), segmentIndex: z.number().int() });
export type RestoreTestPosition = z.infer<typeof restoreTestPositionSchema>;

/** One finished run; ok undefined = skipped (no quiet moment), which is not a failure. */
export interface RestoreTestResult {
  id: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean | undefined;
  restoredTo: string | undefined;
  position: RestoreTestPosition | undefined;
  tablesCompared: number;
  mismatches: string[];
  error: string | undefined;
  durationMs: number;
}

const rowSchema = z.object({
  id: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  ok: z.union([z.literal(0), z.literal(1), z.null()]),
  restored_to: z.string().nullable(),
  position: z.string().nullable(),
  tables_compared: z.number().int(),
  mismatches: z.string(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
});

function fromRow(raw: unknown): RestoreTestResult {
  const r = rowSchema.parse(raw);
  return {
    id: r.id,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    ok: r.ok === null ? undefined : r.ok === 1,
    restoredTo: r.restored_to ?? undefined,
    position: r.position ? restoreTestPositionSchema.parse(JSON.parse(r.position)) : undefined,
    tablesCompared: r.tables_compared,
    mismatches: z.array(z.string()).parse(JSON.parse(r.mismatches)),
    error: r.error ?? undefined,
    durationMs: r.duration_ms,
  };
}

/** backup_restore_tests: one row per run of the restore test, written when it ends. */
export class RestoreTestRepo {
  constructor(private readonly db: DB) {}

  insert(r: RestoreTestResult): void {
    this.db
      .prepare(
        `INSERT INTO backup_restore_tests (id, started_at, finished_at, ok, restored_to, position, tables_compared, mismatches, error, duration_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.id, r.startedAt, r.finishedAt, r.ok === undefined ? null : r.ok ? 1 : 0, r.restoredTo ?? null, r.position ? JSON.stringify(r.position) : null, r.tablesCompared, JSON.stringify(r.mismatches), r.error ?? null, Math.round(r.durationMs));
  }

  recent(limit = 20): RestoreTestResult[] {
    return this.db.prepare('SELECT * FROM backup_restore_tests ORDER BY finished_at DESC, rowid DESC LIMIT ?').all(limit).map(fromRow);
  }

  /** The last run that came to a verdict (skips say nothing about the backups). */
  lastVerdict(): RestoreTestResult | undefined {
    const row = this.db.prepare('SELECT * FROM backup_restore_tests WHERE ok IS NOT NULL ORDER BY finished_at DESC, rowid DESC LIMIT 1').get();
    return row ? fromRow(row) : undefined;
  }

  lastSuccess(): RestoreTestResult | undefined {
    const row = this.db.prepare('SELECT * FROM backup_restore_tests WHERE ok = 1 ORDER BY finished_at DESC, rowid DESC LIMIT 1').get();
    return row ? fromRow(row) : undefined;
  }
}
