// syndicate-ctl's command line, checked whole before anything connects: the command, its
// flags, its values (parsed as Preserves), `--timeout` and `-n`.
import { parse, peel, record, type Value } from '../../preserves/index.ts';
import type { Assertion, Pattern } from '../../bus/index.ts';
import { compileScriptPattern } from '../../config-lang/script-pattern.ts';

/** A mistake on the command line or in its values: one line, exit code 2. */
export class CtlUsageError extends Error {}

/** One parsed command. */
export type CtlCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'status'; readonly service: Assertion | null; readonly json: boolean }
  | { readonly kind: 'why'; readonly service: Assertion }
  | { readonly kind: 'graph'; readonly dot: boolean }
  | { readonly kind: 'watch'; readonly pattern: Pattern }
  | { readonly kind: 'assert' | 'retract' | 'send'; readonly value: Assertion }
  | { readonly kind: 'start' | 'stop' | 'restart'; readonly service: Assertion; readonly wait: boolean }
  | { readonly kind: 'logs'; readonly service: Assertion; readonly follow: boolean; readonly lines: number }
  | { readonly kind: 'settings'; readonly action: 'list' | 'set' | 'unset'; readonly value: Assertion | null; readonly json: boolean }
  | { readonly kind: 'net'; readonly json: boolean }
  | { readonly kind: 'peers'; readonly group: string | null; readonly json: boolean; readonly recheck: boolean };

/** The whole command line. */
export interface CtlArgs {
  readonly socket: string | null;
  readonly state: string | null;
  readonly root: string | null;
  /** How long to wait for the bus: connecting, and `--wait` (default 30 s). */
  readonly timeoutMs: number;
  readonly command: CtlCommand;
}

/** Per command: boolean flags, flags taking a value, and how many positionals (min, max). */
const SHAPES: { readonly [cmd: string]: { flags: string[]; options: string[]; positionals: [number, number]; names: string[] } } = {
  status: { flags: ['--json'], options: [], positionals: [0, 1], names: ['SERVICE'] },
  why: { flags: [], options: [], positionals: [1, 1], names: ['SERVICE'] },
  graph: { flags: ['--dot'], options: [], positionals: [0, 0], names: [] },
  watch: { flags: [], options: [], positionals: [1, 1], names: ['PATTERN'] },
  assert: { flags: [], options: [], positionals: [1, 1], names: ['VALUE'] },
  retract: { flags: [], options: [], positionals: [1, 1], names: ['VALUE'] },
  send: { flags: [], options: [], positionals: [1, 1], names: ['VALUE'] },
  start: { flags: ['--wait'], options: [], positionals: [1, 1], names: ['SERVICE'] },
  stop: { flags: ['--wait'], options: [], positionals: [1, 1], names: ['SERVICE'] },
  restart: { flags: ['--wait'], options: [], positionals: [1, 1], names: ['SERVICE'] },
  logs: { flags: ['-f', '--follow'], options: ['-n'], positionals: [1, 1], names: ['SERVICE'] },
  settings: { flags: ['--json'], options: [], positionals: [0, 2], names: ['list|set|unset', 'VALUE'] },
  net: { flags: ['--json'], options: [], positionals: [0, 0], names: [] },
  peers: { flags: ['--json', '--recheck'], options: [], positionals: [0, 1], names: ['GROUP'] },
};

const GLOBAL_OPTIONS = ['--socket', '-s', '--state', '--root', '--timeout'];

