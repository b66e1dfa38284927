import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { S3Target } from '../src/backup/targets/s3.ts';
import { Keyring } from '../src/keys/keyring.ts';
import { exportLogs } from '../src/logship/export.ts';
import { decodeLogObject, encodeLogObject, GENESIS, parseLogKey } from '../src/logship/format.ts';
import { ObjectLane } from '../src/logship/object-lane.ts';
import { LogShipper, type ShippingGap } from '../src/logship/service.ts';
import { AccessSource, AuditSource } from '../src/logship/sources.ts';
import { createLogger } from '../src/log.ts';
import { runCli } from './support/cli.ts';
import { type LocalS3, startS3 } from './support/s3rver.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';
import { waitFor } from './support/wait.ts';

let root: string;
let backupDir: string;
let s3: LocalS3;
let s: TestServer;
const s3Flags = () => ({ backupS3Url: 's3://tessera/site', backupS3Endpoint: s3.endpoint, backupS3AccessKeyId: 'S3RVER', backupS3SecretAccessKey: 'S3RVER', backupS3PathStyle: 'true' });
const flags = () => ({ backupDir, ...s3Flags(), logShipIntervalMs: 200, backupSyncIntervalMs: 200 });

async function exported(dir: string, stream: 'audit' | 'access', keyring: Keyring): Promise<string[]> {
  const lines: string[] = [];
  const r = await exportLogs(new DirTarget(dir), stream, keyring, (l) => lines.push(l));
  expect(r.problems).toEqual([]);
  return lines;
}

const objectsOf = (dir: string, stream: string) =>
  fs.existsSync(path.join(dir, 'logs', stream)) ? (fs.readdirSync(path.join(dir, 'logs', stream), { recursive: true }) as string[]).filter((f) => f.endsWith('.log')).sort() : [];

beforeAll(async () => {
  root = tempDir('tessera-logship-');
  backupDir = path.join(root, 'backups');
  s3 = await startS3(path.join(root, 's3'), ['tessera']);
  fs.mkdirSync(path.join(root, 'server'));
  s = await startTestServer(flags(), { dir: path.join(root, 'server') });
});

afterAll(async () => {
  await s?.close();
  await s3?.stop();
});

