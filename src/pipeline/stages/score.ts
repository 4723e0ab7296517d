/**
 * score: `score()`: baseline / GAN-train / GAN-test classifiers with CIs,
 * and `distances.json` (FID/KID/precision-recall per class).
 */
import { score } from '../../metrics/index.js';
import { fingerprintFiles } from '../state.js';
import type { StageDefinition } from '../runner.js';
import { readsData, type PipelineContext } from './context.js';

export function scoreStage(ctx: PipelineContext): StageDefinition {
  const { size, seed, workers, budget } = ctx.options;
  const options = {
    size, epochs: budget.classifierEpochs, seed,
    // Only when set, so pipeline folders from before this option keep their score stage (score()'s default is 0).
    ...(workers ? { workers } : {}),
  };
  return {
    name: 'score', ...readsData(ctx, 'split', 'generate'), options,
    async run(run) {
      const s = await score({ ...options, data: ctx.data, labels: ctx.labels, split: ctx.splitFile, synthetic: ctx.generateDir, out: run.stageDir, logger: ctx.logger, force: true });
      return {
        outputs: { score: 'score/score.json', distances: 'score/distances.json' },
        summary: { baseline: s.baseline.accuracy.value, gan_train: s.gan_train?.accuracy.value ?? null, gan_test: s.gan_test?.accuracy.value ?? null },
      };
    },
    fingerprint: (run) => fingerprintFiles(run.stageDir, ['score.json', 'distances.json']),
  };
}
