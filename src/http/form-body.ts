import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './types.ts';

const FORM = 'application/x-www-form-urlencoded';

/** The media type as Hono's parseBody reads it: before any parameter, trimmed, lower case. */
const mediaType = (v: string | undefined) => v?.split(';')[0]?.trim().toLowerCase();

/** Past this many bytes an oversized body is no longer read, only refused (see limitBody). */
export const discardBound = (maxSize: number) => Math.max(16 * 1024 * 1024, 2 * maxSize);

/**
 * Reads the Node request to its end, keeping at most `maxSize` bytes. A larger body is read on
 * and thrown away up to `discardUpTo` bytes; `undefined` then means "too large".
 */
function readLimited(incoming: HttpBindings['incoming'], maxSize: number, discardUpTo: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxSize) chunks.push(chunk);
      else if (size > discardUpTo) {
        // Not worth reading on: answer now and let the connection close.
        incoming.off('data', onData);
        incoming.pause();
        resolve(undefined);
      }
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(size > maxSize ? undefined : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    incoming.once('error', reject);
    incoming.once('close', () => {
      if (!incoming.readableEnded) reject(new Error('the client closed the connection before the body was sent'));
    });
  });
}

/**
 * The request body limit. The body is read straight from Node's request, held against the
 * limit, and handed to Hono's body cache, so c.req.parseBody(), .text() and .arrayBuffer() see
 * exactly what they would have read themselves. For an urlencoded form (what browsers send
 * most) the parsed form goes into the cache too, parsed the way undici's Request.formData()
 * does it (UTF-8 text through URLSearchParams): that skips building a WHATWG Request, a web
 * stream and a second Response per post, a tenth of a registration's CPU.
 *
 * A body over the limit is read to its end and thrown away before the 413 page is sent (up to
 * `discardBound`, then the page goes out at once). A browser sends its whole body before it
 * reads the answer; closing the connection with body bytes still unread makes the kernel answer
 * with a reset, and the reset could destroy the page before the browser had read it.
 * Without a Node request (app.request() in tests) Hono's bodyLimit does the job.
 */
export function limitBody(maxSize: number, onTooLarge: (c: Context<AppEnv>) => Response | Promise<Response>, discardUpTo = discardBound(maxSize)): MiddlewareHandler<AppEnv> {
  const generic = bodyLimit({ maxSize, onError: onTooLarge });
  return async (c, next) => {
    const method = c.req.method;
    // GET and HEAD carry no body to limit; asking for one would build a full WHATWG Request.
    if (method === 'GET' || method === 'HEAD') return next();
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (!incoming) return generic(c, next);
    const length = c.req.header('content-length');
    if (length !== undefined && parseInt(length, 10) > discardUpTo) return onTooLarge(c);
    const bytes = await readLimited(incoming, maxSize, discardUpTo);
    if (bytes === undefined) return onTooLarge(c);
    // Hono keeps body promises here; the first entry is what other readers convert from.
    const cache = c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer>; formData?: Promise<FormData> };
    const buffer = new Uint8Array(bytes).buffer;
    cache.arrayBuffer = Promise.resolve(buffer);
    const type = c.req.header('content-type');
    const media = mediaType(type);
    if (media === FORM) {
      const form = new FormData();
      for (const [k, v] of new URLSearchParams(bytes.toString())) form.append(k, v);
      cache.formData = Promise.resolve(form);
    } else if (media === 'multipart/form-data') {
      // Converting from the cached bytes would lose the boundary, which lives in the header.
      const form = new Response(buffer, { headers: { 'content-type': type ?? '' } }).formData();
      form.catch(() => {}); // a malformed body rejects for whoever reads it, not as unhandled
      cache.formData = form;
    }
    await next();
  };
}
