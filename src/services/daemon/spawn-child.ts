// Starting a child process so that no failure can escape: every spawn error (EMFILE, ENFILE,
// EAGAIN, ENOENT, EACCES, …), synchronous or emitted, becomes one `SpawnError`, and every stream
// of the child has an 'error' listener, so nothing reaches the process as an unhandled 'error'.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { SpawnError } from './spawn-error.ts';

/** A child that did start: it has a pid. */
export type StartedChild = ChildProcess & { readonly pid: number };

/**
 * Spawns `file` with `args`; resolves once the child runs (its 'spawn' event), or throws a
 * `SpawnError` naming `program` (default `file`).
 */
export async function spawnChild(file: string, args: readonly string[], options: SpawnOptions, program = file): Promise<StartedChild> {
  let child: ChildProcess;
  try {
    child = spawn(file, args, options);
  } catch (e) {
    throw new SpawnError(program, e);
  }
  // Listeners before anything else can be emitted: with EMFILE Node emits 'error' on the next
  // tick and leaves `stdio` unset, which is what used to end the bus.
  child.on('error', ignore);
  for (const s of child.stdio ?? []) s?.on('error', ignore);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error) => {
      child.removeListener('spawn', onSpawn);
      reject(new SpawnError(program, e));
    };
    // Both listeners go once either fires: nothing of this call stays on a running child.
    const onSpawn = () => {
      child.removeListener('error', onError);
      resolve();
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
  if (child.pid === undefined) throw new SpawnError(program, null, 'no process id after spawn');
  return child as StartedChild;
}

/**
 * Spawns `file` at once: the child when it runs (it has a pid), or null when it could not
 * start (the error is swallowed; `spawnChild` again names it).
 */
export function spawnChildNow(file: string, args: readonly string[], options: SpawnOptions): StartedChild | null {
  let child: ChildProcess;
  try {
    child = spawn(file, args, options);
  } catch {
    return null;
  }
  // A failed spawn emits 'error' on the next tick: listened to, like every stream's.
  child.on('error', ignore);
  for (const s of child.stdio ?? []) s?.on('error', ignore);
  return child.pid === undefined ? null : child as StartedChild;
}

function ignore(): void {}
