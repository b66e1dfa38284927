import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKey } from '../src/backup/layout.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { readStatusFile } from '../src/backup/status-file.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { waitFor } from './support/backup.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';

const SYNC_MS = 250;
const root = tempDir('tessera-crash-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('crash: SIGKILL while writing', () => {
  it('restores every row acknowledged before a capture the server reported stored, with integrity ok', async () => {
    const { file: keyFile, key: master } = writeKeyFile(root);
    const dataDir = path.join(root, 'data');
    const backupDir = path.join(root, 'backups');
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(import.meta.dirname, 'support', 'backup-crash-child.ts'), dataDir, keyFile, backupDir, String(SYNC_MS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks = new Map<number, number>();
    let stderr = '';
    let buf = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'ready') resolve();
          const m = /^ack (\d+) (\d+)$/.exec(line);
          if (m) acks.set(Number(m[1]), Number(m[2]));
        }
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('exit', () => reject(new Error(`child exited early: ${stderr}`)));
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await ready;
    // Kill once the server's own status says a segment is stored that was captured after at
    // least 100 acknowledged rows: what it vouches for, however fast this machine ships. (How
    // fast it ships under load is the benchmark's business, not this test's.)
    const capturedAt = await waitFor(
      'a stored segment behind 100 acknowledged rows',
      () => {
        const key = readStatusFile(dataDir)?.targets[0]?.lastShipped?.key;
        const p = key ? parseKey(key) : undefined;
        if (p?.kind !== 'segment') return undefined;
        return [...acks.values()].filter((at) => at < p.time).length >= 100 ? p.time : undefined;
      },
      20_000,
    );
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;

    const keyring = Keyring.load(keyringPath(dataDir), master);
    const to = path.join(root, 'restored');
    const r = await restoreBackup({ source: new DirTarget(backupDir), keyring, keyringFile: keyringPath(dataDir), to });
    const db = openDatabase(path.join(to, 'tessera.db'), { key: keyring.active('db').key });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const present = new Set((db.prepare('SELECT id FROM crash_rows').all() as { id: number }[]).map((x) => x.id));
    db.close();

    // A row acknowledged before the capture began was committed before it: it is in that segment or an earlier one.
    const mustHave = [...acks].filter(([, at]) => at < capturedAt).map(([id]) => id);
    const missing = mustHave.filter((id) => !present.has(id));
    const newestPresent = Math.max(...[...acks].filter(([id]) => present.has(id)).map(([, at]) => at));
    console.log(`crash test: ${acks.size} rows acknowledged, ${present.size} restored, ${mustHave.length} required, restored up to ${killedAt - newestPresent} ms before the kill, ${r.segments} segments`);
    expect(mustHave.length).toBeGreaterThan(100);
    expect(missing).toEqual([]);
    // Nothing that was never acknowledged as a whole row, and no row out of order: ids are a prefix.
    const ids = [...present].sort((a, b) => a - b);
    expect(ids[ids.length - 1]).toBe(ids.length);
  }, 40_000);
});
