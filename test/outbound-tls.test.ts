import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TargetError } from '../src/backup/errors.ts';
import { S3Target } from '../src/backup/targets/s3.ts';
import fs from 'node:fs';
import { startTestServer } from './support/server.ts';
import { waitFor } from './support/wait.ts';

/** A server that answers every request with `answer`, and counts what it got. */
async function server(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: string[] = [];
  const srv = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

describe('S3 requests do not follow redirects (ASVS V15.3.2)', () => {
  let elsewhere: Awaited<ReturnType<typeof server>>;
  let redirecting: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    elsewhere = await server((_req, res) => res.end('<ListBucketResult></ListBucketResult>'));
    redirecting = await server((req, res) => {
      res.writeHead(307, { Location: `${elsewhere.url}${req.url ?? '/'}` });
      res.end();
    });
  });
  afterAll(async () => {
    await redirecting?.close();
    await elsewhere?.close();
  });

  it('refuses a redirect instead of sending the signed request (and the backup) where it points', async () => {
    const t = new S3Target({ endpoint: redirecting.url, region: 'us-east-1', bucket: 'tessera', prefix: 'site', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-key', pathStyle: true });
    await expect(t.list('')).rejects.toBeInstanceOf(TargetError);
    await expect(t.put('k', { data: [Buffer.from('backup bytes')] })).rejects.toBeInstanceOf(TargetError);
    expect(redirecting.seen.length).toBeGreaterThanOrEqual(2);
    expect(elsewhere.seen).toEqual([]);
  });
});

describe('plaintext allowed by --allow-insecure-transport', () => {
  it('is warned about in the log at start, once per channel, without credentials', async () => {
    const s = await startTestServer({
      smsUrl: 'http://sms.example.org/Messages.json',
      smsAccountSid: 'AC0123',
      smsAuthToken: 'hunter2-sms-token',
      smsFrom: '+15005550006',
      smtpUrl: 'smtp://mailer:hunter2@127.0.0.1:2525',
      allowInsecureTransport: 'sms',
    });
    try {
      const lines = await waitFor(
        () => {
          const l = fs.readFileSync(s.logFile, 'utf8').split('\n').filter((x) => x.includes('without TLS'));
          return l.length >= 2 ? l : undefined;
        },
        { what: 'the plaintext-transport lines in the log' },
      );
      const parsed = lines.map((l) => JSON.parse(l) as { level: number; channel: string; target: string; msg: string });
      expect(parsed.find((p) => p.channel === 'sms')).toMatchObject({ level: 40, target: 'sms.example.org', msg: expect.stringContaining('--allow-insecure-transport') });
      // Loopback is noted, not warned about: the traffic never leaves the machine.
      expect(parsed.find((p) => p.channel === 'smtp')).toMatchObject({ level: 30, target: '127.0.0.1:2525' });
      expect(lines.join('\n')).not.toContain('hunter2');
    } finally {
      await s.close();
    }
  });
});
