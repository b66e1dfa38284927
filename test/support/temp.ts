import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/**
 * Removes the directories made so far. test/support/per-file.ts calls it after every test file
 * (a setup file runs again for each file even when workers are reused), so a suite run leaves
 * nothing in /tmp; an exit hook would not do, the runner ends its workers without one.
 */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A fresh directory under the system temp dir, removed after the test file that made it. */
export function tempDir(prefix = 'tessera-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A master key file outside the data dir, as an operator would keep it. */
export function writeKeyFile(dir: string, key: Buffer = randomBytes(32)): { file: string; key: Buffer } {
  const file = path.join(dir, 'master.key');
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600 });
  return { file, key };
}

/** sha256 of every file under dir (recursive), for "nothing was modified" assertions. */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out[path.relative(dir, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}
