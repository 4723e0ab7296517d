import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the inspect command lands; replaced by its owner.
export const inspectCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'inspect',
  describe: '(inspect: not implemented yet)',
  handler: () => { throw new CellganError('inspect is not implemented yet'); },
};
