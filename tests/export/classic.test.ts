import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  allocate, applyTransform, drawTransform, geometriesFor, parseMix, parseTransform, planExport, transformToString, variantsPerImage,
  type AugmentKind, type SyntheticImage,
} from '../../src/export/index.js';
import { Rng } from '../../src/util/rng.js';
import type { DatasetItem } from '../../src/data/types.js';

/** A 2×3 RGB image whose red channel numbers the pixels row by row (0..5), so any mirror or turn is visible. */
async function numbered(): Promise<Buffer> {
  const px = Buffer.alloc(2 * 3 * 3);
  for (let i = 0; i < 6; i++) px[i * 3] = i * 40;
  return sharp(px, { raw: { width: 3, height: 2, channels: 3 } }).png().toBuffer();
}
async function reds(png: Buffer): Promise<{ w: number; h: number; r: number[] }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const r: number[] = [];
  for (let i = 0; i < info.width * info.height; i++) r.push(Math.round(data[i * info.channels] / 40));
  return { w: info.width, h: info.height, r };
}

describe('classic augmentation', () => {
  it('lists each distinct geometry once for each combination of kinds', () => {
    const key = (k: AugmentKind[]) => geometriesFor(k).map((g) => transformToString(g));
    expect(key(['flip'])).toEqual(['flipH', 'flipV', 'flipH+flipV']);
    expect(key(['rot90'])).toEqual(['rot90', 'rot180', 'rot270']);
    expect(key(['flip', 'rot90'])).toHaveLength(7); // the square's symmetry group minus the identity
    expect(new Set(key(['flip', 'rot90'])).size).toBe(7);
    expect(key(['color'])).toEqual(['identity']);
    expect(variantsPerImage(['flip', 'rot90'])).toBe(7);
    expect(variantsPerImage(['color'])).toBe(Infinity);
    expect(variantsPerImage([])).toBe(0);
  });

  it('mirrors and turns the pixels as the transform string says (mirror first, then clockwise turn)', async () => {
    const src = await numbered(); // rows [0 1 2] [3 4 5]
    expect(await reds(await applyTransform(src, parseTransform('flipH')))).toEqual({ w: 3, h: 2, r: [2, 1, 0, 5, 4, 3] });
    expect(await reds(await applyTransform(src, parseTransform('flipV')))).toEqual({ w: 3, h: 2, r: [3, 4, 5, 0, 1, 2] });
    expect(await reds(await applyTransform(src, parseTransform('rot90')))).toEqual({ w: 2, h: 3, r: [3, 0, 4, 1, 5, 2] });
    expect(await reds(await applyTransform(src, parseTransform('flipH+rot90')))).toEqual({ w: 2, h: 3, r: [5, 2, 4, 1, 3, 0] });
  });

  it('colour shifts stay mild, are seeded, and round-trip through their string', async () => {
    const kinds: AugmentKind[] = ['color'];
    const a = drawTransform(kinds, geometriesFor(kinds), 0, new Rng('x'));
    const b = drawTransform(kinds, geometriesFor(kinds), 0, new Rng('x'));
    expect(a).toEqual(b);
    for (let i = 0; i < 200; i++) {
      const t = drawTransform(kinds, geometriesFor(kinds), i, new Rng(i));
      expect(Math.abs(t.color!.brightness - 1)).toBeLessThanOrEqual(0.1 + 1e-9);
      expect(Math.abs(t.color!.saturation - 1)).toBeLessThanOrEqual(0.1 + 1e-9);
      expect(Math.abs(t.color!.hue)).toBeLessThanOrEqual(8);
      expect(parseTransform(transformToString(t))).toEqual(t);
    }
    // Same transform, same bytes; different transform, different bytes.
    const src = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 180, g: 90, b: 150 } } }).png().toBuffer();
    const t = parseTransform('rot90+color(b=1.05,s=0.93,h=-6)');
    expect((await applyTransform(src, t)).equals(await applyTransform(src, t))).toBe(true);
    expect((await applyTransform(src, t)).equals(await applyTransform(src, parseTransform('rot90')))).toBe(false);
  });
});

