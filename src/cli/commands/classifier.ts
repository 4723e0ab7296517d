import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the classifier command lands; replaced by its owner.
export const classifierCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'classifier',
  describe: '(classifier: not implemented yet)',
  handler: () => { throw new CellganError('classifier is not implemented yet'); },
};
