// Where a bus keeps its state (control socket, control ref, operator requests, logs) and where
// syndicate-ctl looks for it: one rule for both programs, so that the no-flag pair finds itself.
import { lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensurePrivateDir } from '../config-lang/durable-file.ts';

/** The control socket's name in the state folder. */
export const CONTROL_SOCKET = 'control.sock';
/** The control ref's name in the state folder (a sturdy ref for use through a gatekeeper). */
export const CONTROL_REF = 'control.ref';

/** Where state lives, and why (for messages). */
export interface StateLocation {
  readonly dir: string;
  /** The control socket (`DIR/control.sock`, or `$SYNDICATE_SOCKET`). */
  readonly socket: string;
  /** Which rule chose it: `--state`, `--root`, `$SYNDICATE_SOCKET`, `default`. */
  readonly from: string;
}

/** A state folder that may not be used (owned by someone else, not a folder). */
export class StateDirError extends Error {}

/**
 * The state folder when no flag names one: `/run/syndicate` for root, else
 * `$XDG_RUNTIME_DIR/syndicate`, else (no runtime dir, as under `su` or cron)
 * `TMPDIR/syndicate-UID`, a private folder that must be ours (as tmux does).
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, uid: number = process.getuid?.() ?? 0): string {
  if (uid === 0) return '/run/syndicate';
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'syndicate');
  return path.join(tmpdir(), `syndicate-${uid}`);
}

/** The state location from `--state`, `--root`, `$SYNDICATE_SOCKET`, or the default rule, in that order. */
export function locateState(o: { state?: string | null; root?: string | null }, env: NodeJS.ProcessEnv = process.env): StateLocation {
  const at = (dir: string, from: string): StateLocation => ({ dir, socket: path.join(dir, CONTROL_SOCKET), from });
  if (o.state) return at(path.resolve(o.state), '--state');
  if (o.root) return at(path.join(path.resolve(o.root), 'run/syndicate'), '--root');
  const s = env.SYNDICATE_SOCKET;
  if (s) return { dir: path.dirname(path.resolve(s)), socket: path.resolve(s), from: '$SYNDICATE_SOCKET' };
  return at(defaultStateDir(env), 'default');
}

/**
 * Makes the state folder (0700) and narrows it and everything in it to 0700 (folders) and 0600
 * (files, sockets) when wider. Refuses a folder that is a symlink or belongs to another user.
 * Returns how many entries were narrowed.
 */
export async function preparePrivateState(dir: string): Promise<number> {
  let narrowed = (await ensurePrivateDir(dir)) ? 1 : 0;
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new StateDirError(`state folder ${dir} is not a folder`);
  if (uid !== undefined && st.uid !== uid) throw new StateDirError(`state folder ${dir} belongs to uid ${st.uid}, not to us (uid ${uid})`);
  const { readdir, lstat, chmod } = await import('node:fs/promises');
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = path.join(d, name);
      const s = await lstat(p).catch(() => null);
      if (s === null || s.isSymbolicLink()) continue;
      const limit = s.isDirectory() ? 0o700 : 0o600;
      if ((s.mode & 0o777 & ~limit) !== 0) {
        await chmod(p, s.mode & limit).catch(() => undefined);
        narrowed++;
      }
      if (s.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return narrowed;
}
