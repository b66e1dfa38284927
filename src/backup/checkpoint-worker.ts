/**
 * Worker thread that runs WAL checkpoints on its own connection (see backup/checkpointer.ts).
 * Written in erasable TypeScript only and importing nothing of ours, so Node runs it as is in
 * every mode: `npm start` (tsx), the test runner, and plain `node`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3-multiple-ciphers';

interface Init {
  file: string;
  keyHex: string;
  addonPath?: string;
}

interface Request {
  id: number;
}

const init = workerData as Init;
const options: Record<string, unknown> = { fileMustExist: true };
if (init.addonPath) {
  // The single binary: its addon is already mapped into this process under that name (the file
  // itself is gone), so dlopen hands back the loaded library and Node initialises it here too.
  const mod = { exports: {} };
  process.dlopen(mod, init.addonPath);
  options.nativeBinding = mod.exports;
}
const db = new Database(init.file, options);
db.pragma(`cipher='sqlcipher'`);
db.pragma('legacy=4');
db.pragma(`key="x'${init.keyHex}'"`);
// It only ever checkpoints; it must not try to do so after a write of its own either.
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = 0');
db.prepare('SELECT count(*) FROM sqlite_schema').get();

parentPort?.on('message', (req: Request) => {
  try {
    const rows = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    const r = rows[0] ?? { busy: 1, log: -1, checkpointed: -1 };
    parentPort?.postMessage({ id: req.id, busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    parentPort?.postMessage({ id: req.id, error: e instanceof Error ? e.message : String(e), ...(typeof code === 'string' ? { code } : {}) });
  }
});
parentPort?.postMessage({ ready: true });
