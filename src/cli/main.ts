/**
 * The `cellgan` command: a thin yargs layer over the library. Each
 * subcommand lives in ./commands/<name>.ts and only parses options, calls
 * the library and prints results.
 */
import yargs from 'yargs';
import { globalOptions, reportError, argvLogFormat, writeErrorLine, ownOptionsFirst, GLOBAL_OPTION_KEYS } from './context.js';
import { explainYargsFailure } from './suggest.js';
import { commands } from './commands/index.js';
import { VERSION } from '../version.js';

/** Options every command takes (for "did you mean"). */
const GLOBAL_OPTIONS: string[] = [...GLOBAL_OPTION_KEYS];

/** The yargs parser of `cellgan` (every command, its options and help), without running it. */
export function buildCli(argv: string[]) {
  let cli = globalOptions(yargs(argv))
    .scriptName('cellgan')
    .usage('$0 <command> [options]\n\nSynthetic blood-cell images with GANs: inspect and split data, train DCGANs, generate, score, export balanced datasets.')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'Name a command; see cellgan --help.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      writeErrorLine(explainYargsFailure(msg, argv, commands, GLOBAL_OPTIONS), argvLogFormat(argv));
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(ownOptionsFirst(c) as never);
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  const cli = buildCli(argv);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportError(err, argv.includes('--verbose') || argv.includes('-v'));
  }
  // Workers and wasm threads must not keep a finished command alive.
  await new Promise((r) => setImmediate(r));
  process.exit(process.exitCode ?? 0);
}
