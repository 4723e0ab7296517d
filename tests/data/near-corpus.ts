/**
 * Altered copies of real cells for the near-duplicate tests and the
 * measurement script: the everyday alterations public WBC sets are full of
 * (flips and 90° rotations, a crop of a few percent, a shift of a few
 * pixels, resizing, JPEG re-encoding, brightness/colour changes), made with
 * sharp from the original's bytes.
 */
import sharp from 'sharp';

export interface Alteration { name: string; apply: (bytes: Buffer) => Promise<Buffer> }

async function size(bytes: Buffer): Promise<{ w: number; h: number }> {
  const m = await sharp(bytes).metadata();
  return { w: m.width!, h: m.height! };
}

const png = (img: sharp.Sharp) => img.png().toBuffer();

export const ALTERATIONS: Alteration[] = [
  { name: 'mirror', apply: (b) => png(sharp(b).flop()) },
  { name: 'flip', apply: (b) => png(sharp(b).flip()) },
  { name: 'rot90', apply: (b) => png(sharp(b).rotate(90)) },
  { name: 'rot180', apply: (b) => png(sharp(b).rotate(180)) },
  { name: 'rot270+mirror', apply: (b) => png(sharp(b).rotate(270).flop()) },
  { name: 'crop 3% each side', apply: async (b) => { const { w, h } = await size(b); const dx = Math.round(w * 0.03), dy = Math.round(h * 0.03); return png(sharp(b).extract({ left: dx, top: dy, width: w - 2 * dx, height: h - 2 * dy })); } },
  { name: 'crop 5% off one corner', apply: async (b) => { const { w, h } = await size(b); return png(sharp(b).extract({ left: 0, top: 0, width: Math.round(w * 0.95), height: Math.round(h * 0.95) })); } },
  { name: 'shift 4 px', apply: async (b) => { const { w, h } = await size(b); return png(sharp(await sharp(b).extend({ top: 4, left: 4, extendWith: 'copy' }).png().toBuffer()).extract({ left: 0, top: 0, width: w, height: h })); } },
  { name: 'resize to 75%', apply: async (b) => { const { w } = await size(b); return png(sharp(b).resize(Math.round(w * 0.75))); } },
  { name: 'resize to 160%', apply: async (b) => { const { w } = await size(b); return png(sharp(b).resize(Math.round(w * 1.6))); } },
  { name: 'JPEG quality 50', apply: (b) => sharp(b).jpeg({ quality: 50 }).toBuffer() },
  { name: 'brightness +15%', apply: (b) => png(sharp(b).modulate({ brightness: 1.15 })) },
  { name: 'darker 15%, saturation +20%', apply: (b) => png(sharp(b).modulate({ brightness: 0.85, saturation: 1.2 })) },
  { name: 'hue +10°', apply: (b) => png(sharp(b).modulate({ hue: 10 })) },
  { name: 'rot90 + crop 3% + JPEG 70', apply: async (b) => { const { w, h } = await size(b); const dx = Math.round(w * 0.03), dy = Math.round(h * 0.03); return sharp(b).rotate(90).extract({ left: dy, top: dx, width: h - 2 * dy, height: w - 2 * dx }).jpeg({ quality: 70 }).toBuffer(); } },
];
