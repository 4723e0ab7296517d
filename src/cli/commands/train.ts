import type { CommandModule } from 'yargs';
import { train, RECIPES, RECIPE_NAMES, DEFAULT_RECIPE, TRAIN_DEFAULTS, type TrainOptions, type RecipeName } from '../../dcgan/index.js';
import { GAN_LOSSES } from '../../dcgan/step.js';
import { D_NORMS, G_CONDITIONINGS } from '../../dcgan/models.js';

const recipeHelp = RECIPE_NAMES.map((n) => `${n}: ${RECIPES[n].description}`).join('; ');
/** What a recipe-filled option defaults to ("recipe: dcgan X, sngan Y"), shown by yargs as its default. */
const byRecipe = (f: (r: (typeof RECIPES)[RecipeName]) => unknown) => ({ defaultDescription: `recipe: ${RECIPE_NAMES.map((n) => `${n} ${String(f(RECIPES[n]) ?? 'same as --lr')}`).join(', ')}` });
/** A default of train's (the library's own constant), shown by yargs. */
const dflt = (k: keyof typeof TRAIN_DEFAULTS) => ({ defaultDescription: String(TRAIN_DEFAULTS[k]) });
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  data?: string; labels?: string; split?: string; class?: string; conditional?: boolean;
  size?: number; iters: number; batch?: number; out?: string; resume?: string; seed?: number; force?: boolean;
  'g-width'?: number; 'd-width'?: number; nz?: number; lr?: number; beta1?: number; beta2?: number;
  diffaugment?: string; 'ema-decay'?: number; 'log-every'?: number; 'grid-every'?: number;
  'checkpoint-every'?: number; 'keep-checkpoints'?: number; 'collapse-threshold'?: number; 'collapse-after'?: number; workers?: number;
  recipe?: string; loss?: string; 'd-norm'?: string; 'g-conditioning'?: string; 'd-lr'?: number; 'ema-rampup'?: number; 'balanced-classes'?: boolean; 'aux-weight'?: number; 'aux-twin'?: boolean; 'mode-seeking-weight'?: number;
  init?: string; 'init-class'?: string; 'freeze-d'?: number; json?: boolean;
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
    .option('size', { type: 'number', describe: 'image size: 32, 64 or 128', ...dflt('size') })
    .option('iters', { type: 'number', demandOption: true, describe: 'total iterations of the run (also with --resume)' })
    .option('recipe', { type: 'string', choices: RECIPE_NAMES as unknown as string[], describe: `named settings for every option below not given (${recipeHelp})`, defaultDescription: `${DEFAULT_RECIPE}; with --init: the parent's` })
    .option('batch', { type: 'number', describe: `batch size`, ...byRecipe((r) => r.batch) })
    .option('out', { type: 'string', describe: 'run folder to create' })
    .option('resume', { type: 'string', describe: 'continue this run folder from its last checkpoint' })
    .option('seed', { type: 'number', describe: 'seed of weights, batches, noise and augmentation', ...dflt('seed') })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' })
    .option('g-width', { type: 'number', describe: `generator base width`, ...byRecipe((r) => r.gWidth) })
    .option('d-width', { type: 'number', describe: `discriminator base width`, ...byRecipe((r) => r.dWidth) })
    .option('nz', { type: 'number', describe: `noise dimension`, ...byRecipe((r) => r.nz) })
    .option('lr', { type: 'number', describe: `Adam learning rate of G (and of D unless --d-lr)`, ...byRecipe((r) => r.lr) })
    .option('beta1', { type: 'number', describe: `Adam beta1`, ...byRecipe((r) => r.beta1) })
    .option('beta2', { type: 'number', describe: `Adam beta2`, ...byRecipe((r) => r.beta2) })
    .option('diffaugment', { type: 'string', describe: `DiffAugment policy (color, translation, cutout; none)`, ...byRecipe((r) => r.diffAugment.join(',') || 'none') })
    .option('ema-decay', { type: 'number', describe: `EMA decay of generator_ema (used for grids and generate); 0 = no averaging`, ...byRecipe((r) => r.emaDecay) })
    .option('ema-rampup', { type: 'number', describe: `EMA warm-up: half-life at most this fraction of the iterations so far (0: (1+t)/(10+t))`, ...byRecipe((r) => r.emaRampup) })
    .option('loss', { type: 'string', choices: GAN_LOSSES as unknown as string[], describe: `GAN loss`, ...byRecipe((r) => r.loss) })
    .option('d-norm', { type: 'string', choices: D_NORMS as unknown as string[], describe: `D normalisation`, ...byRecipe((r) => r.dNorm) })
    .option('g-conditioning', { type: 'string', choices: G_CONDITIONINGS as unknown as string[], describe: `how a conditional G sees the class: input (one-hot beside the noise) or batchnorm (also per-class batch-norm gain and bias)`, ...byRecipe((r) => r.gConditioning) })
    .option('d-lr', { type: 'number', describe: `Adam learning rate of D`, ...byRecipe((r) => r.dLr) })
    .option('balanced-classes', { type: 'boolean', describe: `conditional: class-balanced batches (each class equally often)`, ...byRecipe((r) => r.balancedClasses) })
    .option('aux-weight', { type: 'number', describe: 'conditional: weight of the auxiliary-classifier loss (D learns real images\' classes, G is pushed toward images D classifies as their label; 0 = off)', ...byRecipe((r) => r.auxWeight) })
    .option('aux-twin', { type: 'boolean', describe: 'with --aux-weight: a twin classifier on G\'s images (TAC-GAN) so the aux term matches G\'s classes to the real ones instead of sharpening them', ...byRecipe((r) => r.auxTwin) })
    .option('mode-seeking-weight', { type: 'number', describe: 'weight of the mode-seeking term (MSGAN): G is paid for different noises giving different images of a class; 0 = off', ...byRecipe((r) => r.modeSeekingWeight) })
    .option('init', { type: 'string', describe: 'fine-tune: start G and D from this run folder or model (e.g. models/pbc-64); its settings become the defaults' })
    .option('init-class', { type: 'string', describe: 'fine-tune: a class the --init model lacks starts from this class of it', defaultDescription: 'the mean of its classes' })
    .option('freeze-d', { type: 'number', describe: 'fine-tune (FreezeD): keep the first N conv blocks of D fixed', ...dflt('freezeD') })
    .option('log-every', { type: 'number', describe: 'iterations per stats.jsonl line', ...dflt('logEvery') })
    .option('grid-every', { type: 'number', describe: 'iterations per sample grid', ...dflt('gridEvery') })
    .option('checkpoint-every', { type: 'number', describe: 'iterations per checkpoint', ...dflt('checkpointEvery') })
    .option('keep-checkpoints', { type: 'number', describe: 'checkpoints kept', ...dflt('keepCheckpoints') })
    .option('collapse-threshold', { type: 'number', describe: 'warn when sample diversity / real diversity falls below this', ...dflt('collapseThreshold') })
    .option('workers', { type: 'number', describe: 'worker threads for data-parallel gradients (0 = main thread)', ...dflt('workers') })
    .option('collapse-after', { type: 'number', describe: 'iterations before the mode-collapse alarm is active', ...dflt('collapseAfter') })
    .option('json', JSON_OPTION)
    .example('$0 train --data samples/pbc-mini --class basophil --size 64 --iters 2000 --batch 16 --diffaugment color,translation,cutout --out runs/baso', 'one small class')
    .example('$0 train --resume runs/baso --iters 4000', 'continue to 4000 iterations in total')
    .example('$0 train --data my-lab --conditional --init models/pbc-64 --freeze-d 1 --iters 500 --out runs/my-lab', 'fine-tune the shipped PBC model on new data') as never,
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
      recipe: args.recipe as RecipeName | undefined, loss: args.loss as TrainOptions['loss'], dNorm: args['d-norm'] as TrainOptions['dNorm'],
      gConditioning: args['g-conditioning'] as TrainOptions['gConditioning'], dLr: args['d-lr'], emaRampup: args['ema-rampup'],
      balancedClasses: args['balanced-classes'], auxWeight: args['aux-weight'], auxTwin: args['aux-twin'], modeSeekingWeight: args['mode-seeking-weight'], init: args.init, initClass: args['init-class'], freezeD: args['freeze-d'],
      logger: ctx.logger, signal: controller.signal,
    };
    if (args.force !== undefined) opts.force = args.force;
    for (const k of Object.keys(opts) as (keyof TrainOptions)[]) if (opts[k] === undefined) delete opts[k];
    ctx.deferBackend();
    try {
      const r = await train(opts);
      printResult(args.json, r, () => `${r.interrupted ? 'interrupted at' : 'trained to'} iteration ${r.iteration}: ${r.runDir}\ncheckpoint: ${r.checkpoint}\n`);
      return r.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
