import type { CommandModule } from 'yargs';
import { packModel } from '../../dcgan/index.js';
import { handler, type GlobalArgs, ownOptionsFirst } from '../context.js';

interface PackArgs extends GlobalArgs { run: string; out: string; checkpoint?: number; force?: boolean }

const packCommand: CommandModule<GlobalArgs, PackArgs> = {
  command: 'pack <run>',
  describe: 'Cut a trained run down to a shippable model folder (one checkpoint: generator_ema, discriminator, state; options, stats, grids) that generate --model and train --init read',
  builder: (y) => y
    .positional('run', { type: 'string', demandOption: true, describe: 'run folder made by cellgan train' })
    .option('out', { type: 'string', demandOption: true, describe: 'model folder to create (e.g. models/my-lab-64)' })
    .option('checkpoint', { type: 'number', describe: 'checkpoint iteration [default: the latest]' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' }) as never,
  handler: handler<PackArgs>(async (args) => {
    const r = await packModel({ run: args.run, out: args.out, checkpoint: args.checkpoint, force: args.force });
    process.stdout.write(`packed checkpoint ${r.checkpoint} of ${args.run} into ${r.out} (${(r.bytes / 1e6).toFixed(1)} MB; ${r.trainingImages === null ? 'its training data is not readable here, so no training-image fingerprints' : `fingerprints of ${r.trainingImages} training images`})\n`);
  }),
};

export const modelCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'model',
  describe: 'Shippable models: pack a trained run for generate --model and train --init',
  builder: (y) => y.command(ownOptionsFirst(packCommand) as never).demandCommand(1),
  handler: () => {},
};
