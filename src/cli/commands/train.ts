import type { CommandModule } from 'yargs';
import { train, type TrainOptions } from '../../dcgan/index.js';
import { handler, type GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  data?: string; labels?: string; split?: string; class?: string; conditional?: boolean;
  size?: number; iters: number; batch?: number; out?: string; resume?: string; seed?: number; force?: boolean;
  'g-width'?: number; 'd-width'?: number; nz?: number; lr?: number; beta1?: number; beta2?: number;
  diffaugment?: string; 'ema-decay'?: number; 'log-every'?: number; 'grid-every'?: number;
  'checkpoint-every'?: number; 'keep-checkpoints'?: number; 'collapse-threshold'?: number; 'collapse-after'?: number; workers?: number;
}

export const trainCommand: CommandModule<GlobalArgs, Args> = {
  command: 'train',
  describe: 'Train a DCGAN on one class (--class) or all classes (--conditional); resumable run folder',
  builder: (y) => y
    .option('data', { type: 'string', describe: 'ImageFolder root (<class>/<image>)' })
    .option('labels', { type: 'string', describe: 'labels CSV (file,class) instead of class folders' })
    .option('split', { type: 'string', describe: 'split file: train only on its train subset' })
    .option('class', { type: 'string', describe: 'train one model for this class' })
    .option('conditional', { type: 'boolean', describe: 'one class-conditional model for all classes' })
    .option('size', { type: 'number', describe: 'image size: 32, 64 or 128 [default: 64]' })
    .option('iters', { type: 'number', demandOption: true, describe: 'total iterations of the run (also with --resume)' })
    .option('batch', { type: 'number', describe: 'batch size [default: 64]' })
    .option('out', { type: 'string', describe: 'run folder to create' })
    .option('resume', { type: 'string', describe: 'continue this run folder from its last checkpoint' })
    .option('seed', { type: 'number', describe: 'seed of weights, batches, noise and augmentation [default: 0]' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' })
    .option('g-width', { type: 'number', describe: 'generator base width [default: 64]' })
    .option('d-width', { type: 'number', describe: 'discriminator base width [default: 64]' })
    .option('nz', { type: 'number', describe: 'noise dimension [default: 100]' })
    .option('lr', { type: 'number', describe: 'Adam learning rate [default: 0.0002]' })
    .option('beta1', { type: 'number', describe: 'Adam beta1 [default: 0.5]' })
    .option('beta2', { type: 'number', describe: 'Adam beta2 [default: 0.999]' })
    .option('diffaugment', { type: 'string', describe: 'DiffAugment policy for small classes, e.g. color,translation,cutout [default: none]' })
    .option('ema-decay', { type: 'number', describe: 'EMA decay of generator_ema (used for grids and generate); 0 = no averaging [default: 0.999]' })
    .option('log-every', { type: 'number', describe: 'iterations per stats.jsonl line [default: 10]' })
    .option('grid-every', { type: 'number', describe: 'iterations per sample grid [default: 250]' })
    .option('checkpoint-every', { type: 'number', describe: 'iterations per checkpoint [default: 500]' })
    .option('keep-checkpoints', { type: 'number', describe: 'checkpoints kept [default: 3]' })
    .option('collapse-threshold', { type: 'number', describe: 'warn when sample diversity / real diversity falls below this [default: 0.2]' })
    .option('workers', { type: 'number', describe: 'worker threads for data-parallel gradients (0 = main thread) [default: 0]' })
    .option('collapse-after', { type: 'number', describe: 'iterations before the mode-collapse alarm is active [default: 200]' })
    .example('$0 train --data samples/pbc-mini --class basophil --size 64 --iters 2000 --batch 16 --diffaugment color,translation,cutout --out runs/baso', 'one small class')
    .example('$0 train --resume runs/baso --iters 4000', 'continue to 4000 iterations in total') as never,
  handler: handler<Args>(async (args, ctx) => {
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      // First signal: stop after this iteration and checkpoint. Second: give up at once
      // (checkpoints are atomic, so the last complete one stays usable).
      if (++signals > 1) process.exit(130);
      ctx.logger.warn(`${sig}: saving a checkpoint and stopping (press again to quit at once)`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const opts: TrainOptions = {
      data: args.data, labels: args.labels, split: args.split, className: args.class, conditional: args.conditional,
      size: args.size, iters: args.iters, batch: args.batch, out: args.out, resume: args.resume, seed: args.seed,
      gWidth: args['g-width'], dWidth: args['d-width'], nz: args.nz, lr: args.lr, beta1: args.beta1, beta2: args.beta2,
      diffAugment: args.diffaugment, emaDecay: args['ema-decay'], logEvery: args['log-every'], gridEvery: args['grid-every'],
      checkpointEvery: args['checkpoint-every'], keepCheckpoints: args['keep-checkpoints'],
      collapseThreshold: args['collapse-threshold'], collapseAfter: args['collapse-after'], workers: args.workers,
      logger: ctx.logger, signal: controller.signal,
    };
    if (args.force !== undefined) opts.force = args.force;
    if (process.env.CELLGAN_TEST_FAULTS) opts.faults = JSON.parse(process.env.CELLGAN_TEST_FAULTS) as TrainOptions['faults'];
    for (const k of Object.keys(opts) as (keyof TrainOptions)[]) if (opts[k] === undefined) delete opts[k];
    await ctx.backend();
    try {
      const r = await train(opts);
      process.stdout.write(`${r.interrupted ? 'interrupted at' : 'trained to'} iteration ${r.iteration}: ${r.runDir}\ncheckpoint: ${r.checkpoint}\n`);
      return r.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
