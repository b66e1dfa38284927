import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, startS3 } from '../../../test/support/s3rver.ts';
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

describe('S3 uploads', () => {
  it('sends memory bodies, spooled files and multipart parts byte for byte', async () => {
    const t = new S3Target(s3.config('bk', 'uploads'), { multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
    const seg = randomBytes(2 * 1024 * 1024 + 9);
    await t.put('seg', { data: [seg] });
    const file = randomBytes(70_000);
    await t.put('file', { file: fileWith(file) });
    // 13 MiB in three parts of at most 5 MiB, each read from the file.
    const big = randomBytes(13 * 1024 * 1024 + 5);
    await t.put('big', { file: fileWith(big) });
    await t.put('keyring', { data: [Buffer.from('{"a"'), Buffer.from(':1}')] });
    expect((await readAll(t, 'seg')).equals(seg)).toBe(true);
    expect((await readAll(t, 'file')).equals(file)).toBe(true);
    expect((await readAll(t, 'big')).equals(big)).toBe(true);
    expect((await readAll(t, 'keyring')).toString()).toBe('{"a":1}');
  });

  it('reports clear errors: refused signature, missing bucket, unreachable endpoint', async () => {
    const body = () => ({ data: [randomBytes(1000)] });
    const wrong = new S3Target({ ...s3.config('bk'), secretAccessKey: 'not-the-secret' });
    const noBucket = new S3Target(s3.config('nope'));
    const port = await closedPort();
    const down = new S3Target({ ...s3.config('bk'), endpoint: `http://127.0.0.1:${port}` });
    const e1 = await wrong.put('x', body()).catch((e: unknown) => e);
    expect((e1 as TargetError).kind).toBe('auth');
    expect((e1 as Error).message).toBe(`s3://bk at ${s3.endpoint}: the secret access key was rejected (SignatureDoesNotMatch)`);
    const e2 = await noBucket.put('x', body()).catch((e: unknown) => e);
    expect((e2 as TargetError).kind).toBe('no-bucket');
    const e3 = await down.put('x', body()).catch((e: unknown) => e);
    expect((e3 as TargetError).kind).toBe('unreachable');
    expect((e3 as Error).message).toBe(`s3://bk: cannot reach http://127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('an abort (server shutdown) cancels the upload: the connection closes at once', async () => {
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
      const put = t.put('x', { data: [randomBytes(100_000)] }, ac.signal);
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBe(1);
      ac.abort(new Error('shutting down'));
      await expect(put).rejects.toThrow();
      // Every connection the upload opened is closed, none left waiting for the stalled answer.
      await expect.poll(() => closed === sockets.length, { timeout: 10_000 }).toBe(true);
    } finally {
      for (const sock of sockets) sock.destroy();
      hang.close();
    }
  });
});
