import type { CommandModule } from 'yargs';
import path from 'node:path';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';
import { runPipeline, type PipelineOptions } from '../../pipeline/pipeline.js';
import { PIPELINE_OPTIONS } from '../../pipeline/options.js';
import { resolveShard, SHARD_COUNT_OPTION } from '../../pipeline/shard.js';

export const pipelineCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'pipeline',
  describe: 'inspect → split → train → generate → score → export on one dataset, then write report.html (re-run to resume)',
  // --shards is resolveShard's (with JOB_COMPLETION_INDEX), not the library's.
  builder: (y) => withOptions(y, PIPELINE_OPTIONS, { shards: SHARD_COUNT_OPTION })
    .option('json', JSON_OPTION)
    .example('$0 pipeline --data samples/pbc-mini --out runs/demo --budget quick', 'the bundled demo (npm start)') as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    // Before the backend: a wrong shard setting fails at once.
    const shard = resolveShard({ shard: args.shard as string | undefined, shards: args.shards as number | undefined }, process.env);
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
      const result = await runPipeline({
        ...optionsFromArgs<PipelineOptions>(PIPELINE_OPTIONS, args),
        shard, logger: ctx.logger, signal: controller.signal,
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
