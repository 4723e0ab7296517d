/**
 * Writes that never leave a half-written file or folder in place: everything
 * goes to a temporary name beside the target, is flushed, then renamed
 * (rename is atomic within one filesystem). A crash leaves at worst a
 * `*.tmp-*` entry, never a truncated target.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CellganError, describeFsError } from './errors.js';

export function tempNameBeside(target: string, kind = 'tmp'): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename itself durable; some filesystems refuse to open a folder for sync.
  try {
    const h = await fs.open(dir, 'r');
    try { await h.sync(); } finally { await h.close(); }
  } catch { /* best effort */ }
}

/** Writes `data` to `file` atomically (temp file, fsync, rename). */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempNameBeside(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    const h = await fs.open(tmp, 'w');
    try {
      await h.writeFile(data);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, file);
    await fsyncDir(path.dirname(file));
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw new CellganError(`could not write: ${describeFsError(err)}`, { file, cause: err });
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** True when `dir` exists and holds at least one entry. */
export async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return true;
    throw err;
  }
}

/** Refuses to write into an existing non-empty output unless `force`. */
export async function assertWritableOutput(out: string, force: boolean, what = 'output folder'): Promise<void> {
  if (!force && (await isNonEmptyDir(out))) {
    throw new CellganError(`${what} exists and is not empty; pass --force to replace it`, { file: out, exitCode: 1 });
  }
}

/**
 * Builds a folder in a staging place beside `finalDir` and renames it into
 * place only when `build` resolves. On failure or a kill, `finalDir` is
 * untouched (at worst a hidden `.name.tmp-*` folder is left, which
 * `removeStaleStaging` clears on the next run).
 */
export async function buildDirAtomic<T>(finalDir: string, build: (stagingDir: string) => Promise<T>, opts: { force?: boolean } = {}): Promise<T> {
  await assertWritableOutput(finalDir, opts.force ?? false);
  await fs.mkdir(path.dirname(path.resolve(finalDir)), { recursive: true });
  await removeStaleStaging(finalDir);
  const staging = tempNameBeside(path.resolve(finalDir));
  await fs.mkdir(staging);
  let result: T;
  try {
    result = await build(staging);
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  let old: string | undefined;
  try {
    if (await exists(finalDir)) {
      old = tempNameBeside(path.resolve(finalDir), 'old');
      await fs.rename(finalDir, old);
    }
    await fs.rename(staging, finalDir);
    await fsyncDir(path.dirname(path.resolve(finalDir)));
  } catch (err) {
    if (old && !(await exists(finalDir))) await fs.rename(old, finalDir).catch(() => {});
    await fs.rm(staging, { recursive: true, force: true }).catch(() => {});
    throw new CellganError(`could not move the finished output into place: ${describeFsError(err)}`, { file: finalDir, cause: err });
  }
  if (old) await fs.rm(old, { recursive: true, force: true });
  return result;
}

/** Removes staging folders of `target` left by processes that no longer run. */
export async function removeStaleStaging(target: string): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try { names = await fs.readdir(dir); } catch { return; }
  const targetMissing = !(await exists(target));
  for (const name of names) {
    const m = name.startsWith(prefix) ? /\.(tmp|old)-(\d+)-[0-9a-f]+$/.exec(name) : null;
    if (!m || isAlive(Number(m[2]))) continue;
    // A kill between "move the old output aside" and "move the new one in"
    // leaves only the `.old-*` copy: put it back rather than lose it.
    if (m[1] === 'old' && targetMissing && !(await exists(target))) {
      await fs.rename(path.join(dir, name), target).catch(() => {});
      continue;
    }
    await fs.rm(path.join(dir, name), { recursive: true, force: true }).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

export async function exists(p: string): Promise<boolean> {
  try { await fs.access(p); return true; } catch { return false; }
}
