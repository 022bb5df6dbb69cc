// One bus per state folder. The lock is a listening Unix socket in the abstract namespace, named
// after the state folder: binding it is atomic, and the kernel frees it when the holder dies
// however it dies (kill -9 included), so there is no stale lock to detect or take over. A bus
// that finds it taken connects and reads the holder's pid, to name it. Abstract names are per
// network namespace: two buses in different namespaces sharing one state folder are not excluded.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import net from 'node:net';

/** Another bus holds the state folder. */
export class BusLockedError extends Error {
  constructor(readonly dir: string, readonly pid: number | null) {
    super(`a bus is already running with state in ${dir}${pid !== null ? ` (pid ${pid})` : ''}; not starting a second one`);
  }
}

/** The abstract socket name that locks `dir`. */
export function lockName(dir: string): string {
  return '\0syndicate-bus/' + createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 40);
}

/** Asks the holder of `name` for its pid (null if it does not say within a second). */
function holderPid(name: string): Promise<number | null> {
  return new Promise((resolve) => {
    const c = net.connect({ path: name });
    let text = '';
    const done = (v: number | null) => { c.destroy(); resolve(v); };
    c.setTimeout(1000, () => done(null));
    c.on('data', (d) => (text += d));
    c.on('end', () => done(/^\d+\n$/.test(text) ? Number(text) : null));
    c.on('error', () => done(null));
  });
}

/** A held lock. */
export interface BusLock {
  release(): Promise<void>;
}

/** Takes the lock of state folder `dir` (which must exist), or rejects with `BusLockedError`. */
export function lockStateDir(dir: string): Promise<BusLock> {
  const name = lockName(dir);
  return new Promise((resolve, reject) => {
    const server = net.createServer((c) => c.end(`${process.pid}\n`));
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE') return reject(e);
      void holderPid(name).then((pid) => reject(new BusLockedError(dir, pid)));
    });
    server.listen({ path: name }, () => {
      server.unref(); // the lock must not keep a finished bus alive
      resolve({ release: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}
