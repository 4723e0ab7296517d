import type { CommandModule } from 'yargs';
import { train, TRAIN_OPTIONS, type TrainOptions } from '../../dcgan/index.js';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';

export const trainCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'train',
  describe: 'Train a DCGAN on one class (--class) or all classes (--conditional); resumable run folder',
  builder: (y) => withOptions(y, TRAIN_OPTIONS)
    .option('json', JSON_OPTION)
    .example('$0 train --data samples/pbc-mini --class basophil --size 64 --iters 2000 --batch 16 --diffaugment color,translation,cutout --out runs/baso', 'one small class')
    .example('$0 train --resume runs/baso --iters 4000', 'continue to 4000 iterations in total')
    .example('$0 train --data my-lab --conditional --init models/pbc-64 --freeze-d 1 --iters 500 --out runs/my-lab', 'fine-tune the shipped PBC model on new data') as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
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
    ctx.deferBackend();
    try {
      const r = await train({ ...optionsFromArgs<TrainOptions>(TRAIN_OPTIONS, args), logger: ctx.logger, signal: controller.signal });
      printResult(args.json, r, () => `${r.interrupted ? 'interrupted at' : 'trained to'} iteration ${r.iteration}: ${r.runDir}\ncheckpoint: ${r.checkpoint}\n`);
      return r.interrupted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
