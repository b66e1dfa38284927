import type { ServerResponse } from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from './support/backup.ts';
import { RawConnection, rawGet } from './support/raw-http.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/** A server with a fast route and a gated one whose responses the test can watch. */
async function serverWithRoutes(flags: Parameters<typeof startTestServer>[0] = {}) {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const gated: ServerResponse[] = [];
  const s: TestServer = await startTestServer(flags, {
    extendApp: (app) => {
      app.get('/__test/n/:n', (c) => c.text(`answer ${c.req.param('n')}`));
      app.get('/__test/gated/:n', async (c) => {
        gated.push((c.env as { outgoing: ServerResponse }).outgoing);
        await gate;
        return c.text(`gated ${c.req.param('n')}`);
      });
    },
  });
  return { s, gated, release };
}

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve('connected');
    });
    sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

describe('shutdown', () => {
  it('answers requests already sent on an idle keep-alive connection, then closes it cleanly', async () => {
    const { s } = await serverWithRoutes();
    const conn = await RawConnection.open(s.port);
    conn.write(rawGet('/__test/n/0'));
    await conn.responsesOrClose(1);
    expect(conn.responses[0]?.status).toBe(200);
    // The connection is idle now. Three pipelined requests reach the server's receive buffer
    // before it starts to shut down (on loopback a write lands there at once).
    conn.write(rawGet('/__test/n/1') + rawGet('/__test/n/2') + rawGet('/__test/n/3'));
    const closing = s.close();
    expect(await refused(s.port)).toBe('ECONNREFUSED');
    await conn.closed();
    await closing;
    expect(conn.error).toBeUndefined();
    expect(conn.responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 answer 0', '200 answer 1', '200 answer 2', '200 answer 3']);
    expect(s.ctx.db.open).toBe(false);
  });

  it('lets slow pipelined requests finish, the last with Connection: close, and refuses new connections', async () => {
    const { s, gated, release } = await serverWithRoutes();
    const conn = await RawConnection.open(s.port);
    conn.write(rawGet('/__test/gated/1') + rawGet('/__test/gated/2') + rawGet('/__test/gated/3'));
    await waitFor('three requests in the handler', () => gated.length === 3);
    const closing = s.close();
    expect(await refused(s.port)).toBe('ECONNREFUSED');
    // Once nothing more arrives on the connection, its newest response is marked to close it.
    await waitFor('the last response marked to close', () => gated[2]?.shouldKeepAlive === false);
    expect(s.ctx.db.open).toBe(true);
    release();
    await conn.closed();
    await closing;
    expect(conn.error).toBeUndefined();
    expect(conn.responses.map((r) => `${r.status} ${r.body}`)).toEqual(['200 gated 1', '200 gated 2', '200 gated 3']);
    expect(conn.responses.map((r) => r.headers.connection)).toEqual(['keep-alive', 'keep-alive', 'close']);
    expect(s.ctx.db.open).toBe(false);
  });

  it('cuts a request that outlasts the shutdown timeout and still closes the database', async () => {
    const { s, gated, release } = await serverWithRoutes({ shutdownTimeoutMs: 200 });
    try {
      const conn = await RawConnection.open(s.port);
      conn.write(rawGet('/__test/gated/1'));
      await waitFor('the request in the handler', () => gated.length === 1);
      await s.close();
      expect(s.ctx.db.open).toBe(false);
      await conn.closed();
      expect(conn.responses).toEqual([]);
    } finally {
      release();
    }
  });
});
