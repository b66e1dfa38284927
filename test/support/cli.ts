import { spawn } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const entry = path.join(repoRoot, 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Node args that run the CLI from source through tsx, as `npm run tessera` does (≈1.8 s of CPU to start). */
export const sourceCliNodeArgs = (args: string[]) => ['--import', import.meta.resolve('tsx'), entry, ...args];

/**
 * Node args that run the CLI in one process: the bundle test/global-setup.ts built from the
 * sources for this run (≈0.5 s of CPU to start), or the sources through tsx when a file runs
 * without that setup.
 */
export const cliNodeArgs = (args: string[]) => {
  const bundle = process.env.TESSERA_TEST_CLI_BUNDLE;
  return bundle ? [bundle, ...args] : sourceCliNodeArgs(args);
};

/**
 * Node's on-disk compile cache for the children, in the run's bundle dir (test/global-setup.ts):
 * compiling the 3.5 MB bundle is a fifth of a child's start, and every child after the first
 * reads the compiled code instead. Node keys each entry by the file's content, so a changed
 * source is compiled afresh. Only Node reads this variable; Tessera never sees it.
 */
export const cliChildEnv = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const cache = process.env.TESSERA_TEST_CLI_COMPILE_CACHE;
  return { PATH: process.env.PATH ?? '', ...(cache ? { NODE_COMPILE_CACHE: cache } : {}), ...env };
};

/** Runs `tessera <args>` in a child process, as an operator would. */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; fromSource?: boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, opts.fromSource ? sourceCliNodeArgs(args) : cliNodeArgs(args), {
      cwd: opts.cwd ?? repoRoot,
      env: cliChildEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Only a guard against a hung child: a loaded machine can take many seconds to start one.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
