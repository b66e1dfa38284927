import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalS3, startS3 } from '../../../test/support/s3rver.ts';
import { brokenWorkers } from '../../../test/support/broken-workers.ts';
import { tempDir } from '../../../test/support/temp.ts';
import { TargetError } from '../errors.ts';
import { DirTarget } from './dir.ts';
import { S3Target } from './s3.ts';
import type { BackupTarget } from './target.ts';

let root: string;
let s3: LocalS3;

beforeAll(async () => {
  root = tempDir('tessera-targets-');
  s3 = await startS3(path.join(root, 's3'), ['bk']);
});
afterAll(async () => {
  await s3.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A port nothing listens on: the kernel handed it out and it was closed again. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function readAll(t: BackupTarget, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await t.get(key)) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function fileWith(bytes: Buffer): string {
  const f = path.join(root, `src-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(f, bytes);
  return f;
}

describe.each([
  ['directory', () => new DirTarget(path.join(root, 'dir'))],
  ['s3 (path-style, with prefix)', () => new S3Target(s3.config('bk', 'tenant/backups'), { multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 })],
] as const)('%s target', (_name, make) => {
  it('puts, gets, lists by prefix, overwrites and deletes', async () => {
    const t = make();
    if (t instanceof DirTarget) await t.ensure();
    const a = randomBytes(1000);
    const b = randomBytes(17);
    await t.put('generations/g1/segments/0000000001.seg', { file: fileWith(a) });
    await t.put('generations/g1/segments/0000000002.seg', { file: fileWith(b) });
    await t.put('keyrings/k.json', { file: fileWith(Buffer.from('{}')) });
    expect((await readAll(t, 'generations/g1/segments/0000000001.seg')).equals(a)).toBe(true);
    expect(await t.list('generations/')).toEqual([
      { key: 'generations/g1/segments/0000000001.seg', size: 1000 },
      { key: 'generations/g1/segments/0000000002.seg', size: 17 },
    ]);
    await t.put('generations/g1/segments/0000000002.seg', { data: [a.subarray(0, 10), a.subarray(10)] });
    expect((await readAll(t, 'generations/g1/segments/0000000002.seg')).equals(a)).toBe(true);
    await t.delete(['generations/g1/segments/0000000001.seg', 'generations/g1/segments/0000000002.seg', 'generations/g1/segments/missing.seg']);
    expect(await t.list('generations/')).toEqual([]);
    expect((await t.list('')).map((o) => o.key)).toEqual(['keyrings/k.json']);
    const err = await t.get('generations/g1/segments/0000000001.seg').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).kind).toBe('not-found');
  });

  it('uploads a large object whole (multipart on S3)', async () => {
    const t = make();
    const big = randomBytes(13 * 1024 * 1024 + 5);
    await t.put('generations/g2/snapshots/big.snap', { file: fileWith(big) });
    expect((await readAll(t, 'generations/g2/snapshots/big.snap')).equals(big)).toBe(true);
    await t.put('generations/g2/snapshots/big.snap', { data: [big.subarray(0, 7), big.subarray(7)] });
    expect((await readAll(t, 'generations/g2/snapshots/big.snap')).equals(big)).toBe(true);
    await t.delete(['generations/g2/snapshots/big.snap']);
  });

  it('stores a segment that is one buffer of shared memory, as the segment worker makes it', async () => {
    const t = make();
    const seg = Buffer.from(new SharedArrayBuffer(300_001));
    randomBytes(seg.length).copy(seg);
    await t.put('generations/g4/segments/0000000001.seg', { data: [seg] });
    expect((await readAll(t, 'generations/g4/segments/0000000001.seg')).equals(seg)).toBe(true);
    await t.delete(['generations/g4/segments/0000000001.seg']);
    await (t as BackupTarget).close?.();
  });

  it('stores an object of many parts byte for byte (more parts than one writev takes)', async () => {
    const t = make();
    const parts = Array.from({ length: 2500 }, (_, i) => randomBytes(1 + (i % 97)));
    await t.put('generations/g3/segments/0000000001.seg', { data: parts });
    expect((await readAll(t, 'generations/g3/segments/0000000001.seg')).equals(Buffer.concat(parts))).toBe(true);
    await t.delete(['generations/g3/segments/0000000001.seg']);
  });
});

describe('target errors are one clear line', () => {
  it('missing bucket', async () => {
    const t = new S3Target(s3.config('nope'));
    await expect(t.check()).rejects.toThrow(/^bucket "nope" does not exist at http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('unknown access key id', async () => {
    const t = new S3Target({ ...s3.config('bk'), accessKeyId: 'WRONGKEY' });
    const err = await t.check().catch((e: unknown) => e);
    expect((err as TargetError).kind).toBe('auth');
    expect((err as Error).message).toMatch(/access key id was rejected/);
  });

  it('wrong secret access key', async () => {
    const t = new S3Target({ ...s3.config('bk'), secretAccessKey: 'not-the-secret' });
    const err = await t.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).kind).toBe('auth');
    expect((err as Error).message).toBe(`s3://bk at ${s3.endpoint}: the secret access key was rejected (SignatureDoesNotMatch)`);
  });

  it('wrong signing region', async () => {
    const t = new S3Target({ ...s3.config('bk'), region: 'eu-west-3' });
    const err = await t.check().catch((e: unknown) => e);
    expect((err as TargetError).kind).toBe('auth');
    expect((err as Error).message).toMatch(/signed for region "eu-west-3".*--backup-s3-region/);
  });

  it('unreachable endpoint', async () => {
    const port = await closedPort();
    const t = new S3Target({ ...s3.config('bk'), endpoint: `http://127.0.0.1:${port}` });
    const err = await t.check().catch((e: unknown) => e);
    expect((err as TargetError).kind).toBe('unreachable');
    expect((err as Error).message).toBe(`s3://bk: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('missing backup directory', async () => {
    const t = new DirTarget(path.join(root, 'absent'));
    await expect(t.list('')).rejects.toThrow(/^backup directory .*absent does not exist$/);
  });
});

describe('S3 uploads from the upload worker', () => {
  const sharedOf = (bytes: Buffer) => {
    const b = Buffer.from(new SharedArrayBuffer(bytes.length));
    bytes.copy(b);
    return b;
  };

  it('sends shared-memory segments, spooled files and multipart parts from the worker; other bodies through fetch', async () => {
    const t = new S3Target(s3.config('bk', 'off-thread'), { multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    try {
      const seg = randomBytes(2 * 1024 * 1024 + 9);
      // The main thread neither copies nor joins the segment's bytes.
      const concat = vi.spyOn(Buffer, 'concat');
      try {
        await t.put('seg', { data: [sharedOf(seg)] });
        expect(concat).not.toHaveBeenCalled();
      } finally {
        concat.mockRestore();
      }
      expect(t.uploads).toEqual({ offThread: 1, inProcess: 0 });
      const file = randomBytes(70_000);
      await t.put('file', { file: fileWith(file) });
      expect(t.uploads).toEqual({ offThread: 2, inProcess: 0 });
      // 13 MiB in three parts of at most 5 MiB, each read from the file by the worker.
      const big = randomBytes(13 * 1024 * 1024 + 5);
      await t.put('big', { file: fileWith(big) });
      expect(t.uploads).toEqual({ offThread: 5, inProcess: 0 });
      // A keyring copy (ordinary memory, two pieces) is not worth a trip to the worker.
      await t.put('keyring', { data: [Buffer.from('{"a"'), Buffer.from(':1}')] });
      expect(t.uploads).toEqual({ offThread: 5, inProcess: 1 });
      expect((await readAll(t, 'seg')).equals(seg)).toBe(true);
      expect((await readAll(t, 'file')).equals(file)).toBe(true);
      expect((await readAll(t, 'big')).equals(big)).toBe(true);
      expect((await readAll(t, 'keyring')).toString()).toBe('{"a":1}');
      // A target outlives a stopped backup service: after close(), the next upload starts a new worker.
      await t.close();
      await t.put('again', { data: [sharedOf(seg)] });
      expect(t.uploads).toEqual({ offThread: 6, inProcess: 1 });
      expect((await readAll(t, 'again')).equals(seg)).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('reports the same clear errors as fetch does: refused signature, missing bucket, unreachable endpoint', async () => {
    const body = () => ({ data: [sharedOf(randomBytes(1000))] });
    const wrong = new S3Target({ ...s3.config('bk'), secretAccessKey: 'not-the-secret' });
    const noBucket = new S3Target(s3.config('nope'));
    const port = await closedPort();
    const down = new S3Target({ ...s3.config('bk'), endpoint: `http://127.0.0.1:${port}` });
    try {
      const e1 = await wrong.put('x', body()).catch((e: unknown) => e);
      expect((e1 as TargetError).kind).toBe('auth');
      expect((e1 as Error).message).toBe(`s3://bk at ${s3.endpoint}: the secret access key was rejected (SignatureDoesNotMatch)`);
      const e2 = await noBucket.put('x', body()).catch((e: unknown) => e);
      expect((e2 as TargetError).kind).toBe('no-bucket');
      const e3 = await down.put('x', body()).catch((e: unknown) => e);
      expect((e3 as TargetError).kind).toBe('unreachable');
      expect((e3 as Error).message).toBe(`s3://bk: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
      // All three went through the worker, none fell back.
      for (const t of [wrong, noBucket, down]) expect(t.uploads.inProcess).toBe(0);
    } finally {
      await Promise.all([wrong.close(), noBucket.close(), down.close()]);
    }
  });

  it('an abort (server shutdown) cancels the upload in the worker: the connection closes at once', async () => {
    const sockets: net.Socket[] = [];
    let closed = 0;
    // Takes the request and never answers, like a stalled endpoint.
    const hang = net.createServer((sock) => {
      sockets.push(sock);
      sock.on('data', () => undefined);
      sock.on('close', () => closed++);
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const t = new S3Target({ ...s3.config('bk'), endpoint: `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}` });
    try {
      const ac = new AbortController();
      const put = t.put('x', { data: [sharedOf(randomBytes(100_000))] }, ac.signal);
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(1);
      ac.abort(new Error('shutting down'));
      await expect(put).rejects.toThrow('shutting down');
      await expect.poll(() => closed, { timeout: 10_000 }).toBe(1);
    } finally {
      await t.close();
      for (const s of sockets) s.destroy();
      hang.close();
    }
  });

  it('sends an upload again on a new connection when the kept-alive one turns out to be closed', async () => {
    // Answers the first request on each connection, and resets the connection on the next one,
    // as a server does that closed an idle connection just as the client reused it.
    const served = new Map<net.Socket, number>();
    const srv = http.createServer((req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1) return void req.socket.resetAndDestroy();
      req.resume();
      req.on('end', () => res.writeHead(200, { ETag: '"x"' }).end());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const t = new S3Target({ ...s3.config('bk'), endpoint: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}` });
    try {
      await t.put('a', { data: [sharedOf(randomBytes(1000))] });
      await t.put('b', { data: [sharedOf(randomBytes(1000))] });
      expect(t.uploads).toEqual({ offThread: 2, inProcess: 0 });
      // Three requests: the second was reset on the reused connection and sent again on a new one.
      expect([...served.values()]).toEqual([2, 1]);
    } finally {
      await t.close();
      srv.closeAllConnections();
      srv.close();
    }
  });

  it('uploads through fetch when the worker cannot start, or after it died, and says so once', async () => {
    for (const [entry, firstFails] of brokenWorkers(9)) {
      const logged: string[] = [];
      const t = new S3Target(s3.config('bk', 'fallback'), { uploadWorker: () => entry });
      t.useLog(pino({ level: 'warn' }, { write: (l: string) => void logged.push(l) }));
      const seg = randomBytes(5000);
      if (firstFails) {
        const err = await t.put('seg', { data: [sharedOf(seg)] }).catch((e: unknown) => e);
        expect((err as TargetError).kind).toBe('unreachable');
        expect((err as Error).message).toContain('worker exited (code 9)');
      }
      await t.put('seg', { data: [sharedOf(seg)] });
      await t.put('seg2', { file: fileWith(seg) });
      expect(t.uploads).toEqual({ offThread: 0, inProcess: 2 });
      expect((await readAll(t, 'seg')).equals(seg)).toBe(true);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('S3 upload worker unavailable; uploading from the main thread');
      await t.close();
    }
  });
});
