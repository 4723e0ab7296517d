import type { CommandModule } from 'yargs';
import { handler, printResult, JSON_OPTION, type GlobalArgs } from '../context.js';
import { Progress } from '../../util/progress.js';
import { exportDataset, type ExportPhase } from '../../export/index.js';
import { DEFAULT_NEAR_THRESHOLD } from '../../data/near.js';

interface Args extends GlobalArgs {
  data: string;
  labels?: string;
  split: string;
  synthetic?: string[];
  'per-class': string;
  augment: string;
  mix: string;
  out: string;
  format: string;
  seed: string;
  cap?: boolean;
  force?: boolean;
  citation?: string;
  license?: string;
  concurrency: string;
  json?: boolean;
  'near-threshold': number;
  'drop-leaks'?: boolean;
  'exclude-memorized'?: boolean;
}

/** The command line as one shell-pastable string, for the dataset card. */
function commandLine(argv: string[]): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['cellgan', ...argv].map(q).join(' ');
}

const PHASE_LABEL: Record<ExportPhase, string> = { 'check-real': 'checking real', 'check-synthetic': 'checking synthetic', write: 'writing' };

export const exportCommand: CommandModule<GlobalArgs, Args> = {
  command: 'export',
  describe: 'Export a class-balanced dataset (real + synthetic + augmented training images, real-only val/test) with a manifest and dataset card',
  builder: (y) => y
    .option('data', { type: 'string', demandOption: true, describe: 'real images: ImageFolder root (or the folder --labels paths are relative to)' })
    .option('labels', { type: 'string', describe: 'labels CSV (file,class)' })
    .option('split', { type: 'string', demandOption: true, describe: 'split file from `cellgan split`' })
    .option('synthetic', { type: 'string', array: true, describe: 'synthetic folder(s) from `cellgan generate` (comma-separated or repeated)' })
    .option('per-class', { type: 'string', demandOption: true, describe: 'training images per class: a number, or "max" (largest real class)' })
    .option('augment', { type: 'string', default: 'flip,rot90,color', describe: 'augmentations of real images: flip, rot90, color (comma-separated), or "none"' })
    .option('mix', { type: 'string', default: 'synthetic-first', describe: 'how to fill a class: synthetic-first, augment-first, or ratio:<share of synthetic, e.g. 0.5>' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder (built beside it, then renamed into place)' })
    .option('format', { type: 'string', default: 'imagefolder', describe: 'imagefolder, or hf (adds Hugging Face metadata.jsonl per split and YAML front matter on README.md: licence, task, the classes as a ClassLabel)' })
    .option('seed', { type: 'string', default: '0', describe: 'seed of every random choice' })
    .option('cap', { type: 'boolean', describe: 'subsample classes with more than N real training images down to N' })
    .option('force', { type: 'boolean', describe: 'replace a non-empty --out' })
    .option('citation', { type: 'string', describe: 'citation of the real images for the dataset card (default: read from README/CITATION beside the data)' })
    .option('license', { type: 'string', describe: 'licence of the real images for the dataset card (default: read from README/LICENSE beside the data)' })
    .option('concurrency', { type: 'string', default: '4', describe: 'images processed at once' })
    .option('near-threshold', { type: 'number', default: DEFAULT_NEAR_THRESHOLD, describe: 'distance (1 − cosine of flip/rotation-invariant fingerprints) at which a synthetic image counts as a copy of a real one' })
    .option('drop-leaks', { type: 'boolean', describe: 'leave out and list synthetic images that copy a real validation/test image (default: refuse them)' })
    .option('exclude-memorized', { type: 'boolean', describe: 'leave out and list synthetic images flagged as probable copies of real training images (the card states the rate either way)' })
    .option('json', JSON_OPTION),
  handler: handler<Args>(async (args, ctx) => {
    let bar: Progress | undefined;
    let phase: ExportPhase | undefined;
    const result = await exportDataset({
      data: args.data, labels: args.labels, split: args.split, synthetic: args.synthetic, perClass: args['per-class'],
      augment: args.augment, mix: args.mix, out: args.out, format: args.format as 'imagefolder' | 'hf', seed: args.seed,
      cap: args.cap ?? false, force: args.force ?? false, citation: args.citation, license: args.license,
      concurrency: args.concurrency, command: commandLine(process.argv.slice(2)), logger: ctx.logger,
      nearThreshold: args['near-threshold'], dropLeaks: args['drop-leaks'] ?? false, excludeMemorized: args['exclude-memorized'] ?? false,
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
