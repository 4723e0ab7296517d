/**
 * One table per command of its options: name, type, default, range and help
 * of each, stated once (as torch-fidelity's defaults.py states its defaults
 * once for API and CLI). The library module of a command owns its table and
 * resolves its options from it (resolveOptions: defaults, then the checks of
 * validate.ts, "Expected X for --name but received Y", as sharp checks every
 * public option up front); the CLI builds its yargs options and maps its
 * arguments to the library's from the same table (src/cli/options.ts). The
 * library never imports the CLI.
 */
import * as v from './validate.js';

/** How the command line parses a value (yargs' type, shown in --help). */
export type OptionType = 'string' | 'number' | 'boolean';

export interface OptionSpec<T = unknown> {
  type: OptionType;
  help: string;
  /**
   * Checks a value (given or default) and returns it as the library uses it;
   * throws an OptionError naming the option. Without one the value passes as
   * given (an option that may also be an object the library loaded, e.g. a
   * Dataset).
   */
  check?: (value: unknown, name: string) => T;
  /** Applied by resolveOptions when the option is not given; shown by --help. */
  default?: T;
  /**
   * What --help says of a default that is not one constant (a recipe's value,
   * a parent model's, "the latest"), after the constant default if there is one.
   */
  defaultHelp?: string;
  /** The library refuses a missing value (its check runs on undefined). */
  required?: true;
  /** Whether the command line demands it, where that differs from `required`. */
  demand?: boolean;
  /** The command-line name (--flag); default: the key in kebab-case. */
  flag?: string;
  /** A positional argument (<flag>) rather than --flag. */
  positional?: true;
  /** A library-only option: not on the command line. */
  cli?: false;
  /** The values the command line accepts (listed by --help, refused by yargs). */
  choices?: readonly string[];
  /** The command line takes several values (repeated, or after one flag) and passes them as an array. */
  array?: true;
  /**
   * The option is field `key` of the library option `into` (e.g. --width →
   * architecture.width); that option resolves it, so resolveOptions skips it.
   */
  into?: string;
}

export type OptionTable = Record<string, OptionSpec>;

/** What an option's check returns. */
type Checked<S> = S extends { check: (value: unknown, name: string) => infer T } ? T : unknown;

/** The value resolveOptions gives an option: never undefined when it has a default, is required or `sure` (a fallback always has it). */
type Resolved<S, Sure extends boolean> = Sure extends true ? Checked<S>
  : S extends { default: unknown } | { required: true } ? Checked<S> : Checked<S> | undefined;

/** resolveOptions' result: every option of table S (but those `into` another), given a fallback of type F. */
export type ResolvedOptions<S extends OptionTable, F = object> = {
  -readonly [K in keyof S as S[K] extends { into: string } ? never : K]: Resolved<S[K], K extends keyof F ? (undefined extends F[K] ? false : true) : false>
};

/** The constant defaults of a table (what --help shows as [default: …]). */
export type Defaults<S extends OptionTable> = { [K in keyof S as S[K] extends { default: unknown } ? (S[K] extends { into: string } ? never : K) : never]: S[K]['default'] };

/** `gWidth` → `g-width`. */
function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** An option's command-line name, without dashes. */
export function optionFlag(key: string, spec: OptionSpec): string {
  return spec.flag ?? kebab(key);
}

/** How messages name an option: --flag, <positional>, or the key of a library-only one. */
export function optionName(key: string, spec: OptionSpec): string {
  if (spec.cli === false) return key;
  return spec.positional ? `<${optionFlag(key, spec)}>` : `--${optionFlag(key, spec)}`;
}

/** Checks one value of option `key` of `table` (even when undefined: for an option required only on some paths). */
export function checkOption<S extends OptionTable, K extends keyof S & string>(table: S, key: K, value: unknown): Checked<S[K]> {
  const spec = table[key];
  return (spec.check ? spec.check(value, optionName(key, spec)) : value) as Checked<S[K]>;
}

/**
 * Every option of `table` (but those `into` another) from `given`: the given
 * value, else `fallback`'s (a recipe's, a parent model's), else the table's
 * default; checked when there is a value or the option is required.
 */
export function resolveOptions<S extends OptionTable, F extends { [K in keyof S]?: unknown } = object>(table: S, given: object, fallback?: F): ResolvedOptions<S, F> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    if (spec.into !== undefined) continue;
    const value = (given as Record<string, unknown>)[key] ?? (fallback as Record<string, unknown> | undefined)?.[key] ?? spec.default;
    out[key] = value === undefined && !spec.required ? undefined : checkOption(table, key, value);
  }
  return out as ResolvedOptions<S, F>;
}

/** The constant defaults of a table, keyed like the library's options (e.g. for a DEFAULTS export). */
export function defaultsOf<S extends OptionTable>(table: S): Defaults<S> {
  return Object.fromEntries(Object.entries(table).filter(([, s]) => s.default !== undefined && s.into === undefined).map(([k, s]) => [k, s.default])) as Defaults<S>;
}

/**
 * The options of `table` as fields of the library option `into` (see
 * OptionSpec.into): the same options, on a command whose library takes them
 * grouped (e.g. the pipeline's budget overrides, a job's pipeline options).
 */
export function nestedIn<S extends OptionTable, I extends string>(table: S, into: I): { [K in keyof S]: S[K] & { into: I } } {
  return Object.fromEntries(Object.entries(table).map(([k, s]) => [k, { ...s, into }])) as { [K in keyof S]: S[K] & { into: I } };
}

// The kinds of option: a command-line type with the check of validate.ts that fits it.

type Kind<T> = Pick<OptionSpec<T>, 'type' | 'choices'> & { check: (value: unknown, name: string) => T };

export const text: Kind<string> = { type: 'string', check: (x, name) => v.nonEmptyString(name, x) };
export const boolean: Kind<boolean> = { type: 'boolean', check: (x, name) => v.boolean(name, x) };
export const seed: Kind<number> = { type: 'number', check: (x, name) => v.seed(x, name) };
export const workers: Kind<number> = { type: 'number', check: (x, name) => v.workers(x, name) };

export function integer(min?: number, max?: number): Kind<number> {
  return { type: 'number', check: (x, name) => v.integer(name, x, min, max) };
}

export function number(min: number, max: number, opts: { exclusiveMin?: boolean; exclusiveMax?: boolean } = {}): Kind<number> {
  return { type: 'number', check: (x, name) => v.number(name, x, min, max, opts) };
}

/**
 * One of `values`. Strings are offered to yargs as choices; numbers are not,
 * so that a wrong one is refused by the check, in the library's words.
 */
export function oneOf<T extends string | number>(values: readonly T[]): Kind<T> {
  const strings = values.every((x) => typeof x === 'string');
  return { type: strings ? 'string' : 'number', ...(strings ? { choices: values as readonly string[] } : {}), check: (x, name) => v.oneOf(name, x, values) };
}

/** A comma-separated list of `values`; '' or 'none' is the empty list; duplicates dropped. */
export function listOf<T extends string>(values: readonly T[]): Kind<T[]> {
  return { type: 'string', check: (x, name) => (x === '' || x === 'none' ? [] : [...new Set(v.listOf(name, x, values))]) };
}

// Options many commands share.

/** Permission to replace a non-empty output folder. */
export const FORCE_OPTION = { ...boolean, help: 'replace a non-empty --out' } satisfies OptionSpec<boolean>;
