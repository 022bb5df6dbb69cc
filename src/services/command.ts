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

/**
 * With `--root`, a program named by an absolute path runs from under the root when the root holds
 * it (`/usr/lib/synit/x` → `ROOT/usr/lib/synit/x`), else from the host as before; for a shell
 * command this applies to its first word.
 */
export function commandUnderRoot(cmd: Command, rootDir: string | undefined): Command {
  if (rootDir === undefined) return cmd;
  const moved = (p: string): string | null => {
    if (!path.isAbsolute(p)) return null;
    const q = path.join(rootDir, p);
    return existsSync(q) ? q : null;
  };
  if (cmd.kind === 'exec') {
    const q = moved(cmd.argv[0]);
    return q === null ? cmd : { kind: 'exec', argv: [q, ...cmd.argv.slice(1)] };
  }
  const m = /^(\/[A-Za-z0-9._/+-]*)(\s|$)/.exec(cmd.script);
  const q = m === null ? null : moved(m[1]);
  return q === null ? cmd : { kind: 'shell', script: q + cmd.script.slice(m![1].length) };
}

/** A short human-readable rendering of a command, for logs. */
export function showCommand(cmd: Command): string {
  return cmd.kind === 'shell' ? JSON.stringify(cmd.script) : JSON.stringify(cmd.argv);
}
