import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Every server the bench starts, so none outlives it even when it dies half-way. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ChildServerSpec {
  /** shown in errors */
  name: string;
  /** TypeScript entry point, relative to the repository root */
  script: string;
  args: string[];
  port: number;
  /** path that answers 200 once the server can take load */
  readyPath: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
  /** extra node flags before the script, e.g. --cpu-prof */
  nodeArgs?: string[];
}

export interface ChildServer {
  name: string;
  pid: number;
  /** http://127.0.0.1:PORT, no trailing slash */
  url: string;
  /** SIGTERM, then SIGKILL if it has not exited within graceMs. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** A port the kernel just handed out on 127.0.0.1; free again by the time this resolves. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * Runs the script in one node process (tsx as a loader, not its CLI, which would add a wrapper
 * process between us and the server) so that killing the child kills the server.
 */
export async function startChildServer(spec: ChildServerSpec): Promise<ChildServer> {
  const child = spawn(process.execPath, [...(spec.nodeArgs ?? []), '--import', 'tsx', spec.script, ...spec.args], {
    cwd: repoRoot,
    env: spec.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  // Keep only the tail: it goes into error messages, and the pipes must be drained regardless.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => live.delete(child));

  const url = `http://127.0.0.1:${spec.port}`;
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitReady(`${url}${spec.readyPath}`, exited, spec.readyTimeoutMs ?? 30_000);
  } catch (e) {
    await stop(1000);
    const tail = output.trim() ? `\n--- ${spec.name} output ---\n${output.trim()}` : '';
    throw new Error(`${spec.name} did not become ready: ${(e as Error).message}${tail}`);
  }
  if (child.pid === undefined) throw new Error(`${spec.name} has no pid`);
  return { name: spec.name, pid: child.pid, url, stop };
}

async function waitReady(url: string, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (gone) throw new Error('it exited during startup');
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `GET ${url} answered ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms (${last})`);
}
