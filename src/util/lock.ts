/**
 * Lock files that work across processes and machines sharing a filesystem
 * (e.g. Slurm array tasks or Kubernetes pods on one NFS/PVC folder), and that
 * a crash cannot leave held for ever.
 *
 * A lock is a small JSON file (`cellgan-lock/1`): the holder's pid, hostname,
 * a random token, when it was taken and a heartbeat time the holder rewrites
 * every `heartbeatMs` (15 s). It is created atomically (written beside the
 * target, then hard-linked to the lock name, which fails if the name exists).
 *
 * A lock is **stale** when
 * - its hostname is this machine's and no process with its pid runs here
 *   (a killed or crashed holder on the same host: recognised at once), or
 * - its heartbeat is older than `staleMs` (2 min): a holder on another machine
 *   that died, or a process that no longer runs its event loop. The machines'
 *   clocks must agree to well within that window (NTP does on clusters).
 *
 * A stale lock is taken over: renamed aside (only one process can rename
 * it), checked to be the very lock judged stale, deleted, and then the lock
 * is created again as usual. A holder checks at every heartbeat that the
 * file still carries its token and reports a lost lock through `onLost`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CellganError } from './errors.js';

export const LOCK_FORMAT = 'cellgan-lock/1';
/** How often a holder rewrites its heartbeat. */
export const LOCK_HEARTBEAT_MS = 15_000;
/** A lock whose heartbeat is older than this is stale. */
export const LOCK_STALE_MS = 120_000;

export interface LockInfo {
  format: typeof LOCK_FORMAT;
  pid: number;
  hostname: string;
  token: string;
  /** What holds it, for people reading an error (e.g. "cellgan pipeline shard 1/4"). */
  owner: string;
  started: string;
  heartbeat: string;
}

export interface LockOptions {
  /** Written into the lock for messages. */
  owner?: string;
  /** Wait for a live holder (polling) instead of failing with LockHeldError. */
  wait?: boolean;
  /** Poll interval while waiting (ms). */
  pollMs?: number;
  heartbeatMs?: number;
  staleMs?: number;
  /** Called once when it has to wait for a live holder. */
  onWait?: (holder: LockInfo | undefined) => void;
  /** Called when a stale lock is taken over, with the reason. */
  onStale?: (holder: LockInfo | undefined, reason: string) => void;
  /** Called when the holder finds at a heartbeat that its lock was taken from it. */
  onLost?: () => void;
  signal?: AbortSignal;
}

export interface Lock {
  readonly file: string;
  readonly info: LockInfo;
  /** Removes the lock if it is still this holder's (idempotent). */
  release(): Promise<void>;
}

/** A live process holds the lock (and `wait` was not set). */
export class LockHeldError extends CellganError {
  constructor(readonly lockFile: string, readonly holder: LockInfo | undefined, what: string) {
    super(`${what} (${describeHolder(holder)})`, { file: path.dirname(lockFile) });
    this.name = 'LockHeldError';
  }
}

