/**
 * A command's yargs options and the mapping of its parsed arguments to the
 * library's options, both made from the library's option table
 * (src/util/options.ts), so the CLI states no option's type, default, range
 * or help of its own.
 */
import type { Argv, Options, PositionalOptions } from 'yargs';
import { optionFlag, type OptionSpec, type OptionTable } from '../util/options.js';
import type { GlobalArgs } from './context.js';

/** A command's parsed arguments: read through its option table (optionsFromArgs), so untyped here. */
export type ParsedArgs = GlobalArgs & { json?: boolean } & Record<string, unknown>;

/** How --help shows a default (constants as yargs would show them). */
function defaultDescription(spec: OptionSpec): string | undefined {
  const constant = spec.default === undefined ? undefined : typeof spec.default === 'string' ? JSON.stringify(spec.default) : String(spec.default);
  return [constant, spec.defaultHelp].filter((s) => s !== undefined).join('; ') || undefined;
}

/**
 * One option as yargs takes it. Defaults are only described: the library
 * applies them, so an option left out stays undefined (train can tell a
 * recipe's value from one given, and --resume refuses any option given).
 */
export function yargsOption(spec: OptionSpec): Options & PositionalOptions {
  return {
    type: spec.type, describe: spec.help, defaultDescription: defaultDescription(spec),
    ...(spec.demand ?? spec.required ? { demandOption: true } : {}),
    ...(spec.choices ? { choices: [...spec.choices] } : {}),
    ...(spec.array ? { array: true } : {}),
  };
}

/** `y` with the command-line options of `tables`, in their order. */
export function withOptions<T>(y: Argv<T>, ...tables: OptionTable[]): Argv<T> {
  for (const table of tables) {
    for (const [key, spec] of Object.entries(table)) {
      if (spec.cli === false) continue;
      y = spec.positional ? y.positional(optionFlag(key, spec), yargsOption(spec)) : y.option(optionFlag(key, spec), yargsOption(spec));
    }
  }
  return y;
}

/**
 * The library's options from parsed arguments: each command-line option of
 * `table` under its key (nested in its `into` option), those not given left
 * out. O is the library's options type; the table's keys are its names.
 */
export function optionsFromArgs<O>(table: OptionTable, args: Record<string, unknown>): O {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const value = spec.cli === false ? undefined : args[optionFlag(key, spec)];
    if (value === undefined) continue;
    if (spec.into === undefined) out[key] = value;
    else out[spec.into] = { ...(out[spec.into] as object | undefined), [key]: value };
  }
  return out as O;
}
