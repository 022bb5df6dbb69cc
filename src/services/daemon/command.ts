import { existsSync } from 'node:fs';
import path from 'node:path';

/** A command line as daemon specs write it: a shell string or a program with its arguments. */
export type Command =
  | { readonly kind: 'shell'; readonly script: string }
  | { readonly kind: 'exec'; readonly argv: readonly [string, ...string[]] };

/** The program a command runs, for error messages: `sh` for shell commands. */
export function commandProgram(cmd: Command): string {
  return cmd.kind === 'shell' ? 'sh' : cmd.argv[0];
}

/**
 * The file and arguments to exec for a command. `extraArgs` are appended; for a shell command
 * they become `$1`, `$2`… (with `$0` set to `name`), which is how `finish` gets the exit status.
 */
export function execArgs(cmd: Command, extraArgs: readonly string[] = [], name = 'sh'): [string, string[]] {
  if (cmd.kind === 'shell') {
    return ['sh', extraArgs.length > 0 ? ['-c', cmd.script, name, ...extraArgs] : ['-c', cmd.script]];
  }
  return [cmd.argv[0], [...cmd.argv.slice(1), ...extraArgs]];
}

/** A short human-readable rendering of a command, for logs. */
export function showCommand(cmd: Command): string {
  return cmd.kind === 'shell' ? JSON.stringify(cmd.script) : JSON.stringify(cmd.argv);
}

/**
 * Under `--root DIR`, a program named by an absolute path (an argv's first element, or the
 * first word of a shell command) runs from inside DIR when DIR has it — a helper such as
 * `/usr/lib/synit/interface-monitor` or a stand-in; otherwise the command is used as given.
 */
export function commandUnderRoot(cmd: Command, rootDir: string | undefined, exists: (p: string) => boolean = existsSync): Command {
  if (rootDir === undefined) return cmd;
  if (cmd.kind === 'exec') {
    const [program, ...rest] = cmd.argv;
    if (!path.isAbsolute(program) || !exists(path.join(rootDir, program))) return cmd;
    return { kind: 'exec', argv: [path.join(rootDir, program), ...rest] };
  }
  const m = /^(\s*)(\/[^\s;&|<>()$`'"\\]+)/.exec(cmd.script);
  if (m === null || !exists(path.join(rootDir, m[2]!))) return cmd;
  const quoted = "'" + path.join(rootDir, m[2]!).replace(/'/g, "'\\''") + "'";
  return { kind: 'shell', script: m[1]! + quoted + cmd.script.slice(m[0].length) };
}

/** Words `sh` runs itself (builtins, keywords) or that change how the line is read. */
const SHELL_WORDS = new Set([
  '!', '{', '(', '.', ':', '[', 'alias', 'bg', 'break', 'case', 'cd', 'command', 'continue', 'echo', 'eval', 'exec',
  'exit', 'export', 'false', 'fg', 'for', 'getopts', 'hash', 'if', 'jobs', 'kill', 'local', 'printf', 'pwd', 'read',
  'readonly', 'return', 'set', 'shift', 'test', 'times', 'trap', 'true', 'type', 'ulimit', 'umask', 'unalias',
  'unset', 'until', 'wait', 'while',
]);

/**
 * The program a shell command starts with when it plainly names one (`dockerd --experimental`,
 * `/usr/sbin/sshd -D`), so a missing one can be reported without running `sh`; null when the
 * first word is a builtin, a keyword, an assignment, or anything the shell would expand.
 */
export function leadingProgram(cmd: Command): string | null {
  // Only a simple command: with `;`, `&&`, `||`, pipes or subshells a missing first program
  // may be intended (`foo || fallback`).
  if (cmd.kind !== 'shell' || /[;&|\n()`]/.test(cmd.script)) return null;
  // `exec PROG ARGS` (the usual way to let PROG replace the shell) names PROG just as plainly.
  const m = /^\s*(?:exec\s+)?([A-Za-z0-9_.\/+@%-]+)(?=\s|$)/.exec(cmd.script);
  if (m === null) return null;
  const word = m[1];
  if (SHELL_WORDS.has(word) || word.startsWith('-') || (word.includes('/') && !word.startsWith('/'))) return null;
  return word;
}
