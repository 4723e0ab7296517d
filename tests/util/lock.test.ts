import { afterEach, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { acquireLock, LockHeldError, LOCK_FORMAT, readLock, type LockInfo } from '../../src/util/lock.js';
import { REPO, tempDir } from '../helpers/env.js';

let cleanup = () => {};
afterEach(() => cleanup());

function fakeLock(over: Partial<LockInfo>): LockInfo {
  const t = new Date().toISOString();
  return { format: LOCK_FORMAT, pid: process.pid, hostname: os.hostname(), token: 'feedfacefeedface', owner: 'test', started: t, heartbeat: t, ...over };
}

/** A child process that takes the lock, says so, then idles until killed. */
function holderProcess(file: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `import { acquireLock } from ${JSON.stringify(path.join(REPO, 'src/util/lock.ts'))};
await acquireLock(${JSON.stringify(file)}, { owner: 'child' }); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      if (String(d).includes('locked')) {
        resolve({
          pid: child.pid!,
          kill: () => new Promise((r) => { child.on('exit', () => r()); child.kill('SIGKILL'); }),
        });
      }
    });
  });
}

describe('lock files (pid + hostname + heartbeat)', () => {
  it('refuses a second holder naming the first, and is free again after release', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const file = path.join(t.dir, 'a.lock');
    const a = await acquireLock(file, { owner: 'first' });
    const err = await acquireLock(file, { owner: 'second' }).catch((e) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect(String(err.message)).toMatch(new RegExp(`first, pid ${process.pid} on ${os.hostname()}`));
    await a.release();
    expect(await readLock(file)).toBeUndefined();
    const b = await acquireLock(file);
    await b.release();
    expect(await fs.readdir(t.dir)).toEqual([]);
  });

  it('a lock left by a killed process on this host is recognised as stale at once and taken over', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const file = path.join(t.dir, 'run.lock');
    const child = await holderProcess(file);
    const held = await readLock(file);
    expect(held).toMatchObject({ pid: child.pid, hostname: os.hostname(), owner: 'child' });
    // alive: refused
    await expect(acquireLock(file)).rejects.toBeInstanceOf(LockHeldError);
    await child.kill(); // kill -9: no chance to clean up
    expect(await readLock(file)).toMatchObject({ pid: child.pid });
    const reasons: string[] = [];
    const lock = await acquireLock(file, { onStale: (_h, r) => reasons.push(r) });
    expect(reasons).toEqual([`process ${child.pid} no longer runs on ${os.hostname()}`]);
    expect(await readLock(file)).toMatchObject({ pid: process.pid, token: lock.info.token });
    await lock.release();
  });

  it('a lock of another host counts as alive while its heartbeat is fresh and as stale after staleMs', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const file = path.join(t.dir, 'run.lock');
    await fs.writeFile(file, JSON.stringify(fakeLock({ hostname: 'node-17.cluster', pid: 1 })));
    await expect(acquireLock(file, { staleMs: 60_000 })).rejects.toThrow(/pid 1 on node-17\.cluster/);
    const old = new Date(Date.now() - 61_000).toISOString();
    await fs.writeFile(file, JSON.stringify(fakeLock({ hostname: 'node-17.cluster', pid: 1, heartbeat: old })));
    const reasons: string[] = [];
    const lock = await acquireLock(file, { staleMs: 60_000, onStale: (_h, r) => reasons.push(r) });
    expect(reasons[0]).toMatch(/^no heartbeat for 6\d s/);
    await lock.release();
  });

  it('the holder\'s heartbeat keeps its lock fresh; without it the lock goes stale', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    // Written as if by another host, so only the heartbeat can keep it alive.
    const beating = await acquireLock(path.join(t.dir, 'b.lock'), { heartbeatMs: 40 });
    const silent = await acquireLock(path.join(t.dir, 's.lock'), { heartbeatMs: 60_000 });
    await new Promise((r) => setTimeout(r, 400));
    const opts = { staleMs: 250, wait: false };
    for (const name of ['b.lock', 's.lock']) {
      const info = (await readLock(path.join(t.dir, name))) as LockInfo;
      await fs.writeFile(path.join(t.dir, name), JSON.stringify({ ...info, hostname: 'elsewhere' }));
    }
    await expect(acquireLock(path.join(t.dir, 'b.lock'), opts)).rejects.toBeInstanceOf(LockHeldError);
    const taken = await acquireLock(path.join(t.dir, 's.lock'), opts);
    await Promise.all([beating.release(), silent.release(), taken.release()]);
  });

  it('wait: true waits for a live holder to release; a holder whose lock is replaced is told it lost it', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const file = path.join(t.dir, 'w.lock');
    let lost = false;
    const a = await acquireLock(file, { heartbeatMs: 30, onLost: () => { lost = true; } });
    let waited = false;
    const pending = acquireLock(file, { wait: true, pollMs: 20, onWait: () => { waited = true; } });
    await new Promise((r) => setTimeout(r, 150));
    expect(waited).toBe(true);
    await a.release();
    const b = await pending;
    expect((await readLock(file) as LockInfo).token).toBe(b.info.token);
    // someone else's lock replaces b's: b notices at its next heartbeat (a's onLost is unaffected: it released)
    let bLost = false;
    const c = await acquireLock(path.join(t.dir, 'x.lock'), { heartbeatMs: 30, onLost: () => { bLost = true; } });
    await fs.writeFile(path.join(t.dir, 'x.lock'), JSON.stringify(fakeLock({ token: 'someoneelse00000' })));
    await new Promise((r) => setTimeout(r, 200));
    expect(bLost).toBe(true);
    expect(lost).toBe(false);
    await Promise.all([b.release(), c.release()]);
    // c's release must not delete the other owner's lock
    expect(await readLock(path.join(t.dir, 'x.lock'))).toMatchObject({ token: 'someoneelse00000' });
  });
});
