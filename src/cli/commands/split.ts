import type { CommandModule } from 'yargs';
import { makeSplit, writeSplit, checkSplitTarget, validateSplitOptions } from '../../data/index.js';
import { DEFAULT_NEAR_THRESHOLD, MAX_NEAR_THRESHOLD } from '../../data/near.js';
import { Progress } from '../../util/progress.js';
import { handler, type GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  data: string;
  out: string;
  val: number;
  test: number;
  seed: number;
  'group-by'?: string;
  labels?: string;
  deep?: boolean;
  'near-threshold'?: number;
  force?: boolean;
}

export const splitCommand: CommandModule<GlobalArgs, Args> = {
  command: 'split <data>',
  describe: 'Write a stratified train/val/test split (exact and near duplicates kept together, label conflicts left out) as JSON',
  builder: (y) => y
    .positional('data', { type: 'string', demandOption: true, describe: 'ImageFolder root (<class>/<image>) or a labels .csv' })
    .option('out', { type: 'string', demandOption: true, describe: 'split file to write (e.g. split.json)' })
    .option('val', { type: 'number', default: 0.1, describe: 'fraction of each class for validation, in [0, 1)' })
    .option('test', { type: 'number', default: 0.2, describe: 'fraction of each class for test, in [0, 1)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the shuffle; same data and seed give the same file' })
    .option('group-by', { type: 'string', describe: 'labels-CSV column (e.g. patient) whose groups must not cross splits' })
    .option('labels', { type: 'string', describe: 'labels CSV with columns file,class (paths relative to the CSV)' })
    .option('near-threshold', { type: 'number', default: DEFAULT_NEAR_THRESHOLD, describe: `largest distance (1 − cosine of flip/rotation-invariant DCT fingerprints, 0–${MAX_NEAR_THRESHOLD}) at which two images count as the same cell; ${DEFAULT_NEAR_THRESHOLD} found 98.5 % of altered PBC copies` })
    .option('deep', { type: 'boolean', default: false, describe: 'decode every image to leave out corrupt ones (slower)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing split file' })
    .example('$0 split samples/pbc-mini --out split.json --seed 1', '70/10/20 split, stratified per class') as never,
  handler: handler<Args>(async (args, ctx) => {
    const opts = { labels: args.labels, val: args.val, test: args.test, seed: args.seed, groupBy: args['group-by'], deep: args.deep, nearThreshold: args['near-threshold'] };
    validateSplitOptions(opts); // before any scanning, so a typo fails at once
    await checkSplitTarget(args.out, { force: args.force }); // an existing split is refused before the scan and the near-duplicate decode, not after
    let progress: Progress | undefined;
    let nearProgress: Progress | undefined;
    const split = await makeSplit(args.data, {
      ...opts,
      onProgress: (done, total) => { (progress ??= new Progress({ label: 'split', total, unit: 'files', logger: ctx.logger })).update(done); },
      onNearProgress: (done, total) => { if (!nearProgress) { progress?.finish(); progress = undefined; } (nearProgress ??= new Progress({ label: 'near-duplicates', total, unit: 'images', logger: ctx.logger })).update(done); },
    });
    progress?.finish();
    nearProgress?.finish();
    await writeSplit(args.out, split, { force: args.force });
    const n = split.splits;
    process.stdout.write(`wrote ${args.out}: train ${n.train.length}, val ${n.val.length}, test ${n.test.length}, excluded ${split.excluded.length} (seed ${split.seed})\n`);
    for (const e of split.excluded.slice(0, 20)) process.stdout.write(`  excluded ${e.file}: ${e.reason}\n`);
    if (split.excluded.length > 20) process.stdout.write(`  … and ${split.excluded.length - 20} more excluded (see ${args.out})\n`);
    ctx.logger.debug(`split options ${JSON.stringify(split.options)}`);
  }),
};
