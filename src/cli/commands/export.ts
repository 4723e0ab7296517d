import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the export command lands; replaced by its owner.
export const exportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'export',
  describe: '(export: not implemented yet)',
  handler: () => { throw new CellganError('export is not implemented yet'); },
};
