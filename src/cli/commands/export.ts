import type { CommandModule } from 'yargs';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { Progress } from '../../util/progress.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';
import { exportDataset, EXPORT_OPTIONS, type ExportOptions, type ExportPhase } from '../../export/index.js';

/** The command line as one shell-pastable string, for the dataset card. */
function commandLine(argv: string[]): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['cellgan', ...argv].map(q).join(' ');
}

const PHASE_LABEL: Record<ExportPhase, string> = { 'check-real': 'checking real', 'check-synthetic': 'checking synthetic', write: 'writing' };

export const exportCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'export',
  describe: 'Export a class-balanced dataset (real + synthetic + augmented training images, real-only val/test) with a manifest and dataset card',
  builder: (y) => withOptions(y, EXPORT_OPTIONS).option('json', JSON_OPTION) as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    let bar: Progress | undefined;
    let phase: ExportPhase | undefined;
    const result = await exportDataset({
      ...optionsFromArgs<ExportOptions>(EXPORT_OPTIONS, args), command: commandLine(process.argv.slice(2)), logger: ctx.logger,
      onProgress: (p, done, total) => {
        if (p !== phase) { bar?.finish(); phase = p; bar = new Progress({ label: PHASE_LABEL[p], total, unit: 'img', logger: ctx.logger }); }
        bar!.update(done);
      },
    });
    bar?.finish();
    const sum = (s: 'train' | 'val' | 'test', o: 'real' | 'synthetic' | 'augmented') => result.classes.reduce((n, c) => n + result.counts[s][c][o], 0);
    printResult(args.json, result, () => `exported ${result.files} images to ${result.out}\n`
      + `train: ${result.perClass} per class × ${result.classes.length} classes (real ${sum('train', 'real')}, synthetic ${sum('train', 'synthetic')}, augmented ${sum('train', 'augmented')}); val ${sum('val', 'real')} real; test ${sum('test', 'real')} real\n`
      + (result.memorization ? `memorisation: ${result.memorization.flagged.length} of ${result.memorization.checked} synthetic images checked are probable copies of training images (${(100 * result.memorization.rate).toFixed(1)} %)${result.memorization.excluded ? ', left out' : ''}\n` : '')
      + result.leaks.map((l) => `  dropped ${l.file}: copy of ${l.split} image ${l.real}\n`).join('')
      + (result.skipped.length ? `${result.skipped.length} input(s) skipped: listed in dataset.json\n` : ''));
  }),
};
