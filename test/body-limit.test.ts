import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawConnection, rawGet } from './support/raw-http.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const LIMIT = 4 * 1024;

/** A POST head for /__test/echo; the body follows separately. */
const head = (framing: Record<string, string>) =>
  `POST /__test/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: same-origin\r\n${Object.entries(framing)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

/**
 * Writes `total` bytes of body in pieces, letting the server run between them as a browser on a
 * real network would: the server may answer while the body is still being sent.
 */
async function writeBody(conn: RawConnection, total: number, chunked: boolean): Promise<void> {
  const piece = Math.min(total, 64 * 1024);
  for (let sent = 0; sent < total && !conn.ended; sent += piece) {
    const n = Math.min(piece, total - sent);
    const bytes = 'a='.padEnd(n, 'x').slice(0, n);
    conn.write(chunked ? `${n.toString(16)}\r\n${bytes}\r\n` : bytes);
    await new Promise((r) => setImmediate(r));
  }
  if (chunked && !conn.ended) conn.write('0\r\n\r\n');
}

describe('request bodies over the limit', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ bodyLimitKb: LIMIT / 1024 }, { extendApp: (app) => app.post('/__test/echo', async (c) => c.text(String((await c.req.text()).length))) });
  });
  afterAll(async () => {
    await s?.close();
  });

  const cases = [
    { size: LIMIT + 1, chunked: false },
    { size: LIMIT + 1, chunked: true },
    { size: 2 * 1024 * 1024, chunked: false },
    { size: 2 * 1024 * 1024, chunked: true },
  ];
  for (const { size, chunked } of cases) {
    it(`answers ${size} bytes ${chunked ? 'chunked' : 'with Content-Length'} on a keep-alive connection with the 413 page, then closes cleanly`, async () => {
      const conn = await RawConnection.open(s.port);
      // A request within the limit first: the connection is a reused keep-alive one.
      conn.write(`${head({ 'Content-Length': '5' })}a=xyz`);
      await conn.responsesOrClose(1);
      expect(conn.responses[0]).toMatchObject({ status: 200, body: '5' });
      conn.write(head(chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(size) }));
      await new Promise((r) => setImmediate(r));
      await writeBody(conn, size, chunked);
      await conn.closed();
      expect(conn.error).toBeUndefined();
      expect(conn.responses).toHaveLength(2);
      const refusal = conn.responses[1];
      expect(refusal?.status).toBe(413);
      expect(refusal?.headers.connection).toBe('close');
      expect(refusal?.body).toContain('Request too large');
      expect(refusal?.body).toContain('4 KiB');
    });
  }

  it('answers a declared length far past what it would read at once, without waiting for the body', async () => {
    const conn = await RawConnection.open(s.port);
    conn.write(head({ 'Content-Length': String(1024 * 1024 * 1024) }));
    await conn.responsesOrClose(1);
    expect(conn.responses[0]?.status).toBe(413);
    await conn.closed();
  });

  it('still serves bodies within the limit, and a 413 does not disturb other connections', async () => {
    const r = await fetch(`${s.url}/__test/echo`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', 'content-type': 'text/plain' }, body: 'y'.repeat(LIMIT) });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(String(LIMIT));
    const big = await fetch(`${s.url}/__test/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'y'.repeat(LIMIT + 1) });
    expect(big.status).toBe(413);
    const conn = await RawConnection.open(s.port);
    conn.write(rawGet('/healthz'));
    expect((await conn.responsesOrClose(1))[0]?.status).toBe(200);
    conn.socket.destroy();
  });
});
