import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { createLogger } from '../src/log.ts';
import { type TestServer, startTestServer } from './support/server.ts';

describe('logs', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('keeps a value with line breaks inside one JSON log line, so it cannot forge another entry', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const log = createLogger('info', sink);
    log.warn({ route: '/x\n{"level":60,"msg":"forged"}\r\n' }, 'line one\nline two');
    log.flush();
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as { msg: string; route: string; time: string; level: number };
    expect(entry.msg).toBe('line one\nline two');
    expect(entry.level).toBe(40);
    expect(entry.route).toContain('forged');
    // Timestamps are UTC with an explicit Z, whatever the machine's zone.
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('stamps audit rows in UTC', () => {
    s.ctx.audit.record(systemContext(), 'test.logged', { type: 'test' });
    const row = s.ctx.db.prepare(`SELECT at FROM audit_log WHERE action = 'test.logged' ORDER BY seq DESC LIMIT 1`).get() as { at: string };
    expect(row.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes logs only where the inventory says: the database, data/access-log/*.jsonl and the technical log stream', async () => {
    await fetch(`${s.url}/login`);
    const fs = await import('node:fs');
    const path = await import('node:path');
    // The line is written after the answer has gone out, and the day file is opened on the
    // thread pool: wait for it rather than assume it is there.
    await expect
      .poll(() => {
        s.ctx.accessLog.flush();
        return fs.readdirSync(path.join(s.dataDir, 'access-log')).length;
      })
      .toBeGreaterThan(0);
    const expected = new Set(['tessera.db', 'tessera.db-wal', 'tessera.db-shm', 'keyring.json', 'access-log', 'audit-head.json', 'tessera.pid']);
    const stray = fs.readdirSync(s.dataDir).filter((f) => !expected.has(f));
    expect(stray).toEqual([]);
    const days = fs.readdirSync(path.join(s.dataDir, 'access-log'));
    expect(days.length).toBeGreaterThan(0);
    for (const d of days) expect(d).toMatch(/^\d{4}-\d\d-\d\d\.jsonl$/);
    // Nothing writes .log files anywhere under the instance's directory.
    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
    expect(walk(s.dataDir).filter((f) => /\.log$/.test(f))).toEqual([]);
  });
});
