/**
 * The `cellgan` command: a thin yargs layer over the library. Each
 * subcommand lives in ./commands/<name>.ts and only parses options, calls
 * the library and prints results.
 */
import yargs from 'yargs';
import { globalOptions, reportError } from './context.js';
import { commands } from './commands/index.js';
import { VERSION } from '../version.js';

export async function main(argv: string[]): Promise<void> {
  let cli = globalOptions(yargs(argv))
    .scriptName('cellgan')
    .usage('$0 <command> [options]\n\nSynthetic blood-cell images with GANs: inspect and split data, train DCGANs, generate, score, export balanced datasets.')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'Name a command; see cellgan --help.')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() && ''}cellgan: ${msg}\nRun cellgan --help (or cellgan <command> --help) for usage.\n`);
      process.exit(2);
    });
  for (const c of commands) cli = cli.command(c as never);
  try {
    await cli.parseAsync();
  } catch (err) {
    reportError(err, argv.includes('--verbose') || argv.includes('-v'));
  }
  // Workers and wasm threads must not keep a finished command alive.
  await new Promise((r) => setImmediate(r));
  process.exit(process.exitCode ?? 0);
}
