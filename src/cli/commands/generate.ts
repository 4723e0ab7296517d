import type { CommandModule } from 'yargs';
import { generate } from '../../dcgan/index.js';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';

interface Args extends GlobalArgs {
  model: string; checkpoint?: number; count: number; class?: string; out: string; seed: number; batch: number; force?: boolean; raw?: boolean; json?: boolean;
}

export const generateCommand: CommandModule<GlobalArgs, Args> = {
  command: 'generate',
  describe: 'Sample a trained run into <out>/<class>/<index>.png with a manifest.jsonl (any image can be regenerated)',
  builder: (y) => y
    .option('model', { type: 'string', demandOption: true, describe: 'run folder made by cellgan train, or a packed model (e.g. models/pbc-64)' })
    .option('checkpoint', { type: 'number', describe: 'checkpoint iteration', defaultDescription: 'the latest' })
    .option('count', { type: 'number', demandOption: true, describe: 'images per class' })
    .option('class', { type: 'string', describe: 'only this class (a conditional model makes every class otherwise)' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (synthetic ImageFolder)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed; image i of class c uses noise from (seed, c, i)' })
    .option('batch', { type: 'number', default: 64, describe: 'images per generator call (memory bound; does not change the images)' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' })
    .option('raw', { type: 'boolean', describe: 'sample the raw generator instead of generator_ema (recorded in manifest.jsonl)' })
    .option('json', JSON_OPTION)
    .example('$0 generate --model runs/baso --count 500 --out synth/baso --seed 1', '500 basophils') as never,
  handler: handler<Args>(async (args, ctx) => {
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    ctx.deferBackend();
    try {
      const r = await generate({
        model: args.model, checkpoint: args.checkpoint, count: args.count, className: args.class, out: args.out,
        seed: args.seed, batch: args.batch, force: args.force, raw: args.raw, logger: ctx.logger, signal: controller.signal,
      });
      const images = (n: number) => `${n} image${n === 1 ? '' : 's'}`;
      printResult(args.json, r, () => `wrote ${images(r.total)} (${Object.entries(r.counts).map(([c, n]) => `${c}: ${n}`).join(', ')}) from checkpoint ${r.checkpoint} to ${r.out}\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
