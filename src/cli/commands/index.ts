import type { CommandModule } from 'yargs';
import { backendCommand } from './backend.js';
import { inspectCommand } from './inspect.js';
import { splitCommand } from './split.js';
import { trainCommand } from './train.js';
import { generateCommand } from './generate.js';
import { classifierCommand } from './classifier.js';
import { scoreCommand } from './score.js';
import { exportCommand } from './export.js';
import { pipelineCommand } from './pipeline.js';
import { modelCommand } from './model.js';
import { jobsCommand } from './jobs.js';

/** Every subcommand, in the order `cellgan --help` lists them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argument type
export const commands: CommandModule<any, any>[] = [
  inspectCommand, splitCommand, trainCommand, generateCommand, modelCommand, classifierCommand,
  scoreCommand, exportCommand, pipelineCommand, jobsCommand, backendCommand,
];
