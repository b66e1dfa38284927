/**
 * Worker thread that sends signed S3 uploads (see s3-uploader.ts). Under a registration rush a
 * target receives a few megabytes of segments four times a second; through fetch on the main
 * thread, that cost a copy of every body, its garbage collection and the kernel's TCP work, about a
 * tenth of the thread that answers requests. Here the body is read in place (shared memory) or
 * from its spool file, and written to the socket uncopied. Erasable TypeScript importing only Node.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parentPort } from 'node:worker_threads';
import { BACKGROUND_NICE, lowerThreadPriority } from '../../thread-priority.ts';

type Body = { shared: Uint8Array } | { file: string; offset: number; length: number };

interface Send {
  id: number;
  url: string;
  method: string;
  headers: [string, string][];
  body: Body;
  timeoutMs: number;
}

/** What came back; the text only of a failure (S3's error document), cut short. */
interface Answer {
  status: number;
  etag?: string;
  text?: string;
}

const ERROR_TEXT_MAX = 64 * 1024;
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
const inFlight = new Map<number, http.ClientRequest>();
/** cancelled before their request started (while a spooled body was being read) */
const cancelled = new Set<number>();

async function bytesOf(body: Body): Promise<Buffer> {
  if ('shared' in body) return Buffer.from(body.shared.buffer, body.shared.byteOffset, body.shared.byteLength);
  const fh = await fs.promises.open(body.file, 'r');
  try {
    const buf = Buffer.allocUnsafe(body.length);
    let at = 0;
    while (at < body.length) {
      const { bytesRead } = await fh.read(buf, at, body.length - at, body.offset + at);
      if (bytesRead === 0) throw new Error(`${body.file} ended before byte ${body.offset + body.length}`);
      at += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * A kept-alive connection may have been closed by the server just as it is reused (S3 closes
 * idle ones after some seconds); Node's advice is to send such a request again on a new one.
 * An upload is idempotent (the same bytes under the same key), so that is safe.
 */
async function send(job: Send, body: Buffer): Promise<Answer> {
  try {
    return await sendOnce(job, body);
  } catch (e) {
    const err = e as Error & { code?: string; reused?: boolean };
    if (!err.reused || (err.code !== 'ECONNRESET' && err.code !== 'EPIPE')) throw e;
    return sendOnce(job, body);
  }
}

function sendOnce(job: Send, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(job.url);
    const tls = url.protocol === 'https:';
    const headers: Record<string, string> = Object.fromEntries(job.headers);
    headers['content-length'] = String(body.length);
    const req = (tls ? https : http).request(url, { method: job.method, headers, agent: tls ? agents.https : agents.http }, (res) => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (ok || kept >= ERROR_TEXT_MAX) return;
        chunks.push(c);
        kept += c.length;
      });
      res.on('end', () => {
        const etag = res.headers.etag;
        resolve({ status, ...(etag ? { etag } : {}), ...(ok ? {} : { text: Buffer.concat(chunks).toString('utf8').slice(0, ERROR_TEXT_MAX) }) });
      });
      res.on('error', reject);
    });
    req.setTimeout(job.timeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: Error & { reused?: boolean }) => reject(Object.assign(e, { reused: req.reusedSocket })));
    inFlight.set(job.id, req);
    req.end(body);
  });
}

parentPort?.on('message', (m: Send | { cancel: number }) => {
  if ('cancel' in m) {
    const req = inFlight.get(m.cancel);
    if (req) req.destroy(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    else cancelled.add(m.cancel);
    return;
  }
  bytesOf(m.body)
    .then((body) => {
      if (cancelled.delete(m.id)) throw Object.assign(new Error('aborted'), { code: 'ABORT_ERR' });
      return send(m, body);
    })
    .then(
      (answer) => parentPort?.postMessage({ id: m.id, ...answer }),
      (e: unknown) => {
        const err = e as Error & { code?: string };
        parentPort?.postMessage({ id: m.id, error: err.code ?? err.message });
      },
    )
    .finally(() => {
      inFlight.delete(m.id);
      cancelled.delete(m.id);
    });
});
lowerThreadPriority(BACKGROUND_NICE);
parentPort?.postMessage({ ready: true });
