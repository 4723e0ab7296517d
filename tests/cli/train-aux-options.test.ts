import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli/main.js';
import { optionsFromArgs } from '../../src/cli/options.js';
import { TRAIN_OPTIONS, RECIPES, RECIPE_NAMES, type TrainOptions } from '../../src/dcgan/index.js';

/** How --help lists a recipe-filled option's default: every recipe by name with its value. */
const recipeValues = (key: 'auxTwin' | 'auxJoint' | 'auxBranch' | 'modeSeekingWeight') => RECIPE_NAMES.map((n) => `${n} ${RECIPES[n][key]}`).join(', ');

/** What `cellgan <args>` prints for --help (the same parser as the binary, in-process). */
function help(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    buildCli(args).exitProcess(false).parse(args, {}, (err, _argv, output) => (err ? reject(err) : resolve(output)));
  });
}

// The auxiliary-classifier options came to main while train's options moved into an option
// table (issue 16): both must reach the library from the command line, as before the table.
describe('train --aux-weight / --aux-twin through the option table', () => {
  it('are in TRAIN_OPTIONS, filled by the recipe, and map to auxWeight / auxTwin', () => {
    expect(TRAIN_OPTIONS.auxWeight.type).toBe('number');
    expect(TRAIN_OPTIONS.auxTwin.type).toBe('boolean');
    expect(optionsFromArgs<TrainOptions>(TRAIN_OPTIONS, { 'aux-weight': 0.25, 'aux-twin': true, iters: 1 })).toMatchObject({ auxWeight: 0.25, auxTwin: true });
    expect(optionsFromArgs<TrainOptions>(TRAIN_OPTIONS, { iters: 1 })).not.toHaveProperty('auxTwin');
    expect(optionsFromArgs<TrainOptions>(TRAIN_OPTIONS, { 'aux-twin': true, 'aux-joint': true, iters: 1 })).toMatchObject({ auxTwin: true, auxJoint: true });
  });

  it('--help lists both with the recipes\' values', async () => {
    const out = await help(['train', '--help']);
    expect(out).toMatch(/--aux-weight[\s\S]*\[number\]/);
    expect(out).toMatch(new RegExp(`--aux-twin[\\s\\S]*\\[boolean\\] \\[default: recipe: ${recipeValues('auxTwin')}\\]`));
    expect(out).toMatch(new RegExp(`--aux-joint[\\s\\S]*ADC-GAN[\\s\\S]*\\[boolean\\] \\[default: recipe: ${recipeValues('auxJoint')}\\]`));
  }, 60_000);
});

describe('train --mode-seeking-weight through the option table', () => {
  it('maps to modeSeekingWeight and is listed by --help with the recipes\' values', async () => {
    expect(optionsFromArgs<TrainOptions>(TRAIN_OPTIONS, { 'mode-seeking-weight': 0.5, iters: 1 })).toMatchObject({ modeSeekingWeight: 0.5 });
    const out = await help(['train', '--help']);
    expect(out).toMatch(new RegExp(`--mode-seeking-weight[\\s\\S]*\\[number\\] \\[default: recipe: ${recipeValues('modeSeekingWeight')}\\]`));
  }, 60_000);
});
