import type { CommandModule } from 'yargs';
import { packModel, PACK_OPTIONS, type PackOptions } from '../../dcgan/index.js';
import { handler, type GlobalArgs, ownOptionsFirst } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';

const packCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'pack <run>',
  describe: 'Cut a trained run down to a shippable model folder (one checkpoint: generator_ema, discriminator, state; options, stats, grids) that generate --model and train --init read',
  builder: (y) => withOptions(y, PACK_OPTIONS) as never,
  handler: handler<ParsedArgs>(async (args) => {
    const o = optionsFromArgs<PackOptions>(PACK_OPTIONS, args);
    const r = await packModel(o);
    process.stdout.write(`packed checkpoint ${r.checkpoint} of ${o.run} into ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB; ${r.trainingImages === null ? 'its training data is not readable here, so no training-image fingerprints' : `fingerprints of ${r.trainingImages} training images`})\n`);
  }),
};

export const modelCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'model',
  describe: 'Shippable models: pack a trained run for generate --model and train --init',
  builder: (y) => y.command(ownOptionsFirst(packCommand) as never).demandCommand(1),
  handler: () => {},
};
