/**
 * A local S3-compatible server for the backup benchmark, in its own process so its CPU use is
 * visible as such and never runs inside the measured event loop.
 *   node --import tsx bench/lib/s3rver-child.ts <dir> <port> <bucket>   → prints "ready"
 */
import S3rver from 's3rver';

const [dir, port, bucket] = process.argv.slice(2) as [string, string, string];
const s = new S3rver({ address: '127.0.0.1', port: Number(port), directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
await s.run();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