function value(text: string, what: string): Assertion {
  try {
    return parse(text) as Assertion;
  } catch (e) {
    throw new CtlUsageError(`bad ${what} ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
}

/** A service name; a bare symbol `x` names `<daemon x>`. */
export function serviceName(text: string): Assertion {
  const v = value(text, 'SERVICE');
  return typeof peel(v) === 'symbol' ? record('daemon', v as symbol) : v;
}

function positiveNumber(text: string, what: string, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new CtlUsageError(`bad ${what} ${JSON.stringify(text)}: must be a positive ${integer ? 'whole number' : 'number'}`);
  }
  return n;
}

/** Parses and checks the command line; throws `CtlUsageError` on any mistake. */
export function parseCtlArgs(argv: readonly string[]): CtlArgs {
  const global: { [k: string]: string } = {};
  const local: { [k: string]: string | true } = {};
  const words: string[] = [];
  let cmd: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return { socket: null, state: null, root: null, timeoutMs: 30000, command: { kind: 'help' } };
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const take = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new CtlUsageError(`${flag} needs a value`);
      return v;
    };
    if (GLOBAL_OPTIONS.includes(flag)) {
      global[flag === '-s' ? '--socket' : flag] = take();
      continue;
    }
    if (cmd === undefined && !a.startsWith('-')) {
      if (!(a in SHAPES)) throw new CtlUsageError(`unknown command ${JSON.stringify(a)} (try --help)`);
      cmd = a;
      continue;
    }
    if (cmd === undefined) throw new CtlUsageError(`unknown option ${a} (a command comes first; try --help)`);
    const shape = SHAPES[cmd];
    // A value starting with `-` (a negative number) is a positional unless it is a known flag.
    if (shape.flags.includes(flag)) local[flag] = true;
    else if (shape.options.includes(flag)) local[flag] = take();
    else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) throw new CtlUsageError(`${cmd}: unknown option ${a}`);
    else words.push(a);
  }
  if (cmd === undefined) throw new CtlUsageError('a command is needed (try --help)');
  const shape = SHAPES[cmd];
  const [min, max] = shape.positionals;
  if (words.length < min) throw new CtlUsageError(`${cmd}: ${shape.names[words.length]} is missing`);
  if (words.length > max) throw new CtlUsageError(`${cmd}: unexpected argument ${JSON.stringify(words[max])}`);
  const timeoutMs = global['--timeout'] !== undefined ? positiveNumber(global['--timeout'], '--timeout', false) * 1000 : 30000;
  const w = words[0];
  let command: CtlCommand;
  switch (cmd) {
    case 'status': command = { kind: 'status', service: w === undefined ? null : serviceName(w), json: local['--json'] === true }; break;
    case 'why': command = { kind: 'why', service: serviceName(w) }; break;
    case 'graph': command = { kind: 'graph', dot: local['--dot'] === true }; break;
    case 'watch': {
      let pattern: Pattern;
      try {
        pattern = compileScriptPattern(value(w, 'PATTERN') as Value<unknown>, new Map()).pattern;
      } catch (e) {
        throw new CtlUsageError(e instanceof CtlUsageError ? e.message : `bad PATTERN: ${(e as Error).message}`);
      }
      command = { kind: 'watch', pattern };
      break;
    }
    case 'assert': case 'retract': case 'send': command = { kind: cmd, value: value(w, 'VALUE') }; break;
    case 'start': case 'stop': case 'restart': command = { kind: cmd, service: serviceName(w), wait: local['--wait'] === true }; break;
    case 'settings': {
      const action = w ?? 'list';
      if (action !== 'list' && action !== 'set' && action !== 'unset') throw new CtlUsageError(`settings: unknown subcommand ${JSON.stringify(action)} (list, set VALUE, unset VALUE)`);
      if (action === 'list' && words.length > 1) throw new CtlUsageError(`settings list: unexpected argument ${JSON.stringify(words[1])}`);
      if (action !== 'list' && words.length < 2) throw new CtlUsageError(`settings ${action}: VALUE is missing`);
      command = { kind: 'settings', action, value: action === 'list' ? null : value(words[1], 'VALUE'), json: local['--json'] === true };
      break;
    }
    case 'net': command = { kind: 'net', json: local['--json'] === true }; break;
    case 'peers': command = { kind: 'peers', group: w ?? null, json: local['--json'] === true, recheck: local['--recheck'] === true }; break;
    default: {
      const n = local['-n'];
      command = { kind: 'logs', service: serviceName(w), follow: local['-f'] === true || local['--follow'] === true, lines: n === undefined ? 20 : positiveNumber(n as string, '-n', true) };
    }
  }
  return { socket: global['--socket'] ?? null, state: global['--state'] ?? null, root: global['--root'] ?? null, timeoutMs, command };
}