describe('log shipping to the backup targets', () => {
  it('ships audit rows and access-log lines as sealed objects within the interval, to the directory and to S3', async () => {
    s.ctx.audit.record(systemContext(), 'test.shipped', { type: 'test', id: 'one' });
    await fetch(`${s.url}/login`);
    s.ctx.accessLog.flush();
    const audit = await waitFor(async () => (await exported(backupDir, 'audit', s.ctx.keyring)).find((l) => l.includes('"test.shipped"')), { what: 'the audit row in the directory target' });
    const row = JSON.parse(audit) as { seq: number; action: string; mac: string };
    const stored = s.ctx.db.prepare('SELECT seq, mac FROM audit_log WHERE action = ?').get('test.shipped') as { seq: number; mac: Buffer };
    // The copy carries the row's chain MAC, so it can be checked against the database later.
    expect(row).toMatchObject({ seq: stored.seq, action: 'test.shipped', mac: stored.mac.toString('hex') });
    await waitFor(async () => (await exported(backupDir, 'access', s.ctx.keyring)).some((l) => l.includes('"route":"/login"')), { what: 'the access line' });
    // Objects are encrypted: neither the action nor the route appears in the bytes on the target.
    for (const f of objectsOf(backupDir, 'audit')) expect(fs.readFileSync(path.join(backupDir, 'logs', 'audit', f)).includes('test.shipped')).toBe(false);
    // The same stream reaches the S3 target (its own chain, read through the S3 client).
    const bucket = new S3Target(s3.config('tessera', 'site'));
    await waitFor(async () => {
      const lines: string[] = [];
      const r = await exportLogs(bucket, 'audit', s.ctx.keyring, (l) => lines.push(l));
      return r.problems.length === 0 && lines.some((l) => l.includes('"test.shipped"'));
    }, { what: 'the audit row in S3' });
  });

  it('shows the destinations in the /readyz detail and in /metrics', async () => {
    const ready = (await (await fetch(`${s.url}/readyz`)).json()) as { checks: { logShipping: { configured: boolean; ok: boolean; destinations: { destination: string; stream: string; gap: boolean }[] } } };
    expect(ready.checks.logShipping.configured).toBe(true);
    expect(ready.checks.logShipping.ok).toBe(true);
    expect(ready.checks.logShipping.destinations.map((d) => `${d.destination} ${d.stream}`).sort()).toEqual([`dir:${backupDir} access`, `dir:${backupDir} audit`, 's3://tessera/site access', 's3://tessera/site audit']);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^tessera_logship_shipped_lines_total\\{destination="dir:${backupDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}",stream="audit"\\} [1-9]`, 'm'));
    expect(metrics).toMatch(/^tessera_logship_gap\{destination="s3:\/\/tessera\/site",stream="audit"\} 0$/m);
  });

  it('continues the same chain after a restart without shipping a row twice', async () => {
    const before = objectsOf(backupDir, 'audit');
    // <day>/<chain>/<index>-<time>.log
    expect(before[0]).toMatch(/^\d{4}-\d\d-\d\d\/\d{8}T\d{9}Z-[0-9a-f]{8}\/0000000000-\d{8}T\d{9}Z\.log$/);
    const epoch = before[0]!.split('/')[1];
    await s.close();
    s = await startTestServer(flags(), { dir: path.join(root, 'server') });
    s.ctx.audit.record(systemContext(), 'test.after_restart', { type: 'test' });
    const lines = await waitFor(async () => {
      const l = await exported(backupDir, 'audit', s.ctx.keyring);
      return l.some((x) => x.includes('"test.after_restart"')) ? l : undefined;
    }, { what: 'the row written after the restart' });
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[0]).toBe(1);
    const after = objectsOf(backupDir, 'audit');
    expect(after.every((f) => f.split('/')[1] === epoch)).toBe(true);
    expect(after.length).toBeGreaterThan(before.length);
  });

  it('`tessera logs export` prints the verified lines, and fails on an altered, removed or swapped object', async () => {
    for (const n of [1, 2]) {
      s.ctx.audit.record(systemContext(), `test.object_${n}`, { type: 'test' });
      await s.logShipping.flush();
    }
    // A copy, so the running shipper does not add to what we tamper with.
    const copy = path.join(root, 'copy');
    fs.cpSync(backupDir, copy, { recursive: true });
    const run = (dir: string, stream = 'audit') => runCli(['logs', 'export', '--from', dir, '--stream', stream, '--data-dir', s.dataDir, '--master-key-file', s.keyFile]);
    const ok = await run(copy, 'all');
    expect(ok.stderr).toContain('audit: chain verified');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('"test.after_restart"');
    expect(ok.stdout).toContain('"route":"/login"');

    const objs = objectsOf(copy, 'audit');
    expect(objs.length).toBeGreaterThanOrEqual(3);
    const middle = path.join(copy, 'logs', 'audit', objs[1]!);
    const original = fs.readFileSync(middle);
    const altered = Buffer.from(original);
    altered[altered.length - 20]! ^= 1;
    fs.writeFileSync(middle, altered);
    const edited = await run(copy);
    expect(edited.code).toBe(3);
    expect(edited.stderr).toMatch(/damaged or was altered: .*fails authentication/);

    const problems = async () => (await exportLogs(new DirTarget(copy), 'audit', s.ctx.keyring, () => undefined)).problems;
    fs.rmSync(middle);
    expect(await problems()).toEqual([expect.stringMatching(/object 1 of chain .* is missing/)]);
    // An intact object put in place of another (renamed) is caught by its authenticated header.
    fs.copyFileSync(path.join(copy, 'logs', 'audit', objs[2]!), middle);
    expect(await problems()).toContainEqual(expect.stringMatching(/renamed or swapped/));
    // The original back in place: the chain holds again.
    fs.writeFileSync(middle, original);
    expect(await problems()).toEqual([]);
    // An object of the same chain replaced by one sealed with the right key but not linked to its predecessor.
    const forged = await encodeLogObject({ ...decodeLogObject(objs[1]!.replace(/^/, 'logs/audit/'), original, s.ctx.keyring).header, prev: GENESIS, lines: 1 }, ['{"forged":true}'], s.ctx.keyring.active('audit'));
    fs.writeFileSync(middle, forged.bytes);
    expect(await problems()).toContainEqual(expect.stringMatching(/does not continue the one before it/));

    // Without the master key that opens the keyring, nothing is printed.
    const wrongKey = path.join(root, 'wrong.key');
    fs.writeFileSync(wrongKey, `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const denied = await runCli(['logs', 'export', '--from', copy, '--data-dir', s.dataDir, '--master-key-file', wrongKey]);
    expect(denied.code).not.toBe(0);
    expect(denied.stdout).toBe('');
  });
});

