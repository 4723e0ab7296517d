/**
 * `npm run bench -- --cases quality [options]`: the quality benchmark's
 * command line (defaults from QUALITY_DEFAULTS, validated by the library).
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../util/log.js';
import { QUALITY_DEFAULTS, runQualityBench, type GanTrainSize, type QualityResult } from './quality.js';
import type { TrainOptions } from '../dcgan/types.js';

const d = QUALITY_DEFAULTS;
export const QUALITY_USAGE = `usage: npm run bench -- --cases quality [options]
  --recipe NAME            training recipe (default ${d.recipe})
  --iters N                training budget in iterations (default ${d.iters})
  --data DIR               ImageFolder (default ${d.data})
  --work DIR               cache of split, reference classifier, runs (default ${d.work})
  --run DIR                run folder (default <work>/runs/<recipe>; resumed when it exists)
  --split FILE             split file (default <work>/split.json, made once)
  --reference DIR          use this saved classifier as the reference (default: train and cache one)
  --no-train               score the run's existing checkpoints only
  --no-gan-train           skip the final GAN-train classifier (a quick look at a run still training)
  --size PX                32, 64 or 128 (default ${d.size})
  --checkpoint-every N     (default ${d.checkpointEvery}); each checkpoint is a point of the curve
  --score-every N          score only checkpoints at multiples of N run iterations, and the last (default ${d.scoreEvery}: all)
  --until N                the last checkpoint to score, by run iteration (default: the latest); GAN-train is computed there
  --per-class N            synthetic images per class per checkpoint (default ${d.perClass})
  --gan-train-per-class N  synthetic images per class for GAN-train; 'match': of every class as many as
                           the real training split has; 'balanced': as many in all, equal per class
                           (default ${d.ganTrainPerClass})
  --gan-train-draws N      GAN-train draws (fresh synthetic set and classifier seed each) to average (default ${d.ganTrainDraws})
  --standing-stats N       sample with standing batch-norm statistics over N batches (generate --standing-stats; default ${d.standingStats})
  --reference-epochs N     (default ${d.referenceEpochs})
  --workers N              (default ${d.workers})
  --seed N                 (default ${d.seed})
  --train-json JSON        extra train options, e.g. '{"gWidth":48}' (recorded in the result)
  --out FILE               result JSON (default <work>/<recipe>.json; the plot beside it as .png)`;

export async function qualityMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipe: { type: 'string' }, iters: { type: 'string' }, data: { type: 'string' }, work: { type: 'string' }, run: { type: 'string' },
      split: { type: 'string' }, reference: { type: 'string' }, 'no-train': { type: 'boolean', default: false }, 'no-gan-train': { type: 'boolean', default: false }, size: { type: 'string' },
      'checkpoint-every': { type: 'string' }, 'score-every': { type: 'string' }, until: { type: 'string' }, 'per-class': { type: 'string' }, 'gan-train-per-class': { type: 'string' }, 'gan-train-draws': { type: 'string' }, 'standing-stats': { type: 'string' },
      'reference-epochs': { type: 'string' }, workers: { type: 'string' }, seed: { type: 'string' }, 'train-json': { type: 'string' },
      out: { type: 'string' }, help: { type: 'boolean', default: false },
    },
  });
  if (values.help) { console.log(QUALITY_USAGE); return; }
  const num = (x: string | undefined) => (x === undefined ? undefined : Number(x));
  let overrides: Partial<TrainOptions> | undefined;
  if (values['train-json']) {
    try { overrides = JSON.parse(values['train-json']) as Partial<TrainOptions>; } catch { throw new Error(`--train-json: expected a JSON object, received ${values['train-json']}`); }
  }
  const logger = createLogger({ level: 'info' });
  const r = await runQualityBench({
    recipe: values.recipe as QualityResult['recipe'] | undefined, iters: num(values.iters), data: values.data, work: values.work, run: values.run,
    split: values.split, reference: values.reference, train: !values['no-train'], ganTrain: !values['no-gan-train'], size: num(values.size),
    checkpointEvery: num(values['checkpoint-every']), scoreEvery: num(values['score-every']), until: num(values.until), perClass: num(values['per-class']), ganTrainPerClass: sizeArg(values['gan-train-per-class']),
    ganTrainDraws: num(values['gan-train-draws']), standingStats: num(values['standing-stats']),
    referenceEpochs: num(values['reference-epochs']), workers: num(values.workers), seed: num(values.seed), trainOverrides: overrides,
    out: values.out, logger,
  });
  console.log(qualityTable(r));
}

/** A count, or a named size ('match', 'balanced'; the library checks the name). */
function sizeArg(x: string | undefined): GanTrainSize | undefined {
  return x === undefined ? undefined : /^\d+$/.test(x) ? Number(x) : x as GanTrainSize;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : (x * 100).toFixed(1));

/** The curve as a plain-text table, for the terminal and the notes. */
export function qualityTable(r: QualityResult): string {
  const L = [`${r.recipe} on ${r.data} at ${r.size} px; ${r.cpu}, ${r.cores} cores`,
    'iteration  wall h  cpu h  GAN-test %  bal. %  mean FID  mean KID×10³  diversity'];
  for (const p of r.curve) {
    L.push(`${String(p.iteration).padStart(9)}  ${(p.wall_s / 3600).toFixed(2).padStart(6)}  ${(p.cpu_s / 3600).toFixed(2).padStart(5)}  ${pct(p.gan_test.accuracy.value).padStart(10)}  ${pct(p.gan_test.balanced_accuracy.value).padStart(6)}  ${(p.fid_mean ?? NaN).toFixed(1).padStart(8)}  ${((p.kid_mean ?? NaN) * 1e3).toFixed(1).padStart(12)}  ${p.diversity_ratio.toFixed(3).padStart(9)}`);
  }
  L.push(`baseline ${pct(r.baseline.accuracy.value)} %, GAN-train ${pct(r.gan_train?.accuracy.value)} %, GAN-test ${pct(r.gan_test.accuracy.value)} % (iteration ${r.gan_test.iteration})`);
  if (r.gan_train?.draws) L.push(`GAN-train draws: ${r.gan_train.draws.map((x) => `${pct(x.accuracy)} (noise seed ${x.noise_seed})`).join(', ')}`);
  L.push('GAN-test per class: ' + Object.entries(r.gan_test.per_class).map(([c, x]) => `${c} ${pct(x)}`).join(', '));
  return L.join('\n');
}
