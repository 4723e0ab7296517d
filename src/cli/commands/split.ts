import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the split command lands; replaced by its owner.
export const splitCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'split',
  describe: '(split: not implemented yet)',
  handler: () => { throw new CellganError('split is not implemented yet'); },
};
