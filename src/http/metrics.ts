import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RequestStats } from './request-stats.ts';

/**
 * Prometheus metrics. prom-client gives the exposition format, histograms and the event-loop
 * lag monitor; labels are route patterns, never raw paths, so cardinality stays bounded.
 */
/** A sample line whose value is not a number (prom-client's spelling). */
const NO_SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? Nan\n/gm;

export class Metrics {
  readonly registry = new Registry();
  private readonly http = new RequestStats([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

  private readonly jobs = new Map<string, JobRecord>();

  constructor(dbSize: () => number, walSize?: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_', eventLoopMonitoringPrecision: 20 });
    // Gauges named like counters, which `promtool check metrics` rejects; each is the sum of
    // its per-type gauge (tessera_nodejs_active_handles{type} etc.), so nothing is lost.
    for (const n of ['tessera_nodejs_active_handles_total', 'tessera_nodejs_active_requests_total', 'tessera_nodejs_active_resources_total']) this.registry.removeSingleMetric(n);
    if (walSize) {
      new Gauge({
        name: 'tessera_db_wal_size_bytes',
        help: 'Size of the write-ahead log file (part of tessera_db_size_bytes)',
        registers: [this.registry],
        collect() {
          this.set(walSize());
        },
      });
    }
    this.observeJobs();
    new Gauge({
      name: 'tessera_db_size_bytes',
      help: 'Size of the encrypted database file plus its WAL',
      registers: [this.registry],
      collect() {
        this.set(dbSize());
      },
    });
  }

  /**
   * Backup gauges, read on each scrape; registered only when a backup target is configured, so
   * an instance without backups does not report a "failed" restore test.
   */
  observeBackup(read: () => { lagSeconds: number; lastSuccessAt: string | undefined; lastOk: boolean | undefined; lastRunAt: string | undefined }): void {
    new Gauge({
      name: 'tessera_backup_lag_seconds',
      help: 'Age of the oldest change not yet on every backup target (0 = all shipped)',
      registers: [this.registry],
      collect() {
        this.set(read().lagSeconds);
      },
    });
    new Gauge({
      name: 'tessera_backup_restore_test_last_success_timestamp_seconds',
      help: 'When the backup restore test last passed (Unix time; 0 = never)',
      registers: [this.registry],
      collect() {
        const at = read().lastSuccessAt;
        this.set(at ? Date.parse(at) / 1000 : 0);
      },
    });
    // No NaN for "never": the exposition format has no unset value, and NaN breaks comparisons
    // in alert rules. "Never ran" is a last run time of 0.
    new Gauge({
      name: 'tessera_backup_restore_test_last_result',
      help: 'Result of the last backup restore test: 1 ok, 0 failed or none yet (see tessera_backup_restore_test_last_run_timestamp_seconds)',
      registers: [this.registry],
      collect() {
        this.set(read().lastOk === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tessera_backup_restore_test_last_run_timestamp_seconds',
      help: 'When the last backup restore test finished, passed or failed (Unix time; 0 = never)',
      registers: [this.registry],
      collect() {
        const at = read().lastRunAt;
        this.set(at ? Date.parse(at) / 1000 : 0);
      },
    });
  }

  /** Log shipping per destination and stream (src/logship/): alert on a gap or on dropped lines growing. */
  observeLogShipping(read: () => { destination: string; stream: string; lagSeconds: number; shippedLines: number; droppedLines: number; gap: boolean }[]): void {
    const labelNames = ['destination', 'stream'];
    const each = (set: (labels: { destination: string; stream: string }, v: ReturnType<typeof read>[number]) => void) => {
      for (const d of read()) set({ destination: d.destination, stream: d.stream }, d);
    };
    new Gauge({
      name: 'tessera_logship_lag_seconds',
      help: 'Age of the oldest log line not yet at the destination (0 = caught up)',
      labelNames,
      registers: [this.registry],
      collect() {
        each((l, d) => this.set(l, d.lagSeconds));
      },
    });
    new Gauge({
      name: 'tessera_logship_gap',
      help: 'Log shipping gap at the destination: 1 lines were lost or the lag is over --log-ship-max-lag-minutes, 0 not',
      labelNames,
      registers: [this.registry],
      collect() {
        each((l, d) => this.set(l, d.gap ? 1 : 0));
      },
    });
    new Counter({
      name: 'tessera_logship_shipped_lines_total',
      help: 'Log lines delivered to the destination since start',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        each((l, d) => this.inc(l, d.shippedLines));
      },
    });
    new Counter({
      name: 'tessera_logship_dropped_lines_total',
      help: 'Log lines lost before they reached the destination since start (a full queue, a file pruned unshipped)',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        each((l, d) => this.inc(l, d.droppedLines));
      },
    });
  }

  /** The last `audit verify` (chain walk plus anchor): 1 ok, 0 failed or none yet; alert on 0 after a run. */
  observeAuditVerify(read: () => { ok: boolean; at: number } | undefined): void {
    new Gauge({
      name: 'tessera_audit_verify_last_result',
      help: 'Result of the last audit log verification: 1 ok, 0 failed or none yet (see tessera_audit_verify_last_run_timestamp_seconds)',
      registers: [this.registry],
      collect() {
        this.set(read()?.ok === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tessera_audit_verify_last_run_timestamp_seconds',
      help: 'When the audit log was last verified (Unix time; 0 = not since start)',
      registers: [this.registry],
      collect() {
        this.set((read()?.at ?? 0) / 1000);
      },
    });
  }

  /** 1 per active fault (failed WAL sync, disk full), 0 otherwise: alert on any 1. */
  observeFaults(active: () => { kind: string }[], kinds: readonly string[]): void {
    new Gauge({
      name: 'tessera_fault',
      help: 'Active fault states that stop writes: 1 active, 0 not (wal-sync-failed needs a restart; disk-full clears itself)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const now = new Set(active().map((f) => f.kind));
        for (const k of kinds) this.set({ kind: k }, now.has(k) ? 1 : 0);
      },
    });
  }

  /** The opening-rush queue: people parked, and how long the writer's oldest registration has waited. */
  observeRegistrationQueue(read: () => { parked: number; inFlight: number; oldestWaitMs: number }): void {
    new Gauge({
      name: 'tessera_registration_queue_parked',
      help: 'People waiting in the registration queue (the "you are in the queue" page) right now',
      registers: [this.registry],
      collect() {
        this.set(read().parked);
      },
    });
    new Gauge({
      name: 'tessera_registration_inflight',
      help: 'Registrations admitted and waiting for the database right now',
      registers: [this.registry],
      collect() {
        this.set(read().inFlight);
      },
    });
    new Gauge({
      name: 'tessera_registration_oldest_wait_seconds',
      help: 'How long the oldest admitted registration has waited for the database; past --registration-queue-after-ms new arrivals are queued',
      registers: [this.registry],
      collect() {
        this.set(read().oldestWaitMs / 1000);
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.http.observe(method, route, status, seconds);
  }

  async text(): Promise<string> {
    // prom-client writes an average over no samples as "Nan", which Prometheus rejects: the
    // event-loop lag's mean and deviation between two scrapes closer than its resolution. No
    // sample is the honest answer there.
    const own = (await this.registry.metrics()).replace(NO_SAMPLE, '');
    return `${own}\n${this.http.exposition()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** WAL checkpoint counters and the WAL's length, read on each scrape (from the checkpointer, or from the backup replicator when it owns checkpoints). */
  observeCheckpoints(read: () => { worker: number; main: number; frames: number; last: { at: number; seconds: number } | undefined }): void {
    new Gauge({
      name: 'tessera_wal_checkpoint_last_timestamp_seconds',
      help: 'When the last WAL checkpoint finished (Unix time; 0 = none since start)',
      registers: [this.registry],
      collect() {
        this.set((read().last?.at ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'tessera_wal_checkpoint_last_duration_seconds',
      help: 'How long the last WAL checkpoint took',
      registers: [this.registry],
      collect() {
        this.set(read().last?.seconds ?? 0);
      },
    });
    new Gauge({
      name: 'tessera_wal_frames',
      help: 'Frames in the write-ahead log now (4 KiB each); checkpoints copy them into the database file',
      registers: [this.registry],
      collect() {
        this.set(read().frames);
      },
    });
    new Counter({
      name: 'tessera_wal_checkpoints_total',
      help: 'WAL checkpoints by where they ran: worker (off the request path) or main (catch-up)',
      labelNames: ['where'],
      registers: [this.registry],
      collect() {
        const s = read();
        this.reset();
        this.inc({ where: 'worker' }, s.worker);
        this.inc({ where: 'main' }, s.main);
      },
    });
  }

  /**
   * Runs a scheduled job and records it for /metrics: when it last ran and finished well, how
   * long it took, and how often it failed. The error is rethrown for the caller to log.
   */
  async job<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const rec = this.jobs.get(name) ?? { lastRun: 0, lastSuccess: 0, seconds: 0, failures: 0 };
    this.jobs.set(name, rec);
    const t0 = performance.now();
    try {
      const v = await fn();
      rec.lastSuccess = Date.now();
      return v;
    } catch (e) {
      rec.failures++;
      throw e;
    } finally {
      rec.seconds = (performance.now() - t0) / 1000;
      rec.lastRun = Date.now();
    }
  }

  /** Declares a job before its first run, so it shows (as never run) from the first scrape. */
  declareJob(name: string): void {
    if (!this.jobs.has(name)) this.jobs.set(name, { lastRun: 0, lastSuccess: 0, seconds: 0, failures: 0 });
  }

  private observeJobs(): void {
    const jobs = this.jobs;
    const each = (g: { set(l: { job: string }, v: number): void }, pick: (r: JobRecord) => number) => {
      for (const [job, r] of jobs) g.set({ job }, pick(r));
    };
    new Gauge({ name: 'tessera_job_last_run_timestamp_seconds', help: 'When the scheduled job last finished, well or not (Unix time; 0 = not yet)', labelNames: ['job'], registers: [this.registry], collect() { each(this, (r) => r.lastRun / 1000); } });
    new Gauge({ name: 'tessera_job_last_success_timestamp_seconds', help: 'When the scheduled job last finished without an error (Unix time; 0 = not yet)', labelNames: ['job'], registers: [this.registry], collect() { each(this, (r) => r.lastSuccess / 1000); } });
    new Gauge({ name: 'tessera_job_last_duration_seconds', help: 'How long the last run of the scheduled job took', labelNames: ['job'], registers: [this.registry], collect() { each(this, (r) => r.seconds); } });
    new Counter({
      name: 'tessera_job_failures_total',
      help: 'Runs of the scheduled job that ended in an error',
      labelNames: ['job'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [job, r] of jobs) this.inc({ job }, r.failures);
      },
    });
  }
}

interface JobRecord {
  lastRun: number;
  lastSuccess: number;
  seconds: number;
  failures: number;
}
