import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the train command lands; replaced by its owner.
export const trainCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'train',
  describe: '(train: not implemented yet)',
  handler: () => { throw new CellganError('train is not implemented yet'); },
};
