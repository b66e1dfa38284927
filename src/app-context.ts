import type { AccessLogWriter } from './audit/access-log.ts';
import type { AuditLog } from './audit/service.ts';
import type { Config } from './config/config.ts';
import type { DB } from './db/open.ts';
import type { Metrics } from './http/metrics.ts';
import type { Keyring } from './keys/keyring.ts';
import type { Logger } from './log.ts';

/** The thin value passed around instead of globals: one per running instance. */
export interface AppContext {
  cfg: Config;
  db: DB;
  keyring: Keyring;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  accessLog: AccessLogWriter;
  /** Milliseconds since epoch; tests replace it to move time. */
  now: () => number;
}