describe('log object format', () => {
  it('links each object to the one before and binds its name, lines and key', async () => {
    const dir = tempDir();
    const keyring = Keyring.create(path.join(dir, 'keyring.json'), Buffer.alloc(32, 7));
    const audit = keyring.active('audit');
    const first = await encodeLogObject({ stream: 'audit', epoch: '20260101T000000000Z-0000abcd', index: 0, time: Date.UTC(2026, 0, 1), prev: GENESIS, cursor: { seq: 2 }, lines: 2, dropped: 0 }, ['{"a":1}', '{"a":2}'], audit);
    expect(parseLogKey(first.key)).toMatchObject({ stream: 'audit', index: 0 });
    expect(decodeLogObject(first.key, first.bytes, keyring).lines).toEqual(['{"a":1}', '{"a":2}']);
    // Another keyring (another instance or master key) cannot read it.
    const other = Keyring.create(path.join(dir, 'other.json'), Buffer.alloc(32, 8));
    expect(() => decodeLogObject(first.key, first.bytes, other)).toThrow(/wrong key/);
    // A truncated object is refused, never read in part.
    expect(() => decodeLogObject(first.key, first.bytes.subarray(0, first.bytes.length - 1), keyring)).toThrow(/truncated|invalid/);
    expect(() => decodeLogObject(first.key.replace('audit/', 'access/'), first.bytes, keyring)).toThrow(/renamed or swapped/);
  });
});

describe('shipping gaps', () => {
  it('a target unreachable from the start shows as behind and raises one gap, which closes once it takes the lines', async () => {
    const dir = tempDir();
    const keyring = Keyring.create(path.join(dir, 'keyring.json'), Buffer.alloc(32, 9));
    let t = Date.UTC(2026, 0, 1, 10, 0, 0);
    const rows = [1, 2, 3].map((seq) => ({ seq, at: new Date(t).toISOString(), org_id: null, actor_type: 'system' as const, actor_id: null, action: `a${seq}`, target_type: null, target_id: null, result: 'success' as const, ip: null, user_agent: null, request_id: null, details: '{}', key_id: 'audit-1', prev_mac: Buffer.alloc(32), mac: Buffer.alloc(32, seq) }));
    const source = new AuditSource({ auditAfter: (seq, limit) => rows.filter((r) => r.seq > seq).slice(0, limit), auditHead: () => rows.length, auditTail: () => 1 });
    const target = new DirTarget(path.join(dir, 'not-mounted'));
    const gaps: ShippingGap[] = [];
    const shipper = new LogShipper({ targets: [target], sources: [source], keyring, log: createLogger('silent'), now: () => t, maxLines: 100, intervalMs: 1000, maxLagMs: 60_000, onGap: (g) => gaps.push(g) });
    await shipper.flush();
    expect(shipper.status().destinations[0]).toMatchObject({ error: expect.stringMatching(/does not exist/), gap: false });
    t += 61_000;
    await shipper.flush();
    await shipper.flush();
    expect(shipper.status().destinations[0]).toMatchObject({ gap: true, lagSeconds: 61 });
    expect(gaps).toEqual([{ destination: target.label, stream: 'audit', reason: expect.stringMatching(/^nothing reached dir:.* for 61 s while lines waited \(.*does not exist\)$/) }]);
    expect(shipper.status().ok).toBe(false);
    // The mount comes back: everything goes out, and the gap closes.
    fs.mkdirSync(target.root);
    await shipper.flush();
    expect(shipper.status()).toMatchObject({ ok: true, destinations: [{ gap: false, lagSeconds: 0, shippedLines: 3, error: null }] });
    const lines: string[] = [];
    await exportLogs(target, 'audit', keyring, (l) => lines.push(l));
    expect(lines.map((l) => (JSON.parse(l) as { action: string }).action)).toEqual(['a1', 'a2', 'a3']);
    expect(gaps).toHaveLength(1);
  });
});

