import { afterEach, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildDirAtomic, removeStaleStaging, writeFileAtomic } from '../../src/util/atomic.js';
import { tempDir } from '../helpers/env.js';

// A pid that cannot be running (above the kernel's pid_max limit).
const DEAD_PID = 4_194_305;
let cleanup = () => {};
afterEach(() => cleanup());

describe('atomic writes', () => {
  it('writeFileAtomic leaves only the finished file', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const f = path.join(t.dir, 'sub', 'a.json');
    await writeFileAtomic(f, '{"x":1}');
    expect(await fs.readFile(f, 'utf8')).toBe('{"x":1}');
    expect(await fs.readdir(path.dirname(f))).toEqual(['a.json']);
  });

  it('buildDirAtomic refuses a non-empty output without force and leaves nothing when the build fails', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const out = path.join(t.dir, 'out');
    await fs.mkdir(out); await fs.writeFile(path.join(out, 'keep.txt'), 'old');
    await expect(buildDirAtomic(out, async () => {})).rejects.toThrow(/not empty; pass --force/);
    await expect(buildDirAtomic(out, async (d) => { await fs.writeFile(path.join(d, 'half'), 'x'); throw new Error('boom'); }, { force: true })).rejects.toThrow('boom');
    expect(await fs.readdir(t.dir)).toEqual(['out']);
    expect(await fs.readFile(path.join(out, 'keep.txt'), 'utf8')).toBe('old');
    await buildDirAtomic(out, async (d) => { await fs.writeFile(path.join(d, 'new.txt'), 'new'); }, { force: true });
    expect(await fs.readdir(out)).toEqual(['new.txt']);
    expect(await fs.readdir(t.dir)).toEqual(['out']);
  });

  it('restores the old output when a kill fell between its two renames, and clears dead staging', async () => {
    const t = tempDir(); cleanup = t.cleanup;
    const out = path.join(t.dir, 'out');
    const old = path.join(t.dir, `.out.old-${DEAD_PID}-abcd1234`);
    const staging = path.join(t.dir, `.out.tmp-${DEAD_PID}-abcd1234`);
    await fs.mkdir(old); await fs.writeFile(path.join(old, 'keep.txt'), 'old');
    await fs.mkdir(staging); await fs.writeFile(path.join(staging, 'half'), 'x');
    await removeStaleStaging(out);
    expect(await fs.readdir(t.dir)).toEqual(['out']);
    expect(await fs.readFile(path.join(out, 'keep.txt'), 'utf8')).toBe('old');
  });
});
