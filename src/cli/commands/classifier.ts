import type { CommandModule } from 'yargs';
import { handler, type GlobalArgs, ownOptionsFirst } from '../context.js';
import { trainClassifier, evaluateClassifier, CLASSIFIER_DEFAULTS as D, DEFAULT_ARCHITECTURE } from '../../metrics/index.js';

interface TrainArgs extends GlobalArgs {
  data: string; labels?: string; split?: string; size?: number; out: string; epochs?: number; batch?: number; lr?: number;
  'class-weights'?: boolean; init?: string; seed?: number; force?: boolean; patience?: number; 'lr-patience'?: number; augment?: boolean; workers?: number;
  'max-per-class'?: number; width?: number; checkpoint?: string;
}

interface EvalArgs extends GlobalArgs {
  model: string; data: string; labels?: string; split?: string; subset: 'train' | 'val' | 'test'; json?: boolean; out?: string;
  force?: boolean; resamples: number; seed: number;
}

const trainCommand: CommandModule<GlobalArgs, TrainArgs> = {
  command: 'train',
  describe: 'Train the reference classifier (compact W-Net-style CNN) on a split',
  builder: (y) => y
    .option('data', { type: 'string', demandOption: true, describe: 'ImageFolder root (<class>/<image>)' })
    .option('labels', { type: 'string', describe: 'labels CSV instead of class folders' })
    .option('split', { type: 'string', describe: 'split.json (cellgan split); without it 10 % of the data is held out for validation' })
    .option('size', { type: 'number', defaultDescription: `${D.size}; with --init the parent's`, describe: 'input size in pixels (multiple of 16)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (model.json, weights.bin, classifier.json)' })
    .option('epochs', { type: 'number', defaultDescription: String(D.epochs), describe: 'maximum epochs (early stopping on val loss)' })
    .option('batch', { type: 'number', defaultDescription: String(D.batchSize) })
    .option('lr', { type: 'number', defaultDescription: `${D.learningRate}, ${D.learningRateFineTune} with --init`, describe: 'Adam learning rate' })
    .option('patience', { type: 'number', defaultDescription: String(D.patience), describe: 'epochs without val-loss improvement before stopping' })
    .option('lr-patience', { type: 'number', defaultDescription: String(D.lrPatience), describe: 'epochs without val-loss improvement before the learning rate is halved (0: constant rate)' })
    .option('augment', { type: 'boolean', defaultDescription: String(D.augment), describe: 'random flips and 90° rotations (--no-augment to disable)' })
    .option('class-weights', { type: 'boolean', describe: 'weight the loss by inverse class frequency' })
    .option('init', { type: 'string', describe: 'saved classifier folder to fine-tune from (transfer learning)' })
    .option('max-per-class', { type: 'number', describe: 'use at most this many training images per class (quick runs)' })
    .option('width', { type: 'number', defaultDescription: String(DEFAULT_ARCHITECTURE.width), describe: 'filters of the first conv block' })
    .option('seed', { type: 'number', defaultDescription: String(D.seed) })
    .option('workers', { type: 'number', defaultDescription: String(D.workers), describe: 'worker threads for data-parallel classifier training (2 uses both cores of a 2-core machine on wasm; 0: this thread). Batch norm sees each worker\'s shard, so the count changes the result' })
    .option('checkpoint', { type: 'string', describe: 'also save the best-so-far classifier here after each improving epoch' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' }),
  handler: handler<TrainArgs>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await trainClassifier({
      data: args.data, labels: args.labels, split: args.split, size: args.size, out: args.out, epochs: args.epochs,
      batchSize: args.batch, learningRate: args.lr, classWeights: args['class-weights'], init: args.init, seed: args.seed, workers: args.workers,
      force: args.force, patience: args.patience, lrPatience: args['lr-patience'], augment: args.augment, maxPerClass: args['max-per-class'],
      architecture: args.width !== undefined ? { width: args.width } : undefined, logger: ctx.logger,
      checkpointDir: args.checkpoint,
    });
    const last = r.info.history[r.info.training.earlyStopping.bestEpoch - 1];
    process.stdout.write(`saved ${args.out}: ${r.info.classes.length} classes, best epoch ${r.info.training.earlyStopping.bestEpoch}` +
      (last?.valAccuracy != null ? `, val accuracy ${(last.valAccuracy * 100).toFixed(2)} %` : '') + '\n');
    r.model.dispose();
  }),
};

const evalCommand: CommandModule<GlobalArgs, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate a saved classifier: accuracy, balanced accuracy, per-class metrics with 95 % bootstrap CIs',
  builder: (y) => y
    .option('model', { type: 'string', demandOption: true, describe: 'classifier folder (from classifier train)' })
    .option('data', { type: 'string', demandOption: true })
    .option('labels', { type: 'string' })
    .option('split', { type: 'string', describe: 'split.json; with it only --subset is evaluated' })
    .option('subset', { type: 'string', choices: ['train', 'val', 'test'] as const, default: 'test' as const })
    .option('json', { type: 'boolean', describe: 'print the metrics as JSON' })
    .option('out', { type: 'string', describe: 'folder for metrics.json, predictions.csv and confusion.png' })
    .option('force', { type: 'boolean' })
    .option('resamples', { type: 'number', default: 1000, describe: 'bootstrap resamples for the 95 % CIs' })
    .option('seed', { type: 'number', default: 0, describe: 'bootstrap seed' }),
  handler: handler<EvalArgs>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await evaluateClassifier({
      model: args.model, data: args.data, labels: args.labels, split: args.split, subset: args.subset,
      out: args.out, force: args.force, resamples: args.resamples, seed: args.seed, logger: ctx.logger,
    });
    if (args.json) {
      process.stdout.write(JSON.stringify(r.report, null, 2) + '\n');
    } else {
      process.stdout.write(r.summary + '\n');
    }
  }),
};

export const classifierCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'classifier',
  describe: 'Train or evaluate the reference classifier used by score',
  builder: (y) => y.command(ownOptionsFirst(trainCommand) as never).command(ownOptionsFirst(evalCommand) as never).demandCommand(1),
  handler: () => {},
};
