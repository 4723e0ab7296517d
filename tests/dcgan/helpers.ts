import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SAMPLES } from '../helpers/env.js';
import type { TrainOptions } from '../../src/dcgan/index.js';

/** A model small enough for tests on 2 busy cores. */
export function tinyOptions(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    data: SAMPLES, className: 'basophil', size: 32, gWidth: 2, dWidth: 2, nz: 8, batch: 2, iters: 4, out, seed: 7,
    logEvery: 2, gridEvery: 2, checkpointEvery: 2, ...extra,
  };
}

export const MODEL_PARTS = ['generator', 'generator_ema', 'discriminator'] as const;

/** Every weight and optimizer file of a checkpoint, as bytes (for bitwise comparisons). */
export async function checkpointBytes(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const p of MODEL_PARTS) out[`${p}/weights.bin`] = await fs.readFile(path.join(dir, p, 'weights.bin'));
  for (const o of ['optimizer_g', 'optimizer_d']) out[`${o}.bin`] = await fs.readFile(path.join(dir, `${o}.bin`));
  return out;
}

/** Throws unless `dir` holds a complete checkpoint. */
export async function assertCompleteCheckpoint(dir: string): Promise<void> {
  for (const p of MODEL_PARTS) {
    const json = JSON.parse(await fs.readFile(path.join(dir, p, 'model.json'), 'utf8'));
    const bytes = (json.weightsManifest[0].weights as { shape: number[] }[]).reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    const st = await fs.stat(path.join(dir, p, 'weights.bin'));
    if (st.size !== bytes) throw new Error(`${dir}/${p}/weights.bin has ${st.size} bytes, expected ${bytes}`);
  }
  for (const o of ['optimizer_g', 'optimizer_d']) {
    const json = JSON.parse(await fs.readFile(path.join(dir, `${o}.json`), 'utf8'));
    const bytes = (json.weights as { shape: number[] }[]).reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if ((await fs.stat(path.join(dir, `${o}.bin`))).size !== bytes) throw new Error(`${dir}/${o}.bin is incomplete`);
  }
  const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8'));
  if (typeof state.iteration !== 'number' || state.rng.length !== 4) throw new Error(`${dir}/state.json is incomplete`);
}

export async function readJsonl<T = Record<string, unknown>>(file: string): Promise<T[]> {
  return (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}
