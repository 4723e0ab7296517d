import type { CommandModule } from 'yargs';
import { makeSplit, writeSplit, checkSplitTarget, validateSplitOptions, SPLIT_OPTIONS, SPLIT_FILE_OPTIONS, DATA_OPTION, type SplitOptions } from '../../data/index.js';
import { Progress } from '../../util/progress.js';
import { handler, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';

export const splitCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'split <data>',
  describe: 'Write a stratified train/val/test split (exact and near duplicates kept together, label conflicts left out) as JSON',
  builder: (y) => withOptions(y, { data: { ...DATA_OPTION, positional: true, required: true } }, SPLIT_FILE_OPTIONS, SPLIT_OPTIONS)
    .example('$0 split samples/pbc-mini --out split.json --seed 1', '70/10/20 split, stratified per class') as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    const opts = optionsFromArgs<SplitOptions>(SPLIT_OPTIONS, args);
    const { out, force } = optionsFromArgs<{ out: string; force?: boolean }>(SPLIT_FILE_OPTIONS, args);
    validateSplitOptions(opts); // before any scanning, so a typo fails at once
    await checkSplitTarget(out, { force }); // an existing split is refused before the scan and the near-duplicate decode, not after
    let progress: Progress | undefined;
    let nearProgress: Progress | undefined;
    const split = await makeSplit(String(args.data), {
      ...opts,
      onProgress: (done, total) => { (progress ??= new Progress({ label: 'split', total, unit: 'files', logger: ctx.logger })).update(done); },
      onNearProgress: (done, total) => { if (!nearProgress) { progress?.finish(); progress = undefined; } (nearProgress ??= new Progress({ label: 'near-duplicates', total, unit: 'images', logger: ctx.logger })).update(done); },
    });
    progress?.finish();
    nearProgress?.finish();
    await writeSplit(out, split, { force });
    const n = split.splits;
    process.stdout.write(`wrote ${out}: train ${n.train.length}, val ${n.val.length}, test ${n.test.length}, excluded ${split.excluded.length} (seed ${split.seed})\n`);
    for (const e of split.excluded.slice(0, 20)) process.stdout.write(`  excluded ${e.file}: ${e.reason}\n`);
    if (split.excluded.length > 20) process.stdout.write(`  … and ${split.excluded.length - 20} more excluded (see ${out})\n`);
    ctx.logger.debug(`split options ${JSON.stringify(split.options)}`);
  }),
};
