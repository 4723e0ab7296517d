import type { CommandModule } from 'yargs';
import { handler, type GlobalArgs } from '../context.js';
import { score, CLASSIFIER_DEFAULTS as D, DEFAULT_ARCHITECTURE } from '../../metrics/index.js';
import { DEFAULT_NEAR_THRESHOLD } from '../../data/near.js';

interface Args extends GlobalArgs {
  data: string; labels?: string; split: string; synthetic: string; out: string; size?: number; epochs?: number; batch?: number;
  seed?: number; baseline?: string; features?: string; distances: boolean; 'class-weights'?: boolean; force?: boolean; resamples: number;
  'max-per-class'?: number; width?: number; json?: boolean; workers: number; 'near-threshold': number; 'drop-leaks'?: boolean;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);

export const scoreCommand: CommandModule<GlobalArgs, Args> = {
  command: 'score',
  describe: 'GAN-train / GAN-test accuracies (with 95 % CIs) and per-class FID, KID, precision/recall of a synthetic folder',
  builder: (y) => y
    .option('data', { type: 'string', demandOption: true, describe: 'real data (ImageFolder root)' })
    .option('labels', { type: 'string', describe: 'labels CSV instead of class folders' })
    .option('split', { type: 'string', demandOption: true, describe: 'split.json of the real data (train → classifier, test → accuracies)' })
    .option('synthetic', { type: 'string', demandOption: true, describe: 'folder of generated images (<dir>/<class>/*.png, as cellgan generate writes)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (score.json, score.md, distances.json, classifiers, confusion PNGs)' })
    .option('baseline', { type: 'string', describe: 'a saved classifier (cellgan classifier train, or the quality bench\'s reference) to use as the baseline instead of training one; it must have been trained on exactly this split\'s training images, and GAN-train then uses its recipe' })
    .option('size', { type: 'number', defaultDescription: `${D.size}; with --baseline its size`, describe: 'classifier input size' })
    .option('epochs', { type: 'number', defaultDescription: `${D.epochs}; with --baseline its epochs`, describe: 'maximum classifier epochs (early stopping on validation loss)' })
    .option('batch', { type: 'number', defaultDescription: `${D.batchSize}; with --baseline its batch` })
    .option('class-weights', { type: 'boolean', describe: 'inverse-frequency class weights in the classifier loss' })
    .option('max-per-class', { type: 'number', describe: 'cap real training images per class for the baseline (quick runs)' })
    .option('width', { type: 'number', defaultDescription: String(DEFAULT_ARCHITECTURE.width), describe: 'filters of the classifier\'s first conv block' })
    .option('features', { type: 'string', describe: 'tfjs layers model folder for FID/KID/PR features (default: the baseline classifier\'s penultimate layer)' })
    .option('distances', { type: 'boolean', default: true, describe: 'compute FID/KID/precision-recall (--no-distances to skip)' })
    .option('resamples', { type: 'number', default: 1000, describe: 'bootstrap resamples for the 95 % CIs' })
    .option('seed', { type: 'number', defaultDescription: `${D.seed}; with --baseline its seed`, describe: 'seed of the classifiers and the bootstrap' })
    .option('workers', { type: 'number', default: 0, describe: 'worker threads for data-parallel classifier training (2 uses both cores of a 2-core machine on wasm; 0: this thread). Batch norm sees each worker\'s shard, so the count changes the result' })
    .option('near-threshold', { type: 'number', default: DEFAULT_NEAR_THRESHOLD, describe: 'distance (1 − cosine of flip/rotation-invariant fingerprints) at which a synthetic image counts as a copy of a real one (leaks, memorisation audit)' })
    .option('drop-leaks', { type: 'boolean', describe: 'leave out and list synthetic images that copy a real validation/test image (default: refuse the folder)' })
    .option('json', { type: 'boolean', describe: 'print score.json to stdout' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out (its feature cache is kept)' }),
  handler: handler<Args>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await score({
      data: args.data, labels: args.labels, split: args.split, synthetic: args.synthetic, out: args.out, size: args.size,
      epochs: args.epochs, batchSize: args.batch, seed: args.seed, features: args.features, distances: args.distances,
      classWeights: args['class-weights'], force: args.force, resamples: args.resamples, maxPerClass: args['max-per-class'],
      architecture: args.width !== undefined ? { width: args.width } : undefined, workers: args.workers, logger: ctx.logger,
      nearThreshold: args['near-threshold'], dropLeaks: args['drop-leaks'] ?? false, baseline: args.baseline,
    });
    if (args.json) {
      const { out: _o, ...json } = r;
      void _o;
      process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      return;
    }
    process.stdout.write(`baseline  ${pct(r.baseline.accuracy.value)}\nGAN-train ${pct(r.gan_train?.accuracy.value ?? null)}\nGAN-test  ${pct(r.gan_test?.accuracy.value ?? null)}\n` +
      `memorisation: ${r.memorization.flagged_count} of ${r.memorization.images} synthetic images flagged as probable copies (${(100 * r.memorization.rate).toFixed(1)} %)\n` +
      `wrote ${args.out}/score.json and score.md\n`);
  }),
};
