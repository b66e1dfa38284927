import { type Transferable, Worker } from 'node:worker_threads';
import { isSingleBinary, readAsset } from './assets.ts';

/**
 * Request/reply over a worker thread: each request gets an id, the worker answers
 * `{ id, ...result }` or `{ id, error, code? }`, and says `{ ready: true }` once it is set up. The
 * worker is a file of erasable TypeScript (Node strips the types itself; tsx's loader is not
 * needed) or, in the single binary, its bundle stored as an asset and run as code.
 */
export class WorkerRpc<Req extends object, Res extends object> {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Res) => void; reject: (e: Error) => void }>();
  private closed = false;
  private dead: Error | undefined;

  /** `entry` is only called outside the single binary, whose bundle has no import.meta.url. */
  constructor(entry: () => URL, assetKey: string, workerData?: unknown) {
    this.worker = isSingleBinary() ? new Worker(readAsset(assetKey).toString('utf8'), { eval: true, workerData }) : new Worker(entry(), { workerData, execArgv: [] });
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if ((m as { ready?: boolean }).ready) {
          this.worker.off('error', onError);
          resolve();
        }
      };
      const onError = (e: Error) => reject(e);
      this.worker.once('message', onMessage);
      this.worker.once('error', onError);
    });
    this.worker.on('message', (m: { id?: number; error?: string; code?: string }) => {
      if (m.id === undefined) return;
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (!w) return;
      // The code (SQLITE_FULL, ENOSPC) decides how the caller reacts, so it crosses the thread too.
      if (m.error !== undefined) w.reject(Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code }));
      else w.resolve(m as unknown as Res);
    });
    this.worker.on('error', (e) => this.fail(e));
    // A worker that is gone answers nothing: what waits, and whatever is asked later, fails.
    this.worker.on('exit', (code) => this.fail(new Error(`worker exited (code ${code})`)));
    // It must not keep the process alive on its own.
    this.worker.unref();
  }

  /** Resolves once the worker is set up (its start-up failure rejects). */
  started(): Promise<void> {
    return this.ready;
  }

  /** Set once the worker failed or exited: every later call rejects with it. */
  get failure(): Error | undefined {
    return this.dead;
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /**
   * With a signal, an abort rejects the call at once and tells the worker `{ cancel: id }`; what
   * the worker answers after that is dropped.
   */
  async call(req: Req, transfer: Transferable[] = [], signal?: AbortSignal): Promise<Res> {
    await this.ready;
    if (this.closed) throw new Error('worker is closed');
    if (this.dead) throw this.dead;
    signal?.throwIfAborted();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.waiting.delete(id)) return;
        this.worker.postMessage({ cancel: id });
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const settle = <T>(f: (v: T) => void) => (v: T) => {
        signal?.removeEventListener('abort', onAbort);
        f(v);
      };
      this.waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.values()) w.reject(new Error('worker is closed'));
    this.waiting.clear();
    await this.worker.terminate();
  }
}
