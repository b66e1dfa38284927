import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished, pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import type { S3Config } from '../../src/backup/targets/s3.ts';
import { PRESIGN_QUERY_PARAMS, type SigV4Result, isHexPayloadHash, isStreamingPayload, verifySigV4 } from './sigv4-verify.ts';

/**
 * s3rver's one built-in account. Signatures are checked (DESIGN §4), but not by s3rver, which
 * looks only at the key id of a SigV4 request: every request first passes our own SigV4
 * verifier (sigv4-verify.ts) in a proxy in front of it, so a wrong secret, a tampered signed
 * header or query, or a skewed clock is refused as real S3 refuses it.
 */
export const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

export interface LocalS3 {
  /** the port of the verifying proxy, which is what clients talk to */
  port: number;
  endpoint: string;
  dir: string;
  config(bucket: string, prefix?: string): S3Config;
  /** Both the proxy and s3rver go away: connections are refused, as in a real outage. */
  stop(): Promise<void>;
  /** Starts again on the same port and directory (objects survive), e.g. after simulating an outage. */
  restart(): Promise<void>;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** S3's error document; Code first, like S3, so clients that read only <Code> find it. */
function errorXml(code: string, message: string, details: Record<string, string>, resource: string): string {
  const extra = Object.entries(details)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${extra}<Resource>${xmlEscape(resource)}</Resource><RequestId>tessera-test-proxy</RequestId></Error>`;
}

async function sendError(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, details: Record<string, string> = {}): Promise<void> {
  // The body of a refused request is read and dropped before answering: closing on a client still
  // sending would reset the connection, and the client would see "unreachable" instead of the error.
  req.resume();
  await finished(req).catch(() => undefined);
  if (res.destroyed) return;
  const body = errorXml(code, message, details, (req.url ?? '/').split('?')[0] as string);
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade']);

function pairs(raw: string[], drop: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!drop((raw[i] as string).toLowerCase())) out.push(raw[i] as string, raw[i + 1] as string);
  return out;
}

/**
 * The request target without the presigned-URL parameters: once verified here, s3rver gets the
 * request as anonymous (it allows that), so accounts it does not know work too.
 */
function withoutPresignParams(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const kept = url
    .slice(q + 1)
    .split('&')
    .filter((p) => {
      const name = p.split('=')[0] as string;
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed name cannot be one of ours: keep it for s3rver to judge
      }
      return !PRESIGN_QUERY_PARAMS.includes(decoded);
    });
  return kept.length ? `${url.slice(0, q)}?${kept.join('&')}` : url.slice(0, q);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function startProxy(port: number, backendPort: () => number, secrets: ReadonlyMap<string, string>): Promise<{ server: http.Server; agent: http.Agent; port: number }> {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      const auth: SigV4Result = verifySigV4({ method: req.method ?? 'GET', url, headers: req.headersDistinct }, { secrets, now: new Date(), region: REGION });
      if (!auth.ok) return await sendError(req, res, auth.status, auth.code, auth.message, auth.details);
      if (isStreamingPayload(auth.payloadHash)) {
        return await sendError(req, res, 501, 'NotImplemented', `This test server does not verify chunk signatures (${auth.payloadHash})`);
      }
      let body: Buffer | undefined;
      if (isHexPayloadHash(auth.payloadHash)) {
        body = await readBody(req);
        const actual = createHash('sha256').update(body).digest('hex');
        if (actual !== auth.payloadHash) {
          return await sendError(req, res, 400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
            ClientComputedContentSHA256: auth.payloadHash,
            S3ComputedContentSHA256: actual,
          });
        }
      }
      const upstream = http.request({
        host: '127.0.0.1',
        port: backendPort(),
        method: req.method,
        path: withoutPresignParams(url),
        headers: pairs(req.rawHeaders, (h) => h === 'authorization' || HOP_BY_HOP.has(h)),
        agent,
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      const answered = new Promise<void>((resolve, reject) => {
        upstream.on('response', (up) => {
          res.writeHead(up.statusCode ?? 502, pairs(up.rawHeaders, (h) => HOP_BY_HOP.has(h)));
          pipeline(up, res).then(resolve, reject);
        });
        upstream.on('error', reject);
      });
      const sent = body ? new Promise<void>((resolve) => upstream.end(body, resolve)) : pipeline(req, upstream);
      // Both awaited together: whichever fails first is handled, and the other cannot go unhandled.
      await Promise.all([sent, answered]);
    })().catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else void sendError(req, res, 503, 'ServiceUnavailable', `test proxy: s3rver failed (${(e as Error).message})`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve({ server, agent, port: (server.address() as AddressInfo).port });
    });
  });
}

/**
 * A real S3-compatible server on 127.0.0.1 keeping its objects in dir, behind a proxy that
 * verifies SigV4 for S3RVER_KEY and the extra accounts (accessKeyId → secret) given.
 */
export async function startS3(dir: string, buckets: string[], port = 0, accounts: Readonly<Record<string, string>> = {}): Promise<LocalS3> {
  fs.mkdirSync(dir, { recursive: true });
  const secrets = new Map([[S3RVER_KEY.accessKeyId, S3RVER_KEY.secretAccessKey], ...Object.entries(accounts)]);
  const startBackend = async (p: number) => {
    const s = new S3rver({ address: '127.0.0.1', port: p, directory: dir, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
    const addr = await s.run();
    return { s, port: addr.port };
  };
  let backend = await startBackend(0);
  let proxy = await startProxy(port, () => backend.port, secrets);
  const endpoint = `http://127.0.0.1:${proxy.port}`;
  let running = true;
  const close = async () => {
    running = false;
    await new Promise<void>((resolve) => {
      proxy.server.close(() => resolve());
      proxy.server.closeAllConnections();
    });
    proxy.agent.destroy();
    await backend.s.close();
  };
  return {
    port: proxy.port,
    endpoint,
    dir,
    config: (bucket, prefix = '') => ({ endpoint, region: REGION, bucket, prefix, pathStyle: true, ...S3RVER_KEY }),
    async stop() {
      if (running) await close();
    },
    async restart() {
      if (running) await close();
      backend = await startBackend(backend.port);
      proxy = await startProxy(proxy.port, () => backend.port, secrets);
      running = true;
    },
  };
}
