import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the score command lands; replaced by its owner.
export const scoreCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'score',
  describe: '(score: not implemented yet)',
  handler: () => { throw new CellganError('score is not implemented yet'); },
};
