import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the generate command lands; replaced by its owner.
export const generateCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'generate',
  describe: '(generate: not implemented yet)',
  handler: () => { throw new CellganError('generate is not implemented yet'); },
};
