import type { CommandModule } from 'yargs';
import { generate, GENERATE_OPTIONS, type GenerateOptions } from '../../dcgan/index.js';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';

export const generateCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'generate',
  describe: 'Sample a trained run into <out>/<class>/<index>.png with a manifest.jsonl (any image can be regenerated)',
  builder: (y) => withOptions(y, GENERATE_OPTIONS)
    .option('json', JSON_OPTION)
    .example('$0 generate --model runs/baso --count 500 --out synth/baso --seed 1', '500 basophils') as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    ctx.deferBackend();
    try {
      const r = await generate({ ...optionsFromArgs<GenerateOptions>(GENERATE_OPTIONS, args), logger: ctx.logger, signal: controller.signal });
      const images = (n: number) => `${n} image${n === 1 ? '' : 's'}`;
      printResult(args.json, r, () => `wrote ${images(r.total)} (${Object.entries(r.counts).map(([c, n]) => `${c}: ${n}`).join(', ')}) from checkpoint ${r.checkpoint} to ${r.out}\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
