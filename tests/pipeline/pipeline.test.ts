import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { readState } from '../../src/pipeline/state.js';
import { readRun, train, packModel } from '../../src/dcgan/index.js';
import { initBackend } from '../../src/engine/index.js';
import { SAMPLES, runCli, tempDir } from '../helpers/env.js';
import { checkReportInChromium } from './browser.js';

const tmp = tempDir('cellgan-pipeline-');
afterAll(() => tmp.cleanup());

const STAGES = ['select', 'inspect', 'split', 'train', 'generate', 'score', 'export'];
const ARGS = ['pipeline', '--data', SAMPLES, '--budget', 'test', '--classes', 'basophil,eosinophil', '--seed', '3'];

async function mtimes(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const f of (await fs.readdir(dir, { recursive: true })).map(String)) {
    const st = await fs.stat(path.join(dir, f));
    if (st.isFile()) out[f] = st.mtimeMs;
  }
  return out;
}

describe('cellgan pipeline (test budget, 2 classes, 32 px)', () => {
  const out = path.join(tmp.dir, 'run');

  it('runs every stage, writes pipeline.json and a report that renders, and prints where the report is', async () => {
    const r = await runCli([...ARGS, '--out', out]);
    expect(r.stderr).not.toMatch(/cellgan: (internal )?error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Report: ${path.join(out, 'report.html')}`);
    const state = await readState(out);
    for (const s of STAGES) expect(state?.stages[s as 'train']?.status, s).toBe('done');
    // each stage wrote under <out>/<stage>/
    for (const s of STAGES) expect((await fs.readdir(path.join(out, s))).length, s).toBeGreaterThan(0);
    const manifest = (await fs.readFile(path.join(out, 'generate/manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(manifest.filter((m) => m.class === 'basophil')).toHaveLength(6);
    expect(manifest.filter((m) => m.class === 'eosinophil')).toHaveLength(6);
    const score = JSON.parse(await fs.readFile(path.join(out, 'score/score.json'), 'utf8'));
    expect(score.baseline.accuracy).toBeDefined();
    // the export fills each class to the largest one plus the generated count, using every synthetic image
    const exported = JSON.parse(await fs.readFile(path.join(out, 'export/dataset.json'), 'utf8'));
    for (const cls of ['basophil', 'eosinophil']) expect(exported.counts.train[cls]).toEqual({ real: 21, synthetic: 6, augmented: 0 });
    expect(exported.counts.test.basophil).toMatchObject({ synthetic: 0, augmented: 0 });

    const check = await checkReportInChromium(path.join(out, 'report.html'));
    expect(check.consoleErrors).toEqual([]);
    expect(check.requests).toEqual([]);
    expect(check.broken).toEqual([]);
    expect(check.missingNotes).toEqual([]);
    expect(check.charts).toEqual(expect.arrayContaining(['class-counts', 'loss', 'collapse', 'confusion-baseline', 'fid', 'kid', 'export']));
  });

  // The rest goes through the library API: the same code, without a CLI start-up per call.
  const lib = { data: SAMPLES, out, budget: 'test' as const, classes: ['basophil', 'eosinophil'], seed: 3 };

  it('a second run skips every stage and rewrites no stage output', async () => {
    await initBackend('wasm');
    const before = await mtimes(out);
    const r = await runPipeline(lib);
    expect(r.outcomes).toEqual(Object.fromEntries(STAGES.map((s) => [s, 'skipped'])));
    const after = await mtimes(out);
    for (const [f, t] of Object.entries(before)) {
      if (f === 'pipeline.json' || f === 'report.html') continue;
      expect(after[f], f).toBe(t);
    }
  });

  it('a changed option redoes only the stages it affects', async () => {
    const r = await runPipeline({ ...lib, overrides: { count: 4 } });
    expect(r.outcomes).toEqual({ select: 'skipped', inspect: 'skipped', split: 'skipped', train: 'skipped', generate: 'ran', score: 'ran', export: 'ran' });
    const manifest = (await fs.readFile(path.join(out, 'generate/manifest.jsonl'), 'utf8')).trim().split('\n');
    expect(manifest).toHaveLength(8);
  });

  it('--workers trains data-parallel; as a training option it redoes training and what follows', async () => {
    const r = await runPipeline({ ...lib, overrides: { count: 4 }, workers: 2, report: false });
    expect(r.outcomes).toEqual({ select: 'skipped', inspect: 'skipped', split: 'skipped', train: 'ran', generate: 'ran', score: 'ran', export: 'ran' });
    expect((await readRun(path.join(out, 'train'))).options.options.workers).toBe(2);
    await expect(runPipeline({ ...lib, workers: -1 })).rejects.toThrow(/for --workers but received -1/);
  });

  it('refuses a non-empty folder that is not a pipeline folder, unknown classes and an output inside the data', async () => {
    const foreign = path.join(tmp.dir, 'foreign');
    await fs.mkdir(foreign);
    await fs.writeFile(path.join(foreign, 'keep.txt'), 'mine');
    await expect(runPipeline({ ...lib, out: foreign })).rejects.toThrow(/foreign: output folder exists, is not empty and holds no pipeline.json/);
    expect(await fs.readdir(foreign)).toEqual(['keep.txt']);
    await expect(runPipeline({ ...lib, out: path.join(tmp.dir, 'x'), classes: ['basophil', 'nosuch'] })).rejects.toThrow(/--classes names nosuch, not in the dataset/);
    await expect(runPipeline({ ...lib, out: path.join(SAMPLES, 'out') })).rejects.toThrow(/must not be inside the data folder/);
    await expect(runPipeline({ ...lib, out: path.join(tmp.dir, 'y'), budget: 'huge' as 'quick' })).rejects.toThrow(/Expected one of .* for --budget but received "huge"/);
    expect(await fs.readdir(SAMPLES)).not.toContain('out');
  });

  it('stopped during training, it resumes the run on the next call (library API)', async () => {
    await initBackend('wasm');
    const dir = path.join(tmp.dir, 'resume');
    const controller = new AbortController();
    const common = { data: SAMPLES, out: dir, budget: 'test' as const, classes: ['basophil', 'eosinophil'], overrides: { iters: 8 }, until: 'train' as const, report: false };
    // Stop once training has logged iteration 3.
    const poll = setInterval(() => {
      fs.readFile(path.join(dir, 'train/stats.jsonl'), 'utf8').then((t) => { if (/"iteration":3\b/.test(t)) controller.abort(); }, () => {});
    }, 20);
    await expect(runPipeline({ ...common, signal: controller.signal })).rejects.toThrow(/interrupted/);
    clearInterval(poll);
    const stopped = await readState(dir);
    expect(stopped?.stages.train?.status).toBe('interrupted');
    const partial = await readRun(path.join(dir, 'train'));
    expect(partial.latest).toBeGreaterThanOrEqual(3);
    expect(partial.latest).toBeLessThan(8);

    const result = await runPipeline(common);
    expect(result.outcomes).toMatchObject({ select: 'skipped', inspect: 'skipped', split: 'skipped', train: 'resumed' });
    const run = await readRun(path.join(dir, 'train'));
    expect(run.latest).toBe(8);
    expect(run.options.resumes).toHaveLength(1);
    expect(run.options.resumes[0].fromIteration).toBe(partial.latest);
    expect((await readState(dir))?.stages.train).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('--init fine-tunes a trained model (parent recorded, its architecture and recipe used) and refuses held-out images the model trained on', async () => {
    await initBackend('wasm');
    // A parent that trained on other classes than the pipeline's, so none of its images is held out here.
    const parentData = path.join(tmp.dir, 'parent-data');
    for (const c of ['lymphocyte', 'monocyte', 'neutrophil']) await fs.cp(path.join(SAMPLES, c), path.join(parentData, c), { recursive: true });
    const tiny = { conditional: true, recipe: 'sngan' as const, size: 32, gWidth: 4, dWidth: 4, nz: 8, batch: 4, iters: 2, checkpointEvery: 2 };
    const parentRun = path.join(tmp.dir, 'parent-run');
    await train({ ...tiny, data: parentData, out: parentRun });
    const parent = path.join(tmp.dir, 'parent');
    expect((await packModel({ run: parentRun, out: parent })).trainingImages).toBe(90);
    await fs.rm(parentData, { recursive: true }); // a shipped model's data is not on the user's machine: its fingerprints are
    const dir = path.join(tmp.dir, 'init');
    const r = await runPipeline({ data: SAMPLES, out: dir, budget: 'test', classes: ['basophil', 'eosinophil'], init: parent, until: 'generate', report: false });
    expect(r.outcomes.generate).toBe('ran');
    const run = await readRun(path.join(dir, 'train'));
    expect(run.options.options).toMatchObject({ recipe: 'sngan', gWidth: 4, init: parent, iters: 4 });
    expect(run.options.parent?.path).toBe(parent);
    expect(run.classes).toEqual(['basophil', 'eosinophil']);

    // A parent that trained on every sample has seen this pipeline's validation and test images.
    const seenAll = path.join(tmp.dir, 'parent-all');
    await train({ ...tiny, data: SAMPLES, out: seenAll });
    await expect(runPipeline({ data: SAMPLES, out: path.join(tmp.dir, 'init-leak'), budget: 'test', classes: ['basophil', 'eosinophil'], init: seenAll, report: false }))
      .rejects.toThrow(/(validation|test) image is a copy of one the --init model trained on/);

    await expect(runPipeline({ data: SAMPLES, out: path.join(tmp.dir, 'init-pc'), budget: 'test', init: parent, mode: 'per-class' }))
      .rejects.toThrow(/"conditional" with --init/);
    await expect(runPipeline({ data: SAMPLES, out: path.join(tmp.dir, 'init-x'), budget: 'test', init: tmp.dir }))
      .rejects.toThrow(/no options.json/);
  });

  it('per-class mode trains one GAN per class and merges their images into one synthetic folder', async () => {
    const dir = path.join(tmp.dir, 'per-class');
    const r = await runPipeline({ data: SAMPLES, out: dir, budget: 'test', classes: ['eosinophil', 'lymphocyte'], mode: 'per-class', until: 'generate', report: false });
    expect(r.outcomes.generate).toBe('ran');
    for (const cls of ['eosinophil', 'lymphocyte']) {
      const run = await readRun(path.join(dir, 'train', cls));
      expect(run.classes).toEqual([cls]);
      expect(run.latest).toBe(4);
      expect((await fs.readdir(path.join(dir, 'generate', cls))).filter((f) => f.endsWith('.png'))).toHaveLength(6);
    }
    const manifest = (await fs.readFile(path.join(dir, 'generate/manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(manifest).toHaveLength(12);
    for (const m of manifest) await fs.access(path.join(dir, 'generate', m.file));
    expect(await fs.readdir(path.join(dir, 'generate'))).not.toContain('.parts');
  });
});
