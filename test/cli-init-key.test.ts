import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { tempDir } from './support/temp.ts';

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('tessera init with an explicit master key file that does not exist yet', () => {
  it('--master-key-file: creates the key (0600) and its missing directory (0700), and the instance opens with it', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'secrets', 'nested', 'master.key');
    const init = await runCli(['init', '--master-key-file', keyFile, '--data-dir', path.join(dir, 'data')], { cwd: dir });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`--master-key-file ${keyFile}`);
    expect(fs.readFileSync(keyFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect(mode(keyFile)).toBe(0o600);
    expect(mode(path.dirname(keyFile))).toBe(0o700);
    expect(mode(path.join(dir, 'secrets'))).toBe(0o700);
    const status = await runCli(['keys', 'status', '--master-key-file', keyFile, '--data-dir', path.join(dir, 'data')], { cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('db-1');
  });

  it('TESSERA_MASTER_KEY_FILE: creates the key in an existing directory and leaves that directory as it was', async () => {
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    const keyFile = path.join(dir, 'env.key');
    const init = await runCli(['init', '--data-dir', path.join(dir, 'data')], { cwd: dir, env: { TESSERA_MASTER_KEY_FILE: keyFile } });
    expect(init.code).toBe(0);
    expect(mode(keyFile)).toBe(0o600);
    expect(mode(dir)).toBe(0o755);
  });

  it('never puts the new key inside the data directory', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    const r = await runCli(['init', '--master-key-file', path.join(data, 'master.key'), '--data-dir', data], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('must not be inside the data directory');
    expect(fs.existsSync(path.join(data, 'master.key'))).toBe(false);
  });

  it('does not make a new key for an instance that already has data', async () => {
    const dir = tempDir();
    const data = path.join(dir, 'data');
    expect((await runCli(['init', '--master-key-file', path.join(dir, 'first.key'), '--data-dir', data], { cwd: dir })).code).toBe(0);
    const other = path.join(dir, 'other.key');
    const r = await runCli(['init', '--master-key-file', other, '--data-dir', data], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not exist');
    expect(fs.existsSync(other)).toBe(false);
  });

  it('serve refuses a missing explicit key, creates nothing, and says how to create one', async () => {
    const dir = tempDir();
    const keyFile = path.join(dir, 'missing.key');
    const data = path.join(dir, 'data');
    const r = await runCli(['serve', '--master-key-file', keyFile, '--data-dir', data, '--port', '0'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`--master-key-file ${keyFile} does not exist`);
    expect(r.stderr).toContain(`tessera init --master-key-file ${keyFile}`);
    expect(fs.existsSync(keyFile)).toBe(false);
    expect(fs.existsSync(data)).toBe(false);
  });
});
