import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, SEED_MAX, deriveSeed, offsetSeed } from '../../src/util/rng.js';
import * as v from '../../src/util/validate.js';
import { REPO, SAMPLES, tempDir } from '../helpers/env.js';
import { loadDataset, makeSplit } from '../../src/data/index.js';
import { generate } from '../../src/dcgan/index.js';
import { runPipeline } from '../../src/pipeline/index.js';
import { initBackend } from '../../src/engine/index.js';

const tmp = tempDir('cellgan-seed-');
beforeAll(async () => { await initBackend('wasm'); });
afterAll(() => tmp.cleanup());

describe('deriveSeed (util/rng)', () => {
  it('keeps every stream as it was before it existed (values taken from the code before the change)', () => {
    // Rng.fork: the parent's state, then the labels.
    expect(new Rng(5).fork('train').nextUint32()).toBe(2679876983);
    expect(new Rng(5).fork('color', 'a.png', 2).nextUint32()).toBe(1443962267);
    expect(new Rng(SEED_MAX).fork('x').nextUint32()).toBe(3929221132);
    // The `label/${seed}` keys and generate's (seed, class, index) noise.
    expect(new Rng(deriveSeed('kid', 3)).nextUint32()).toBe(248535572);
    expect(new Rng(deriveSeed(7, 'basophil', 4)).nextUint32()).toBe(2798011271);
  });

  it('joins its parts with "/" in the order given, and different parts give different streams', () => {
    expect(deriveSeed('bootstrap', 0)).toBe('bootstrap/0');
    expect(deriveSeed(1, 'a', 2)).toBe('1/a/2');
    expect(new Rng(deriveSeed('kid', 3)).nextUint32()).not.toBe(new Rng(deriveSeed('kid', 4)).nextUint32());
    expect(() => deriveSeed()).toThrow(/at least one part/);
  });

  it('offsetSeed is seed + k below the top of the range and wraps at it, so a valid seed derives a valid one', () => {
    expect(offsetSeed(0, 1)).toBe(1);
    expect(offsetSeed(2 ** 31 - 1, 1)).toBe(2 ** 31);
    expect(offsetSeed(SEED_MAX - 1, 1)).toBe(SEED_MAX);
    expect(offsetSeed(SEED_MAX, 1)).toBe(0);
    expect(offsetSeed(SEED_MAX, 1_000_000)).toBe(999_999);
    for (const s of [0, 1, SEED_MAX - 1, SEED_MAX]) expect(v.seed(offsetSeed(s, 1))).toBe(offsetSeed(s, 1));
  });
});

describe('one seed range and one workers range (util/validate)', () => {
  it('a seed is an integer from 0 to 2^32 - 1, at both bounds', () => {
    expect(SEED_MAX).toBe(4294967295);
    expect(v.seed(0)).toBe(0);
    expect(v.seed(SEED_MAX)).toBe(SEED_MAX);
    expect(v.seed('12')).toBe(12);
    for (const bad of [-1, SEED_MAX + 1, 1.5, 'x', NaN]) {
      expect(() => v.seed(bad)).toThrow(/Expected an integer between 0 and 4294967295 for --seed/);
    }
    expect(() => v.seed(-1, '--other-seed')).toThrow(/for --other-seed but received -1/);
  });

  it('workers run from 0 to 64', () => {
    expect(v.workers(0)).toBe(0);
    expect(v.workers(64)).toBe(64);
    for (const bad of [-1, 65, 2.5]) expect(() => v.workers(bad)).toThrow(/Expected an integer between 0 and 64 for --workers/);
  });

  it('every command takes the same range: split and generate accept the top seed, and generate the seed the pipeline derives from it', async () => {
    const dataset = await loadDataset(SAMPLES);
    expect((await makeSplit(dataset, { seed: SEED_MAX })).seed).toBe(SEED_MAX);
    await expect(makeSplit(dataset, { seed: SEED_MAX + 1 })).rejects.toThrow(/--seed/);
    const model = path.join(REPO, 'models/pbc-64');
    for (const seed of [SEED_MAX, offsetSeed(SEED_MAX, 1)]) {
      const out = path.join(tmp.dir, `gen-${seed}`);
      const r = await generate({ model, count: 1, className: 'basophil', out, seed });
      expect(r.total).toBe(1);
      expect(JSON.parse((await fs.readFile(path.join(out, 'manifest.jsonl'), 'utf8')).trim()).seed).toBe(seed);
    }
    await expect(generate({ model, count: 1, out: path.join(tmp.dir, 'never'), seed: SEED_MAX + 1 })).rejects.toThrow(/--seed/);
    await expect(runPipeline({ data: SAMPLES, out: path.join(tmp.dir, 'pipe'), budget: 'test', seed: SEED_MAX + 1 })).rejects.toThrow(/--seed/);
    await expect(runPipeline({ data: SAMPLES, out: path.join(tmp.dir, 'pipe'), budget: 'test', workers: 65 })).rejects.toThrow(/--workers/);
  }, 120_000);
});