export function describeHolder(h: LockInfo | undefined): string {
  if (!h) return 'lock file unreadable';
  const age = Math.round((Date.now() - Date.parse(h.heartbeat)) / 1000);
  return `${h.owner}, pid ${h.pid} on ${h.hostname}, last heartbeat ${age} s ago`;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Reads a lock file; undefined when absent, `'corrupt'` when it is not a lock. */
export async function readLock(file: string): Promise<LockInfo | undefined | 'corrupt'> {
  let text: string;
  try { text = await fs.readFile(file, 'utf8'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (info?.format === LOCK_FORMAT && typeof info.token === 'string' && typeof info.pid === 'number') return info;
  } catch { /* fall through */ }
  return 'corrupt';
}

/**
 * Why `info` is stale, or undefined when its holder must be presumed alive.
 * `mtimeMs` is used for a file that is not a readable lock.
 */
export function staleReason(info: LockInfo | 'corrupt', opts: { now?: number; staleMs?: number; mtimeMs?: number; hostname?: string } = {}): string | undefined {
  const now = opts.now ?? Date.now();
  const staleMs = opts.staleMs ?? LOCK_STALE_MS;
  if (info === 'corrupt') {
    const age = now - (opts.mtimeMs ?? now);
    return age > staleMs ? `not a readable lock and ${Math.round(age / 1000)} s old` : undefined;
  }
  if (info.hostname === (opts.hostname ?? os.hostname()) && !processAlive(info.pid)) return `process ${info.pid} no longer runs on ${info.hostname}`;
  const age = now - Date.parse(info.heartbeat);
  if (!(age <= staleMs)) return `no heartbeat for ${Math.round(age / 1000)} s (stale after ${Math.round(staleMs / 1000)} s)`;
  return undefined;
}

async function createExclusive(file: string, info: LockInfo): Promise<boolean> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.new-${info.token}`);
  await fs.writeFile(tmp, JSON.stringify(info) + '\n');
  try {
    await fs.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Moves a lock judged stale out of the way (putting back a fresh one moved by mistake). */
async function removeStale(file: string, judged: LockInfo | 'corrupt', token: string): Promise<void> {
  const aside = path.join(path.dirname(file), `.${path.basename(file)}.stale-${token}`);
  try { await fs.rename(file, aside); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it first
    throw err;
  }
  const moved = await readLock(aside);
  const same = moved === judged || (typeof moved === 'object' && typeof judged === 'object' && moved.token === judged.token);
  if (!same) {
    // We moved a lock taken in the meantime: put it back unless yet another appeared.
    await fs.link(aside, file).catch(() => {});
  }
  await fs.rm(aside, { force: true });
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

/** Takes the lock `file` (see the module comment). */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<Lock> {
  const heartbeatMs = opts.heartbeatMs ?? LOCK_HEARTBEAT_MS;
  const staleMs = opts.staleMs ?? LOCK_STALE_MS;
  const token = randomBytes(8).toString('hex');
  const started = new Date().toISOString();
  const info: LockInfo = { format: LOCK_FORMAT, pid: process.pid, hostname: os.hostname(), token, owner: opts.owner ?? 'cellgan', started, heartbeat: started };
  await fs.mkdir(path.dirname(file), { recursive: true });
  let waited = false;
  for (;;) {
    if (opts.signal?.aborted) throw new CellganError(`stopped while waiting for the lock ${file}`, { exitCode: 130 });
    info.heartbeat = new Date().toISOString();
    if (await createExclusive(file, info)) break;
    const holder = await readLock(file);
    if (holder === undefined) continue; // released in between
    const st = holder === 'corrupt' ? await fs.stat(file).catch(() => undefined) : undefined;
    const reason = staleReason(holder, { staleMs, mtimeMs: st?.mtimeMs });
    if (reason) {
      opts.onStale?.(holder === 'corrupt' ? undefined : holder, reason);
      await removeStale(file, holder, token);
      continue;
    }
    if (!opts.wait) throw new LockHeldError(file, holder === 'corrupt' ? undefined : holder, 'locked by another process');
    if (!waited) { waited = true; opts.onWait?.(holder === 'corrupt' ? undefined : holder); }
    await sleep(opts.pollMs ?? 1000, opts.signal);
  }

  let released = false;
  let beat: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (beat || released) return;
    beat = (async () => {
      const now = await readLock(file).catch(() => undefined);
      if (released) return;
      if (typeof now !== 'object' || now.token !== token) {
        clearInterval(timer);
        opts.onLost?.();
        return;
      }
      info.heartbeat = new Date().toISOString();
      const tmp = path.join(path.dirname(file), `.${path.basename(file)}.beat-${token}`);
      await fs.writeFile(tmp, JSON.stringify(info) + '\n');
      await fs.rename(tmp, file);
    })().catch(() => { /* a missed beat is retried at the next one */ }).finally(() => { beat = undefined; });
  }, heartbeatMs);
  timer.unref();

  return {
    file,
    info,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await beat;
      const now = await readLock(file).catch(() => undefined);
      if (typeof now === 'object' && now.token === token) await fs.rm(file, { force: true });
    },
  };
}
