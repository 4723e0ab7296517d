/**
 * A pool of worker_threads, each with its own tfjs backend, running one task
 * module (see protocol.ts). Used for data-parallel training on wasm, whose
 * own threading is off under Node: each worker computes gradients on its
 * shard of the batch, the caller averages them and applies the optimizer.
 *
 * Under vitest/tsx the sources are .ts: the worker then first registers
 * tsx's loader (what `--import tsx` does; that flag in a Worker's execArgv
 * is not honoured under vitest on Node 20) and imports the .ts entry; from
 * dist it is the plain .js entry.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallMessage, ReplyMessage, WorkerInit } from './protocol.js';

export interface PoolOptions {
  /** URL (href) of the task module; see moduleUrl(). */
  taskModule: string;
  /** Plain options handed to the task module's createTask in every worker. */
  options: unknown;
  /** Number of workers (default: the number of available cores). */
  size?: number;
  /** tfjs backend inside the workers (default wasm). */
  backend?: string;
}

/** The URL of a sibling module of `base` (an import.meta.url), .ts under tsx/vitest, .js in dist. */
export function moduleUrl(base: string, name: string): string {
  const ext = new URL(base).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, base).href;
}

/** Worker source (CommonJS, eval) that registers tsx's ESM loader, then imports the .ts entry. */
function tsBootstrap(entry: string): string {
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  return `(async () => { (await import(${JSON.stringify(api)})).register(); await import(${JSON.stringify(entry)}); })()
  .catch((e) => require('node:worker_threads').parentPort.postMessage({ ready: false, error: String((e && e.stack) || e) }));`;
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void }

export class WorkerPool {
  readonly size: number;
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(size: number) { this.size = size; }

  /** Starts the workers and waits until each has initialised its backend and task. */
  static async create(opts: PoolOptions): Promise<WorkerPool> {
    const size = opts.size ?? Math.max(1, os.availableParallelism());
    if (!Number.isInteger(size) || size < 1) throw new Error(`WorkerPool: size must be an integer ≥ 1, got ${size}`);
    const pool = new WorkerPool(size);
    const workerUrl = new URL(moduleUrl(import.meta.url, 'worker'));
    const isTs = workerUrl.pathname.endsWith('.ts');
    const ready: Promise<void>[] = [];
    for (let index = 0; index < size; index++) {
      const workerData: WorkerInit = { taskModule: opts.taskModule, options: opts.options, backend: opts.backend ?? 'wasm', index, count: size };
      const worker = isTs
        ? new Worker(tsBootstrap(workerUrl.href), { eval: true, workerData, execArgv: [] })
        : new Worker(workerUrl, { workerData });
      pool.workers.push(worker);
      ready.push(new Promise<void>((resolve, reject) => {
        const onFirst = (msg: ReplyMessage) => {
          if ('ready' in msg) {
            worker.off('message', onFirst);
            if (msg.ready) resolve(); else reject(new Error(`worker ${index} failed to start: ${msg.error}`));
          }
        };
        worker.on('message', onFirst);
        worker.once('error', reject);
      }));
      worker.on('message', (msg: ReplyMessage) => {
        if (!('id' in msg)) return;
        const p = pool.pending.get(msg.id);
        if (!p) return;
        pool.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value); else p.reject(new Error(`worker ${index}: ${msg.error}`));
      });
      worker.on('error', (err) => pool.failAll(err));
      worker.on('exit', (code) => { if (!pool.closed) pool.failAll(new Error(`worker ${index} exited with code ${code}`)); });
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Calls `method` on worker `index`. */
  call<T>(index: number, method: string, payload: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('WorkerPool is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const msg: CallMessage = { id, method, payload };
      this.workers[index].postMessage(msg, transfer);
    });
  }

  /** Calls `method` on every worker, worker i getting payloads[i]; resolves to the results in order. */
  map<T>(method: string, payloads: unknown[], transfers: ArrayBuffer[][] = []): Promise<T[]> {
    if (payloads.length !== this.size) throw new Error(`WorkerPool.map: ${payloads.length} payloads for ${this.size} workers`);
    return Promise.all(payloads.map((p, i) => this.call<T>(i, method, p, transfers[i] ?? [])));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('WorkerPool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

/**
 * The tfjs backend data-parallel workers run (they cannot share the main
 * thread's: each loads its own), and a warning when that is a poor choice:
 * with libtensorflow in the main thread, which already spreads each op over
 * every core, wasm workers are slower than no workers.
 */
export function workerBackendFor(main: { name: string; tfBackend: string }, workers: number): { backend: 'wasm' | 'cpu'; warning?: string } {
  const backend = main.tfBackend === 'cpu' ? 'cpu' : 'wasm';
  const warning = workers > 0 && main.tfBackend.startsWith('tensorflow')
    ? `--workers ${workers}: the workers compute on wasm, not on ${main.name}, which already uses every core; --workers 0 is faster here`
    : undefined;
  return { backend, warning };
}
