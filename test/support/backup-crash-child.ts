/**
 * Child process for the crash test: a real server with continuous backup to a directory, and a
 * writer that inserts rows one by one, printing "ack <id> <ms>" right after each commit. The
 * parent kills it with SIGKILL mid-stream.
 *   node --import tsx backup-crash-child.ts <dataDir> <masterKeyFile> <backupDir> <syncMs>
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/config.ts';
import { startServer } from '../../src/http/server.ts';

const [dataDir, keyFile, backupDir, syncMs] = process.argv.slice(2) as [string, string, string, string];
const cfg = loadConfig({ port: 0, host: '127.0.0.1', dataDir, masterKeyFile: keyFile, backupDir, backupSyncIntervalMs: syncMs, logLevel: 'warn' }, {});
const server = await startServer(cfg, { env: {}, masterKeyFlagGiven: true, logDestination: pino.destination(2), announce: () => undefined });
const db = server.ctx.db;
db.exec('CREATE TABLE crash_rows (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, payload BLOB NOT NULL)');
const insert = db.prepare('INSERT INTO crash_rows (id, at, payload) VALUES (?, ?, randomblob(200))');
process.stdout.write('ready\n');
for (let id = 1; ; id++) {
  insert.run(id, Date.now());
  process.stdout.write(`ack ${id} ${Date.now()}\n`);
  // Yield so the replicator's timer runs, as it would between requests.
  await new Promise((r) => setImmediate(r));
}
