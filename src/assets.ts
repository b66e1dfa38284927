import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Files that ship with Tessera (migrations, static files). From a source checkout they are read
 * from the project root; inside the single binary (Node SEA) they are SEA assets, listed in the
 * `manifest.json` asset that build.mjs writes (SEA has no directory listing of its own).
 */
interface SeaApi {
  isSea(): boolean;
  getRawAsset(key: string): ArrayBuffer;
}

function loadSea(): SeaApi | undefined {
  try {
    // node:sea exists on every Node we support; require keeps this file loadable as ESM and CJS.
    // In the CJS bundle `require` exists and import.meta is empty, so the order here matters.
    const req = typeof require === 'function' ? require : createRequire(import.meta.url);
    const sea = req('node:sea') as SeaApi;
    return sea.isSea() ? sea : undefined;
  } catch {
    return undefined;
  }
}

/** SEA asset key of the better-sqlite3-multiple-ciphers addon (build.mjs embeds it, sea-entry.ts loads it). */
export const addonAssetKey = 'native/better_sqlite3.node';

/** SEA asset key of the checkpoint worker's bundle (build.mjs makes it from src/backup/checkpoint-worker.ts). */
export const checkpointWorkerAssetKey = 'workers/checkpoint-worker.cjs';
/** The seal worker's bundle (src/backup/seal-worker.ts), run the same way. */
export const sealWorkerAssetKey = 'workers/seal-worker.cjs';

const sea = loadSea();
/** SEA has no directory listing of its own: build.mjs stores one. Read once, at load. */
const manifest: readonly string[] = sea ? (JSON.parse(Buffer.from(sea.getRawAsset('manifest.json')).toString('utf8')) as string[]) : [];

export function isSingleBinary(): boolean {
  return sea !== undefined;
}

/** Source checkout: the root above src/. A bundle run outside SEA sits in dist/, also one level down. */
export function projectRoot(): string {
  const here = import.meta.url ? path.dirname(fileURLToPath(import.meta.url)) : __dirname;
  return path.resolve(here, '..');
}

export function readAsset(rel: string): Buffer {
  if (sea) return Buffer.from(sea.getRawAsset(rel));
  return fs.readFileSync(path.join(projectRoot(), rel));
}

/** Names (relative to the root, `/`-separated) of the shipped files under `dir`, sorted. */
export function listAssets(dir: string): string[] {
  if (sea) return manifest.filter((k) => k.startsWith(`${dir}/`)).sort();
  const base = path.join(projectRoot(), dir);
  return fs
    .readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(projectRoot(), path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();
}
