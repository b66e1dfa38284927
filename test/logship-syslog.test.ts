import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/log.ts';
import type { Cursor } from '../src/logship/format.ts';
import type { LogSource } from '../src/logship/sources.ts';
import { SyslogShipper, octetFrame, rfc5424 } from '../src/logship/syslog.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { SyslogReceiver, type TestPki, makePki } from './support/syslog-receiver.ts';
import { tempDir } from './support/temp.ts';
import { waitFor } from './support/wait.ts';

// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD BOM+MSG (RFC 5424 §6)
const RFC5424 = /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([\x21-\x7e]{1,255}) tessera (\d+) (audit|access) - \ufeff(\{.*\})$/;
const actionOf = (m: string) => (JSON.parse(RFC5424.exec(m)?.[6] ?? '{}') as { action?: string }).action;

let pki: TestPki;
beforeAll(() => {
  pki = makePki(tempDir('tessera-pki-'));
});

describe('log shipping to a syslog collector over TLS', () => {
  let receiver: SyslogReceiver;
  let s: TestServer;
  beforeAll(async () => {
    receiver = new SyslogReceiver(pki, true);
    await receiver.start();
    s = await startTestServer({ syslogHost: '127.0.0.1', syslogPort: receiver.port, syslogCa: pki.ca, syslogCert: pki.clientCert, syslogKey: pki.clientKey, logShipIntervalMs: 200 });
  });
  afterAll(async () => {
    await s?.close();
    await receiver?.stop();
  });

  it('sends audit and access lines as RFC 5424 messages with octet-counting framing, over mutual TLS', async () => {
    s.ctx.audit.record(systemContext(), 'test.syslog', { type: 'test', id: 't1' }, 'denied');
    await fetch(`${s.url}/login`);
    s.ctx.accessLog.flush();
    const audit = await waitFor(() => receiver.messages.find((m) => actionOf(m) === 'test.syslog'), { what: 'the audit message' });
    const m = RFC5424.exec(audit)!;
    // facility 13 (log audit); a denied action is a warning (4)
    expect(Number(m[1])).toBe(13 * 8 + 4);
    expect(m[5]).toBe('audit');
    const access = await waitFor(() => receiver.messages.find((x) => RFC5424.exec(x)?.[5] === 'access' && x.includes('"route":"/login"')), { what: 'the access message' });
    expect(Number(RFC5424.exec(access)![1])).toBe(16 * 8 + 6);
    expect(receiver.garbage).toEqual([]);
    for (const msg of receiver.messages) expect(msg).toMatch(RFC5424);
  });

  it('queues while the collector is down and delivers everything, in order, when it is back', async () => {
    const port = receiver.port;
    await receiver.stop();
    await waitFor(() => s.logShipping.status().destinations.find((d) => d.destination.startsWith('syslog'))?.error, { what: 'the shipper to notice the collector is gone' });
    for (let i = 0; i < 50; i++) s.ctx.audit.record(systemContext(), `test.while_down_${i}`, { type: 'test' });
    await waitFor(() => (s.logShipping.status().destinations.find((d) => d.destination.startsWith('syslog')) as { queued?: number }).queued! >= 50, { what: '50 queued messages' });
    await receiver.start(port);
    const want = Array.from({ length: 50 }, (_, i) => `test.while_down_${i}`);
    await waitFor(() => want.every((a) => receiver.messages.some((m) => actionOf(m) === a)), { what: 'every queued message', timeoutMs: 40_000 });
    const got = receiver.messages.map(actionOf).filter((a) => a?.startsWith('test.while_down_'));
    expect(got).toEqual(want);
    const status = s.logShipping.status().destinations.find((d) => d.destination.startsWith('syslog'))!;
    expect(status.droppedLines).toBe(0);
    expect(status.gap).toBe(false);
  });
});