describe('mix and plan', () => {
  it('parses --mix and rejects anything else with a sharp-style message', () => {
    expect(parseMix('ratio:0.25')).toEqual({ kind: 'ratio', share: 0.25 });
    expect(parseMix('augment-first')).toEqual({ kind: 'augment-first' });
    expect(() => parseMix('ratio:1.5')).toThrow(/Expected .* for --mix but received "ratio:1.5"/);
    expect(() => parseMix('half')).toThrow(/--mix/);
  });

  it('allocates the missing images by mix, spilling over when one source runs out', () => {
    expect(allocate(10, 4, Infinity, { kind: 'synthetic-first' })).toMatchObject({ synthetic: 4, augmented: 6, short: 0 });
    expect(allocate(10, 40, Infinity, { kind: 'synthetic-first' })).toMatchObject({ synthetic: 10, augmented: 0 });
    expect(allocate(10, 40, 3, { kind: 'augment-first' })).toMatchObject({ synthetic: 7, augmented: 3 });
    expect(allocate(10, 40, 100, { kind: 'ratio', share: 0.3 })).toMatchObject({ synthetic: 3, augmented: 7 });
    expect(allocate(10, 1, 100, { kind: 'ratio', share: 0.5 })).toMatchObject({ synthetic: 1, augmented: 9 });
    expect(allocate(10, 40, 2, { kind: 'ratio', share: 0.5 })).toMatchObject({ synthetic: 8, augmented: 2 });
    expect(allocate(10, 2, 3, { kind: 'synthetic-first' }).short).toBe(5);
  });

  const item = (cls: string, i: number): DatasetItem => ({ file: `${cls}/${i}.jpg`, abs: `/x/${cls}/${i}.jpg`, label: cls });
  const syn = (cls: string, i: number): SyntheticImage => ({ dir: 's', dirIndex: 1, file: `${cls}/${i}.png`, abs: `/s/${cls}/${i}.png`, class: cls });
  const input = (over: Partial<Parameters<typeof planExport>[0]> = {}) => ({
    classes: ['a', 'b', 'c'],
    realTrain: new Map([['a', [0, 1].map((i) => item('a', i))], ['b', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => item('b', i))], ['c', [0, 1, 2, 3].map((i) => item('c', i))]]),
    synthetic: new Map([['a', [0, 1, 2].map((i) => syn('a', i))], ['b', []], ['c', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => syn('c', i))]]),
    perClass: 8 as number | 'max', mix: { kind: 'synthetic-first' } as const, augment: ['flip', 'rot90', 'color'] as AugmentKind[], cap: false, seed: 3,
    ...over,
  });

  it('fills every class to exactly N, keeps big classes whole unless cap, and is seeded', () => {
    const plan = planExport(input());
    const size = (c: (typeof plan.classes)[number]) => c.real.length + c.synthetic.length + c.augmented.length;
    expect(plan.classes.map((c) => c.class === 'b' ? size(c) : size(c))).toEqual([8, 11, 8]);
    expect(plan.classes[0]).toMatchObject({ realAvailable: 2 });
    expect(plan.classes[0].synthetic).toHaveLength(3);
    expect(plan.classes[0].augmented).toHaveLength(3);
    expect(plan.classes[0].notes.join()).toMatch(/only 3 synthetic/);
    expect(JSON.stringify(planExport(input()))).toBe(JSON.stringify(plan));
    expect(JSON.stringify(planExport(input({ seed: 4 })))).not.toBe(JSON.stringify(plan));

    const capped = planExport(input({ cap: true }));
    expect(capped.classes[1].real).toHaveLength(8);
    expect(capped.classes[1].notes.join()).toMatch(/subsample/);

    // Augmenting 2 sources 3 times cycles through them; no (source, use) pair repeats.
    const keys = plan.classes[0].augmented.map((a) => `${a.source.file}#${a.use}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(planExport(input({ perClass: 'max' })).perClass).toBe(11);
  });

  it('refuses, naming each class, when neither synthetic images nor augmentation can reach N', () => {
    expect(() => planExport(input({ augment: [], perClass: 12 }))).toThrow(/cannot reach 12 .*a needs 10 more image\(s\) but only 3 .*augmentation off.*b needs 1 more/);
    // Without colour, each real image has 7 distinct variants: a (2 real) can get at most 14 + 3 synthetic.
    expect(() => planExport(input({ augment: ['flip', 'rot90'], perClass: 20 }))).toThrow(/a needs 18 more image\(s\) but only 17/);
  });
});
