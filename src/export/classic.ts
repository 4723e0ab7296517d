/**
 * Classic augmentation of real images with sharp: flips, 90° rotations and a
 * mild brightness/saturation/hue change. Every transform is drawn from a
 * seeded Rng up front and written down as a string, so the same seed gives
 * the same images and the manifest says exactly what was done to each.
 */
import sharp from 'sharp';
import { describeSharpError, openImage } from '../data/image.js';
import type { Rng } from '../util/rng.js';

export const AUGMENT_KINDS = ['flip', 'rot90', 'color'] as const;
export type AugmentKind = (typeof AUGMENT_KINDS)[number];

export interface ColorShift {
  /** Multiplier, e.g. 1.04. */
  brightness: number;
  /** Multiplier, e.g. 0.95. */
  saturation: number;
  /** Degrees, e.g. -6. */
  hue: number;
}

export interface Transform {
  /** Mirror left-right (sharp `flop`). Applied before the rotation. */
  flipH: boolean;
  /** Mirror top-bottom (sharp `flip`). Applied before the rotation. */
  flipV: boolean;
  /** Clockwise degrees. */
  rotate: 0 | 90 | 180 | 270;
  color?: ColorShift;
}

/**
 * How far the colour change may go. Kept mild on purpose: stain colour is a
 * cue for the cell class, so large hue shifts would make images that no
 * longer look like the class they are labelled with.
 */
export const COLOR_LIMITS = { brightness: 0.1, saturation: 0.1, hueDegrees: 8 } as const;

type Geometry = Pick<Transform, 'flipH' | 'flipV' | 'rotate'>;
const g = (flipH: boolean, flipV: boolean, rotate: Transform['rotate']): Geometry => ({ flipH, flipV, rotate });

/**
 * The distinct geometric transforms the chosen kinds allow (elements of the
 * square's symmetry group, each listed once), identity included only when
 * colour is on (then "colour only" is a genuine new image).
 */
export function geometriesFor(kinds: readonly AugmentKind[]): Geometry[] {
  const flip = kinds.includes('flip'), rot = kinds.includes('rot90'), color = kinds.includes('color');
  const out: Geometry[] = [];
  if (color) out.push(g(false, false, 0));
  if (flip) out.push(g(true, false, 0), g(false, true, 0));
  if (rot) out.push(g(false, false, 90), g(false, false, 180), g(false, false, 270));
  if (flip && rot) out.push(g(true, false, 90), g(true, false, 270));
  else if (flip) out.push(g(true, true, 0)); // both mirrors = a half turn; only distinct when rotations are off
  return out;
}

/**
 * How many different augmented images one real image can give: unlimited
 * with colour (continuous parameters), else the number of geometries.
 */
export function variantsPerImage(kinds: readonly AugmentKind[]): number {
  if (kinds.length === 0) return 0;
  return kinds.includes('color') ? Infinity : geometriesFor(kinds).length;
}

/**
 * The `use`-th transform applied to one source image. `order` is that
 * source's own seeded permutation of `geometriesFor(kinds)`, so repeated uses
 * of a source cycle through different geometries before any repeats.
 */
export function drawTransform(kinds: readonly AugmentKind[], order: Geometry[], use: number, rng: Rng): Transform {
  const geometry = order[use % order.length];
  const t: Transform = { ...geometry };
  if (kinds.includes('color')) {
    // Rounded so the recorded string reproduces the image exactly.
    const around1 = (limit: number) => Math.round((1 + (rng.next() * 2 - 1) * limit) * 100) / 100;
    t.color = {
      brightness: around1(COLOR_LIMITS.brightness),
      saturation: around1(COLOR_LIMITS.saturation),
      hue: Math.round((rng.next() * 2 - 1) * COLOR_LIMITS.hueDegrees) || 0, // never -0
    };
  }
  return t;
}

/** e.g. `flipH+rot90+color(b=1.04,s=0.95,h=-6)`; `identity` when nothing applies. */
export function transformToString(t: Transform): string {
  const parts: string[] = [];
  if (t.flipH) parts.push('flipH');
  if (t.flipV) parts.push('flipV');
  if (t.rotate) parts.push(`rot${t.rotate}`);
  if (t.color) parts.push(`color(b=${t.color.brightness},s=${t.color.saturation},h=${t.color.hue})`);
  return parts.length ? parts.join('+') : 'identity';
}

/** Parses what `transformToString` wrote (for tests and for re-running a manifest). */
export function parseTransform(s: string): Transform {
  const t: Transform = { flipH: false, flipV: false, rotate: 0 };
  if (s === 'identity') return t;
  for (const part of s.split('+')) {
    const color = /^color\(b=([\d.]+),s=([\d.]+),h=(-?\d+)\)$/.exec(part);
    if (part === 'flipH') t.flipH = true;
    else if (part === 'flipV') t.flipV = true;
    else if (/^rot(90|180|270)$/.test(part)) t.rotate = Number(part.slice(3)) as Transform['rotate'];
    else if (color) t.color = { brightness: Number(color[1]), saturation: Number(color[2]), hue: Number(color[3]) };
    else throw new Error(`not a transform: ${s}`);
  }
  return t;
}

/** Fixed PNG settings: the same pixels always give the same bytes (no metadata, no timestamps). */
export const PNG_OPTIONS = { compressionLevel: 9, adaptiveFiltering: false, palette: false, progressive: false } as const;

/**
 * Reads any image sharp can decode as 8-bit sRGB without alpha (EXIF
 * orientation applied, transparency flattened onto white like a slide
 * background). Throws an Error with one readable line.
 */
export async function readRgb(input: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const img = await openImage(input); // BMP through bmp-ts, the rest through sharp (one reader in src/data)
  try {
    const { data, info } = await img
      .autoOrient()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(describeSharpError(err));
  }
}

/** Re-encodes an image as a plain 8-bit sRGB PNG (for inputs in formats or colour spaces loaders choke on). */
export async function toPlainPng(input: string | Buffer): Promise<Buffer> {
  const { data, width, height } = await readRgb(input);
  return sharp(data, { raw: { width, height, channels: 3 } }).png(PNG_OPTIONS).toBuffer();
}

/** Applies `t` to an image and returns PNG bytes. */
export async function applyTransform(input: string | Buffer, t: Transform): Promise<Buffer> {
  const { data, width, height } = await readRgb(input);
  // A second pipeline on raw pixels, so mirrors and rotation are the only
  // orientation steps in it (sharp allows one rotation per pipeline).
  let img = sharp(data, { raw: { width, height, channels: 3 } });
  if (t.flipH) img = img.flop();
  if (t.flipV) img = img.flip();
  if (t.rotate) img = img.rotate(t.rotate);
  if (t.color) img = img.modulate({ brightness: t.color.brightness, saturation: t.color.saturation, hue: t.color.hue });
  return img.png(PNG_OPTIONS).toBuffer();
}