describe('a collector down for longer than the queue holds', () => {
  let receiver: SyslogReceiver;
  let s: TestServer;
  let port: number;
  beforeAll(async () => {
    receiver = new SyslogReceiver(pki);
    await receiver.start();
    port = receiver.port;
    await receiver.stop();
    s = await startTestServer({ syslogHost: '127.0.0.1', syslogPort: port, syslogCa: pki.ca, syslogQueueLines: 5, logShipIntervalMs: 200 });
  });
  afterAll(async () => {
    await s?.close();
    await receiver?.stop();
  });

  it('drops the oldest lines beyond the bound, counts them as a gap (readyz, metric) and raises a security alert', async () => {
    for (let i = 0; i < 20; i++) s.ctx.audit.record(systemContext(), `test.overflow_${i}`, { type: 'test' });
    const dest = `syslog+tls://127.0.0.1:${port}`;
    await waitFor(() => s.ctx.db.prepare(`SELECT 1 FROM audit_log WHERE action = 'security.alert' AND target_id = ?`).get(`log-shipping-gap:${dest}:audit+access`), { what: 'the gap alert' });
    const ready = (await (await fetch(`${s.url}/readyz`)).json()) as { checks: { logShipping: { ok: boolean; destinations: { destination: string; droppedLines: number; gap: boolean }[] } } };
    const d = ready.checks.logShipping.destinations.find((x) => x.destination === dest)!;
    expect(d.droppedLines).toBeGreaterThanOrEqual(15);
    expect(d.gap).toBe(true);
    expect(ready.checks.logShipping.ok).toBe(false);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const dropped = Number(new RegExp(`^tessera_logship_dropped_lines_total\\{destination="syslog\\+tls://127\\.0\\.0\\.1:${port}",stream="audit\\+access"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(dropped).toBeGreaterThanOrEqual(15);
    expect(metrics).toMatch(new RegExp(`^tessera_logship_gap\\{destination="syslog\\+tls://127\\.0\\.0\\.1:${port}",stream="audit\\+access"\\} 1$`, 'm'));
    // Back up: the newest lines (within the bound) arrive; the oldest are gone.
    await receiver.start(port);
    await waitFor(() => receiver.messages.some((m) => actionOf(m) === 'test.overflow_19'), { what: 'the newest line', timeoutMs: 40_000 });
    expect(receiver.messages.some((m) => actionOf(m) === 'test.overflow_0')).toBe(false);
  });
});

describe('syslog TLS checks', () => {
  const source = (lines: string[]): LogSource => {
    let given = false;
    return {
      stream: 'audit',
      start: (): Cursor => ({ seq: 0 }),
      end: (): Cursor => ({ seq: 0 }),
      read: () => {
        const out = given ? [] : lines.map((text, i) => ({ text, time: Date.now(), after: { seq: i + 1 } }));
        given = true;
        return { lines: out, cursor: { seq: lines.length }, dropped: 0, from: { seq: 0 } };
      },
    };
  };
  const log = createLogger('silent');

  it('refuses a collector whose certificate is not signed by the configured CA, and sends it nothing', async () => {
    const other = makePki(tempDir('tessera-pki-other-'));
    const receiver = new SyslogReceiver(other);
    await receiver.start();
    const shipper = new SyslogShipper({ host: '127.0.0.1', port: receiver.port, caFile: pki.ca, queueLines: 10 }, [source(['{"action":"secret.thing","result":"success"}'])], log, Date.now);
    try {
      shipper.step();
      await waitFor(() => shipper.status().error, { what: 'the TLS failure' });
      expect(shipper.status().error).toMatch(/certificate|self.signed|verify/i);
      expect(shipper.status().queued).toBe(1);
      expect(receiver.messages).toEqual([]);
    } finally {
      await shipper.close(100);
      await receiver.stop();
    }
  });

  it('takes the collector settings from flags or env, with a clear error for half a client certificate', () => {
    const cfg = loadConfig({}, { TESSERA_SYSLOG_HOST: 'siem.example.org', TESSERA_SYSLOG_CA: '/etc/ssl/siem-ca.pem' });
    expect(cfg).toMatchObject({ syslogHost: 'siem.example.org', syslogPort: 6514, syslogCa: '/etc/ssl/siem-ca.pem', syslogQueueLines: 100_000 });
    expect(() => loadConfig({ syslogHost: 'siem.example.org', syslogCert: '/c.pem' }, {})).toThrow('invalid value for --syslog-cert/--syslog-key: give both or neither');
    expect(() => loadConfig({ syslogCa: '/ca.pem' }, {})).toThrow(/set --syslog-host/);
    expect(() => loadConfig({ syslogHost: 'bad host;rm' }, {})).toThrow(/--syslog-host: must be a host name or IP address/);
  });

  it('formats RFC 5424 and frames by octet count in bytes, not characters', () => {
    const msg = rfc5424('audit', '{"action":"x","result":"success","note":"ü"}', Date.UTC(2026, 0, 2, 3, 4, 5, 6), 'host name\n');
    expect(msg).toBe('<109>1 2026-01-02T03:04:05.006Z hostname tessera ' + process.pid + ' audit - \ufeff{"action":"x","result":"success","note":"ü"}');
    const frame = octetFrame(msg);
    const sp = frame.indexOf(0x20);
    expect(Number(frame.subarray(0, sp).toString())).toBe(Buffer.byteLength(msg));
    expect(Buffer.byteLength(msg)).toBeGreaterThan(msg.length);
  });
});

