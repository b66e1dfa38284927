import fs from 'node:fs';
import os from 'node:os';
import tls from 'node:tls';
import type { Logger } from '../log.ts';
import type { LaneStatus } from './object-lane.ts';
import type { Cursor, Stream } from './format.ts';
import type { LogSource } from './sources.ts';

export interface SyslogConfig {
  host: string;
  port: number;
  /** PEM file of the CA that signed the collector's certificate; default: the system's CAs */
  caFile?: string;
  /** client certificate and key (PEM files) for collectors that require mutual TLS */
  certFile?: string;
  keyFile?: string;
  /** most messages held while the collector cannot be reached; older ones are dropped and counted */
  queueLines: number;
}

const BOM = '\ufeff';
const FACILITY = { audit: 13, access: 16 } as const; // log audit; local0
const printable = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '').slice(0, max) || '-';

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`. The message is
 * the JSON line as stored (UTF-8, marked with a BOM as the RFC asks); no structured data.
 */
export function rfc5424(stream: Stream, line: string, time: number, hostname: string, pid = process.pid): string {
  const severity = stream === 'audit' ? (/"result":"success"/.test(line) ? 5 : 4) : /"status":5\d\d/.test(line) ? 4 : 6;
  const pri = FACILITY[stream] * 8 + severity;
  return `<${pri}>1 ${new Date(time).toISOString()} ${printable(hostname, 255)} tessera ${pid} ${stream} - ${BOM}${line}`;
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function octetFrame(msg: string): Buffer {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/**
 * Sends the audit and access lines to a syslog collector over TLS as they are written. A
 * collector keeps no position we could read back, so each start begins with the lines written
 * after it. While the collector is unreachable, messages wait in a queue of `queueLines`; past
 * that the oldest are dropped and counted, which is the gap the alert and the metric report.
 * TCP has no acknowledgement here: a message written just as the connection breaks can be lost
 * without notice (RFC 5425 gives no better).
 */
export class SyslogShipper {
  private readonly queue: Buffer[] = [];
  private readonly cursors = new Map<Stream, Cursor>();
  private socket: tls.TLSSocket | undefined;
  private connecting = false;
  private retryAt = 0;
  private failures = 0;
  private writing = false;
  private closed = false;
  private oldestQueued: number[] = [];
  readonly hostname: string;
  shippedLines = 0;
  droppedLines = 0;
  lastShippedAt: number | undefined;
  error: string | undefined;

  constructor(
    private readonly cfg: SyslogConfig,
    private readonly sources: LogSource[],
    private readonly log: Logger,
    private readonly now: () => number,
    hostname?: string,
  ) {
    this.hostname = hostname ?? os.hostname();
    for (const s of sources) this.cursors.set(s.stream, s.end());
  }

  get destination(): string {
    return `syslog+tls://${this.cfg.host}:${this.cfg.port}`;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.connecting;
  }

  status(): LaneStatus & { connected: boolean; queued: number } {
    const oldest = this.oldestQueued[0];
    return {
      destination: this.destination,
      stream: this.sources.map((s) => s.stream).join('+'),
      lagSeconds: oldest === undefined ? 0 : Math.max(0, (this.now() - oldest) / 1000),
      shippedLines: this.shippedLines,
      droppedLines: this.droppedLines,
      lastShippedAt: this.lastShippedAt === undefined ? null : new Date(this.lastShippedAt).toISOString(),
      error: this.error ?? null,
      connected: this.connected,
      queued: this.queue.length,
    };
  }

  /** Takes every new line into the queue, then sends what it can. Never throws. */
  step(): void {
    if (this.closed) return;
    for (const s of this.sources) {
      for (let round = 0; round < 100; round++) {
        const r = s.read(this.cursors.get(s.stream) ?? s.end(), 1000);
        this.cursors.set(s.stream, r.lines.at(-1)?.after ?? r.cursor);
        if (r.dropped) this.droppedLines += r.dropped;
        for (const l of r.lines) this.enqueue(octetFrame(rfc5424(s.stream, l.text, l.time, this.hostname)), l.time);
        if (r.lines.length < 1000) break;
      }
    }
    if (!this.socket && !this.connecting && this.now() >= this.retryAt) this.connect();
    else this.drain();
  }

  private enqueue(frame: Buffer, time: number): void {
    this.queue.push(frame);
    this.oldestQueued.push(time);
    if (this.queue.length > this.cfg.queueLines) {
      const over = this.queue.length - this.cfg.queueLines;
      this.queue.splice(0, over);
      this.oldestQueued.splice(0, over);
      this.droppedLines += over;
    }
  }

  private connect(): void {
    this.connecting = true;
    let sock: tls.TLSSocket;
    try {
      sock = tls.connect({
        host: this.cfg.host,
        port: this.cfg.port,
        servername: /^[\d.]+$|:/.test(this.cfg.host) ? undefined : this.cfg.host,
        minVersion: 'TLSv1.2',
        ...(this.cfg.caFile ? { ca: fs.readFileSync(this.cfg.caFile) } : {}),
        ...(this.cfg.certFile && this.cfg.keyFile ? { cert: fs.readFileSync(this.cfg.certFile), key: fs.readFileSync(this.cfg.keyFile) } : {}),
      });
    } catch (e) {
      this.failed(e as Error);
      return;
    }
    this.socket = sock;
    sock.setNoDelay(true);
    sock.once('secureConnect', () => {
      this.connecting = false;
      this.failures = 0;
      this.error = undefined;
      this.log.info({ collector: this.destination }, 'log shipping: connected to the syslog collector');
      this.drain();
    });
    sock.on('error', (e) => this.failed(e));
    sock.on('close', () => this.failed(new Error('the collector closed the connection')));
    // A collector sends nothing back; reading keeps the socket from filling its receive buffer.
    sock.on('data', () => undefined);
  }

  private failed(e: Error): void {
    if (this.socket) this.socket.destroy();
    if (this.socket === undefined && !this.connecting) return;
    this.socket = undefined;
    this.connecting = false;
    this.writing = false;
    this.failures++;
    this.error = e.message;
    this.retryAt = this.now() + Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    if (!this.closed) this.log.warn({ collector: this.destination, err: e.message, queued: this.queue.length }, 'log shipping: syslog collector unreachable; queueing');
  }

  private drain(): void {
    const sock = this.socket;
    if (!sock || this.connecting || this.writing) return;
    while (this.queue.length > 0) {
      const frame = this.queue.shift() as Buffer;
      this.oldestQueued.shift();
      this.shippedLines++;
      this.lastShippedAt = this.now();
      if (!sock.write(frame)) {
        this.writing = true;
        sock.once('drain', () => {
          this.writing = false;
          this.drain();
        });
        return;
      }
    }
  }

  /** Sends what is queued (bounded by `timeoutMs`) and closes the connection. */
  async close(timeoutMs: number): Promise<void> {
    this.step();
    const sock = this.socket;
    this.closed = true;
    if (!sock || this.connecting) {
      sock?.destroy();
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        sock.destroy();
        resolve();
      }, timeoutMs);
      t.unref();
      sock.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
    this.socket = undefined;
  }
}
