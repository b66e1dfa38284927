-- Results of the daily (and on-demand) backup restore test. One row per run, written when the run
-- ends. No personal data: table names only in mismatches, and a one-line error.
-- ok: 1 = the restored data matched live data at the same WAL position; 0 = failed;
--     NULL = skipped (no quiet moment to compare at; not a failure).
CREATE TABLE backup_restore_tests (
  id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  ok INTEGER CHECK (ok IN (0, 1)),
  -- the point in time the restored data is current at
  restored_to TEXT,
  -- {"generation","walIndex","frame","segmentIndex"} of the restored position
  position TEXT,
  tables_compared INTEGER NOT NULL DEFAULT 0 CHECK (tables_compared >= 0),
  -- JSON array of table names whose row count or checksum differed
  mismatches TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0)
) STRICT;
CREATE INDEX backup_restore_tests_finished ON backup_restore_tests (finished_at);
