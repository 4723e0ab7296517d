/** checkImages remembers results per file, but never past a change to the file. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspect } from '../../src/data/index.js';
import { tempDir } from '../helpers/env.js';
import { noiseImage } from './corpus.js';

const tmp = tempDir('cellgan-data-cache-');
afterAll(() => tmp.cleanup());

describe('check cache', () => {
  it('a file changed between two inspects is checked again', async () => {
    const file = path.join(tmp.dir, 'cls', 'a.jpg');
    await fs.mkdir(path.dirname(file));
    const good = await noiseImage(1, 32, 'jpeg');
    await fs.writeFile(file, good);
    await fs.writeFile(path.join(tmp.dir, 'cls', 'b.jpg'), await noiseImage(2, 32, 'jpeg'));
    const first = await inspect(tmp.dir);
    expect(first.unreadable).toEqual([]);
    expect((await inspect(tmp.dir)).unreadable).toEqual([]);
    await fs.writeFile(file, good.subarray(0, good.length - 40)); // cut off the end
    const second = await inspect(tmp.dir);
    expect(second.unreadable).toEqual([{ file: 'cls/a.jpg', reason: 'truncated JPEG (no end-of-image marker)' }]);
    await fs.writeFile(file, await fs.readFile(path.join(tmp.dir, 'cls', 'b.jpg')));
    expect((await inspect(tmp.dir)).duplicates).toEqual([['cls/a.jpg', 'cls/b.jpg']]);
  });
});
