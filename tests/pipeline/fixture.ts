/**
 * A small pipeline folder written directly (no training), in the formats the
 * stages write, so the report can be rendered and checked in seconds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodePng, encodeGridPng } from '../../src/data/image.js';
import { Rng } from '../../src/util/rng.js';
import { SAMPLES } from '../helpers/env.js';

export const FIXTURE_CLASSES = ['basophil', 'eosinophil'];
export const FIXTURE_GRID_ITERATIONS = [0, 20, 40, 60, 80, 100];

async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, JSON.stringify(value, null, 2));
}

function noise(rng: Rng, n: number, size: number): Float32Array {
  const a = new Float32Array(n * size * size * 3);
  for (let i = 0; i < a.length; i++) a[i] = rng.next() * 2 - 1;
  return a;
}

/** Writes a complete fixture (every stage done) into `dir`; `omit` leaves stages out. */
export async function writeFixturePipeline(dir: string, opts: { omit?: string[] } = {}): Promise<void> {
  const omit = new Set(opts.omit ?? []);
  const size = 32;
  const rng = new Rng(7);
  const files: Record<string, string[]> = {};
  for (const c of FIXTURE_CLASSES) files[c] = (await fs.readdir(path.join(SAMPLES, c))).sort().slice(0, 10).map((f) => `${c}/${f}`);
  const stages: Record<string, unknown> = {};
  const done = (name: string, outputs: Record<string, string>) => {
    stages[name] = { status: 'done', optionsHash: 'x', inputsHash: 'y', fingerprint: 'z', options: {}, outputs, startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:01Z', seconds: 1, attempts: 1 };
  };

  if (!omit.has('inspect')) {
    await writeJson(path.join(dir, 'inspect/inspect.json'), {
      root: SAMPLES, source: 'imagefolder', files: 60, images: 60, classes: { basophil: 30, eosinophil: 30 }, formats: { jpeg: 60 }, sizes: { '128×128': 60 },
      colour: { 'srgb 8-bit': 60 }, unreadable: [], skipped: [], tiny: [],
      duplicates: [['basophil/a.jpg', 'basophil/b.jpg'], ['eosinophil/c.jpg', 'basophil/d.jpg']],
      conflicts: [{ files: ['basophil/d.jpg', 'eosinophil/c.jpg'], classes: ['basophil', 'eosinophil'] }],
      minCount: 10, underMinCount: [], deep: false,
    });
    done('inspect', { report: 'inspect/inspect.json' });
  }
  if (!omit.has('split')) {
    const split = { seed: 0, splits: { train: [] as string[], val: [] as string[], test: [] as string[] }, excluded: [{ file: 'basophil/d.jpg', reason: 'conflicting duplicate' }] };
    for (const c of FIXTURE_CLASSES) { split.splits.train.push(...files[c].slice(0, 6)); split.splits.val.push(...files[c].slice(6, 8)); split.splits.test.push(...files[c].slice(8)); }
    await writeJson(path.join(dir, 'split/split.json'), split);
    done('split', { split: 'split/split.json' });
  }
  if (!omit.has('train')) {
    const run = path.join(dir, 'train');
    await writeJson(path.join(run, 'options.json'), { format: 'cellgan-dcgan-run/1', options: { collapseThreshold: 0.2, collapseAfter: 20 }, classes: FIXTURE_CLASSES,
      backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', tfjsVersion: '4.22.0' }, versions: { cellgan: '0.1.0', tfjs: '4.22.0', node: 'v20.0.0' },
      machine: { cpu: 'Fixture CPU 3000', cores: 2, platform: 'linux-x64' } });
    const lines: string[] = [];
    for (let it = 10; it <= 100; it += 10) {
      const ratio = it < 70 ? 0.9 - it / 200 : 0.15;
      lines.push(JSON.stringify({ iteration: it, d_loss: 1.4 - it / 200, g_loss: 0.7 + it / 150, d_real: 0.5 + it / 400, d_fake: 0.5 - it / 400, images_per_sec: 50, wall_time_s: it / 5, diversity: ratio * 0.5, real_diversity: 0.5, diversity_ratio: ratio, ...(ratio < 0.2 ? { collapse_warning: true } : {}) }));
    }
    await fs.writeFile(path.join(run, 'stats.jsonl'), lines.join('\n') + '\n');
    await fs.mkdir(path.join(run, 'grids'), { recursive: true });
    // As the trainer writes them: every 20 iterations, one row per class named in the image, and the reals.
    for (const it of FIXTURE_GRID_ITERATIONS) {
      await fs.writeFile(path.join(run, 'grids', `${String(it).padStart(8, '0')}.png`), await encodeGridPng(noise(rng, 8, size), size, 4, { rowLabels: FIXTURE_CLASSES }));
    }
    await fs.writeFile(path.join(run, 'grids', 'reals.png'), await encodeGridPng(noise(rng, 8, size), size, 4));
    done('train', { run: 'train' });
  }
  if (!omit.has('generate')) {
    const manifest: string[] = [];
    for (const c of FIXTURE_CLASSES) {
      await fs.mkdir(path.join(dir, 'generate', c), { recursive: true });
      for (let i = 0; i < 6; i++) {
        const file = `${c}/${String(i).padStart(6, '0')}.png`;
        await fs.writeFile(path.join(dir, 'generate', file), await encodePng(noise(rng, 1, size), size));
        manifest.push(JSON.stringify({ file, class: c, run: path.join(dir, 'train'), checkpoint: 100, seed: 1, index: i }));
      }
    }
    await fs.writeFile(path.join(dir, 'generate/manifest.jsonl'), manifest.join('\n') + '\n');
    done('generate', { synthetic: 'generate', manifest: 'generate/manifest.jsonl' });
  }
  if (!omit.has('score')) {
    const part = (acc: number) => ({
      accuracy: { value: acc, ci95: [acc - 0.1, Math.min(1, acc + 0.1)] },
      balanced_accuracy: { value: acc, ci95: [acc - 0.12, Math.min(1, acc + 0.08)] },
      n: 8,
      per_class: Object.fromEntries(FIXTURE_CLASSES.map((c) => [c, { sensitivity: { value: acc, ci95: [acc - 0.2, 1] }, precision: { value: acc, ci95: [acc - 0.2, 1] }, f1: { value: acc } }])),
      confusion: { classes: FIXTURE_CLASSES, matrix: [[3, 1], [1, 3]] },
    });
    const [c0, c1] = FIXTURE_CLASSES;
    const memorization = {
      rate: 1 / 12, images: 12, flagged_count: 1,
      per_class: { [c0]: { rate: 1 / 6, images: 6, flagged: 1 }, [c1]: { rate: 0, images: 6, flagged: 0 } },
      flagged: [{ file: `${c0}/000000.png`, class: c0, nearest: files[c0][0], distance: 0.0123 }],
      closest: [
        { file: `${c0}/000000.png`, class: c0, nearest: files[c0][0], distance: 0.0123, flagged: true },
        { file: `${c1}/000003.png`, class: c1, nearest: files[c1][1], distance: 0.0871, flagged: false },
      ],
      calibration: { held_out: 8, quantile: 0.01, real_nearest_quantile: 0.021, real_nearest_median: 0.09, near_threshold: 0.03, threshold: 0.03, search_radius: 0.2 },
    };
    await writeJson(path.join(dir, 'score/score.json'), { baseline: part(0.75), gan_train: part(0.5), gan_test: part(0.625), memorization });
    // As featureDistances writes it: real train vs synthetic, with the real-vs-real reference (train vs test at n).
    await writeJson(path.join(dir, 'score/distances.json'), { real_subset: 'train', reference_subset: 'test', classes: Object.fromEntries(FIXTURE_CLASSES.map((c, i) => [c, { fid: 120 + i * 10, kid: { value: 0.05 + i / 100, std: 0.01 }, precision: 0.3, recall: 0.2, n_real: 6, n_fake: 6 + i,
      reference: { n: 6, fid_real: 80 + i * 5, fid_synthetic: i ? 125.5 : 120 },
      warnings: [`fewer samples than feature dimensions (6 real, ${6 + i} synthetic < 128): the covariance is singular and FID is biased upwards; compare FIDs only at equal sample sizes`] }])) });
    done('score', { score: 'score/score.json', distances: 'score/distances.json' });
  }
  if (!omit.has('export')) {
    await writeJson(path.join(dir, 'export/dataset.json'), {
      counts: {
        train: { basophil: { real: 6, synthetic: 2, augmented: 1 }, eosinophil: { real: 6, synthetic: 3, augmented: 0 } },
        val: { basophil: { real: 2 }, eosinophil: { real: 2 } },
        test: { basophil: { real: 2 }, eosinophil: { real: 2 } },
      },
    });
    done('export', { dataset: 'export/dataset.json' });
  }
  await writeJson(path.join(dir, 'pipeline.json'), {
    format: 'cellgan-pipeline/1', tool: { name: 'cellgan', version: 'test' },
    options: { data: SAMPLES, dataRoot: SAMPLES, size, budget: 'test', mode: 'conditional', seed: 0, labels: null },
    stages, updatedAt: '2026-01-01T00:00:02Z',
  });
}
