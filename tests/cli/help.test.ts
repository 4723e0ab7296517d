import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/cli/main.js';
import { TRAIN_DEFAULTS, RECIPES, RECIPE_NAMES } from '../../src/dcgan/index.js';
import { GLOBAL_OPTION_KEYS, GLOBAL_GROUP } from '../../src/cli/context.js';

/** What `cellgan <args>` prints for --help (the same parser as the binary, in-process). */
function help(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    buildCli(args).exitProcess(false).parse(args, {}, (err, _argv, output) => (err ? reject(err) : resolve(output)));
  });
}

/** `--help` split into its sections ("Options:" → the option blocks under it, each with its full text). */
function sections(help: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let group: Map<string, string> | undefined;
  let current: string | undefined;
  for (const line of help.split('\n')) {
    const heading = /^(\S.*:)$/.exec(line);
    if (heading) { group = new Map(); out.set(heading[1], group); current = undefined; continue; }
    if (!group) continue;
    const opt = /^ {2,6}(?:-\w, )?--([\w-]+)|^ {2}([\w-]+) {2}/.exec(line);
    if (opt) { current = opt[1] ?? opt[2]; group.set(current, line); continue; }
    if (current && line.trim()) group.set(current, `${group.get(current)} ${line.trim()}`);
    if (!line.trim()) current = undefined;
  }
  return out;
}

const COMMANDS: [string[], string[]][] = [
  [['inspect'], ['labels', 'min-count', 'deep', 'json']],
  [['split'], ['out', 'seed']],
  [['train'], ['data', 'iters', 'grid-every', 'recipe', 'batch']],
  [['generate'], ['model', 'count', 'out', 'seed', 'raw']],
  [['model', 'pack'], ['out']],
  [['classifier', 'train'], ['data', 'epochs']],
  [['classifier', 'eval'], ['model', 'subset']],
  [['score'], ['data', 'synthetic', 'out']],
  [['export'], ['per-class', 'mix']],
  [['pipeline'], ['data', 'out', 'budget']],
  [['jobs', 'slurm'], ['partition']],
  [['jobs', 'k8s'], ['mount']],
  [['backend'], ['json']],
];

describe('cellgan <command> --help', () => {
  it('lists the command\'s own options first, each with its type, then the global options', async () => {
    for (const [cmd, someOwn] of COMMANDS) {
      const out = await help([...cmd, '--help']);
      const name = cmd.join(' ');
      const s = sections(out);
      const headings = [...s.keys()];
      // Own options (after positionals, if any), global ones last.
      expect(headings.filter((h) => h !== 'Positionals:' && h !== 'Examples:'), name).toEqual(['Options:', GLOBAL_GROUP]);
      expect(out.indexOf('\nOptions:'), name).toBeLessThan(out.indexOf(`\n${GLOBAL_GROUP}`));
      const own = s.get('Options:')!;
      expect([...s.get(GLOBAL_GROUP)!.keys()].sort(), name).toEqual([...GLOBAL_OPTION_KEYS].sort());
      for (const g of GLOBAL_OPTION_KEYS) expect(own.has(g), `${name}: --${g} among its own options`).toBe(false);
      expect([...own.keys()], name).toEqual(expect.arrayContaining(someOwn));
      for (const [opt, text] of [...own, ...s.get('Positionals:') ?? []]) expect(text, `${name} --${opt}`).toMatch(/\[(string|number|boolean|array)\]/);
    }
  }, 120_000);

  it('train shows the defaults the library uses, typed, and the recipes\' values for recipe-filled options', async () => {
    const own = sections(await help(['train', '--help'])).get('Options:')!;
    const flag = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    for (const [k, v] of Object.entries(TRAIN_DEFAULTS)) {
      expect(own.get(flag(k)), k).toMatch(new RegExp(`\\[number\\]\\s+\\[default: ${String(v).replace('.', '\\.')}\\]`));
    }
    expect(own.get('batch')).toContain(`[default: recipe: ${RECIPE_NAMES.map((n) => `${n} ${RECIPES[n].batch}`).join(', ')}]`);
    // No default is written into a description by hand any more.
    for (const [opt, text] of own) expect(text.replace(/\[default: [^\]]*\]\s*$/, ''), opt).not.toMatch(/\[default/);
  }, 60_000);
});
