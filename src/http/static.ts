import { createHash } from 'node:crypto';
import path from 'node:path';
import { Hono } from 'hono';
import { readAsset } from '../assets.ts';
import { staticFiles, staticSources } from './static-sources.ts';
import type { RouteTable } from './route-permissions.ts';
import type { AppEnv } from './types.ts';

/**
 * Static files are served under content-hashed names (`/static/htmx.3f2a9c1b.js`) so they can be
 * cached for a year; a new release changes the name. Sources are shipped assets: our own files
 * from static/ and the vendored libraries straight from their npm packages.
 */
const sources = staticFiles;
export { staticSources };

interface Entry {
  url: string;
  body: Buffer;
  type: string;
  etag: string;
}

const types: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml' };
let table: Map<string, Entry> | undefined;
let byUrl: Map<string, Entry> | undefined;

function load(): Map<string, Entry> {
  if (table) return table;
  table = new Map();
  byUrl = new Map();
  for (const [name, src] of Object.entries(sources)) {
    const body = readAsset(src);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 10);
    const ext = path.extname(name);
    const url = `/static/${path.basename(name, ext)}.${hash}${ext}`;
    const e = { url, body, type: types[ext] ?? 'application/octet-stream', etag: `"${hash}"` };
    table.set(name, e);
    byUrl.set(url, e);
  }
  return table;
}

export function staticUrl(name: keyof typeof sources | string): string {
  const e = load().get(name);
  if (!e) throw new Error(`unknown static file ${name}`);
  return e.url;
}

export function staticRoutes(table: RouteTable): Hono<AppEnv> {
  load();
  const app = new Hono<AppEnv>();
  table.on(app).get('/static/:file', { kind: 'public' }, (c) => {
    const e = byUrl?.get(c.req.path);
    if (!e) return c.notFound();
    if (c.req.header('if-none-match') === e.etag) return c.body(null, 304, { ETag: e.etag, 'Cache-Control': 'public, max-age=31536000, immutable' });
    return c.body(new Uint8Array(e.body), 200, {
      'Content-Type': e.type,
      ETag: e.etag,
      'Cache-Control': 'public, max-age=31536000, immutable',
    });
  });
  return app;
}
