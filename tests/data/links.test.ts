/** Symbolic links inside the data root: followed to files, never to folders, broken ones reported. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect } from '../../src/data/index.js';
import { tempDir } from '../helpers/env.js';
import { noiseImage } from './corpus.js';

const tmp = tempDir('cellgan-data-links-');
afterAll(() => tmp.cleanup());

describe('links inside the root', () => {
  it('a link to a file inside counts (and is a duplicate of its target); folder links, loops and broken links are reported', async () => {
    const root = path.join(tmp.dir, 'data');
    await fs.mkdir(path.join(root, 'a', 'sub'), { recursive: true });
    await fs.writeFile(path.join(root, 'a', 'one.png'), await noiseImage(1, 8));
    await fs.symlink('one.png', path.join(root, 'a', 'alias.png'));
    await fs.symlink('gone.png', path.join(root, 'a', 'broken.png'));
    await fs.symlink('..', path.join(root, 'a', 'sub', 'up')); // a loop if followed
    await fs.symlink('a', path.join(root, 'b')); // a class folder that is a link to another class
    const r = await inspect(root);
    expect(r.classes).toEqual({ a: 2 });
    expect(r.duplicates).toEqual([['a/alias.png', 'a/one.png']]);
    const skipped = Object.fromEntries(r.skipped.map((s) => [s.file, s.reason]));
    expect(skipped['a/broken.png']).toBe('broken symbolic link');
    expect(skipped['a/sub/up']).toMatch(/link to a folder, not followed/);
    expect(skipped['b/']).toBe('symbolic link to a folder, not followed');
  });
});
