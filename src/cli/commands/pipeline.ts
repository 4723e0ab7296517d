import type { CommandModule } from 'yargs';
import { CellganError } from '../../util/errors.js';
import type { GlobalArgs } from '../context.js';

// Placeholder until the pipeline command lands; replaced by its owner.
export const pipelineCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'pipeline',
  describe: '(pipeline: not implemented yet)',
  handler: () => { throw new CellganError('pipeline is not implemented yet'); },
};
