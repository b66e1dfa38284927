import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { RequestStats } from './request-stats.ts';

/**
 * Prometheus metrics. prom-client gives the exposition format, histograms and the event-loop
 * lag monitor; labels are route patterns, never raw paths, so cardinality stays bounded.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly http = new RequestStats([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);

  constructor(dbSize: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'tessera_', eventLoopMonitoringPrecision: 20 });
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
  observeBackup(read: () => { lagSeconds: number; lastSuccessAt: string | undefined; lastOk: boolean | undefined }): void {
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
    new Gauge({
      name: 'tessera_backup_restore_test_last_result',
      help: 'Result of the last backup restore test: 1 ok, 0 failed (NaN before the first one)',
      registers: [this.registry],
      collect() {
        const ok = read().lastOk;
        this.set(ok === undefined ? Number.NaN : ok ? 1 : 0);
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

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.http.observe(method, route, status, seconds);
  }

  async text(): Promise<string> {
    return `${await this.registry.metrics()}\n${this.http.exposition()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** WAL checkpoint counters and the WAL's length, read on each scrape (from the checkpointer, or from the backup replicator when it owns checkpoints). */
  observeCheckpoints(read: () => { worker: number; main: number; frames: number }): void {
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
}
