import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AddonLoadError, dataDirFrom, loadAddon, runtimeDir } from './native-addon.ts';

const dirs: string[] = [];
function temp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-addon-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('runtimeDir', () => {
  it('prefers TESSERA_RUNTIME_DIR, then $XDG_RUNTIME_DIR/tessera, then beside the data dir', () => {
    const env = { TESSERA_RUNTIME_DIR: '/srv/rt', XDG_RUNTIME_DIR: '/run/user/1000', TESSERA_DATA_DIR: '/var/lib/tessera/data' };
    expect(runtimeDir([], env)).toBe('/srv/rt');
    expect(runtimeDir([], { ...env, TESSERA_RUNTIME_DIR: '' })).toBe('/run/user/1000/tessera');
    expect(runtimeDir([], { TESSERA_DATA_DIR: '/var/lib/tessera/data' })).toBe('/var/lib/tessera/.tessera-runtime');
    expect(runtimeDir([], {})).toBe(path.resolve('.tessera-runtime'));
  });

  it('reads the data dir like loadConfig: the last flag wins over env, both forms, nothing after --', () => {
    const env = { TESSERA_DATA_DIR: '/env/data' };
    expect(dataDirFrom(['serve'], env)).toBe('/env/data');
    expect(dataDirFrom(['serve', '--data-dir', '/a/data'], env)).toBe('/a/data');
    expect(dataDirFrom(['--data-dir=/a/data', 'keys', 'status', '--data-dir', '/b/data'], env)).toBe('/b/data');
    expect(dataDirFrom(['--', '--data-dir', '/x'], env)).toBe('/env/data');
    expect(dataDirFrom(['--data-dir'], {})).toBe(path.resolve('data'));
  });
});

describe('loadAddon', () => {
  const addonFile = path.join(path.dirname(createRequire(import.meta.url).resolve('better-sqlite3-multiple-ciphers/package.json')), 'prebuilds', 'linux-x64.node');

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('loads the addon from a fresh 0700 dir and leaves no file behind', () => {
    const dir = path.join(temp(), 'nested', 'rt');
    const addon = loadAddon(fs.readFileSync(addonFile), dir).exports as { Database?: unknown };
    expect(typeof addon.Database).toBe('function');
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('turns a file that is not a loadable library into one line naming the dir and the override', () => {
    const dir = path.join(temp(), 'rt');
    let err: unknown;
    try {
      loadAddon(Buffer.from('not an ELF file'), dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddonLoadError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toContain(dir);
    expect(msg).toContain('TESSERA_RUNTIME_DIR');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses an existing directory that others can enter, without touching its mode', () => {
    const dir = path.join(temp(), 'open');
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o755);
    expect(() => loadAddon(fs.readFileSync(addonFile), dir)).toThrow(/open to other users \(mode 755\)/);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('refuses a symlink in place of the directory', () => {
    const base = temp();
    const target = path.join(base, 'elsewhere');
    fs.mkdirSync(target, { mode: 0o700 });
    const link = path.join(base, 'rt');
    fs.symlinkSync(target, link);
    expect(() => loadAddon(Buffer.from('x'), link)).toThrow(/is not a directory/);
    expect(fs.readdirSync(target)).toEqual([]);
  });
});
