import type { CommandModule } from 'yargs';
import { handler, JSON_OPTION, type GlobalArgs, ownOptionsFirst } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';
import {
  trainClassifier, evaluateClassifier, CLASSIFIER_TRAIN_OPTIONS, CLASSIFIER_EVAL_OPTIONS, type TrainClassifierOptions, type EvaluateClassifierOptions,
} from '../../metrics/index.js';

const trainCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'train',
  describe: 'Train the reference classifier (compact W-Net-style CNN) on a split',
  builder: (y) => withOptions(y, CLASSIFIER_TRAIN_OPTIONS) as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await trainClassifier({ ...optionsFromArgs<TrainClassifierOptions>(CLASSIFIER_TRAIN_OPTIONS, args), logger: ctx.logger });
    const last = r.info.history[r.info.training.earlyStopping.bestEpoch - 1];
    process.stdout.write(`saved ${r.out}: ${r.info.classes.length} classes, best epoch ${r.info.training.earlyStopping.bestEpoch}` +
      (last?.valAccuracy != null ? `, val accuracy ${(last.valAccuracy * 100).toFixed(2)} %` : '') + '\n');
    r.model.dispose();
  }),
};

const evalCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'eval',
  describe: 'Evaluate a saved classifier: accuracy, balanced accuracy, per-class metrics with 95 % bootstrap CIs',
  builder: (y) => withOptions(y, CLASSIFIER_EVAL_OPTIONS).option('json', JSON_OPTION) as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await evaluateClassifier({ ...optionsFromArgs<EvaluateClassifierOptions>(CLASSIFIER_EVAL_OPTIONS, args), logger: ctx.logger });
    if (args.json) {
      process.stdout.write(JSON.stringify(r.report, null, 2) + '\n');
    } else {
      process.stdout.write(r.summary + '\n');
    }
  }),
};

export const classifierCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'classifier',
  describe: 'Train or evaluate the reference classifier used by score',
  builder: (y) => y.command(ownOptionsFirst(trainCommand) as never).command(ownOptionsFirst(evalCommand) as never).demandCommand(1),
  handler: () => {},
};
