/**
 * Turns yargs' own failure messages into one `cellgan: error: …` line: the
 * missing positional by name, and "did you mean" for a mistyped option.
 * Option names come from the command modules themselves (their builders run
 * against a recorder), so there is no second list to keep in step.
 */
import type { CommandModule } from 'yargs';

interface Shape { positionals: string[]; options: string[]; subcommands: Map<string, Shape> }

/** The positionals of a yargs command string: 'split <data>' → ['data']. */
function positionalsOf(command: string): string[] {
  return [...command.matchAll(/[<[]([^>\]]+)[>\]]/g)].map((m) => m[1].replace(/\.\.$/, ''));
}

function nameOf(command: string): string {
  return command.split(/\s+/)[0];
}

/** Runs a builder against a recorder that notes option and subcommand names. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs' builder type varies per command
function shapeOf(mod: CommandModule<any, any>): Shape {
  const shape: Shape = { positionals: positionalsOf(String(mod.command ?? '')), options: [], subcommands: new Map() };
  const recorder: unknown = new Proxy({}, {
    get(_t, prop) {
      return (...args: unknown[]) => {
        if ((prop === 'option' || prop === 'options') && typeof args[0] === 'string') shape.options.push(args[0]);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        if (prop === 'command' && typeof args[0] === 'object' && args[0]) { const sub = args[0] as CommandModule<any, any>; shape.subcommands.set(nameOf(String(sub.command)), shapeOf(sub)); }
        return recorder;
      };
    },
  });
  if (typeof mod.builder === 'function') {
    try { (mod.builder as (y: unknown) => unknown)(recorder); } catch { /* a builder we cannot record: no suggestions */ }
  }
  return shape;
}

/** Edit distance: insertions, deletions, substitutions and swaps of two neighbours (bacth → batch is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest known name within 2 edits (or that starts with the typed one), if any. */
export function closest(typed: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = k.startsWith(typed) && typed.length >= 3 ? 0.5 : editDistance(typed, k);
    if (dist < bestD) { best = k; bestD = dist; }
  }
  return bestD <= Math.min(2, Math.max(1, Math.floor(typed.length / 3))) ? best : undefined;
}

/**
 * One line for a yargs failure `msg` given the command line `argv`:
 * - "Not enough non-option arguments" → "<command> needs <positional>";
 * - "Unknown argument(s): x" → adds "did you mean --y?" when one is close.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function explainYargsFailure(msg: string, argv: string[], commands: CommandModule<any, any>[], globals: string[]): string {
  const words = argv.filter((a) => !a.startsWith('-'));
  const top = commands.map(shapeOf);
  const byName = new Map(commands.map((c, i) => [nameOf(String(c.command)), top[i]]));
  let shape = byName.get(words[0] ?? '');
  let name = words[0] ?? '';
  const sub = shape && words[1] !== undefined ? shape.subcommands.get(words[1]) : undefined;
  if (sub) { shape = sub; name = `${words[0]} ${words[1]}`; }
  const help = name ? `cellgan ${name} --help` : 'cellgan --help';

  if (shape && /^Not enough non-option arguments/.test(msg) && shape.positionals.length) {
    return `cellgan ${name} needs ${shape.positionals.map((p) => `<${p}>`).join(' ')}; see ${help}`;
  }
  const recommended = /^Did you mean (\S+?)\?/.exec(msg);
  if (recommended && !shape) return `unknown command ${words[0] ?? ''} (did you mean ${recommended[1]}?); see cellgan --help`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown && !shape && words[0] !== undefined && unknown[1].split(', ').includes(words[0])) {
    const near = closest(words[0], [...byName.keys()]);
    return `unknown command ${words[0]}${near ? ` (did you mean ${near}?)` : ''}; see cellgan --help`;
  }
  if (unknown) {
    const known = [...(shape?.options ?? []), ...globals];
    // yargs names a mistyped --min-cout twice (min-cout, minCout).
    const names = unknown[1].split(', ');
    const kebab = (x: string) => x.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    const typedNames = names.filter((u) => u === kebab(u) || !names.includes(kebab(u)));
    const hints = typedNames.map((u) => {
      const typed = u.replace(/^-+/, '');
      const near = closest(typed, known);
      const shown = u.startsWith('-') ? u : (u.length > 1 ? '--' : '-') + u;
      return near ? `${shown} (did you mean --${near}?)` : shown;
    });
    return `unknown option${hints.length > 1 ? 's' : ''} ${hints.join(', ')}; see ${help}`;
  }
  return `${msg.replace(/\n+/g, '; ')}; see ${help}`;
}
