import fs from 'node:fs';
import { Counter, Gauge } from 'prom-client';
import type { DB } from '../db/open.ts';
import type { Metrics } from '../http/metrics.ts';
import { monitoringRepo } from './repo.ts';

/** Audit actions that count as a failed sign-in step, with the step they belong to. */
const SIGN_IN_STEPS: Record<string, string> = { 'auth.login': 'password', 'auth.2fa': 'second_factor' };

/**
 * The instance's own figures in /metrics: outbox depth and age per channel, and counters read
 * from the audit log as it grows (failed sign-ins, security alerts raised). Counting from the
 * audit log keeps one source of truth: whatever writes those rows is counted, with no hook in
 * the code paths that write them. Counters start at 0 with the process, as Prometheus expects.
 */
export function registerInstanceMetrics(metrics: Metrics, db: DB, now: () => number, dataDir: string): void {
  const repo = monitoringRepo(db);
  const registers = [metrics.registry];
  // The filesystem holding the data directory: a full disk stops writes (the disk-full fault),
  // so "nearly full" is worth an alert of its own, without node_exporter.
  const disk = () => {
    try {
      const st = fs.statfsSync(dataDir);
      return { available: st.bavail * st.bsize, size: st.blocks * st.bsize };
    } catch {
      return { available: 0, size: 0 };
    }
  };
  new Gauge({
    name: 'tessera_disk_available_bytes',
    help: 'Space left for Tessera on the filesystem of the data directory',
    registers,
    collect() {
      this.set(disk().available);
    },
  });
  new Gauge({
    name: 'tessera_disk_size_bytes',
    help: 'Size of the filesystem of the data directory',
    registers,
    collect() {
      this.set(disk().size);
    },
  });
  const outbox = (channel: 'mail' | 'sms') => {
    const rows = repo.outbox(channel);
    const by = (s: string) => rows.find((r) => r.status === s);
    const pending = rows.filter((r) => r.status !== 'failed');
    const oldest = pending.map((r) => r.oldest).filter((o): o is string => o !== null).sort()[0];
    return { queued: by('queued')?.n ?? 0, sending: by('sending')?.n ?? 0, failed: by('failed')?.n ?? 0, oldestAge: oldest ? Math.max(0, (now() - Date.parse(oldest)) / 1000) : 0 };
  };
  new Gauge({
    name: 'tessera_outbox_messages',
    help: 'Messages in the outbox by channel (mail, sms) and state: queued (waiting or retrying), sending (claimed now), failed (given up)',
    labelNames: ['channel', 'state'],
    registers,
    collect() {
      for (const channel of ['mail', 'sms'] as const) {
        const o = outbox(channel);
        this.set({ channel, state: 'queued' }, o.queued);
        this.set({ channel, state: 'sending' }, o.sending);
        this.set({ channel, state: 'failed' }, o.failed);
      }
    },
  });
  new Gauge({
    name: 'tessera_outbox_oldest_age_seconds',
    help: 'Age of the oldest message still to be sent (queued or sending), by channel; 0 when none',
    labelNames: ['channel'],
    registers,
    collect() {
      for (const channel of ['mail', 'sms'] as const) this.set({ channel }, outbox(channel).oldestAge);
    },
  });

  // Read incrementally: each scrape looks only at rows added since the last one.
  let cursor = repo.auditHead();
  const signIn = new Map<string, number>();
  let alerts = 0;
  const advance = () => {
    for (let round = 0; round < 100; round++) {
      const rows = repo.auditAfter(cursor, 5000);
      for (const r of rows) {
        const step = SIGN_IN_STEPS[r.action];
        if (step && (r.result === 'failure' || r.result === 'denied')) signIn.set(`${step} ${r.result}`, (signIn.get(`${step} ${r.result}`) ?? 0) + 1);
        if (r.action === 'security.alert') alerts++;
        cursor = r.seq;
      }
      if (rows.length < 5000) return;
    }
  };
  new Counter({
    name: 'tessera_signin_failures_total',
    help: 'Failed sign-in attempts since start, by step (password, second_factor) and result (failure: wrong credentials; denied: throttled, locked or disabled)',
    labelNames: ['step', 'result'],
    registers,
    collect() {
      advance();
      this.reset();
      for (const step of Object.values(SIGN_IN_STEPS)) for (const result of ['failure', 'denied']) this.inc({ step, result }, signIn.get(`${step} ${result}`) ?? 0);
    },
  });
  new Counter({
    name: 'tessera_security_alerts_total',
    help: 'Security alerts raised (and recorded in the audit log) since start',
    registers,
    collect() {
      advance();
      this.reset();
      this.inc(alerts);
    },
  });
}
