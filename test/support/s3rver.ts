import fs from 'node:fs';
import S3rver from 's3rver';
import type { S3Config } from '../../src/backup/targets/s3.ts';

/** s3rver's one built-in account (it checks the key id, not the signature: DESIGN §4). */
export const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalS3 {
  port: number;
  endpoint: string;
  dir: string;
  config(bucket: string, prefix?: string): S3Config;
  stop(): Promise<void>;
  /** Starts again on the same port and directory (objects survive), e.g. after simulating an outage. */
  restart(): Promise<void>;
}

/** A real S3-compatible server on 127.0.0.1 keeping its objects in dir. */
export async function startS3(dir: string, buckets: string[], port = 0): Promise<LocalS3> {
  fs.mkdirSync(dir, { recursive: true });
  const start = async (p: number) => {
    const s = new S3rver({ address: '127.0.0.1', port: p, directory: dir, silent: true, configureBuckets: buckets.map((name) => ({ name })) });
    const addr = await s.run();
    return { s, port: addr.port };
  };
  let cur = await start(port);
  const endpoint = `http://127.0.0.1:${cur.port}`;
  let running = true;
  return {
    port: cur.port,
    endpoint,
    dir,
    config: (bucket, prefix = '') => ({ endpoint, region: 'us-east-1', bucket, prefix, pathStyle: true, ...S3RVER_KEY }),
    async stop() {
      if (!running) return;
      running = false;
      await cur.s.close();
    },
    async restart() {
      if (running) await cur.s.close();
      cur = await start(cur.port);
      running = true;
    },
  };
}
