import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { runPipeline, PIPELINE_MODES } from '../../pipeline/pipeline.js';
import { BUDGETS, BUDGET_NAMES, type BudgetName } from '../../pipeline/budgets.js';
import type { StageName } from '../../pipeline/state.js';
import { RECIPE_NAMES } from '../../dcgan/recipes.js';
import { resolveShard } from '../../pipeline/shard.js';

interface PipelineArgs extends GlobalArgs {
  data: string;
  out: string;
  labels?: string;
  classes?: string;
  budget: string;
  size?: number;
  mode: string;
  seed: number;
  iters?: number;
  count?: number;
  until?: string;
  workers: number;
  recipe?: string;
  init?: string;
  json?: boolean;
  shard?: string;
  shards?: number;
}

/** The options that decide what a pipeline computes, but --mode (shared with `cellgan jobs`, which passes them on). */
export function pipelineOptions<T>(y: Argv<T>) {
  return y
    .option('data', { type: 'string', demandOption: true, describe: 'ImageFolder root (<class>/<image>), or the folder --labels paths are relative to' })
    .option('out', { type: 'string', demandOption: true, describe: 'pipeline folder: each stage writes <out>/<stage>/, plus pipeline.json and report.html; run again to skip completed stages and resume training' })
    .option('labels', { type: 'string', describe: 'labels CSV with columns file,class' })
    .option('classes', { type: 'string', describe: 'only these classes, comma-separated (at least 2)' })
    .option('budget', {
      type: 'string', default: 'quick', choices: [...BUDGET_NAMES],
      describe: `compute budget: ${BUDGET_NAMES.map((b) => `${b} (${BUDGETS[b].recipe} recipe, ${BUDGETS[b].iters} GAN iterations, widths ${BUDGETS[b].gWidth}, ${BUDGETS[b].count} images/class)`).join('; ')}`,
    })
    .option('size', { type: 'number', describe: 'image size, 32, 64 or 128 (default: the budget\'s, 64)' })
    .option('seed', { type: 'number', default: 0, describe: 'seed of the split, training, generation and export' })
    .option('iters', { type: 'number', describe: 'override the budget\'s GAN iterations' })
    .option('count', { type: 'number', describe: 'override the budget\'s synthetic images per class' })
    .option('recipe', { type: 'string', choices: [...RECIPE_NAMES], describe: 'override the budget\'s training recipe' })
    .option('init', { type: 'string', describe: 'fine-tune this run or shipped model (e.g. models/pbc-64) instead of training from scratch; its architecture and recipe are used' })
    .option('workers', { type: 'number', default: 0, describe: 'train the GAN and the score classifiers data-parallel over this many worker threads (2 uses both cores of a 2-core machine on wasm; 0: in the main thread). A different count trains different models (batch norm sees each worker\'s shard)' });
}

export const pipelineCommand: CommandModule<GlobalArgs, PipelineArgs> = {
  command: 'pipeline',
  describe: 'inspect → split → train → generate → score → export on one dataset, then write report.html (re-run to resume)',
  builder: (y) => pipelineOptions(y)
    .option('mode', { type: 'string', default: 'conditional', choices: [...PIPELINE_MODES], describe: 'one class-conditional GAN, or one GAN per class' })
    .option('shard', { type: 'string', describe: 'I/N (0 ≤ I < N): train only this shard\'s per-class GANs (class k in name order goes to shard k mod N) into the same --out, then stop; a plain run on the folder afterwards merges. Default: from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shards (needs --mode per-class)' })
    .option('shards', { type: 'number', describe: 'the number of shards when the index comes from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job\'s completions)' })
    .option('json', JSON_OPTION)
    .option('until', { type: 'string', choices: ['select', 'inspect', 'split', 'train', 'generate', 'score', 'export'], describe: 'stop after this stage' })
    .example('$0 pipeline --data samples/pbc-mini --out runs/demo --budget quick', 'the bundled demo (npm start)'),
  handler: handler<PipelineArgs>(async (args, ctx) => {
    // Before the backend: a wrong shard setting fails at once.
    const shard = resolveShard({ shard: args.shard, shards: args.shards }, process.env);
    await ctx.backend();
    const controller = new AbortController();
    // First Ctrl-C: training saves a checkpoint and the pipeline stops (resumable); a second one kills.
    const onSignal = () => {
      if (controller.signal.aborted) process.exit(130);
      ctx.logger.warn('pipeline: stopping after a checkpoint (Ctrl-C again to kill)');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const overrides: Record<string, number | string> = {};
      if (args.recipe !== undefined) overrides.recipe = args.recipe;
      if (args.iters !== undefined) overrides.iters = args.iters;
      if (args.count !== undefined) overrides.count = args.count;
      const result = await runPipeline({
        data: args.data, out: args.out, labels: args.labels, classes: args.classes,
        budget: args.budget as BudgetName, size: args.size, mode: args.mode as (typeof PIPELINE_MODES)[number], seed: args.seed,
        overrides, until: args.until as StageName | undefined, workers: args.workers, init: args.init, shard, logger: ctx.logger, signal: controller.signal,
        progress: Boolean(process.stderr.isTTY) && !process.env.CI,
      });
      if (result.shard) {
        const s = result.shard;
        const runs = Object.entries(s.runs).map(([c, o]) => `${c} ${o}`).join(', ');
        process.stdout.write(`Shard ${s.index}/${s.count}: ${s.trainComplete ? 'the train stage was already complete' : runs || 'no class assigned'} (${result.seconds}s). Merge with the same command without a shard.\n`);
        return;
      }
      const ran = Object.entries(result.outcomes).map(([s, o]) => `${s}: ${o}`).join(', ');
      ctx.logger.info(`pipeline: finished in ${result.seconds}s (${ran})`);
      const rel = result.report ? path.relative(process.cwd(), result.report) || result.report : undefined;
      printResult(args.json, result, () => rel ? `Report: ${rel.startsWith('..') ? result.report : rel}\n` : `Pipeline folder: ${result.out} (no report written)\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }),
};