describe('rows removed before they were shipped', () => {
  it('are counted once, recorded in the next object and reported by the export', async () => {
    const dir = tempDir();
    const keyring = Keyring.create(path.join(dir, 'keyring.json'), Buffer.alloc(32, 5));
    let t = Date.UTC(2026, 0, 1, 10, 0, 0);
    const row = (seq: number) => ({ seq, at: new Date(t).toISOString(), org_id: null, actor_type: 'system' as const, actor_id: null, action: `a${seq}`, target_type: null, target_id: null, result: 'success' as const, ip: null, user_agent: null, request_id: null, details: '{}', key_id: 'audit-1', prev_mac: Buffer.alloc(32), mac: Buffer.alloc(32, seq) });
    let rows = [row(1), row(2)];
    const source = new AuditSource({ auditAfter: (seq, limit) => rows.filter((r) => r.seq > seq).slice(0, limit), auditHead: () => rows.at(-1)?.seq ?? 0, auditTail: () => rows[0]?.seq ?? 0 });
    const target = new DirTarget(dir);
    const lane = new ObjectLane({ target, source, keys: { active: () => keyring.active('audit'), byId: (id) => keyring.byId(id) }, log: createLogger('silent'), now: () => t, maxLines: 100, intervalMs: 1000 });
    await lane.step(true);
    // Rows 3 and 4 are written and removed (retention, or an intruder) before the next pass.
    rows = [row(5), row(6)];
    await lane.step(false);
    await lane.step(false);
    expect(lane.status()).toMatchObject({ droppedLines: 2, shippedLines: 2 });
    t += 1500;
    await lane.step(false);
    await lane.step(false);
    expect(lane.status()).toMatchObject({ droppedLines: 2, shippedLines: 4, lagSeconds: 0 });
    const lines: string[] = [];
    const report = await exportLogs(target, 'audit', keyring, (l) => lines.push(l));
    expect(report).toMatchObject({ objects: 2, lines: 4, dropped: 2, problems: [] });
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 5, 6]);

    // Three days later a new process finds the chain's end in an older day folder and continues it.
    t += 3 * 86_400_000;
    rows = [...rows, row(7)];
    const later = new ObjectLane({ target, source, keys: { active: () => keyring.active('audit'), byId: (id) => keyring.byId(id) }, log: createLogger('silent'), now: () => t, maxLines: 100, intervalMs: 1000 });
    await later.step(true);
    const again = await exportLogs(target, 'audit', keyring, () => undefined);
    expect(again).toMatchObject({ objects: 3, lines: 5, problems: [] });
    expect(again.epochs).toHaveLength(1);
  });
});

describe('access-log source', () => {
  it('tails the day files by offset: whole lines only, on to the next day once the last is complete, and a pruned file counts as lost', () => {
    const dir = tempDir();
    const line = (n: number, day: string) => JSON.stringify({ time: `${day}T10:00:0${n}.000Z`, route: `/r${n}` });
    fs.writeFileSync(path.join(dir, '2026-01-01.jsonl'), `${line(1, '2026-01-01')}\n${line(2, '2026-01-01')}\n{"time":"2026-01-01T10:00:03`);
    let now = Date.now();
    const src = new AccessSource(dir, () => now);
    const first = src.read(src.start(), 10);
    expect(first.lines.map((l) => l.text)).toEqual([line(1, '2026-01-01'), line(2, '2026-01-01')]);
    expect(first.lines[0]!.time).toBe(Date.parse('2026-01-01T10:00:01.000Z'));
    // The half-written third line waits; the cursor stops before it.
    expect(src.read(first.cursor, 10).lines).toEqual([]);
    fs.appendFileSync(path.join(dir, '2026-01-01.jsonl'), '.000Z","route":"/r3"}\n');
    const third = src.read(first.cursor, 10);
    expect(third.lines.map((l) => JSON.parse(l.text).route)).toEqual(['/r3']);
    fs.writeFileSync(path.join(dir, '2026-01-02.jsonl'), `${line(4, '2026-01-02')}\n`);
    // Day one counts as complete only once it has not changed for a moment.
    expect(src.read(third.cursor, 10).cursor).toEqual(third.cursor);
    now += 5000;
    const rolled = src.read(third.cursor, 10);
    expect(rolled).toMatchObject({ lines: [], cursor: { day: '2026-01-02', offset: 0 }, dropped: 0 });
    expect(src.read(rolled.cursor, 10).lines.map((l) => JSON.parse(l.text).route)).toEqual(['/r4']);
    // Retention removed day one before a destination that was still in it shipped the rest.
    fs.rmSync(path.join(dir, '2026-01-01.jsonl'));
    const after = src.read(first.cursor, 10);
    expect(after.dropped).toBe(1);
    expect(after.lines.map((l) => JSON.parse(l.text).route)).toEqual(['/r4']);
    expect(src.end()).toEqual({ day: '2026-01-02', offset: fs.statSync(path.join(dir, '2026-01-02.jsonl')).size });
  });
});
