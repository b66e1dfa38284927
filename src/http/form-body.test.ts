import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitBody } from './form-body.ts';
import type { AppEnv } from './types.ts';

/** The fast lane must hand Hono exactly what Hono would have read itself. */
describe('limitBody', () => {
  let server: ServerType;
  let url = '';
  beforeAll(async () => {
    const app = new Hono<AppEnv>();
    app.use(limitBody(512, (c) => c.text('too large', 413)));
    app.post('/echo', async (c) => c.json({ first: await c.req.parseBody(), all: await c.req.parseBody({ all: true }), text: await c.req.text() }));
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const post = (body: string | ReadableStream, type: string, init: RequestInit = {}) => fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': type }, body, ...init });

  it('parses urlencoded forms like the standard parser: repeats, plus signs, percent-escapes, UTF-8', async () => {
    const body = 'name=J%C3%BCrg+M&tag=a&tag=b&empty=&bad=%FF';
    const res = await post(body, 'application/x-www-form-urlencoded; charset=UTF-8');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ first: { name: 'Jürg M', tag: 'b', empty: '', bad: '\uFFFD' }, all: { name: 'Jürg M', tag: ['a', 'b'], empty: '', bad: '\uFFFD' }, text: body });
  });

  it('refuses a declared length over the limit, and a chunked one once it passes it', async () => {
    expect((await post(`a=${'x'.repeat(600)}`, 'application/x-www-form-urlencoded')).status).toBe(413);
    const chunked = new ReadableStream({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode(`a=${'x'.repeat(600)}`));
        ctl.close();
      },
    });
    expect((await post(chunked, 'application/x-www-form-urlencoded', { duplex: 'half' } as RequestInit)).status).toBe(413);
  });

  it('hands other bodies to Hono as they came', async () => {
    const res = await post('{"a":1}', 'application/json');
    expect(await res.json()).toEqual({ first: {}, all: {}, text: '{"a":1}' });
  });

  it('parses multipart forms with the boundary from the header', async () => {
    const form = new FormData();
    form.append('a', '1');
    form.append('a', '2');
    const res = await fetch(`${url}/echo`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { all: unknown }).all).toEqual({ a: ['1', '2'] });
    const broken = await post('--x\r\nnot a part', 'multipart/form-data; boundary=x');
    expect(broken.status).toBe(500);
  });
});
