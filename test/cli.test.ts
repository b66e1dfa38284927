import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliNodeArgs, runCli } from './support/cli.ts';
import { hashTree, tempDir } from './support/temp.ts';

describe('tessera CLI', () => {
  it('rejects an invalid flag value with one line naming the flag, exit 2', async () => {
    const r = await runCli(['serve', '--port', 'notaport']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^tessera: invalid value for --port: /);
  });

  it('says what a valid bucket name is when --backup-s3-url has a bad one', async () => {
    for (const url of ['s3://bk/site', 's3://Tessera/site', 'https://bucket/site']) {
      const r = await runCli(['serve', '--backup-s3-url', url]);
      expect(r.code, url).toBe(2);
      expect(r.stderr).toBe('tessera: invalid value for --backup-s3-url: must be s3://bucket or s3://bucket/prefix (bucket: 3–63 lowercase letters, digits, . and -; prefix: letters, digits, . _ - and /)\n');
    }
  });

  it('names the env var when the bad value came from the environment', async () => {
    const r = await runCli(['serve'], { env: { TESSERA_PORT: '99999' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tessera: invalid value for TESSERA_PORT: /);
    const lvl = await runCli(['init'], { env: { TESSERA_LOG_LEVEL: 'loud' } });
    expect(lvl.code).toBe(2);
    expect(lvl.stderr).toContain('TESSERA_LOG_LEVEL');
  });

  it('has --help for every command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['serve', 'init', 'migrate', 'doctor', 'keys']) expect(top.stdout).toContain(c);
    for (const args of [['serve', '--help'], ['init', '--help'], ['migrate', '--help'], ['doctor', '--help'], ['keys', 'status', '--help']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: tessera');
    }
    const serve = await runCli(['serve', '--help']);
    expect(serve.stdout).toContain('TESSERA_MASTER_KEY_FILE');
    expect(serve.stdout).toContain('--trust-proxy');
  });

  it('init, keys status, doctor, migrate on a fresh directory', async () => {
    const dir = tempDir();
    // From the sources through tsx once, as `npm run tessera` runs it; the rest use the run's bundle.
    const init = await runCli(['init'], { cwd: dir, fromSource: true });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('initialised');
    expect(fs.statSync(path.join(dir, 'keys', 'master.key')).mode & 0o777).toBe(0o600);
    const again = await runCli(['init'], { cwd: dir });
    expect(again.stdout).toContain('already initialised; nothing changed');

    const keys = await runCli(['keys', 'status'], { cwd: dir });
    expect(keys.code).toBe(0);
    for (const id of ['db-1', 'backup-1', 'audit-1', 'token-1']) expect(keys.stdout).toContain(id);
    expect(keys.stdout).not.toContain(fs.readFileSync(path.join(dir, 'keys', 'master.key'), 'utf8').trim());

    const doc = await runCli(['doctor'], { cwd: dir });
    expect(doc.code).toBe(0);
    expect(doc.stdout).toMatch(/OK {3}integrity_check: ok/);
    expect(doc.stdout).toMatch(/OK {3}schema version/);
    expect(doc.stdout).toMatch(/free disk: [\d.]+ GiB free/);

    const mig = await runCli(['migrate'], { cwd: dir });
    expect(mig.code).toBe(0);
    expect(mig.stdout).toContain('schema is up to date');

    // Plaintext outbound channels: a warning for one the flag allows, a note for one on loopback.
    const plain = await runCli(['doctor', '--smtp-url', 'smtp://u:hunter2@mail.example.org:587', '--allow-insecure-transport', 'smtp'], {
      cwd: dir,
      env: { TESSERA_SMS_URL: 'http://127.0.0.1:8099/Messages.json', TESSERA_SMS_ACCOUNT_SID: 'AC0123', TESSERA_SMS_AUTH_TOKEN: 'sms-token-123', TESSERA_SMS_FROM: '+15005550006' },
    });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^WARN outbound TLS: smtp to mail\.example\.org:587 may run without TLS \(allowed by --allow-insecure-transport=smtp\)$/m);
    expect(plain.stdout).toMatch(/^OK {3}outbound TLS: sms to 127\.0\.0\.1:8099 is plain HTTP on loopback \(never leaves this machine\)$/m);
    expect(plain.stdout).not.toContain('hunter2');
    expect(doc.stdout).toMatch(/^OK {3}outbound TLS: no plaintext channel configured$/m);

    fs.chmodSync(path.join(dir, 'keys', 'master.key'), 0o644);
    const bad = await runCli(['doctor'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL master key file: .*readable by others/);
  });

  it('a wrong master key stops with one line, exit 1, and modifies nothing', async () => {
    const dir = tempDir();
    expect((await runCli(['init'], { cwd: dir })).code).toBe(0);
    const other = path.join(dir, 'other.key');
    fs.writeFileSync(other, randomBytes(32).toString('hex'), { mode: 0o600 });
    const before = await hashTree(path.join(dir, 'data'));
    for (const cmd of [['serve'], ['migrate'], ['keys', 'status']]) {
      const r = await runCli([...cmd, '--master-key-file', other], { cwd: dir });
      expect(r.code, cmd.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^tessera: wrong master key/);
    }
    expect(await hashTree(path.join(dir, 'data'))).toEqual(before);
  });

  it('migrate without a data dir tells the operator to run init', async () => {
    const dir = tempDir();
    const r = await runCli(['migrate'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `tessera init` first');
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('serve prints the setup link, and SIGTERM shuts down cleanly with exit 0', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, cliNodeArgs(['serve', '--port', '0', '--log-level', 'warn']), {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /Tessera is running at (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
    });
    expect(out).toMatch(/\/setup\?token=[A-Za-z0-9_-]{43}/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    // Checkpointed on the way out: the WAL holds nothing.
    const wal = path.join(dir, 'data', 'tessera.db-wal');
    expect(!fs.existsSync(wal) || fs.statSync(wal).size === 0).toBe(true);
  });
});
