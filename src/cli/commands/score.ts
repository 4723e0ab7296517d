import type { CommandModule } from 'yargs';
import { handler, JSON_OPTION, type GlobalArgs } from '../context.js';
import { withOptions, optionsFromArgs, type ParsedArgs } from '../options.js';
import { score, SCORE_OPTIONS, type ScoreOptions } from '../../metrics/index.js';

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(1)} %`);

export const scoreCommand: CommandModule<GlobalArgs, ParsedArgs> = {
  command: 'score',
  describe: 'GAN-train / GAN-test accuracies (with 95 % CIs) and per-class FID, KID, precision/recall of a synthetic folder',
  builder: (y) => withOptions(y, SCORE_OPTIONS).option('json', JSON_OPTION) as never,
  handler: handler<ParsedArgs>(async (args, ctx) => {
    ctx.deferBackend();
    const r = await score({ ...optionsFromArgs<ScoreOptions>(SCORE_OPTIONS, args), logger: ctx.logger });
    if (args.json) {
      const { out: _o, ...json } = r;
      void _o;
      process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      return;
    }
    process.stdout.write(`baseline  ${pct(r.baseline.accuracy.value)}\nGAN-train ${pct(r.gan_train?.accuracy.value ?? null)}\nGAN-test  ${pct(r.gan_test?.accuracy.value ?? null)}\n` +
      `memorisation: ${r.memorization.flagged_count} of ${r.memorization.images} synthetic images flagged as probable copies (${(100 * r.memorization.rate).toFixed(1)} %)\n` +
      `wrote ${r.out}/score.json and score.md\n`);
  }),
};
