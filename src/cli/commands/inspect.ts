import type { CommandModule } from 'yargs';
import { inspect, formatInspectReport, INSPECT_OPTIONS, DATA_OPTION, type InspectOptions } from '../../data/index.js';
import { Progress } from '../../util/progress.js';
import { handler, JSON_OPTION, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';

export const inspectCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'inspect <data>',
  describe: 'Check a dataset: per-class counts, sizes, formats, unreadable files, exact and near duplicates, label conflicts',
  builder: (y) => withOptions(y, { data: { ...DATA_OPTION, positional: true, required: true } }, INSPECT_OPTIONS)
    .option('json', JSON_OPTION)
    .example('$0 inspect samples/pbc-mini', 'summary of the bundled sample')
    .example('$0 inspect data --labels data/labels.csv --json', 'one JSON object on stdout') as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    let progress: Progress | undefined;
    let nearProgress: Progress | undefined;
    const report = await inspect(String(args.data), {
      ...optionsFromArgs<InspectOptions>(INSPECT_OPTIONS, args),
      onProgress: (done, total) => { (progress ??= new Progress({ label: 'inspect', total, unit: 'files', logger: ctx.logger })).update(done); },
      onNearProgress: (done, total) => { if (!nearProgress) { progress?.finish(); progress = undefined; } (nearProgress ??= new Progress({ label: 'near-duplicates', total, unit: 'images', logger: ctx.logger })).update(done); },
    });
    progress?.finish();
    nearProgress?.finish();
    if (args.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      process.stdout.write(formatInspectReport(report));
    }
    ctx.logger.debug(`inspected ${report.files} files in ${report.root}`);
  }),
};
