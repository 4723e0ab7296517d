/**
 * The stage keys (options hashed into optionsHash, stages read, extra inputs) that runPipeline
 * hands to the runner, for fixed options. A pipeline folder written earlier resumes only while
 * these stay the same: the expected values below are what the code produced when the stages
 * were still defined inside runPipeline (before they moved to src/pipeline/stages/), except
 * the train stage's recipe: the default recipe became sngan-aux-branch (session 24), so a
 * folder trained with the old default trains again instead of resuming with other settings.
 * Nothing runs: the runner is replaced by a recorder.
 */
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { StageDefinition } from '../../src/pipeline/runner.js';
import { fingerprintData, stableStringify } from '../../src/pipeline/state.js';
import { runPipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import { resolvePipelineOptions } from '../../src/pipeline/options.js';
import { REPO, SAMPLES, tempDir } from '../helpers/env.js';

const recorded = vi.hoisted(() => ({ stages: [] as StageDefinition[] }));
vi.mock('../../src/pipeline/runner.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/pipeline/runner.js')>();
  return {
    ...actual,
    runStages: async (_dir: string, _state: unknown, stages: StageDefinition[]) => { recorded.stages.push(...stages); return { outcomes: {} }; },
    openSharedStage: async (_dir: string, _state: unknown, stage: StageDefinition) => { recorded.stages.push(stage); return 'done'; },
  };
});

const tmp = tempDir('cellgan-stage-keys-');
afterAll(() => tmp.cleanup());

/** Each stage's key as one line: name, options (stable JSON), reads, extra inputs; the data fingerprint and the repository path shown as placeholders. */
async function keys(opts: Omit<PipelineOptions, 'data' | 'out'>, name: string): Promise<string[]> {
  recorded.stages.length = 0;
  // A shard goes on to read the split, which the recorder never wrote: its rejection is expected.
  await runPipeline({ data: SAMPLES, out: path.join(tmp.dir, name), report: false, ...opts }).catch(() => undefined);
  const data = await fingerprintData(SAMPLES);
  return recorded.stages.map((s) => [s.name, stableStringify(s.options), stableStringify(s.reads), stableStringify(s.extraInputs)].join(' ').split(data).join('<data>').split(REPO).join('<repo>'));
}

describe('stage keys (pipeline folders written by earlier versions must still resume)', () => {
  it('default options: quick budget, conditional', async () => {
    expect(await keys({}, 'default')).toEqual([
      'inspect {} [] {"data":"<data>"}',
      'split {"seed":0,"test":0.2,"val":0.1} [] {"data":"<data>"}',
      'train {"batch":32,"checkpointEvery":50,"dWidth":16,"diffAugment":"","emaDecay":0.99,"gWidth":16,"iters":300,"mode":"conditional","recipe":"sngan-aux-branch","seed":0,"size":64} ["split"] {"data":"<data>"}',
      'generate {"count":30,"seed":1} ["train"] null',
      'score {"epochs":20,"seed":0,"size":64} ["split","generate"] {"data":"<data>"}',
      'export {"augment":"flip,rot90,color","mix":"synthetic-first","perClass":"max+30","seed":0} ["split","generate"] {"data":"<data>"}',
    ]);
  });

  it('chosen classes, per-class mode, workers, overrides, size', async () => {
    expect(await keys({ budget: 'test', classes: ['eosinophil', 'basophil'], mode: 'per-class', seed: 3, workers: 2, size: 32, overrides: { count: 4, iters: 7 } }, 'classes')).toEqual([
      'select {"classes":["basophil","eosinophil"]} [] {"data":"<data>"}',
      'inspect {} ["select"] null',
      'split {"seed":3,"test":0.2,"val":0.1} ["select"] null',
      'train {"batch":8,"checkpointEvery":2,"dWidth":8,"diffAugment":"","emaDecay":0,"gWidth":8,"iters":7,"mode":"per-class","recipe":"sngan-aux-branch","seed":3,"size":32,"workers":2} ["split","select"] null',
      'generate {"count":4,"seed":4} ["train"] null',
      'score {"epochs":1,"seed":3,"size":32,"workers":2} ["split","generate","select"] null',
      'export {"augment":"flip,rot90,color","mix":"synthetic-first","perClass":"max+4","seed":3} ["split","generate","select"] null',
    ]);
  });

  it('fine-tuning from a shipped model', async () => {
    expect(await keys({ budget: 'standard', init: path.join(REPO, 'models/pbc-64'), seed: 1 }, 'init')).toEqual([
      'inspect {} [] {"data":"<data>"}',
      'split {"seed":1,"test":0.2,"val":0.1} [] {"data":"<data>"}',
      'train {"checkpointEvery":500,"init":"<repo>/models/pbc-64","iters":12000,"mode":"conditional","seed":1,"size":64} ["split"] {"data":"<data>"}',
      'generate {"count":200,"seed":2} ["train"] null',
      'score {"epochs":20,"seed":1,"size":64} ["split","generate"] {"data":"<data>"}',
      'export {"augment":"flip,rot90,color","mix":"synthetic-first","perClass":"max+200","seed":1} ["split","generate"] {"data":"<data>"}',
    ]);
  });

  it('--condition is part of the train stage\'s key (only when given) and is refused without --labels, in per-class mode or with --classes', async () => {
    const labels = path.join(SAMPLES, 'labels.csv');
    const train = (await keys({ budget: 'test', labels, condition: 'fine_class' }, 'condition')).find((k) => k.startsWith('train '));
    expect(train).toContain('"condition":"fine_class"');
    expect((await keys({ budget: 'test', labels }, 'no-condition')).find((k) => k.startsWith('train '))).not.toContain('"condition"');
    const base = { data: SAMPLES, out: path.join(tmp.dir, 'refused'), condition: 'fine_class' };
    await expect(resolvePipelineOptions(base)).rejects.toThrow(/--condition names a column of the labels CSV: pass --labels/);
    await expect(resolvePipelineOptions({ ...base, labels, mode: 'per-class' })).rejects.toThrow(/Expected "conditional" with --condition .* for --mode but received "per-class"/);
    await expect(resolvePipelineOptions({ ...base, labels, classes: 'basophil,ig' })).rejects.toThrow(/does not go with --classes/);
  });

  it('a shard: the stages before train, then the train stage it shares', async () => {
    expect(await keys({ budget: 'test', mode: 'per-class', shard: '1/2', seed: 2 }, 'shard')).toEqual([
      'inspect {} [] {"data":"<data>"}',
      'split {"seed":2,"test":0.2,"val":0.1} [] {"data":"<data>"}',
      'train {"batch":8,"checkpointEvery":2,"dWidth":8,"diffAugment":"","emaDecay":0,"gWidth":8,"iters":4,"mode":"per-class","recipe":"sngan-aux-branch","seed":2,"size":32} ["split"] {"data":"<data>"}',
    ]);
  });
});
