/**
 * Charts through Vega-Lite (a maintained charting library), rendered
 * headlessly to SVG (no canvas needed) and to PNG via sharp's SVG renderer.
 * Used for loss curves, confusion matrices and the HTML report.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import sharp from 'sharp';

export type ChartSpec = TopLevelSpec;

/** Renders a Vega-Lite spec to an SVG string. */
export async function chartToSvg(spec: ChartSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders a Vega-Lite spec to PNG bytes (scale 2 for sharp text). */
export async function chartToPng(spec: ChartSpec, scale = 2): Promise<Buffer> {
  const svg = await chartToSvg(spec);
  return sharp(Buffer.from(svg), { density: 72 * scale }).png().toBuffer();
}
