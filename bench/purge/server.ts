/**
 * The real server (startServer, as `tessera serve` runs it) with a clock the benchmark can move:
 * on SIGUSR2 it jumps past the event's retention date and the owners' warning period, runs the
 * retention job in the process as the server's own job does (resting between batches), and writes
 * {erased, ms} to the result file when done.
 */
import fs from 'node:fs';
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/http/server.ts';
import { restAsLongAsTheBatch } from '../../src/privacy/retention.ts';

const [dataDir, keyFile, portArg, resultFile] = process.argv.slice(2);
if (!dataDir || !keyFile || !portArg || !resultFile) throw new Error('usage: server.ts <data-dir> <key-file> <port> <result-file>');
const DAY = 86_400_000;
let offset = 0;
const cfg = loadConfig({ dataDir, masterKeyFile: keyFile, host: '127.0.0.1', port: Number(portArg), logLevel: 'warn', registrationLimitNetwork: 0, shutdownTimeoutMs: 2000 }, {});
const server = await startServer(cfg, { masterKeyFlagGiven: true, now: () => Date.now() + offset, announce: () => undefined });

/** Written whole, then renamed: the benchmark polls for the file and must never read half of it. */
const report = (v: object) => {
  fs.writeFileSync(`${resultFile}.tmp`, JSON.stringify(v));
  fs.renameSync(`${resultFile}.tmp`, resultFile);
};

process.on('SIGUSR2', () => {
  void (async () => {
    offset = 100 * DAY; // past the warning date: the first pass warns
    await server.ctx.retention.run();
    offset = 110 * DAY; // warning period over, retention date passed: the second pass purges
    const t0 = performance.now();
    const r = await server.ctx.retention.run({ rest: restAsLongAsTheBatch });
    const ms = performance.now() - t0;
    report({ erased: r.erased, ms });
  })().catch((e: unknown) => report({ error: (e as Error).message }));
});
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
