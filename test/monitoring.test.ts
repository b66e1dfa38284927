import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { Client } from './support/client.ts';
import { repoRoot } from './support/cli.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

interface Family {
  name: string;
  type?: string;
  help?: string;
  samples: { name: string; value: string }[];
}

/** The text exposition format, read family by family (# HELP / # TYPE, then its samples). */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const fam = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      current = fam(meta[2]!);
      if (meta[1] === 'HELP') current.help = meta[3];
      else current.type = meta[3];
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    // Histogram samples belong to their family (name_bucket, name_sum, name_count).
    const owner = current && (m[1] === current.name || (current.type === 'histogram' && /_(bucket|sum|count)$/.test(m[1]!) && m[1]!.replace(/_(bucket|sum|count)$/, '') === current.name)) ? current : fam(m[1]!);
    owner.samples.push({ name: m[1]!, value: m[3]! });
  }
  return families;
}

/** The lint rules of `promtool check metrics` that matter here, plus the exposition's number syntax. */
function lint(families: Map<string, Family>): string[] {
  const problems: string[] = [];
  for (const f of families.values()) {
    if (!f.help) problems.push(`${f.name}: no HELP`);
    if (!f.type) problems.push(`${f.name}: no TYPE`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${f.name}: counter without _total`);
    if (f.type !== 'counter' && f.name.endsWith('_total')) problems.push(`${f.name}: ${f.type} ends in _total (only counters may)`);
    if (!f.name.startsWith('tessera_')) problems.push(`${f.name}: not under the tessera_ prefix`);
    if (/(_duration|_age|_lag|_time|_timestamp)$/.test(f.name)) problems.push(`${f.name}: a time without its unit (_seconds)`);
    if (/_(ms|milliseconds|minutes|hours|kb|mb|kib|mib)(_|$)/.test(f.name)) problems.push(`${f.name}: not in base units (seconds, bytes)`);
    if (/(size|memory)$/.test(f.name)) problems.push(`${f.name}: a size without its unit (_bytes)`);
    for (const s of f.samples) {
      // Go's ParseFloat spellings only: NaN, +Inf, -Inf (prom-client once wrote "Nan").
      if (!/^(-?\d+(\.\d+)?(e[+-]?\d+)?|NaN|[+-]Inf)$/.test(s.value)) problems.push(`${s.name}: value "${s.value}" is not a valid number`);
      if (s.value === 'NaN') problems.push(`${s.name}: NaN (no alert rule can compare it)`);
    }
  }
  return problems;
}

/** Every tessera_* family a rule or panel names, histogram suffixes folded into the family. */
function namesUsedIn(file: string): string[] {
  const text = fs.readFileSync(path.join(repoRoot, file), 'utf8');
  return [...new Set([...text.matchAll(/\btessera_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))].sort();
}

let s: TestServer;
let families: Map<string, Family>;
let text: string;
const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
const value = (t: string, sample: string) => Number(t.split('\n').find((l) => l.startsWith(`${sample} `))?.split(' ')[1]);

beforeAll(async () => {
  const dir = tempDir('tessera-monitoring-');
  s = await startTestServer({ backupDir: path.join(dir, 'backups'), logShipIntervalMs: 200 });
  await fetch(`${s.url}/login`);
  text = await scrape();
  families = parseExposition(text);
});
afterAll(async () => {
  await s?.close();
});

describe('/metrics', () => {
  it('passes the promtool lint rules: HELP and TYPE, _total only on counters, units in names, no NaN', () => {
    expect(families.size).toBeGreaterThan(40);
    expect(lint(families)).toEqual([]);
  });

  it('the lint rules catch what they are for (a gauge named _total, a counter without it, NaN, a unitless time)', () => {
    const bad = parseExposition(
      ['# HELP tessera_x_total x', '# TYPE tessera_x_total gauge', 'tessera_x_total 1', '# HELP tessera_y y', '# TYPE tessera_y counter', 'tessera_y 1', '# HELP tessera_z_duration z', '# TYPE tessera_z_duration gauge', 'tessera_z_duration Nan', 'tessera_w 1'].join('\n'),
    );
    expect(lint(bad)).toEqual([
      'tessera_x_total: gauge ends in _total (only counters may)',
      'tessera_y: counter without _total',
      'tessera_z_duration: a time without its unit (_seconds)',
      'tessera_z_duration: value "Nan" is not a valid number',
      'tessera_w: no HELP',
      'tessera_w: no TYPE',
    ]);
  });

  it('passes `promtool check metrics` itself where promtool is installed (Debian: apt-get install prometheus)', () => {
    const promtool = process.env.TESSERA_PROMTOOL ?? 'promtool';
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log(`promtool not found (${promtool}): the lint test above applies its rules`);
      return;
    }
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('covers HTTP, database, checkpoints, disk, backup, restore test, jobs, outboxes, sign-ins, alerts, audit verify and log shipping', () => {
    const wanted = [
      'tessera_http_requests_total', 'tessera_http_request_duration_seconds',
      'tessera_db_size_bytes', 'tessera_db_wal_size_bytes', 'tessera_wal_frames', 'tessera_wal_checkpoints_total', 'tessera_wal_checkpoint_last_timestamp_seconds', 'tessera_wal_checkpoint_last_duration_seconds',
      'tessera_disk_available_bytes', 'tessera_disk_size_bytes', 'tessera_fault',
      'tessera_backup_lag_seconds', 'tessera_backup_restore_test_last_result', 'tessera_backup_restore_test_last_run_timestamp_seconds', 'tessera_backup_restore_test_last_success_timestamp_seconds',
      'tessera_job_last_run_timestamp_seconds', 'tessera_job_last_success_timestamp_seconds', 'tessera_job_last_duration_seconds', 'tessera_job_failures_total',
      'tessera_outbox_messages', 'tessera_outbox_oldest_age_seconds',
      'tessera_signin_failures_total', 'tessera_security_alerts_total',
      'tessera_audit_verify_last_result', 'tessera_audit_verify_last_run_timestamp_seconds',
      'tessera_logship_lag_seconds', 'tessera_logship_gap', 'tessera_logship_shipped_lines_total', 'tessera_logship_dropped_lines_total',
    ];
    expect(wanted.filter((n) => !families.has(n))).toEqual([]);
    // The start-up pass of log retention (audit rows, access logs) is a job run like any other.
    expect(value(text, 'tessera_job_last_run_timestamp_seconds{job="log_retention"}')).toBeGreaterThan(0);
    expect(value(text, 'tessera_job_failures_total{job="log_retention"}')).toBe(0);
    expect(value(text, 'tessera_disk_size_bytes')).toBeGreaterThan(value(text, 'tessera_disk_available_bytes'));
    expect(value(text, 'tessera_db_wal_size_bytes')).toBeLessThanOrEqual(value(text, 'tessera_db_size_bytes'));
  });

  it('counts failed sign-ins and security alerts from the audit log, and a stuck outbox by its oldest message', async () => {
    const before = await scrape();
    const c = new Client(s.url);
    await c.get('/login');
    await c.post('/login', { email: 'nobody@example.org', password: 'not the password at all' });
    s.ctx.writer.tx(() => s.ctx.alerts.raise({ key: 'test', title: 'test alert', lines: [] }, systemContext()));
    const after = await scrape();
    const failures = 'tessera_signin_failures_total{step="password",result="failure"}';
    expect(value(after, failures) - value(before, failures)).toBe(1);
    expect(value(after, 'tessera_security_alerts_total') - value(before, 'tessera_security_alerts_total')).toBe(1);
    // Nothing else moved the other step's counter.
    expect(value(after, 'tessera_signin_failures_total{step="second_factor",result="failure"}')).toBe(value(before, 'tessera_signin_failures_total{step="second_factor",result="failure"}'));

    const old = new Date(s.ctx.now() - 3_600_000).toISOString();
    s.ctx.db.prepare(`INSERT INTO mail_outbox (id, template, to_address, subject, text_body, status, next_attempt_at, created_at) VALUES ('m_stuck', 'test', 'x@example.org', 's', 't', 'queued', ?, ?)`).run(old, old);
    try {
      const stuck = await scrape();
      expect(value(stuck, 'tessera_outbox_messages{channel="mail",state="queued"}')).toBeGreaterThanOrEqual(1);
      expect(value(stuck, 'tessera_outbox_oldest_age_seconds{channel="mail"}')).toBeGreaterThanOrEqual(3599);
      expect(value(stuck, 'tessera_outbox_oldest_age_seconds{channel="sms"}')).toBe(0);
    } finally {
      s.ctx.db.prepare(`DELETE FROM mail_outbox WHERE id = 'm_stuck'`).run();
    }
  });
});

describe('deploy/', () => {
  it('every metric the Prometheus alert rules and the Grafana dashboard use exists in /metrics', () => {
    for (const file of ['deploy/prometheus/tessera-alerts.yml', 'deploy/grafana/tessera-dashboard.json']) {
      const used = namesUsedIn(file);
      expect(used.length, file).toBeGreaterThan(10);
      expect(used.filter((n) => !families.has(n)), file).toEqual([]);
    }
  });

  it('has the alert rules the operator needs', () => {
    const rules = fs.readFileSync(path.join(repoRoot, 'deploy/prometheus/tessera-alerts.yml'), 'utf8');
    for (const alert of ['TesseraBackupLag', 'TesseraRestoreTestFailed', 'TesseraOutboxStuck', 'TesseraDiskNearlyFull', 'TesseraAuditVerifyFailed', 'TesseraLogShippingGap']) expect(rules).toContain(`alert: ${alert}\n`);
    const dashboard = JSON.parse(fs.readFileSync(path.join(repoRoot, 'deploy/grafana/tessera-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const p of dashboard.panels) expect(p.targets.length).toBeGreaterThan(0);
  });
});
