// A receiver for sd_notify(3) datagrams. Node cannot bind AF_UNIX SOCK_DGRAM sockets and we
// allow no native addons, so a tiny python3 child binds the socket and relays every datagram
// to us as one hex-encoded line on its stdout. It exits (removing the socket) when its stdin
// closes, so it cannot outlive us.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnChild } from './spawn-child.ts';
import { SpawnError } from './spawn-error.ts';

const RECEIVER = `
import os, select, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
sys.stdout.write("BOUND\\n"); sys.stdout.flush()
try:
    while True:
        r, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in r and not os.read(sys.stdin.fileno(), 4096):
            break
        if s in r:
            sys.stdout.write(s.recv(65536).hex() + "\\n"); sys.stdout.flush()
finally:
    try: os.unlink(path)
    except OSError: pass
`;

/** The key=value assignments of one notification datagram (`READY=1`, `STATUS=…`). */
export type NotifyMessage = ReadonlyMap<string, string>;

/** A bound notification socket: pass `socketPath` as NOTIFY_SOCKET to the daemon. */
export class NotifySocket {
  readonly socketPath: string;
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly gone: Promise<void>;

  private constructor(socketPath: string, dir: string, child: ChildProcess, gone: Promise<void>) {
    this.socketPath = socketPath;
    this.dir = dir;
    this.child = child;
    this.gone = gone;
  }

  /**
   * Binds a socket in a fresh private directory under `runtimeDir` (default the OS temp dir)
   * and calls `onMessage` per datagram. Throws `SpawnError` if python3 cannot be started.
   */
  static async open(onMessage: (m: NotifyMessage) => void, runtimeDir = tmpdir()): Promise<NotifySocket> {
    // mkdtemp makes the directory 0700: only our user can reach the socket.
    const dir = await mkdtemp(path.join(runtimeDir, 'notify-'));
    const socketPath = path.join(dir, 'notify.sock');
    let child: ChildProcess;
    try {
      child = await spawnChild('python3', ['-c', RECEIVER, socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      const code = e instanceof SpawnError ? e.code : null;
      throw code === 'ENOENT' ? new SpawnError('python3', e, 'needed for readyNotify sd-notify') : e;
    }
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        let buffered = '';
        child.once('exit', () => reject(new SpawnError('python3', null, 'sd-notify receiver exited before binding its socket')));
        child.stdout!.setEncoding('latin1');
        child.stdout!.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line === 'BOUND') resolve();
            else onMessage(parseNotify(Buffer.from(line, 'hex').toString('utf8')));
          }
        });
      });
    } catch (e) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return new NotifySocket(socketPath, dir, child, gone);
  }

  /** Stops the receiver and removes its directory. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    await this.gone;
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Parses a datagram: newline-separated `KEY=VALUE` assignments (sd_notify(3)). */
export function parseNotify(text: string): NotifyMessage {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}
